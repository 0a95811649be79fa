"""The evaluate job: the planner's value of a fixed network (``abroad evaluate``)."""

from __future__ import annotations

from collections.abc import Sequence

from abroad.jobs.plan import check_planner_supports, plan_value_result
from abroad.model import Scenario, SiteId
from abroad.network.problem import build_network_problem
from abroad.results import PlanValueResult


def evaluate_plan(
    scenario: Scenario, open_site_ids: Sequence[SiteId], *, seed: int = 0
) -> PlanValueResult:
    """The planner's value of a fixed network, by site ids (raises ValueError for unknown ids)."""
    check_planner_supports(scenario)
    problem = build_network_problem(scenario, seed=seed)
    return plan_value_result(problem, problem.value_of(list(open_site_ids)))
