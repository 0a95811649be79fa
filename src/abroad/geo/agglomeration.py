"""Gazetteer entries as places where people live, without counting districts twice.

The gazetteer lists large cities beside their own districts (Berlin beside Kreuzberg,
Neukölln, ...; Hamburg beside Wandsbek, Altona, ...), each with its own population, so summing
every entry counts those people twice. The rule here (stated in every scaffolded README):

- An entry is a *part* of a larger city when it lies within ``0.01 × sqrt(population)`` km of
  that city's point (about the radius of the city: Berlin 18.5 km, Munich 12.3 km, a city of
  100,000 3.2 km) and has at most a quarter of its population. Cities are taken largest first;
  an entry belongs to the first city that claims it.
- If a city's parts together hold at least its population, the parts *are* the city (the
  gazetteer lists its districts): the city's own point gets nothing. Otherwise the city's point
  keeps the rest (its population minus its parts'), and the parts keep theirs.

So an agglomeration holds the larger of the city's population and its parts' sum: districts are
never added to the city that contains them, and separate towns near a city that lists no
districts are not added twice either. What the rule gets wrong: a separate town inside the
radius of a city that lists few districts is taken from that city's count (Offenbach from
Frankfurt), and nested districts listed at two levels (Hamburg-Nord and Winterhude inside it)
are both kept. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from abroad.geo.distance import haversine_km
from abroad.geo.gazetteer import City

RADIUS_KM_PER_SQRT_PEOPLE = 0.01
PART_MAX_SHARE = 0.25


@dataclass(frozen=True)
class Resident:
    """A gazetteer entry with the people counted there after merging districts."""

    city: City
    people: float
    part_of: City | None
    """The larger city whose part this entry is (None for a city in its own right)."""


def residents(cities: Sequence[City]) -> tuple[Resident, ...]:
    """People per entry with districts counted once (rule in the module doc), largest first;
    entries left with no people are dropped."""
    ordered = sorted(cities, key=lambda c: (-c.population, c.geoname_id))
    lat = np.array([c.lat for c in ordered])
    lon = np.array([c.lon for c in ordered])
    pop = np.array([float(c.population) for c in ordered])
    owner = np.full(len(ordered), -1, dtype=np.int64)
    centre_people = pop.copy()
    for i, city in enumerate(ordered):
        if owner[i] >= 0:
            continue
        radius = RADIUS_KM_PER_SQRT_PEOPLE * np.sqrt(pop[i])
        d = haversine_km(city.lat, city.lon, lat, lon)
        parts = (d <= radius) & (pop <= PART_MAX_SHARE * pop[i]) & (owner < 0)
        parts[i] = False
        owner[parts] = i
        centre_people[i] = max(pop[i] - float(pop[parts].sum()), 0.0)
    out = []
    for i, city in enumerate(ordered):
        people = centre_people[i] if owner[i] < 0 else pop[i]
        if people > 0:
            out.append(Resident(city, people, None if owner[i] < 0 else ordered[owner[i]]))
    return tuple(out)
