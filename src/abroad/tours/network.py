"""The tours' geography: homes and candidate cities, travel days and costs between them.

Locations are the teams' home missions first, then the candidate cities. A leg's time comes
from the scenario's travel model (``abroad.geo.travel``); legs up to ``same_day_hours`` need no
travel day (they are made before or after a day of service), longer ones take whole days of
``hours_per_travel_day``. A leg's cost per person is a flight beyond the travel model's flight
threshold, otherwise road kilometres at a cost per km.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from abroad.geo.distance import distance_matrix_km
from abroad.geo.travel import travel_time_hours
from abroad.model.scenario import Scenario, Site
from abroad.model.tours import Team, TourCity, Tours
from abroad.model.types import SiteId
from abroad.tours.demand import CityDemand, FloatArray, IntArray, city_demand


@dataclass(frozen=True)
class TourNetwork:
    """Locations (homes, then cities) with travel days and costs, and the cities' demand."""

    homes: tuple[Site, ...]
    cities: tuple[TourCity, ...]
    leg_hours: FloatArray
    leg_days: IntArray
    leg_cost_per_person: FloatArray
    demand: CityDemand
    """Every candidate draws (the planner's view)."""
    place_lat: FloatArray
    place_lon: FloatArray
    citizens: FloatArray
    mission_lat: FloatArray
    mission_lon: FloatArray
    tours: Tours

    def demand_if_open(self, open_cities: npt.NDArray[np.bool_]) -> CityDemand:
        """Demand when only ``open_cities`` are visited (each place goes to the nearest one)."""
        spec = self.tours.spec
        return city_demand(
            self.place_lat,
            self.place_lon,
            self.citizens,
            self.mission_lat,
            self.mission_lon,
            np.array([c.lat for c in self.cities]),
            np.array([c.lon for c in self.cities]),
            spec.demand,
            spec.horizon.days / 365.0,
            open_cities,
        )

    def home_location(self, site_id: SiteId) -> int:
        for i, site in enumerate(self.homes):
            if site.site_id == site_id:
                return i
        raise KeyError(site_id)

    def city_location(self, city: int) -> int:
        return len(self.homes) + city

    def city_index(self, city_id: str) -> int:
        for i, c in enumerate(self.cities):
            if c.city_id == city_id:
                return i
        raise KeyError(city_id)


def leg_days(hours: FloatArray, tours: Tours) -> IntArray:
    """Whole travel days for legs of the given hours (0 up to the same-day limit)."""
    t = tours.spec.travel
    days = np.ceil(np.asarray(hours) / t.hours_per_travel_day - 1e-9)
    return np.where(np.asarray(hours) <= t.same_day_hours, 0, days).astype(np.int64)


def build_network(scenario: Scenario, tours: Tours, teams: tuple[Team, ...]) -> TourNetwork:
    """Travel between the teams' homes and the candidate cities, and each city's demand."""
    home_ids: list[SiteId] = []
    for team in teams:
        if team.home not in home_ids:
            home_ids.append(team.home)
    homes = tuple(scenario.site(h) for h in home_ids)
    lat = np.array([s.lat for s in homes] + [c.lat for c in tours.cities])
    lon = np.array([s.lon for s in homes] + [c.lon for c in tours.cities])
    dist = distance_matrix_km(lat, lon, lat, lon)
    np.fill_diagonal(dist, 0.0)
    hours = travel_time_hours(dist, scenario.travel)
    days = leg_days(hours, tours)
    t = tours.spec.travel
    road_km = dist * scenario.travel.road_detour_factor
    cost = np.where(
        dist >= scenario.travel.flight_threshold_km,
        t.flight_cost_per_person,
        road_km * t.road_cost_per_km_per_person,
    )
    np.fill_diagonal(cost, 0.0)
    missions = [s for s in scenario.sites if s.kind.is_mission and s.available]
    arrays = scenario.place_arrays
    network = TourNetwork(
        homes=homes,
        cities=tours.cities,
        leg_hours=hours,
        leg_days=days,
        leg_cost_per_person=cost,
        demand=city_demand(
            arrays.lat_deg,
            arrays.lon_deg,
            arrays.eligible_citizens,
            np.array([s.lat for s in missions]),
            np.array([s.lon for s in missions]),
            np.array([c.lat for c in tours.cities]),
            np.array([c.lon for c in tours.cities]),
            tours.spec.demand,
            tours.spec.horizon.days / 365.0,
        ),
        place_lat=arrays.lat_deg,
        place_lon=arrays.lon_deg,
        citizens=arrays.eligible_citizens,
        mission_lat=np.array([s.lat for s in missions]),
        mission_lon=np.array([s.lon for s in missions]),
        tours=tours,
    )
    return network


def trips_per_team(team: Team) -> int:
    """Route slots the solver gets for a team: enough for its days in short trips."""
    if team.days_available == 0:
        return 0
    return min(24, max(1, math.ceil(team.days_available / min(3, team.max_trip_days))))
