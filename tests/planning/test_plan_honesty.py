"""The planner's output says what happened: a wrong bound fails loudly, ``method`` names the
phases that ran, violations name sites and pools by id."""

from __future__ import annotations

import numpy as np
import pytest

from abroad.planning import BoundViolatedError, PlanningInstance, plan_network, value_plan
from abroad.planning.network import checked_bound
from abroad.planning.synthetic import random_instance


def test_a_plan_above_the_bound_beyond_round_off_raises() -> None:
    assert checked_bound(100.0, 120.0) == 120.0
    assert checked_bound(100.0 + 1e-5, 100.0) == pytest.approx(100.0 + 1e-5)  # round-off
    with pytest.raises(BoundViolatedError, match="bound is wrong"):
        checked_bound(101.0, 100.0)


def test_method_lists_the_phases_that_ran_and_only_those() -> None:
    inst = random_instance(3, n_places=300, n_sites=40, max_open=12)
    result = plan_network(inst, time_limit_seconds=3, seed=0, exhaustive_max_free_sites=0)
    ran = [p.name for p in result.phases if not p.detail.startswith("skipped")]
    assert result.method == " + ".join(ran)
    assert result.method.startswith("greedy + local search")
    skipped = [p.name for p in result.phases if p.detail.startswith("skipped")]
    for name in skipped:
        assert name not in result.method.split(" + ")


def test_method_of_an_enumerated_instance_is_exhaustive() -> None:
    result = plan_network(random_instance(1, n_sites=8), time_limit_seconds=5)
    assert result.method == "exhaustive"
    assert result.proven_optimal and result.gap == pytest.approx(0.0, abs=1e-9)


def _two_sites(pool_budget: tuple[float, float], must_open: list[bool]) -> PlanningInstance:
    return PlanningInstance.build(
        demand_weight=[100.0, 100.0],
        pref_site=[[0, 1], [1, 0]],
        pref_decay=[[1.0, 0.5], [1.0, 0.5]],
        served_intercept=[[0.0], [0.0]],
        served_slope=[[1.0], [1.0]],
        staff_break_load=[[np.inf], [np.inf]],
        staff_level=[[5.0, 5.0], [5.0, 5.0]],
        staff_pool=[0, 1],
        pool_staff_budget=list(pool_budget),
        must_open=must_open,
        site_ids=("us-dc", "us-ny"),
        pool_ids=("venue staff", "us-ny staff"),
    )


def test_violations_name_pools_by_id() -> None:
    plan = value_plan(_two_sites((5.0, 2.0), [False, False]), [0, 1])
    assert not plan.feasible
    assert any(v.startswith("staff pool us-ny staff:") for v in plan.violations), plan.violations
    assert not any("pool 1" in v for v in plan.violations)


def test_violations_name_must_open_sites_by_id() -> None:
    inst = _two_sites((5.0, 5.0), [False, True])
    plan = value_plan(inst, [0])
    assert "must-open sites closed: us-ny" in plan.violations
