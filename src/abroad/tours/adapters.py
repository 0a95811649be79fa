"""The same ``RoutingProblem`` solved by PyVRP and by OR-Tools routing (for the benchmark).

Both libraries work on integers: times are scaled by ``TIME_SCALE`` and rounded up (so a route
they call feasible is feasible in the original units; the result is re-checked), prizes by
``PRIZE_SCALE``. Travel time is also charged as a small distance cost, which breaks ties
between routes of equal prize in favour of shorter ones; prizes are scaled so far above it that
no prize is ever traded for distance. Neither adapter supports a budget or team-day limits
tighter than the sum of the team's route limits: they raise ValueError then.

PyVRP: optional clients with prizes, one vehicle type per (start, end, duration limit).
OR-Tools: one disjunction per node with its prize as the penalty for dropping it, a time
dimension with a per-vehicle capacity, parallel cheapest insertion then guided local search.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from abroad.tours.routing import RoutingProblem, RoutingSolution, check_solution

TIME_SCALE = 100
PRIZE_SCALE = 10_000


def _supported(problem: RoutingProblem) -> None:
    if problem.budget is not None:
        raise ValueError("the library adapters do not support a budget")
    for g, limit in enumerate(problem.group_limit):
        total = sum(v.max_duration for v in problem.vehicles if v.group == g)
        if total > limit + 1e-9:
            raise ValueError("the library adapters do not support binding team-day limits")


def _int_times(problem: RoutingProblem) -> tuple[Any, Any]:
    travel = np.ceil(problem.travel * TIME_SCALE - 1e-6).astype(np.int64)
    service = np.ceil(problem.service * TIME_SCALE - 1e-6).astype(np.int64)
    return travel, service


def _result(problem: RoutingProblem, routes: list[list[int]], t0: float) -> RoutingSolution:
    broken = check_solution(problem, routes)
    if broken:
        raise RuntimeError("the library returned an infeasible solution: " + "; ".join(broken))
    prize = float(sum(problem.prize[n] for r in routes for n in r))
    return RoutingSolution(tuple(tuple(r) for r in routes), prize, 0, time.perf_counter() - t0)


def solve_pyvrp(problem: RoutingProblem, *, seconds: float, seed: int = 0) -> RoutingSolution:
    """PyVRP's hybrid genetic search on the problem (prize-collecting, duration limits)."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    _supported(problem)
    t0 = time.perf_counter()
    travel, service = _int_times(problem)
    model = Model()
    used = sorted(
        {int(v) for v in problem.location}
        | {v.start for v in problem.vehicles}
        | {v.end for v in problem.vehicles}
    )
    locs = {u: model.add_location(0.0, 0.0) for u in used}
    depot_locs = sorted({v.start for v in problem.vehicles} | {v.end for v in problem.vehicles})
    depots = {u: model.add_depot(locs[u]) for u in depot_locs}
    clients = []
    for n in range(problem.n_nodes):
        clients.append(
            model.add_client(
                locs[int(problem.location[n])],
                service_duration=int(service[n]),
                prize=max(1, round(float(problem.prize[n]) * PRIZE_SCALE)),
                required=False,
            )
        )
    kinds: dict[tuple[int, int, int], int] = {}
    for v in problem.vehicles:
        key = (v.start, v.end, math.floor(v.max_duration * TIME_SCALE + 1e-6))
        kinds[key] = kinds.get(key, 0) + 1
    type_keys = list(kinds)
    for start, end, limit in type_keys:
        model.add_vehicle_type(
            kinds[(start, end, limit)],
            start_depot=depots[start],
            end_depot=depots[end],
            shift_duration=limit,
            unit_distance_cost=1,
        )
    for a in used:
        for b in used:
            t = int(travel[a, b])
            model.add_edge(locs[a], locs[b], distance=t, duration=t)
    result = model.solve(MaxRuntime(seconds), seed=seed, display=False)
    # Map PyVRP's routes (by vehicle type) back onto our vehicles.
    free = {
        key: [
            k
            for k, v in enumerate(problem.vehicles)
            if (v.start, v.end, math.floor(v.max_duration * TIME_SCALE + 1e-6)) == key
        ]
        for key in type_keys
    }
    routes: list[list[int]] = [[] for _ in problem.vehicles]
    if result.is_feasible():
        for route in result.best.routes():
            key = type_keys[route.vehicle_type()]
            k = free[key].pop(0)
            routes[k] = [int(a.idx) for a in route.schedule() if a.is_client()]
    return _result(problem, routes, t0)


def solve_ortools(problem: RoutingProblem, *, seconds: float, seed: int = 0) -> RoutingSolution:
    """OR-Tools routing: drop penalties (prizes), a time dimension, guided local search."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    del seed  # the routing solver's search is deterministic
    _supported(problem)
    t0 = time.perf_counter()
    travel, service = _int_times(problem)
    m = len(problem.vehicles)
    n = problem.n_nodes
    # OR-Tools nodes: the problem's nodes, then one node per vehicle start and end.
    node_loc = [int(x) for x in problem.location]
    node_service = [int(s) for s in service]
    starts, ends = [], []
    for v in problem.vehicles:
        starts.append(len(node_loc))
        node_loc.append(v.start)
        node_service.append(0)
        ends.append(len(node_loc))
        node_loc.append(v.end)
        node_service.append(0)
    manager = pywrapcp.RoutingIndexManager(len(node_loc), m, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    loc_arr = np.array(node_loc)
    serv_arr = np.array(node_service)
    transit_matrix = travel[np.ix_(loc_arr, loc_arr)] + serv_arr[:, None]

    def transit(i: int, j: int) -> int:
        return int(transit_matrix[manager.IndexToNode(i), manager.IndexToNode(j)])

    cb = routing.RegisterTransitCallback(transit)
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    caps = [math.floor(v.max_duration * TIME_SCALE + 1e-6) for v in problem.vehicles]
    routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, "time")
    big = int(travel.max()) * (n + 2) + 1
    for node in range(n):
        penalty = max(1, round(float(problem.prize[node]) * PRIZE_SCALE)) * big
        routing.AddDisjunction([manager.NodeToIndex(node)], penalty)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))
    assignment = routing.SolveWithParameters(params)
    routes: list[list[int]] = [[] for _ in problem.vehicles]
    if assignment is not None:
        for k in range(m):
            index = routing.Start(k)
            index = assignment.Value(routing.NextVar(index))
            while not routing.IsEnd(index):
                routes[k].append(manager.IndexToNode(index))
                index = assignment.Value(routing.NextVar(index))
    return _result(problem, routes, t0)
