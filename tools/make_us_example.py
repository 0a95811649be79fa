"""Generate examples/us-2024/places.csv: an illustrative estimate of Russian citizens by US city.

Method (documented in examples/us-2024/README.md): every US city of the bundled gazetteer with at
least MIN_POPULATION inhabitants is a voter place; New York City is replaced by its five boroughs
(a 8.8-million city as one point distorts nearest-station results). Citizens are allotted in
proportion to population times an uplift for known Russian-speaking diaspora centres (cities
within UPLIFT_RADIUS_KM of a centre), and scaled so that the total is TOTAL_CITIZENS, the 2018
figure of about 104,000 Russian passport holders in the USA (tass.com/politics/990343).

Run: .venv/bin/python tools/make_us_example.py examples/us-2024/places.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

from abroad.geo import haversine_km
from abroad.geo.gazetteer import all_cities

TOTAL_CITIZENS = 104_000
MIN_POPULATION = 30_000
UPLIFT_RADIUS_KM = 60.0
NYC_BOROUGHS = {"Brooklyn", "Queens", "Manhattan", "The Bronx", "Staten Island"}

# (centre, lat, lon, uplift): illustrative assumptions, not measurements. They encode that the
# Russian-speaking diaspora is concentrated in a few metropolitan areas (Brighton Beach in
# Brooklyn; Sunny Isles near Miami; West Hollywood; the Bay Area; Seattle and Sacramento with
# large post-Soviet communities) rather than spread with the general population.
DIASPORA_CENTRES: tuple[tuple[str, float, float, float], ...] = (
    ("New York", 40.65, -73.95, 4.0),
    ("Miami", 25.90, -80.15, 3.0),
    ("Los Angeles", 34.05, -118.30, 2.0),
    ("San Francisco Bay", 37.60, -122.20, 2.5),
    ("Seattle", 47.60, -122.30, 2.5),
    ("Sacramento", 38.58, -121.45, 3.0),
    ("Portland", 45.52, -122.65, 2.0),
    ("Boston", 42.36, -71.06, 1.8),
    ("Chicago", 41.88, -87.70, 1.8),
    ("Philadelphia", 40.00, -75.10, 1.8),
    ("Washington", 38.90, -77.04, 1.5),
    ("Denver", 39.74, -104.99, 1.3),
    ("Anchorage", 61.22, -149.90, 2.0),
)


def main(out: Path) -> None:
    cities = [c for c in all_cities() if c.country == "US" and c.population >= MIN_POPULATION]
    boroughs = {c.name for c in cities if c.name in NYC_BOROUGHS and c.admin1 == "NY"}
    if boroughs == NYC_BOROUGHS:
        cities = [c for c in cities if not (c.name == "New York City" and c.admin1 == "NY")]
    lat = np.array([c.lat for c in cities])
    lon = np.array([c.lon for c in cities])
    pop = np.array([c.population for c in cities], dtype=float)
    uplift = np.ones_like(pop)
    for _name, clat, clon, factor in DIASPORA_CENTRES:
        near = haversine_km(lat, lon, clat, clon) <= UPLIFT_RADIUS_KM
        uplift = np.where(near, np.maximum(uplift, factor), uplift)
    weight = pop * uplift
    citizens = weight / weight.sum() * TOTAL_CITIZENS
    rows = sorted(zip(cities, citizens, strict=True), key=lambda r: (-r[1], r[0].geoname_id))
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            ["place_id", "name", "country", "admin1", "lat", "lon", "timezone", "eligible_citizens"]
        )
        for city, n in rows:
            w.writerow(
                [
                    f"g{city.geoname_id}",
                    city.name,
                    "US",
                    city.admin1,
                    f"{city.lat:.5f}",
                    f"{city.lon:.5f}",
                    city.timezone,
                    f"{n:.1f}",
                ]
            )
    print(f"{len(rows)} places, {citizens.sum():,.0f} citizens -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
