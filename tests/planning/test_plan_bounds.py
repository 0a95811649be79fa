"""Bounds are valid (never below the best plan) and the MILP models behave."""

from __future__ import annotations

import numpy as np
import pytest

from abroad.planning import Kernel, evaluate, exhaustive_best
from abroad.planning.bounds import (
    plain_milp_plan,
    resource_bound,
    simple_bound,
    solve_milp,
    staff_envelope,
)
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


@pytest.mark.parametrize("seed", range(0, 20, 3))
def test_closest_assignment_milp_is_exact_with_full_lists(seed: int) -> None:
    inst = random_instance(seed, 50, 10)
    kernel = Kernel(inst)
    best = exhaustive_best(inst, kernel).objective
    milp = solve_milp(kernel, k_bound=inst.n_pref, time_limit_seconds=10)
    assert milp.status == "Optimal"
    assert milp.dual_bound == pytest.approx(best, rel=1e-5)
    assert milp.open_mask is not None
    assert evaluate(inst, milp.open_mask).objective == pytest.approx(best, rel=1e-5)


def test_free_assignment_model_overstates_its_plan() -> None:
    # Free assignment relaxes behaviour: what it claims is at least its plan's true value.
    for seed in range(6):
        inst = random_instance(seed, 60, 12, with_staff=False)
        kernel = Kernel(inst)
        res = plain_milp_plan(kernel, time_limit_seconds=5, k_bound=12)
        assert res.open_mask is not None
        truth = evaluate(inst, res.open_mask, kernel)
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
