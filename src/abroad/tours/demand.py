"""Cases a visit serves: who a visit city draws, and how each further day serves fewer.

Every voter place sends its yearly cases (citizens x cases per citizen and year, by kind) over
the horizon to the nearest place that serves them: a working mission if one is nearer than
every candidate city (those cases are not the tours' to serve), otherwise its nearest candidate
city, thinned by travel: a place d km away sends exp(-d / decay_scale_km) of them. The cases a
city can draw in the horizon are its *pool*.

A day of service draws ``daily_draw`` of what is left of the pool; the diplomats complete it up
to their capacity (workload = cases / cases per diplomat-day, by kind); what they cannot
complete stays in the pool. So each further day at a city serves no more than the one before
(diminishing returns), whichever trip it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from abroad.geo.distance import distance_matrix_km
from abroad.model.tours import CaseKind, ConsularService, TourDemand

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

KINDS: tuple[CaseKind, ...] = tuple(CaseKind)


@dataclass(frozen=True)
class CityDemand:
    """Where each place's cases go, and the pool of each candidate city (cases, by kind)."""

    need: FloatArray
    """(places, kinds): cases of each place over the horizon."""
    place_city: IntArray
    """Index of the candidate city a place's cases go to; -1 when a mission is nearer."""
    place_distance_km: FloatArray
    """Distance from each place to its candidate city (NaN for mission places)."""
    reach: FloatArray
    """(places, kinds): the part of ``need`` that would travel to the place's city."""
    pool: FloatArray
    """(cities, kinds): cases each candidate city can draw over the horizon."""


def city_demand(
    place_lat: FloatArray,
    place_lon: FloatArray,
    citizens: FloatArray,
    mission_lat: FloatArray,
    mission_lon: FloatArray,
    city_lat: FloatArray,
    city_lon: FloatArray,
    demand: TourDemand,
    horizon_years: float,
    open_cities: npt.NDArray[np.bool_] | None = None,
) -> CityDemand:
    """Split every place's cases between missions and the cities' pools.

    With ``open_cities``, only those cities draw (the ones an itinerary visits): each place
    goes to its nearest open city. Without, every candidate draws (the planner's view).
    """
    rates = np.array([demand.cases_per_citizen_year.get(k, 0.0) for k in KINDS])
    need = np.asarray(citizens, dtype=np.float64)[:, None] * rates[None, :] * horizon_years
    n_places, n_cities = need.shape[0], len(city_lat)
    if n_cities == 0:
        empty = np.full(n_places, -1, dtype=np.int64)
        return CityDemand(need, empty, np.full(n_places, np.nan), need * 0, np.zeros((0, 3)))
    d_city = distance_matrix_km(place_lat, place_lon, city_lat, city_lon)
    if open_cities is not None:
        d_city = np.where(np.asarray(open_cities, dtype=bool)[None, :], d_city, np.inf)
    nearest = np.argmin(d_city, axis=1)
    d_near = d_city[np.arange(n_places), nearest]
    to_mission = ~np.isfinite(d_near)
    if len(mission_lat):
        d_mission = distance_matrix_km(place_lat, place_lon, mission_lat, mission_lon).min(axis=1)
        to_mission |= (d_mission <= d_near) | (d_mission <= demand.mission_reach_km)
    place_city = np.where(to_mission, -1, nearest).astype(np.int64)
    decay = np.where(
        to_mission, 0.0, np.exp(-np.where(to_mission, 0.0, d_near) / demand.decay_scale_km)
    )
    reach = need * decay[:, None]
    pool = np.zeros((n_cities, len(KINDS)))
    np.add.at(pool, place_city[~to_mission], reach[~to_mission])
    return CityDemand(
        need=need,
        place_city=place_city,
        place_distance_km=np.where(to_mission, np.nan, d_near),
        reach=reach,
        pool=pool,
    )


def serve_day(remaining: FloatArray, diplomats: int, service: ConsularService) -> FloatArray:
    """Cases (by kind) one day of service completes from what is left of a city's pool."""
    rates = np.array([service.cases_per_diplomat_day[k] for k in KINDS])
    arrive = remaining * service.daily_draw
    workload = float((arrive / rates).sum())
    scale = 1.0 if workload <= diplomats else diplomats / workload
    return arrive * scale


def serve_days(pool: FloatArray, diplomats: int, days: int, service: ConsularService) -> FloatArray:
    """(days, kinds): cases each successive day of service completes, starting from ``pool``."""
    out = np.zeros((days, len(KINDS)))
    remaining = np.asarray(pool, dtype=np.float64).copy()
    for d in range(days):
        out[d] = serve_day(remaining, diplomats, service)
        remaining = remaining - out[d]
    return out


def weighted(cases: FloatArray, service: ConsularService) -> FloatArray:
    """Objective value of cases by kind (last axis) with the kinds' weights."""
    w = np.array([service.weight(k) for k in KINDS])
    return np.asarray(cases @ w, dtype=np.float64)
