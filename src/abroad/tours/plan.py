"""Plan outreach tours: the prize-collecting routing problem, its solution, dates and value.

Each candidate city becomes up to ``max_days_per_city`` *day nodes* at the city's location,
each a day of service (service time 1 day, the venue's cost) whose prize is what that day adds
(the k-th day at a city adds what the k-th day of ``serve_days`` serves: diminishing returns).
Since day nodes of a city are interchangeable, a solution that takes k of them is worth exactly
the first k days; consecutive day nodes of a city in a trip make one visit, day nodes of a city
in different trips make repeat visits. Each team gets route slots (its trips) from its home
mission, each at most ``max_trip_days`` long, all together at most its ``days_available``;
travel and venue spending at most the budget. See docs/background/tours.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from abroad.model.scenario import Scenario
from abroad.model.tours import Team, Tours
from abroad.tours.demand import IntArray, serve_days, weighted
from abroad.tours.itinerary import (
    Stop,
    TourOutcome,
    TripPlan,
    evaluate,
    schedule,
)
from abroad.tours.network import TourNetwork, build_network, trips_per_team
from abroad.tours.routing import RoutingProblem, RoutingSolution, Vehicle, greedy, solve

ENGINES = ("ils", "greedy", "pyvrp", "ortools")
"""Solvers: the project's iterated local search (default, chosen by benchmarks/bench_tours.py),
a greedy insertion baseline, and PyVRP and OR-Tools through ``abroad.tours.adapters``."""

MIN_DAY_PRIZE = 0.5
"""Day nodes worth less than this (weighted cases) are not offered to the solver."""


@dataclass(frozen=True)
class TourInstance:
    """The routing problem of a tours plan and what its nodes mean."""

    problem: RoutingProblem
    node_city: IntArray
    teams: tuple[Team, ...]
    vehicle_team: tuple[int, ...]


def build_instance(network: TourNetwork, teams: tuple[Team, ...], tours: Tours) -> TourInstance:
    """Day nodes, route slots per team, travel days and costs (see the module docstring)."""
    spec = tours.spec
    n_homes = len(network.homes)
    diplomats = min((t.diplomats for t in teams), default=1)
    node_city: list[int] = []
    prize: list[float] = []
    cost: list[float] = []
    for c, city in enumerate(network.cities):
        per_day = weighted(
            serve_days(
                network.demand.pool[c], diplomats, spec.demand.max_days_per_city, spec.service
            ),
            spec.service,
        )
        for value in per_day:
            if value < MIN_DAY_PRIZE:
                break
            node_city.append(c)
            prize.append(float(value))
            cost.append(city.venue_cost_per_day)
    cities = np.array(node_city, dtype=np.int64)
    vehicles: list[Vehicle] = []
    vehicle_team: list[int] = []
    for g, team in enumerate(teams):
        home = network.home_location(team.home)
        for _ in range(trips_per_team(team)):
            vehicles.append(
                Vehicle(home, home, float(team.max_trip_days), g, float(team.diplomats))
            )
            vehicle_team.append(g)
    problem = RoutingProblem(
        location=(cities + n_homes).astype(np.int64),
        prize=np.array(prize, dtype=np.float64),
        service=np.ones(len(prize)),
        node_cost=np.array(cost, dtype=np.float64),
        travel=network.leg_days.astype(np.float64),
        vehicles=tuple(vehicles),
        travel_cost=network.leg_cost_per_person,
        group_limit=tuple(float(t.days_available) for t in teams),
        budget=spec.budget,
    )
    return TourInstance(problem, cities, teams, tuple(vehicle_team))


def trips_from_routes(
    instance: TourInstance, routes: tuple[tuple[int, ...], ...], network: TourNetwork
) -> list[TripPlan]:
    """Routes of day nodes as trips: consecutive days at one city make one stop."""
    trips: list[TripPlan] = []
    for k, route in enumerate(routes):
        if not route:
            continue
        stops: list[Stop] = []
        for node in route:
            city = int(instance.node_city[node])
            if stops and stops[-1].city == city:
                stops[-1] = Stop(city, stops[-1].days + 1)
            else:
                stops.append(Stop(city, 1))
        team = instance.teams[instance.vehicle_team[k]]
        stops = _merge_repeats(stops, network.home_location(team.home), network)
        trips.append(TripPlan(team.team_id, tuple(stops)))
    return trips


def _travel_days(stops: list[Stop], home: int, network: TourNetwork) -> int:
    locs = [home, *(network.city_location(s.city) for s in stops), home]
    return int(sum(int(network.leg_days[a, b]) for a, b in itertools.pairwise(locs)))


def _merge_repeats(stops: list[Stop], home: int, network: TourNetwork) -> list[Stop]:
    """Fold a city's later stops in a trip into its first one where no travel day is added."""
    i = 0
    while i < len(stops):
        for j in range(len(stops) - 1, i, -1):
            if stops[j].city != stops[i].city:
                continue
            merged = list(stops)
            merged[i] = Stop(stops[i].city, stops[i].days + stops[j].days)
            del merged[j]
            if _travel_days(merged, home, network) <= _travel_days(stops, home, network):
                stops = merged
        i += 1
    return stops


