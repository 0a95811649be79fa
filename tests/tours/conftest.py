"""A small scenario with a tours section (the tiny scenario plus two teams and four cities)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario_factory import SCENARIO_YAML, write_scenario

TOURS_YAML = """\
horizon:
  start: 2024-01-08
  end: 2024-03-29
  plan_date: 2023-12-01
  blackout: [2024-01-15, 2024-02-19]
teams:
  - {team_id: a, home: emb, diplomats: 2, days_available: 16, max_trip_days: 6, rest_days: 2}
  - {team_id: b, home: emb, diplomats: 2, days_available: 12, max_trip_days: 6, rest_days: 2}
candidates:
  - {city: Los Angeles, venue_cost_per_day: 1500}
  - {city: Seattle, venue_cost_per_day: 1200}
  - {city: New York City, venue_cost_per_day: 2000}
  - {city: Chicago, venue_cost_per_day: 1000}
service:
  cases_per_diplomat_day: {passport: 40, pension_certificate: 120, other: 60}
demand:
  cases_per_citizen_year: {passport: 0.1, pension_certificate: 0.05, other: 0.1}
  decay_scale_km: 300
notice_lead_days: 30
budget: 40000
"""

PLACES_CSV = """\
place_id,name,country,lat,lon,timezone,eligible_citizens
p1,New York,US,40.7128,-74.0060,America/New_York,5000
p2,Houston,US,29.7633,-95.3633,America/Chicago,1200
p3,Los Angeles,US,34.0522,-118.2437,America/Los_Angeles,3000
p4,Seattle,US,47.6062,-122.3321,America/Los_Angeles,800
p5,Chicago,US,41.8781,-87.6298,America/Chicago,2000
p6,San Diego,US,32.7157,-117.1611,America/Los_Angeles,900
"""


def write_tours_scenario(folder: Path, tours_yaml: str = TOURS_YAML) -> Path:
    """The tiny scenario with ``tours: tours.yaml`` and the given tours file."""
    write_scenario(folder, SCENARIO_YAML + "tours: tours.yaml\n", places_csv=PLACES_CSV)
    (folder / "tours.yaml").write_text(tours_yaml, encoding="utf-8")
    return folder


@pytest.fixture
def tours_folder(tmp_path: Path) -> Path:
    return write_tours_scenario(tmp_path / "tours")
