"""The report renders from a hand-built ReportData, self-contained and without any URL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pytest

from abroad.report import (
    Chart,
    MapData,
    PlaceMark,
    ReportAssetsMissingError,
    ReportData,
    Series,
    StationMark,
    Table,
    map_from_arrays,
    render_report,
    write_report,
)
from abroad.report.assets_loader import load_assets_from
from abroad.report.html import CATCHMENT_PALETTE, catchment_colours


def _map_json(html: str) -> dict[str, object]:
    m = re.search(r'<script type="application/json" id="abroad-map-data">(.*?)</script>', html)
    assert m is not None
    return dict(json.loads(m.group(1)))


def test_report_is_one_file_with_the_given_content(sample_data: ReportData, tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.html"
    write_report(sample_data, path)
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>US stations: status quo</title>" in html
    for f in sample_data.key_figures:
        assert f.value in html and f.label in html
    # tables: every row, numbers formatted with thousands separators, None as a dash
    body = html.split("<footer")[0]
    assert body.count("<tr") == 1 + 5 + 1 + 3  # stations table, variants table (head + rows)
    assert '<td class="num" data-sort="5200">5,200</td>' in html
    assert '<tr class="highlight">' in html  # the highlighted variant
    # charts: inline SVG, one per chart
    assert html.count("<svg") >= len(sample_data.charts)
    assert html.count('<figure class="chart">') == len(sample_data.charts)
    # the map script, the outlines and the data are inlined
    assert 'id="abroad-world"' in html and 'id="abroad-us-states"' in html
    assert "Leaflet" in html and "L.map(" in html


def test_report_has_no_url_of_any_kind(sample_data: ReportData) -> None:
    html = render_report(sample_data)
    assert "http://" not in html
    assert "https://" not in html
    assert not re.search(r"\b(src|href|action|poster|srcset)\s*=\s*[\"'](?!#)", html, re.I)
    assert "@import" not in html and "@font-face" not in html
    assert not re.search(r"url\((?!#)", html)  # only references to ids inside the SVG
    assert not re.search(r"//[a-z0-9-]+\.[a-z]{2,}/", html, re.I)  # protocol-relative URLs


def test_map_payload_reflects_the_data(sample_data: ReportData) -> None:
    assert sample_data.map is not None
    payload = _map_json(render_report(sample_data))
    places = payload["places"]
    assert isinstance(places, list) and len(places) == len(sample_data.map.places)
    far = [p for p in sample_data.map.places if (p.distance_km or 0) > sample_data.map.far_km]
    assert 0 < len(far) < len(places)
    assert sum(1 for p in places if p[4] is not None and p[4] > payload["farKm"]) == len(far)
    stations = payload["stations"]
    assert isinstance(stations, list)
    by_id = {s["id"]: s for s in stations}
    assert by_id["sf"]["open"] is False and by_id["sf"]["status"] == "closed September 2017"
    assert by_id["sea"]["wait"] is None  # NaN in the arrays means 'not known'
    # catchment sums per station equal the citizens of the places assigned to it
    for sid, s in by_id.items():
        expected = sum(p.citizens for p in sample_data.map.places if p.station_id == sid)
        assert s["citizens"] == pytest.approx(expected, abs=0.1)
    assert payload["usStates"] is True


def test_us_states_only_for_data_in_the_usa() -> None:
    europe = MapData(
        stations=(StationMark("be", "Embassy in Berlin", "embassy", 52.52, 13.40),),
        places=(PlaceMark("Munich", 48.14, 11.58, 500.0, "be", 504.0),),
    )
    data = ReportData("Germany", "de", dt.datetime(2026, 1, 1), map=europe)
    html = render_report(data)
    assert 'id="abroad-us-states"' not in html
    assert _map_json(html)["usStates"] is False
    forced = dataclasses.replace(data, map=dataclasses.replace(europe, us_states=True))
    assert 'id="abroad-us-states"' in render_report(forced)


def test_report_without_map_or_charts_has_no_leaflet() -> None:
    data = ReportData(
        "Only a table",
        "t",
        dt.datetime(2026, 1, 1),
        tables=(Table("T", ("a", "b"), (("x", 1.25), ("y", None))),),
    )
    html = render_report(data)
    assert "Agafonkin" not in html and 'id="abroad-world"' not in html  # no Leaflet inlined
    assert '<td class="num" data-sort="1.25">1.2</td>' in html
    assert '<td class="num" data-sort="">–</td>' in html  # a missing value: a dash, sorted last


def test_text_from_the_data_cannot_break_out(sample_data: ReportData) -> None:
    evil = "</script><script>alert(1)</script><b>"
    assert sample_data.map is not None
    stations = (
        dataclasses.replace(sample_data.map.stations[0], name=evil),
        *sample_data.map.stations[1:],
    )
    data = dataclasses.replace(
        sample_data,
        title=evil,
        map=dataclasses.replace(sample_data.map, stations=stations),
        tables=(Table(evil, (evil,), ((evil,),)),),
    )
    clean = render_report(sample_data)
    html = render_report(data)
    assert html.count("<script") == clean.count("<script")
    assert html.count("<b>") == clean.count("<b>")
    assert _map_json(html)["stations"][0]["name"] == evil  # type: ignore[index]


def test_rendering_is_deterministic(sample_data: ReportData) -> None:
    assert render_report(sample_data) == render_report(sample_data)


def test_neighbouring_catchments_get_different_colours() -> None:
    rng = np.random.default_rng(3)
    lat = rng.uniform(30, 48, 12)
    lon = rng.uniform(-120, -75, 12)
    stations = tuple(
        StationMark(f"s{i}", f"S{i}", "venue", float(a), float(b))
        for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    )
    colours = catchment_colours(MapData(stations=stations))
    assert len(set(colours.values())) == len(CATCHMENT_PALETTE)  # 12 stations, 12 colours
    closed = dataclasses.replace(stations[0], is_open=False)
    assert "s0" not in catchment_colours(MapData(stations=(closed, *stations[1:])))


def test_map_from_arrays_converts_and_validates() -> None:
    common = dict(
        site_ids=["a", "b"],
        site_names=["A", "B"],
        site_kinds=["embassy", "venue"],
        site_lat_deg=np.array([10.0, 20.0]),
        site_lon_deg=np.array([30.0, 40.0]),
        site_open=np.array([True, False]),
        place_names=["p", "q", "r"],
        place_lat_deg=np.array([11.0, 12.0, 13.0]),
        place_lon_deg=np.array([31.0, 32.0, 33.0]),
        place_citizens=np.array([5.0, 6.0, 7.0]),
        place_site_index=np.array([0, 0, -1]),
        place_distance_km=np.array([150.0, 300.5, np.nan]),
        site_wait_minutes=np.array([12.0, np.nan]),
    )
    m = map_from_arrays(**common)  # type: ignore[arg-type]
    assert [s.is_open for s in m.stations] == [True, False]
    assert m.stations[0].wait_minutes == 12.0 and m.stations[1].wait_minutes is None
    assert [p.station_id for p in m.places] == ["a", "a", None]
    assert m.places[2].distance_km is None and m.places[1].distance_km == 300.5
    with pytest.raises(ValueError, match="place_citizens has 2 entries, expected 3"):
        map_from_arrays(**{**common, "place_citizens": np.array([1.0, 2.0])})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="site_open has 3 entries"):
        map_from_arrays(**{**common, "site_open": np.array([True, True, True])})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="place_site_index"):
        map_from_arrays(**{**common, "place_site_index": np.array([0, 5, 1])})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: StationMark("x", "X", "embassy", 95.0, 0.0), "latitude"),
        (lambda: StationMark("x", "X", "embassy", 0.0, 0.0, wait_minutes=-1.0), "wait_minutes"),
        (lambda: PlaceMark("p", 0.0, 190.0, 1.0), "longitude"),
        (lambda: PlaceMark("p", 0.0, 0.0, float("nan")), "citizens"),
        (lambda: Table("T", ("a", "b"), (("x",),)), "row 0 has 1 cells, expected 2"),
        (lambda: Chart("C", (1.0, 2.0), (Series("s", (1.0,)),)), "series 's' has 1 values"),
        (
            lambda: MapData(stations=(), places=(PlaceMark("p", 0.0, 0.0, 1.0, "nope"),)),
            "unknown stations",
        ),
        (
            lambda: MapData(
                stations=(
                    StationMark("x", "X", "embassy", 0.0, 0.0),
                    StationMark("x", "Y", "embassy", 1.0, 1.0),
                )
            ),
            "unique",
        ),
    ],
)
def test_invalid_report_values_are_rejected(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_missing_assets_say_how_to_build_them(tmp_path: Path) -> None:
    with pytest.raises(ReportAssetsMissingError, match="make assets"):
        load_assets_from(tmp_path)
    (tmp_path / "leaflet.js").write_text("x")
    with pytest.raises(ReportAssetsMissingError, match=r"world-countries\.geojson"):
        load_assets_from(tmp_path)
