"""Which other stations a line could be redirected to: the nearest by travel time.

Travel time is ``abroad.geo.travel``'s model (great-circle distance, a road detour factor
and speed, flights beyond a threshold) on the stations' coordinates, the same model the
planner uses for voters. Pure: coordinates in, (station, minutes) out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from abroad.geo.distance import haversine_km
from abroad.geo.travel import travel_time_hours
from abroad.model.scenario import TravelModel


@dataclass(frozen=True)
class Located:
    """A station and where it is."""

    key: str
    lat: float
    lon: float


def travel_minutes(origin: Located, others: Sequence[Located], model: TravelModel) -> list[float]:
    """One-way travel minutes from ``origin`` to each of ``others`` (same order)."""
    if not others:
        return []
    lat = np.array([o.lat for o in others], dtype=np.float64)
    lon = np.array([o.lon for o in others], dtype=np.float64)
    hours = travel_time_hours(haversine_km(origin.lat, origin.lon, lat, lon), model)
    return [float(h) * 60.0 for h in hours]


def nearest_by_travel(
    origin: Located,
    others: Sequence[Located],
    model: TravelModel,
    max_minutes: float,
) -> list[tuple[str, float]]:
    """(key, travel minutes) of every other station within ``max_minutes``, nearest first
    (ties by key); the origin itself is left out."""
    rest = [o for o in others if o.key != origin.key]
    found = [
        (o.key, m)
        for o, m in zip(rest, travel_minutes(origin, rest, model), strict=True)
        if m <= max_minutes
    ]
    return sorted(found, key=lambda x: (x[1], x[0]))
