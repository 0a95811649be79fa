"""Render a ``ReportData`` into one self-contained HTML file (no external reference at all)."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from abroad.geo.distance import haversine_km
from abroad.report.assets_loader import load_assets
from abroad.report.charts import chart_svg
from abroad.report.data import Cell, MapData, ReportData, Table

CATCHMENT_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#76b7b2",
    "#b07aa1",
    "#9c755f",
    "#edc948",
    "#59a14f",
    "#ff9da7",
    "#bab0ac",
    "#e15759",
    "#86bcb6",
    "#d4a6c8",
)
"""Colours of catchments (a place takes its station's); neighbours get different colours."""

# Rough boxes of the USA (lower 48, Alaska, Hawaii): (lat_min, lat_max, lon_min, lon_max)
_US_BOXES = (
    (24.4, 49.4, -125.0, -66.9),
    (51.0, 71.5, -180.0, -129.9),
    (18.8, 22.4, -160.4, -154.7),
)


def _in_usa(lat: float, lon: float) -> bool:
    return any(a <= lat <= b and c <= lon <= d for a, b, c, d in _US_BOXES)


def _json_for_script(obj: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">`` ('<' escaped, so no '</script')."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c"))


def _raw_json_for_script(text: str) -> Markup:
    return Markup(text.replace("<", "\\u003c"))


def _inline_js(source: str) -> Markup:
    if re.search(r"</script", source, flags=re.I):
        raise ValueError("script text contains '</script' and cannot be inlined")
    return Markup(source)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def catchment_colours(data: MapData) -> dict[str, str]:
    """A colour per open station, chosen so that nearby stations differ (greedy, largest first)."""
    citizens: dict[str, float] = {}
    for p in data.places:
        if p.station_id is not None:
            citizens[p.station_id] = citizens.get(p.station_id, 0.0) + p.citizens
    open_stations = sorted(
        (s for s in data.stations if s.is_open),
        key=lambda s: (-citizens.get(s.site_id, 0.0), s.site_id),
    )
    chosen: dict[str, str] = {}
    placed: list[tuple[float, float, str]] = []
    for s in open_stations:
        best, best_d = CATCHMENT_PALETTE[0], -1.0
        for colour in CATCHMENT_PALETTE:
            same = [float(haversine_km(s.lat, s.lon, a, b)) for a, b, c in placed if c == colour]
            d = min(same) if same else math.inf
            if d > best_d:
                best, best_d = colour, d
            if d == math.inf:
                break
        chosen[s.site_id] = best
        placed.append((s.lat, s.lon, best))
    return chosen


def map_payload(data: MapData) -> dict[str, Any]:
    """The compact JSON the page's script draws the map from."""
    colours = catchment_colours(data)
    index = {s.site_id: i for i, s in enumerate(data.stations)}
    agg: dict[str, list[float]] = {s.site_id: [0, 0.0, 0.0] for s in data.stations}
    places = []
    for p in data.places:
        far = p.distance_km is not None and p.distance_km > data.far_km
        if p.station_id is not None:
            a = agg[p.station_id]
            a[0] += 1
            a[1] += p.citizens
            a[2] += p.citizens if far else 0.0
        places.append(
            [
                round(p.lat, 4),
                round(p.lon, 4),
                round(p.citizens, 1),
                -1 if p.station_id is None else index[p.station_id],
                _round(p.distance_km),
                p.name,
            ]
        )
    stations = [
        {
            "id": s.site_id,
            "name": s.name,
            "kind": s.kind.replace("_", " "),
            "lat": round(s.lat, 5),
            "lon": round(s.lon, 5),
            "open": s.is_open,
            "status": s.status,
            "voters": _round(s.voters),
            "wait": _round(s.wait_minutes),
            "away": _round(s.turned_away),
            "details": [list(d) for d in s.details],
            "colour": colours.get(s.site_id, "#9aa3ad"),
            "places": int(agg[s.site_id][0]),
            "citizens": round(agg[s.site_id][1], 1),
            "farCitizens": round(agg[s.site_id][2], 1),
        }
        for s in data.stations
    ]
    us = data.us_states
    if us is None:
        us = any(_in_usa(s.lat, s.lon) for s in data.stations) or any(
            _in_usa(p.lat, p.lon) for p in data.places
        )
    return {
        "stations": stations,
        "places": places,
        "farKm": data.far_km,
        "waitTarget": data.wait_target_minutes,
        "waitRed": data.wait_red_minutes,
        "waitLabel": data.wait_label,
        "showLines": data.show_lines,
        "usStates": us,
    }


# ---------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class _CellView:
    text: str
    sort: str
    numeric: bool


def _cell(value: Cell, decimals: int) -> _CellView:
    if value is None:
        return _CellView("–", "", False)
    if isinstance(value, bool):
        return _CellView("yes" if value else "no", str(int(value)), False)
    if isinstance(value, int):
        return _CellView(f"{value:,d}", str(value), True)
    if isinstance(value, float):
        if math.isnan(value):
            return _CellView("–", "", False)
        return _CellView(f"{value:,.{decimals}f}", repr(value), True)
    return _CellView(str(value), str(value), False)


@dataclass(frozen=True)
class _TableView:
    title: str
    note: str
    columns: tuple[str, ...]
    numeric_columns: tuple[bool, ...]
    rows: tuple[tuple[tuple[_CellView, ...], bool], ...]


def _table_view(t: Table) -> _TableView:
    rows = tuple(
        (tuple(_cell(c, t.decimals) for c in row), i in t.highlight_rows)
        for i, row in enumerate(t.rows)
    )
    numeric = tuple(
        any(r[0][j].numeric for r in rows)
        and all(r[0][j].numeric or not r[0][j].sort for r in rows)
        for j in range(len(t.columns))
    )
    return _TableView(t.title, t.note, t.columns, numeric, rows)


# ---------------------------------------------------------------------------------------------
# Rendering


def _template_text(name: str) -> str:
    return resources.files("abroad.report").joinpath("templates", name).read_text("utf-8")


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("abroad.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _format_time(moment: dt.datetime) -> str:
    if moment.tzinfo is not None and moment.utcoffset() == dt.timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    if moment.tzinfo is not None:
        return moment.strftime("%Y-%m-%d %H:%M UTC%z")
    return moment.strftime("%Y-%m-%d %H:%M")


def render_report(data: ReportData) -> str:
    """The report as one HTML document (a string); see ``write_report``."""
    assets = load_assets()
    charts = [(c, Markup(chart_svg(c, prefix=f"c{i}-"))) for i, c in enumerate(data.charts)]
    has_map = data.map is not None
    payload = map_payload(data.map) if data.map is not None else None
    us = bool(payload and payload["usStates"])
    notice = assets.notice if has_map else ""
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(
            data=data,
            generated=_format_time(data.generated_at),
            tables=[_table_view(t) for t in data.tables],
            variants=_table_view(data.variants) if data.variants is not None else None,
            charts=charts,
            map=data.map,
            map_json=_json_for_script(payload) if payload is not None else None,
            world_json=_raw_json_for_script(assets.world_geojson) if has_map else None,
            us_json=_raw_json_for_script(assets.us_states_geojson) if us else None,
            leaflet_js=_inline_js(assets.leaflet_js) if has_map else None,
            leaflet_css=Markup(assets.leaflet_css) if has_map else None,
            report_css=Markup(_template_text("report.css")),
            report_js=_inline_js(_template_text("report.js")),
            notice=notice,
        )
    )
    return html


def write_report(data: ReportData, path: Path) -> None:
    """Write the report as ONE self-contained HTML file (works offline, in any browser).

    Leaflet, its CSS and the country/state outlines are inlined; charts are inline SVG; there
    is no reference to any URL. Raises ReportAssetsMissingError if ``make assets`` was not run.
    """
    html = render_report(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
