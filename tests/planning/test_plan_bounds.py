"""Bounds are valid (never below the best plan) and the MILP models behave."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from abroad.planning import Kernel, exhaustive_best, value_plan
from abroad.planning.bounds import (
    plain_milp_plan,
    resource_bound,
    simple_bound,
    solve_milp,
    staff_envelope,
)
from abroad.planning.lagrangian import _site_values, lagrangian_bound
from abroad.planning.rules import Lists, Rules
from abroad.planning.synthetic import random_instance


@pytest.mark.parametrize("seed", range(20))
def test_every_bound_is_at_least_the_enumerated_optimum(seed: int) -> None:
    inst = random_instance(seed, 50, 10, k_nearest=[None, 4, 7][seed % 3], n_must=seed % 2)
    kernel = Kernel(inst)
    best = exhaustive_best(inst, kernel).objective
    tol = 1e-6 * max(1.0, abs(best))
    assert simple_bound(kernel) >= best - tol
    assert resource_bound(kernel, time_limit_seconds=5).dual_bound >= best - tol
    with_leaving = resource_bound(kernel, time_limit_seconds=5, designations=(0, 1, 2))
    assert with_leaving.dual_bound >= best - tol
    for k_bound in (2, 5, 20):
        milp = solve_milp(kernel, k_bound=k_bound, time_limit_seconds=5)
        assert milp.dual_bound >= best - tol, k_bound
    lp = solve_milp(kernel, k_bound=3, relax_integrality=True, time_limit_seconds=5)
    assert lp.dual_bound >= best - tol
    assert lagrangian_bound(kernel, time_limit_seconds=5).bound >= best - tol
    # With the optimum as Polyak target it stops early, still above it.
    assert lagrangian_bound(kernel, target_objective=best).bound >= best - tol


def test_lagrangian_bound_is_as_strong_as_the_free_assignment_milp() -> None:
    # The Lagrangian bound relaxes the free-assignment model, so it is never below that
    # model's optimum; its strength is that it usually equals it (no duality gap).
    close = 0
    for seed in range(12):
        inst = random_instance(seed, 50, 10, k_nearest=[None, 4, 7][seed % 3], n_must=seed % 2)
        kernel = Kernel(inst)
        free = solve_milp(kernel, model="free", k_bound=inst.n_pref, time_limit_seconds=10)
        assert free.status == "Optimal"
        lag = lagrangian_bound(kernel, time_limit_seconds=5)
        assert lag.bound >= free.dual_bound - 1e-6 * max(1.0, abs(free.dual_bound))
        close += lag.bound <= free.dual_bound * (1 + 1e-3) + 1e-6
    assert close >= 10


@pytest.mark.parametrize("seed", range(8))
def test_site_subproblem_matches_a_linear_programme(seed: int) -> None:
    # V = max served(L) - sum price_p x_p, L = sum wd_p x_p <= cap, x in [0, 1], solved by
    # scipy's LP (v <= a_m + b_m L for every piece) against the breakpoint kernel.
    rng = np.random.default_rng(seed)
    n = 30
    wd = rng.uniform(0.0, 50.0, n)
    wd[:3] = 0.0
    price = rng.uniform(0.0, 1.2, n) * wd * rng.choice([0.0, 1.0], n, p=[0.2, 0.8])
    c_max = float(wd.sum()) * rng.uniform(0.2, 0.8)
    si = np.array([[0.0, 0.15 * c_max, c_max]])
    ss = np.array([[1.0, 0.8, 0.0]])
    caps = np.array([[c_max * 0.3, c_max * 0.7, -1.0, float(wd.sum())]])
    value = np.zeros(caps.shape)
    load = np.zeros(caps.shape)
    ptr = np.array([0, n], dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    lists = Lists(
        pref_site=np.zeros((n, 1), dtype=np.int64),
        wd=wd[:, None].copy(),
        inv_ptr=ptr,
        inv_place=np.arange(n, dtype=np.int64),
        inv_pos=np.zeros(n, dtype=np.int64),
        inv_wd=wd,
    )
    rules = Rules(
        served_intercept=si,
        served_slope=ss,
        staff_break_load=np.zeros((1, 0)),
        staff_level=np.zeros((1, 1)),
        staff_pool=np.zeros(1, dtype=np.int64),
        pool_budget=np.full(1, np.inf),
        total_budget=np.inf,
        open_cost=np.zeros(1),
        cost_weight=0.0,
        cost_budget=np.inf,
    )
    _site_values(lists, price, rules, caps, value, load, order)
    assert value[0, 2] == -np.inf
    for j in (0, 1, 3):
        # variables x_0..x_{n-1}, v; maximise v - price x
        c = np.concatenate([price, [-1.0]])
        a_ub = [np.concatenate([wd, [0.0]])]
        b_ub = [caps[0, j]]
        for m in range(3):
            a_ub.append(np.concatenate([-ss[0, m] * wd, [1.0]]))
            b_ub.append(si[0, m])
        bounds = [(0.0, 1.0)] * n + [(None, None)]
        lp = linprog(c, A_ub=np.array(a_ub), b_ub=np.array(b_ub), bounds=bounds, method="highs")
        assert lp.status == 0
        assert value[0, j] == pytest.approx(-lp.fun, rel=1e-7, abs=1e-6)
        assert 0.0 <= load[0, j] <= caps[0, j] + 1e-9


@pytest.mark.parametrize("seed", range(0, 20, 3))
def test_closest_assignment_milp_is_exact_with_full_lists(seed: int) -> None:
    inst = random_instance(seed, 50, 10)
    kernel = Kernel(inst)
    best = exhaustive_best(inst, kernel).objective
    milp = solve_milp(kernel, k_bound=inst.n_pref, time_limit_seconds=10)
    assert milp.status == "Optimal"
    assert milp.dual_bound == pytest.approx(best, rel=1e-5)
    assert milp.open_mask is not None
    assert value_plan(inst, milp.open_mask).objective == pytest.approx(best, rel=1e-5)


def test_free_assignment_model_overstates_its_plan() -> None:
    # Free assignment relaxes behaviour: what it claims is at least its plan's true value.
    for seed in range(6):
        inst = random_instance(seed, 60, 12, with_staff=False)
        kernel = Kernel(inst)
        res = plain_milp_plan(kernel, time_limit_seconds=5, k_bound=12)
        assert res.open_mask is not None
        truth = value_plan(inst, res.open_mask, kernel)
        assert res.model_objective >= truth.objective - 1e-6 * max(1.0, truth.objective)


def test_staff_envelope_lies_below_the_step_function() -> None:
    breaks = np.array([100.0, 200.0, 300.0, np.inf])
    levels = np.array([3.0, 4.0, 6.0, 7.0, 7.0])
    pieces = staff_envelope(breaks, levels, load_max=450.0)
    for load in np.linspace(0, 450, 901):
        step = levels[int(np.sum(breaks < load))]
        env = max(c + e * load for c, e in pieces)
        assert env <= step + 1e-9
    # Tight at the vertices of the lower hull: 0, 100, 200 and the largest load; the point
    # (300, 6) lies above the chord from (200, 4) to (450, 7), so there it is 5.2.
    for load, staff in ((0.0, 3.0), (100.0, 3.0), (200.0, 4.0), (300.0, 5.2), (450.0, 7.0)):
        assert max(c + e * load for c, e in pieces) == pytest.approx(staff)


def test_highspy_survives_scipy_optimize_import() -> None:
    import scipy.optimize  # noqa: F401  (scipy issue 22257: this import broke highspy once)

    inst = random_instance(1, 30, 6)
    assert solve_milp(Kernel(inst), time_limit_seconds=5).status == "Optimal"
