"""A small hand-built report: five US sites (one closed), voter places, tables and charts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from abroad.report import (
    Chart,
    KeyFigure,
    ReportData,
    Series,
    Table,
    map_from_arrays,
)

SITES = (
    # id, name, kind, lat, lon, open, voters, p95 wait minutes, turned away
    ("dc", "Embassy in Washington", "embassy", 38.9266, -77.0727, True, 2600.0, 22.0, 0.0),
    (
        "ny",
        "Consulate General in New York",
        "consulate_general",
        40.7834,
        -73.9588,
        True,
        5200.0,
        48.0,
        35.0,
    ),
    (
        "hou",
        "Consulate General in Houston",
        "consulate_general",
        29.7449,
        -95.4611,
        True,
        900.0,
        75.0,
        120.0,
    ),
    (
        "sea",
        "Consulate General in Seattle",
        "consulate_general",
        47.6062,
        -122.3321,
        True,
        1400.0,
        float("nan"),
        float("nan"),
    ),
    (
        "sf",
        "Former Consulate General in San Francisco",
        "consulate_general",
        37.7954,
        -122.4339,
        False,
        float("nan"),
        float("nan"),
        float("nan"),
    ),
)

PLACES = (
    ("Brooklyn", 40.6501, -73.9496, 4092.9),
    ("Queens", 40.6815, -73.8365, 3465.8),
    ("Boston", 42.3601, -71.0589, 1200.0),
    ("Philadelphia", 39.9526, -75.1652, 900.0),
    ("Baltimore", 39.2904, -76.6122, 450.0),
    ("Richmond", 37.5407, -77.4360, 200.0),
    ("Miami", 25.7617, -80.1918, 1500.0),
    ("Atlanta", 33.7490, -84.3880, 600.0),
    ("Chicago", 41.8781, -87.6298, 1300.0),
    ("Dallas", 32.7767, -96.7970, 700.0),
    ("Austin", 30.2672, -97.7431, 300.0),
    ("Denver", 39.7392, -104.9903, 350.0),
    ("Los Angeles", 34.0522, -118.2437, 2857.9),
    ("San Francisco", 37.7749, -122.4194, 1700.0),
    ("Portland", 45.5152, -122.6784, 400.0),
    ("Seattle", 47.6062, -122.3321, 800.0),
    ("Anchorage", 61.2181, -149.9003, 120.0),
    ("Honolulu", 21.3069, -157.8583, 90.0),
)


def _nearest(lat: float, lon: float, open_idx: list[int]) -> tuple[int, float]:
    from abroad.geo.distance import haversine_km

    d = [float(haversine_km(lat, lon, SITES[i][3], SITES[i][4])) for i in open_idx]
    k = int(np.argmin(d))
    return open_idx[k], d[k]


def build_sample_data() -> ReportData:
    open_idx = [i for i, s in enumerate(SITES) if s[5]]
    assigned = [_nearest(p[1], p[2], open_idx) for p in PLACES]
    map_data = map_from_arrays(
        site_ids=[s[0] for s in SITES],
        site_names=[s[1] for s in SITES],
        site_kinds=[s[2] for s in SITES],
        site_lat_deg=np.array([s[3] for s in SITES]),
        site_lon_deg=np.array([s[4] for s in SITES]),
        site_open=np.array([s[5] for s in SITES]),
        site_status=["", "", "", "", "closed September 2017"],
        site_voters=np.array([s[6] for s in SITES]),
        site_wait_minutes=np.array([s[7] for s in SITES]),
        site_turned_away=np.array([s[8] for s in SITES]),
        place_names=[p[0] for p in PLACES],
        place_lat_deg=np.array([p[1] for p in PLACES]),
        place_lon_deg=np.array([p[2] for p in PLACES]),
        place_citizens=np.array([p[3] for p in PLACES]),
        place_site_index=np.array([a[0] for a in assigned], dtype=np.int64),
        place_distance_km=np.array([a[1] for a in assigned]),
    )
    hours = tuple(float(h) for h in range(8, 21))
    waits = {
        "New York": (0, 5, 18, 35, 48, 44, 30, 25, 28, 40, 46, 30, 10),
        "Houston": (0, 10, 30, 55, 75, 70, 60, 50, 45, 60, 70, 40, 20),
        "Washington": (0, 2, 8, 15, 22, 20, 12, 10, 10, 16, 20, 12, 4),
    }
    return ReportData(
        title="US stations: status quo",
        scenario_name="us-2024 (test)",
        generated_at=dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC),
        subtitle="Four open stations, one closed site; waits from 200 simulated election days.",
        key_figures=(
            KeyFigure("citizens", "22,725", "eligible, estimated"),
            KeyFigure("open stations", "4", "of 5 sites"),
            KeyFigure("worst 95th percentile wait", "75 min", "Houston", tone="bad"),
            KeyFigure("turned away", "155", "at closing time", tone="warn"),
            KeyFigure("median distance", "38 km", tone="good"),
        ),
        map=map_data,
        tables=(
            Table(
                title="Stations",
                columns=("Station", "Voters", "Wait p95 (min)", "Turned away", "Open"),
                rows=(
                    ("Embassy in Washington", 2600, 22.0, 0, "yes"),
                    ("Consulate General in New York", 5200, 48.0, 35, "yes"),
                    ("Consulate General in Houston", 900, 75.0, 120, "yes"),
                    ("Consulate General in Seattle", 1400, None, None, "yes"),
                    ("Former Consulate General in San Francisco", None, None, None, "no"),
                ),
                note="Voters: mean over replications.",
            ),
        ),
        charts=(
            Chart(
                title="95th percentile wait by local clock hour",
                x=hours,
                series=tuple(
                    Series(name, tuple(float(v) for v in vals)) for name, vals in waits.items()
                ),
                x_label="local time (hour)",
                y_label="wait (min)",
                x_tick_labels=tuple(f"{int(h):02d}:00" for h in hours),
                reference=(30.0, "30-minute target"),
            ),
            Chart(
                title="Arrivals per hour, New York",
                x=hours,
                series=(
                    Series(
                        "arrivals", (50, 120, 300, 520, 610, 580, 450, 400, 420, 560, 600, 380, 150)
                    ),
                ),
                kind="bar",
                x_label="local time (hour)",
                y_label="voters per hour",
            ),
        ),
        variants=Table(
            title="Variants compared",
            columns=("Variant", "Stations", "Worst wait p95 (min)", "Turned away", "Cost/day"),
            rows=(
                ("status quo", 4, 75.0, 155, 0.0),
                ("reopen San Francisco", 5, 52.0, 60, 4000.0),
                ("add desks in Houston", 4, 31.0, 10, 1500.0),
            ),
            highlight_rows=(2,),
        ),
        notes=(
            "Distances are great-circle distances between city centres.",
            "Citizens per place are estimates from the last census of the host country.",
        ),
    )


@pytest.fixture
def sample_data() -> ReportData:
    return build_sample_data()
