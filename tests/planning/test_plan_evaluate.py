"""True evaluation and its incremental moves."""

from __future__ import annotations

import numpy as np
import pytest

from abroad.planning import Kernel, PlanningInstance, value_plan
from abroad.planning.instance import InstanceError
from abroad.planning.synthetic import random_instance
from abroad.planning.valuation import _add_deltas_of


def _tiny() -> PlanningInstance:
    # Places 0,1 prefer site 0, place 2 prefers site 1. Site 0 saturates at 100 voters.
    return PlanningInstance.build(
        demand_weight=[100.0, 50.0, 80.0],
        pref_site=[[0, 1], [0, 1], [1, 0]],
        pref_decay=[[1.0, 0.5], [0.8, 0.6], [0.9, 0.2]],
        served_intercept=[[0.0, 100.0], [0.0, 1e9]],
        served_slope=[[1.0, 0.0], [1.0, 0.0]],
        staff_break_load=[[50.0], [50.0]],
        staff_level=[[2.0, 3.0], [2.0, 3.0]],
        max_open=2,
    )


def test_hand_computed_values() -> None:
    inst = _tiny()
    both = value_plan(inst, [0, 1])
    # Site 0 load 100 + 40 = 140, serves 100; site 1 load 72.
    assert both.load_voters.tolist() == pytest.approx([140.0, 72.0])
    assert both.served_voters.tolist() == pytest.approx([100.0, 72.0])
    assert both.lost_voters.tolist() == pytest.approx([40.0, 0.0])
    assert both.votes == pytest.approx(172.0)
    assert both.staff.tolist() == [3.0, 3.0]
    assert both.station_of_place.tolist() == [0, 0, 1]
    only1 = value_plan(inst, [1])
    # Everyone goes to site 1: 50 + 30 + 72.
    assert only1.votes == pytest.approx(152.0)
    assert only1.station_of_place.tolist() == [1, 1, 1]
    none = value_plan(inst, [])
    assert none.votes == 0.0 and none.feasible


def test_staff_limits_make_plans_infeasible() -> None:
    base = _tiny()
    inst = PlanningInstance.build(
        demand_weight=base.demand_weight,
        pref_site=base.pref_site,
        pref_decay=base.pref_decay,
        served_intercept=base.served_intercept,
        served_slope=base.served_slope,
        staff_break_load=base.staff_break_load,
        staff_level=base.staff_level,
        total_staff_budget=5.0,
        max_open=1,
    )
    plan = value_plan(inst, [0, 1])
    assert not plan.feasible
    assert len(plan.violations) == 2  # total staff 6 > 5, and 2 sites open > 1
    assert value_plan(inst, [1]).feasible


@pytest.mark.parametrize("seed", range(8))
def test_add_and_drop_deltas_match_full_evaluation(seed: int) -> None:
    inst = random_instance(seed, 70, 12, k_nearest=[None, 5][seed % 2])
    kernel = Kernel(inst)
    rng = np.random.default_rng(seed)
    mask = rng.random(inst.n_sites) < 0.4
    state = kernel.state(mask)
    base = value_plan(inst, mask, kernel)
    assert state.objective == pytest.approx(base.objective)
    d_obj, excess, d_votes = state.add_deltas(~mask)
    for t in np.flatnonzero(~mask):
        new_mask = mask.copy()
        new_mask[t] = True
        full = value_plan(inst, new_mask, kernel)
        assert d_obj[t] == pytest.approx(full.objective - base.objective, abs=1e-7)
        assert d_votes[t] == pytest.approx(full.votes - base.votes, abs=1e-7)
        assert excess[t] == pytest.approx(kernel.state(new_mask).staff_excess(), abs=1e-7)
    # The site-major kernel for a short list of sites gives the same numbers.
    listed = np.flatnonzero(~mask)
    d_listed, ex_listed = _add_deltas_of(listed, kernel.lists, state.assignment, kernel.rules)
    assert d_listed == pytest.approx(d_obj[listed], abs=1e-7)
    assert ex_listed == pytest.approx(excess[listed], abs=1e-7)
    for s in np.flatnonzero(mask):
        dropped = state.without(int(s))
        new_mask = mask.copy()
        new_mask[s] = False
        fresh = kernel.state(new_mask)
        assert np.array_equal(dropped.cur_site, fresh.cur_site)
        assert dropped.load == pytest.approx(fresh.load, abs=1e-7)
        assert dropped.objective == pytest.approx(fresh.objective, abs=1e-7)


def test_every_place_goes_to_its_first_open_site() -> None:
    inst = random_instance(3, 50, 10)
    rng = np.random.default_rng(0)
    for _ in range(5):
        mask = rng.random(inst.n_sites) < 0.5
        plan = value_plan(inst, mask)
        for p in range(inst.n_places):
            listed = [int(s) for s in inst.pref_site[p] if s >= 0 and mask[s]]
            assert plan.station_of_place[p] == (listed[0] if listed else -1)
        assert plan.load_voters.sum() == pytest.approx(
            plan.served_voters.sum() + plan.lost_voters.sum()
        )


def test_bad_instance_reports_every_problem() -> None:
    with pytest.raises(InstanceError) as err:
        PlanningInstance.build(
            demand_weight=[1.0, -2.0],
            pref_site=[[0, 5], [-1, 0]],
            pref_decay=[[1.0, 1.5], [0.0, 1.0]],
            served_intercept=[[5.0]],
            served_slope=[[1.0]],
            max_open=-1,
        )
    text = str(err.value)
    for where in (
        "demand_weight[1]",
        "pref_site[0][1]",
        "pref_site[1]",
        "pref_decay[0][1]",
        "served_intercept[0]",
        "max_open",
    ):
        assert where in text, where
    assert len(err.value.problems) >= 6


def test_response_from_sizing_staffs_the_fewest_desks_that_cover_the_load() -> None:
    from abroad.planning.instance import response_from_sizing

    si, ss, sb, sl = response_from_sizing(
        [np.array([300.0, 650.0, 900.0]), np.array([500.0])],
        [np.array([3.0, 4.0, 5.0]), np.array([4.0])],
    )
    inst = PlanningInstance.build(
        demand_weight=[1.0],
        pref_site=[[0, 1]],
        pref_decay=[[1.0, 1.0]],
        served_intercept=si,
        served_slope=ss,
        staff_break_load=sb,
        staff_level=sl,
    )
    assert [inst.staff(0, load) for load in (0.0, 300.0, 301.0, 650.0, 700.0, 5000.0)] == [
        3.0,
        3.0,
        4.0,
        4.0,
        5.0,
        5.0,
    ]
    assert inst.served(0, 500.0) == 500.0
    assert inst.served(0, 2000.0) == 900.0
    assert inst.staff(1, 10_000.0) == 4.0 and inst.served(1, 10_000.0) == 500.0
