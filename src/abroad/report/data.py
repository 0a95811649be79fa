"""What a report shows: typed, frozen values the caller fills; the report only renders them.

Nothing here computes plans or queues: the pipeline hands over figures, tables, map points and
chart series already computed, and ``abroad.report.write_report`` draws them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence, Sized
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

Cell = str | int | float | None
"""A table cell: numbers are right-aligned, formatted and sort numerically; None shows as '–'."""

Tone = Literal["neutral", "good", "warn", "bad"]

FAR_KM_DEFAULT = 300.0
WAIT_TARGET_MINUTES_DEFAULT = 30.0


def _check_lat_lon(what: str, lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"{what}: latitude must be within -90..90, got {lat}")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"{what}: longitude must be within -180..180, got {lon}")


@dataclass(frozen=True)
class StationMark:
    """A site on the map: an open station or a site that is closed or unavailable."""

    site_id: str
    name: str
    kind: str
    """e.g. embassy, consulate_general, venue (shown as written, underscores as spaces)."""
    lat: float
    lon: float
    is_open: bool = True
    status: str = ""
    """Why it is closed or unavailable, or any short remark (shown in the popup)."""
    voters: float | None = None
    """Load: voters expected at this station (sizes the marker)."""
    wait_minutes: float | None = None
    """The wait figure that colours the marker (e.g. the 95th percentile wait)."""
    turned_away: float | None = None
    details: tuple[tuple[str, str], ...] = ()
    """Extra label/value lines for the popup, already formatted."""

    def __post_init__(self) -> None:
        _check_lat_lon(f"station {self.site_id!r}", self.lat, self.lon)
        for name in ("voters", "wait_minutes", "turned_away"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"station {self.site_id!r}: {name} must be >= 0, got {value}")


@dataclass(frozen=True)
class PlaceMark:
    """Where citizens live, and the station they are assigned to (None: no station)."""

    name: str
    lat: float
    lon: float
    citizens: float
    station_id: str | None = None
    distance_km: float | None = None
    """Great-circle distance to the assigned station."""

    def __post_init__(self) -> None:
        _check_lat_lon(f"place {self.name!r}", self.lat, self.lon)
        if not (math.isfinite(self.citizens) and self.citizens >= 0):
            raise ValueError(f"place {self.name!r}: citizens must be >= 0, got {self.citizens}")


@dataclass(frozen=True)
class MapData:
    """The map: stations and voter places over country (and, in the USA, state) outlines."""

    stations: tuple[StationMark, ...]
    places: tuple[PlaceMark, ...] = ()
    far_km: float = FAR_KM_DEFAULT
    """Places farther than this from their station are outlined in red."""
    wait_target_minutes: float = WAIT_TARGET_MINUTES_DEFAULT
    """Below: green. From here to ``wait_red_minutes``: amber. Above: red."""
    wait_red_minutes: float = 2 * WAIT_TARGET_MINUTES_DEFAULT
    wait_label: str = "95th percentile wait"
    show_lines: bool = True
    """Draw a thin line from each place to its station (can be switched off on the map)."""
    us_states: bool | None = None
    """Draw US state outlines; None: when any point lies in the USA (rough boxes)."""

    def __post_init__(self) -> None:
        ids = [s.site_id for s in self.stations]
        if len(set(ids)) != len(ids):
            raise ValueError("map: station site_id values must be unique")
        known = set(ids)
        unknown = sorted({p.station_id for p in self.places if p.station_id} - known)
        if unknown:
            raise ValueError(f"map: places assigned to unknown stations {unknown[:5]}")
        if not 0 < self.wait_target_minutes <= self.wait_red_minutes:
            raise ValueError("map: need 0 < wait_target_minutes <= wait_red_minutes")
        if self.far_km <= 0:
            raise ValueError("map: far_km must be > 0")


@dataclass(frozen=True)
class KeyFigure:
    """A headline number at the top of the report."""

    label: str
    value: str
    """Already formatted, with its unit (e.g. '12,400 voters', '38 min')."""
    note: str = ""
    tone: Tone = "neutral"


@dataclass(frozen=True)
class Table:
    """A table; click a column header in the report to sort by it."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    highlight_rows: tuple[int, ...] = ()
    """Row indices drawn emphasised (e.g. the recommended variant)."""
    decimals: int = 1
    """Decimals shown for float cells (ints are shown as ints)."""

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.title!r}: row {i} has {len(row)} cells, "
                    f"expected {len(self.columns)}"
                )


