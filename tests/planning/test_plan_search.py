"""The planner against exhaustive enumeration on small seeded instances."""

from __future__ import annotations

import numpy as np
import pytest

from abroad.planning import Kernel, exhaustive_best, plan_network, value_plan
from abroad.planning.search import (
    exhaustive,
    greedy,
    iterated_local_search,
    local_search,
    perturb,
)
from abroad.planning.synthetic import random_instance

SEEDS = range(24)


def _instance(seed: int):  # type: ignore[no-untyped-def]
    n_sites = 8 + seed % 5  # 8..12 candidate sites
    return random_instance(
        seed,
        n_places=40 + 7 * (seed % 4),
        n_sites=n_sites,
        k_nearest=[None, 4, 6][seed % 3],
        n_must=seed % 2,
    )


def _brute_force_best(inst) -> float:  # type: ignore[no-untyped-def]
    """Independent enumeration through the public value_plan (no shared search code)."""
    best = -np.inf
    for code in range(1 << inst.n_sites):
        mask = np.array([(code >> s) & 1 for s in range(inst.n_sites)], dtype=bool)
        if not np.all(mask[inst.must_open]) or mask.sum() > inst.max_open:
            continue
        if inst.open_cost[mask].sum() > inst.cost_budget:
            continue
        plan = value_plan(inst, mask)
        if plan.feasible:
            best = max(best, plan.objective)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_exhaustive_matches_independent_brute_force(seed: int) -> None:
    inst = _instance(seed)
    result = exhaustive_best(inst)
    assert result.objective == pytest.approx(_brute_force_best(inst), rel=1e-9)
    assert result.plan.feasible and result.proven_optimal


@pytest.mark.parametrize("seed", SEEDS)
def test_planner_equals_exhaustive_best(seed: int) -> None:
    inst = _instance(seed)
    best = exhaustive_best(inst)
    # Force the search path (no enumeration inside the planner).
    result = plan_network(inst, time_limit_seconds=2.0, seed=seed, exhaustive_max_free_sites=0)
    assert result.plan.feasible
    assert result.objective == pytest.approx(best.objective, rel=1e-7, abs=1e-7)
    # The bound is valid: never below the best enumerated value.
    assert result.bound >= best.objective - 1e-6 * max(1.0, abs(best.objective))
    # And the default planner (enumerating small instances) returns the same value.
    assert plan_network(inst, seed=seed).objective == pytest.approx(best.objective, rel=1e-9)


def test_search_is_deterministic_for_a_seed() -> None:
    """Same seed, same walk: greedy, local search and a fixed number of kicks give the same
    plan (the planner's last phase runs until a deadline, so only its kick count varies)."""
    inst = random_instance(7, 200, 40, k_nearest=10, max_open=8)
    kernel = Kernel(inst)

    def walk(seed: int) -> tuple[tuple[int, ...], float]:
        rng = np.random.default_rng(seed)
        start = local_search(greedy(kernel), np.inf, rng)
        best, rounds = iterated_local_search(kernel, start, np.inf, rng, max_rounds=60)
        assert rounds == 60
        return tuple(np.flatnonzero(best.open_mask)), best.objective

    assert walk(3) == walk(3)
    # and the seed reaches the walk: kicks from the same local optimum differ by seed
    start = local_search(greedy(kernel), np.inf, np.random.default_rng(0))
    kicked = {
        tuple(np.flatnonzero(perturb(start, np.random.default_rng(s), 3).open_mask))
        for s in range(6)
    }
    assert len(kicked) > 1


def test_planner_log_has_every_phase_with_nondecreasing_values() -> None:
    inst = random_instance(7, 200, 40, k_nearest=10, max_open=8)
    a = plan_network(inst, time_limit_seconds=1.0, seed=3)
    values = [ph.objective for ph in a.phases]
    assert values == sorted(values)
    assert {ph.name for ph in a.phases} >= {"greedy", "local search", "Lagrangian bound"}


def test_local_search_never_worsens_greedy_and_respects_limits() -> None:
    for seed in range(5):
        inst = random_instance(seed, 150, 30, k_nearest=8, max_open=6)
        kernel = Kernel(inst)
        g = greedy(kernel)
        g_obj = g.objective
        ls = local_search(g, deadline=np.inf, rng=np.random.default_rng(seed))
        assert ls.objective >= g_obj - 1e-9
        plan = value_plan(inst, ls.open_mask)
        assert plan.feasible, plan.violations
        assert len(plan.open_sites) <= inst.max_open


def test_exhaustive_refuses_large_instances() -> None:
    inst = random_instance(0, 30, 30, max_open=20)
    with pytest.raises(ValueError, match="exhaustive"):
        exhaustive(Kernel(inst))


def test_planner_enumerates_only_what_fits_its_time_limit() -> None:
    # 18 free sites (262,144 plans): enumerated given 60 s, searched given 1 s.
    inst = random_instance(3, 400, 18, max_open=18, with_cost=False)
    long = plan_network(inst, time_limit_seconds=60.0)
    assert long.method == "exhaustive" and long.proven_optimal
    assert long.phases[0].detail == "262144 plans"
    short = plan_network(inst, time_limit_seconds=1.0)
    assert short.method != "exhaustive"
    assert short.objective <= long.objective + 1e-9 * abs(long.objective)


def test_progress_callback_sees_every_phase() -> None:
    from abroad.planning import ProgressEvent

    inst = random_instance(11, 120, 30, k_nearest=8, max_open=5)
    events: list[ProgressEvent] = []
    result = plan_network(inst, time_limit_seconds=1.0, seed=0, progress=events.append)
    assert [e.phase for e in events] == [ph.name for ph in result.phases]
    assert all(e.time_limit_seconds == 1.0 for e in events)
    assert events[-1].best_objective == pytest.approx(result.objective)


@pytest.mark.parametrize("seed", range(4))
def test_kicks_never_open_a_site_the_cost_budget_cannot_pay(seed: int) -> None:
    """Iterated local search compares plans on their limits first: a kick that opened a site
    beyond the cost budget once let an over-budget plan win on votes."""
    inst = random_instance(seed, 80, 14, with_cost=True)
    kernel = Kernel(inst)
    rng = np.random.default_rng(seed)
    state = local_search(greedy(kernel), np.inf, rng)
    assert state.within_limits()
    for _ in range(200):
        kicked = perturb(state, rng, int(rng.integers(1, 4)))
        assert kicked.cost <= inst.cost_budget + 1e-9 * max(1.0, inst.cost_budget)
    best, _ = iterated_local_search(kernel, state, np.inf, rng, max_rounds=100)
    assert value_plan(inst, best.open_mask).feasible
