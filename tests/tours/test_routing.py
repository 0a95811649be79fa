"""The routing core: the checker, and the local search against exact enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abroad.tours.routing import RoutingProblem, Vehicle, check_solution, greedy, solve


def _problem(
    seed: int,
    n: int = 7,
    m: int = 2,
    tmax: float = 9.0,
    group_limit: tuple[float, ...] = (),
    budget: float | None = None,
) -> RoutingProblem:
    """Random points in a 10 x 10 square; location 0 is the depot, nodes at 1..n."""
    rng = np.random.default_rng(seed)
    pts = np.vstack([[5.0, 5.0], rng.uniform(0, 10, size=(n, 2))])
    travel = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(axis=2))
    return RoutingProblem(
        location=np.arange(1, n + 1, dtype=np.int64),
        prize=rng.integers(1, 20, size=n).astype(np.float64),
        service=rng.uniform(0, 1, size=n),
        node_cost=rng.uniform(0, 2, size=n),
        travel=travel,
        vehicles=tuple(Vehicle(0, 0, tmax, group=k % 2 if group_limit else 0) for k in range(m)),
        travel_cost=travel,
        group_limit=group_limit,
        budget=budget,
    )


def _shortest(problem: RoutingProblem, subset: tuple[int, ...]) -> tuple[float, float]:
    """Least duration of a route through ``subset`` (Held-Karp), and that route's cost."""
    if not subset:
        return 0.0, 0.0
    best = math.inf
    best_route: tuple[int, ...] = ()
    for perm in itertools.permutations(subset):
        d = problem.route_duration(perm, problem.vehicles[0])
        if d < best:
            best, best_route = d, perm
    return best, problem.route_cost(best_route, problem.vehicles[0])


def _optimum(problem: RoutingProblem) -> float:
    """Exact optimum by enumerating every assignment of nodes to routes (or to none).

    Travel cost equals travel time, so the shortest route through a set is also its cheapest:
    the enumeration is exact with group and budget limits too.
    """
    n, m = problem.n_nodes, len(problem.vehicles)
    cache: dict[tuple[int, ...], tuple[float, float]] = {}
    best = 0.0
    for assign in itertools.product(range(m + 1), repeat=n):
        prize = sum(problem.prize[i] for i in range(n) if assign[i] < m)
        if prize <= best:
            continue
        ok = True
        cost = 0.0
        group_used: dict[int, float] = {}
        for k, v in enumerate(problem.vehicles):
            subset = tuple(i for i in range(n) if assign[i] == k)
            if subset not in cache:
                cache[subset] = _shortest(problem, subset)
            d, c = cache[subset]
            if d > v.max_duration + 1e-9:
                ok = False
                break
            cost += c
            group_used[v.group] = group_used.get(v.group, 0.0) + d
        if not ok:
            continue
        if any(
            g < len(problem.group_limit) and u > problem.group_limit[g] + 1e-9
            for g, u in group_used.items()
        ):
            continue
        if problem.budget is not None and cost > problem.budget + 1e-9:
            continue
        best = prize
    return float(best)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_search_finds_the_enumerated_optimum(seed: int) -> None:
    problem = _problem(seed)
    solution = solve(problem, seconds=30, max_iterations=60, seed=0)
    assert check_solution(problem, solution.routes) == []
    optimum = _optimum(problem)
    assert optimum < problem.prize.sum()  # not everything fits: the choice matters
    assert solution.prize == pytest.approx(optimum)


@pytest.mark.parametrize(
    ("group_limit", "budget"), [((6.0, 4.0), None), ((), 8.0)], ids=["team-days", "budget"]
)
def test_optimum_with_team_limits_or_budget(
    group_limit: tuple[float, ...], budget: float | None
) -> None:
    problem = _problem(5, m=3, tmax=8.0, group_limit=group_limit, budget=budget)
    solution = solve(problem, seconds=30, max_iterations=60, seed=0)
    assert check_solution(problem, solution.routes) == []
    optimum = _optimum(problem)
    assert 0 < optimum < _optimum(_problem(5, m=3, tmax=8.0))  # the limit binds
    assert solution.prize == pytest.approx(optimum)


def test_greedy_is_feasible_and_not_better_than_the_search() -> None:
    problem = _problem(6, n=8)
    g = greedy(problem)
    s = solve(problem, seconds=30, max_iterations=30, seed=0)
    assert check_solution(problem, g.routes) == []
    assert g.prize <= s.prize


def test_same_seed_same_result() -> None:
    problem = _problem(7, n=8)
    a = solve(problem, seconds=30, max_iterations=20, seed=3)
    b = solve(problem, seconds=30, max_iterations=20, seed=3)
    assert a.routes == b.routes


def test_checker_names_each_broken_rule() -> None:
    problem = _problem(8, n=5, m=2, tmax=3.0, group_limit=(1.0, 100.0), budget=0.5)
    far = int(np.argmax(problem.travel[0, 1:]))
    broken = check_solution(problem, [[far, far], [0]])
    assert any("visited twice" in b for b in broken)
    assert any("lasts" in b and "route 0" in b for b in broken)
    assert any("group 0" in b for b in broken)
    assert any("budget" in b for b in broken)
    assert check_solution(problem, [[], []]) == []
    assert check_solution(problem, [[]]) == ["1 routes for 2 vehicles"]


def test_initial_routes_are_kept_or_improved() -> None:
    problem = _problem(9, n=8)
    start = greedy(problem)
    s = solve(problem, seconds=30, max_iterations=5, seed=0, initial=start.routes)
    assert s.prize >= start.prize
    with pytest.raises(ValueError, match="not feasible"):
        solve(problem, max_iterations=1, initial=[list(range(8)), []])


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 12),
    m=st.integers(1, 4),
    tmax=st.floats(0.5, 20.0),
    limits=st.booleans(),
    budget=st.one_of(st.none(), st.floats(0.0, 30.0)),
)
def test_every_search_result_keeps_every_limit(
    seed: int, n: int, m: int, tmax: float, limits: bool, budget: float | None
) -> None:
    group_limit = (tmax * 0.7, tmax * 1.2) if limits else ()
    problem = _problem(seed, n=n, m=m, tmax=tmax, group_limit=group_limit, budget=budget)
    solution = solve(problem, seconds=30, max_iterations=5, seed=seed)
    assert check_solution(problem, solution.routes) == []
    assert solution.prize == pytest.approx(
        sum(problem.prize[i] for r in solution.routes for i in r)
    )