@dataclass(frozen=True)
class Series:
    """One line (or set of bars) of a chart; None where there is no value."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Chart:
    """A chart drawn by the report (matplotlib, inline SVG) from data series.

    Example: x = local clock hours (8..19), one series per station of wait minutes, with a
    reference line at the 30-minute target.
    """

    title: str
    x: tuple[float, ...]
    series: tuple[Series, ...]
    x_label: str = ""
    y_label: str = ""
    kind: Literal["line", "step", "bar"] = "line"
    x_tick_labels: tuple[str, ...] | None = None
    reference: tuple[float, str] | None = None
    """A horizontal line (value, label), e.g. (30.0, 'target')."""
    note: str = ""

    def __post_init__(self) -> None:
        for s in self.series:
            if len(s.values) != len(self.x):
                raise ValueError(
                    f"chart {self.title!r}: series {s.name!r} has {len(s.values)} values, "
                    f"expected {len(self.x)}"
                )
        if self.x_tick_labels is not None and len(self.x_tick_labels) != len(self.x):
            raise ValueError(f"chart {self.title!r}: x_tick_labels must match x")


@dataclass(frozen=True)
class ReportData:
    """Everything one report shows, top to bottom: key figures, map, tables, charts."""

    title: str
    scenario_name: str
    generated_at: dt.datetime
    subtitle: str = ""
    key_figures: tuple[KeyFigure, ...] = ()
    map: MapData | None = None
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    variants: Table | None = None
    """Comparison of variants (one row per variant), shown after the key figures."""
    notes: tuple[str, ...] = field(default=())
    """Assumptions and caveats, listed at the end."""


# ---------------------------------------------------------------------------------------------
# Building the map part from plain arrays


def _opt(values: Sequence[float] | npt.NDArray[np.float64] | None, i: int) -> float | None:
    if values is None:
        return None
    v = float(values[i])
    return None if math.isnan(v) else v


def map_from_arrays(
    *,
    site_ids: Sequence[str],
    site_names: Sequence[str],
    site_kinds: Sequence[str],
    site_lat_deg: Sequence[float] | npt.NDArray[np.float64],
    site_lon_deg: Sequence[float] | npt.NDArray[np.float64],
    site_open: Sequence[bool] | npt.NDArray[np.bool_],
    place_names: Sequence[str],
    place_lat_deg: Sequence[float] | npt.NDArray[np.float64],
    place_lon_deg: Sequence[float] | npt.NDArray[np.float64],
    place_citizens: Sequence[float] | npt.NDArray[np.float64],
    place_site_index: Sequence[int] | npt.NDArray[np.int64],
    place_distance_km: Sequence[float] | npt.NDArray[np.float64],
    site_status: Sequence[str] | None = None,
    site_voters: Sequence[float] | npt.NDArray[np.float64] | None = None,
    site_wait_minutes: Sequence[float] | npt.NDArray[np.float64] | None = None,
    site_turned_away: Sequence[float] | npt.NDArray[np.float64] | None = None,
    far_km: float = FAR_KM_DEFAULT,
    wait_target_minutes: float = WAIT_TARGET_MINUTES_DEFAULT,
    wait_label: str = "95th percentile wait",
) -> MapData:
    """The map part of a report from parallel arrays (as the pipeline holds them).

    ``place_site_index`` indexes the site arrays (negative: no station); NaN in the optional
    per-site figures means 'not known'. Example::

        map_from_arrays(site_ids=ids, site_names=names, site_kinds=kinds,
                        site_lat_deg=lat, site_lon_deg=lon, site_open=mask,
                        place_names=pnames, place_lat_deg=plat, place_lon_deg=plon,
                        place_citizens=citizens, place_site_index=catchment.site_index,
                        place_distance_km=catchment.distance_km)
    """
    n_sites = len(site_ids)
    site_arrays: tuple[tuple[str, Sized | None], ...] = (
        ("site_names", site_names),
        ("site_kinds", site_kinds),
        ("site_lat_deg", site_lat_deg),
        ("site_lon_deg", site_lon_deg),
        ("site_open", site_open),
        ("site_status", site_status),
        ("site_voters", site_voters),
        ("site_wait_minutes", site_wait_minutes),
        ("site_turned_away", site_turned_away),
    )
    for name, arr in site_arrays:
        if arr is not None and len(arr) != n_sites:
            raise ValueError(f"{name} has {len(arr)} entries, expected {n_sites} (one per site)")
    n_places = len(place_names)
    place_arrays: tuple[tuple[str, Sized], ...] = (
        ("place_lat_deg", place_lat_deg),
        ("place_lon_deg", place_lon_deg),
        ("place_citizens", place_citizens),
        ("place_site_index", place_site_index),
        ("place_distance_km", place_distance_km),
    )
    for name, sized in place_arrays:
        if len(sized) != n_places:
            raise ValueError(
                f"{name} has {len(sized)} entries, expected {n_places} (one per place)"
            )
    stations = tuple(
        StationMark(
            site_id=str(site_ids[i]),
            name=str(site_names[i]),
            kind=str(site_kinds[i]),
            lat=float(site_lat_deg[i]),
            lon=float(site_lon_deg[i]),
            is_open=bool(site_open[i]),
            status="" if site_status is None else str(site_status[i]),
            voters=_opt(site_voters, i),
            wait_minutes=_opt(site_wait_minutes, i),
            turned_away=_opt(site_turned_away, i),
        )
        for i in range(n_sites)
    )
    places = []
    for j in range(n_places):
        k = int(place_site_index[j])
        if k >= n_sites:
            raise ValueError(f"place_site_index[{j}] = {k} but there are {n_sites} sites")
        d = float(place_distance_km[j])
        places.append(
            PlaceMark(
                name=str(place_names[j]),
                lat=float(place_lat_deg[j]),
                lon=float(place_lon_deg[j]),
                citizens=float(place_citizens[j]),
                station_id=str(site_ids[k]) if k >= 0 else None,
                distance_km=None if k < 0 or math.isnan(d) else d,
            )
        )
    return MapData(
        stations=stations,
        places=tuple(places),
        far_km=far_km,
        wait_target_minutes=wait_target_minutes,
        wait_red_minutes=2 * wait_target_minutes,
        wait_label=wait_label,
    )
