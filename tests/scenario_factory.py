"""A small valid scenario folder that tests write, then break or extend."""

from __future__ import annotations

from pathlib import Path

SCENARIO_YAML = """\
format_version: 1
name: tiny
description: A tiny valid scenario for tests.
citizen_country: RU
election:
  name: Test election
  days:
    - {date: 2024-03-15, open: "08:00", close: "20:00"}
    - {date: 2024-03-17, open: "08:00", close: "20:00"}
  site_hours:
    - {site_id: emb, date: 2024-03-17, open: "08:00", close: "21:00"}
voters:
  table: places.csv
sites:
  table: sites.csv
service:
  checkin: {dist: lognormal, mean_minutes: 2.0, cv: 0.6}
  booth: {dist: exponential, mean_minutes: 3.0}
  patience: {dist: uniform, low_minutes: 30, high_minutes: 90}
policies:
  close_policy: {extend_minutes: 60}
  ballot_cap_per_station: 5000
  staff_budget: 20
variants:
  open-venue:
    description: the venue is permitted
    site_updates:
      - match: {site_id: hall}
        set: {host_permits: true}
"""

SITES_CSV = """\
site_id,name,kind,country,lat,lon,timezone,available,host_permits,max_desks,max_booths,staff_available
emb,Embassy,embassy,US,38.9266,-77.0727,America/New_York,true,true,6,14,10
cg,Consulate,consulate_general,US,29.7449,-95.4611,America/Chicago,true,true,4,10,5
old,Closed consulate,consulate_general,US,47.6062,-122.3321,America/Los_Angeles,false,true,4,10,0
hall,Hall,venue,US,34.0522,-118.2437,America/Los_Angeles,true,false,3,8,0
"""

PLACES_CSV = """\
place_id,name,country,lat,lon,timezone,eligible_citizens,pre_registrations,pre_registered_site
p1,New York,US,40.7128,-74.0060,America/New_York,5000,100,emb
p2,Houston,US,29.7633,-95.3633,America/Chicago,1200,,
p3,Los Angeles,US,34.0522,-118.2437,America/Los_Angeles,3000,,
p4,Seattle,US,47.6062,-122.3321,America/Los_Angeles,800,,
"""


def write_scenario(
    folder: Path,
    scenario_yaml: str = SCENARIO_YAML,
    sites_csv: str = SITES_CSV,
    places_csv: str = PLACES_CSV,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.yaml").write_text(scenario_yaml, encoding="utf-8")
    (folder / "sites.csv").write_text(sites_csv, encoding="utf-8")
    (folder / "places.csv").write_text(places_csv, encoding="utf-8")
    return folder
