"""PyVRP and OR-Tools on our routing problem, in one process with highspy (the pinned set).

or-tools issue 5246: some highspy and ortools versions cannot be imported together; this
test fails if the pinned versions regress.
"""

from __future__ import annotations

import highspy
import pytest
from test_routing import _optimum, _problem

from abroad.tours.adapters import solve_ortools, solve_pyvrp
from abroad.tours.routing import RoutingProblem, Vehicle, check_solution, solve


def _untimed(problem: RoutingProblem) -> RoutingProblem:
    """The problem without a budget (the adapters do not take one)."""
    return RoutingProblem(
        problem.location,
        problem.prize,
        problem.service,
        problem.node_cost,
        problem.travel,
        problem.vehicles,
    )


def test_highspy_and_ortools_in_one_process() -> None:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.addVar(0.0, 1.0)
    h.changeColCost(0, -1.0)
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(-1.0)
    problem = _untimed(_problem(11))
    solution = solve_ortools(problem, seconds=1.0)
    assert check_solution(problem, solution.routes) == []


@pytest.mark.parametrize("solver", [solve_pyvrp, solve_ortools], ids=["pyvrp", "ortools"])
def test_library_solutions_are_feasible_and_not_above_the_optimum(solver: object) -> None:
    problem = _untimed(_problem(12))
    assert callable(solver)
    solution = solver(problem, seconds=1.0)
    assert check_solution(problem, solution.routes) == []
    optimum = _optimum(problem)
    assert 0 < solution.prize <= optimum + 1e-9
    ours = solve(problem, seconds=30, max_iterations=60, seed=0)
    assert ours.prize == pytest.approx(optimum)


def test_adapters_refuse_limits_they_cannot_state() -> None:
    problem = _problem(13, group_limit=(5.0, 5.0))
    with pytest.raises(ValueError, match="team-day"):
        solve_pyvrp(problem, seconds=0.1)
    budgeted = RoutingProblem(
        problem.location,
        problem.prize,
        problem.service,
        problem.node_cost,
        problem.travel,
        (Vehicle(0, 0, 9.0),),
        budget=1.0,
    )
    with pytest.raises(ValueError, match="budget"):
        solve_ortools(budgeted, seconds=0.1)