def run_engine(
    engine: str,
    problem: RoutingProblem,
    seconds: float,
    seed: int,
    on_improve: Callable[[float, float], None] | None = None,
) -> RoutingSolution:
    """Solve with one of ``ENGINES``."""
    if engine == "ils":
        return solve(problem, seconds=seconds, seed=seed, on_improve=on_improve)
    if engine == "greedy":
        return greedy(problem)
    if engine in ("pyvrp", "ortools"):
        from abroad.tours.adapters import solve_ortools, solve_pyvrp

        fn = solve_pyvrp if engine == "pyvrp" else solve_ortools
        return fn(problem, seconds=seconds, seed=seed)
    raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")


@dataclass(frozen=True)
class TourPlan:
    """A planned itinerary with its value, and the solver's own figures."""

    name: str
    teams: tuple[Team, ...]
    outcome: TourOutcome
    solver_prize: float
    seconds: float
    engine: str


def plan_tours(
    scenario: Scenario,
    tours: Tours,
    teams: tuple[Team, ...],
    *,
    name: str = "plan",
    seconds: float = 10.0,
    seed: int = 0,
    engine: str = "ils",
    on_improve: Callable[[float, float], None] | None = None,
) -> TourPlan:
    """Choose cities, days and trips for the teams; put them on dates; evaluate them."""
    network = build_network(scenario, tours, teams)
    instance = build_instance(network, teams, tours)
    solution = run_engine(engine, instance.problem, seconds, seed, on_improve)
    trips = trips_from_routes(instance, solution.routes, network)
    # Longest, most valuable trips are dated first within each team.
    trips.sort(key=lambda t: (t.team_id, -sum(s.days for s in t.stops)))
    dated, missing = schedule(trips, teams, network, tours)
    outcome = evaluate(dated, missing, network, tours)
    return TourPlan(name, teams, outcome, solution.prize, solution.seconds, engine)


def evaluate_trips(
    scenario: Scenario, tours: Tours, teams: tuple[Team, ...], trips: list[TripPlan], name: str
) -> TourPlan:
    """Date and evaluate a given list of trips (a hand-made itinerary) like a plan."""
    network = build_network(scenario, tours, teams)
    dated, missing = schedule(trips, teams, network, tours)
    outcome = evaluate(dated, missing, network, tours)
    return TourPlan(name, teams, outcome, outcome.served_weighted, 0.0, "given")


def network_for(scenario: Scenario, tours: Tours, teams: tuple[Team, ...]) -> TourNetwork:
    """The network a plan of these teams uses (for reports)."""
    return build_network(scenario, tours, teams)
