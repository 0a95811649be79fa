"""Network planning: which sites open, valued under voters' true behaviour, with proven bounds.

Build a :class:`PlanningInstance`, then call :func:`plan_network` (or :func:`value_plan` for one
plan, :func:`exhaustive_best` for small instances). See docs/background/planner.md.
"""

from abroad.planning.bounds import MilpResult, simple_bound, solve_milp
from abroad.planning.instance import (
    PlanningInstance,
    preferences_from_distance,
    response_from_sizing,
)
from abroad.planning.network import (
    BoundViolatedError,
    Phase,
    PlanResult,
    ProgressEvent,
    exhaustive_best,
    plan_network,
)
from abroad.planning.valuation import Kernel, PlanValue, value_plan

__all__ = [
    "BoundViolatedError",
    "Kernel",
    "MilpResult",
    "Phase",
    "PlanResult",
    "PlanValue",
    "PlanningInstance",
    "ProgressEvent",
    "exhaustive_best",
    "plan_network",
    "preferences_from_distance",
    "response_from_sizing",
    "simple_bound",
    "solve_milp",
    "value_plan",
]
