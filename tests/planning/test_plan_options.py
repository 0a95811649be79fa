"""Alternatives per site (hours, days, close policy) that exclude each other.

- The exact planner with alternatives equals brute force over every open set and every
  combination of alternatives.
- Adding an alternative (an hour more in the window, a day, a close policy) never lowers the
  planner's value.
- The large-instance planner returns a feasible plan no better than the optimum and a bound no
  lower than it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abroad.planning import exhaustive_best, value_plan
from abroad.planning.instance import PlanningInstance
from abroad.planning.options import (
    VOTE_TIE,
    SiteOptions,
    choose_alternatives,
    exhaustive_with_options,
    instance_with,
    plan_with_options,
    relaxed_instance,
)
from abroad.planning.synthetic import options_of, random_instance, random_options


def _options(base: PlanningInstance, seed: int, n_alt: int) -> SiteOptions:
    return random_options(base, seed, n_alt)


def _options_of(base: PlanningInstance, rows: list[tuple[int, float]], seed: int) -> SiteOptions:
    return options_of(base, rows, seed)


def _brute_force(base: PlanningInstance, options: SiteOptions) -> float:
    best = -np.inf
    own = [options.of_site(s).tolist() for s in range(base.n_sites)]
    for choice in itertools.product(*own):
        inst = instance_with(base, options, np.array(choice))
        for size in range(base.max_open + 1):
            for sites in itertools.combinations(range(base.n_sites), size):
                v = value_plan(inst, list(sites))
                if v.feasible:
                    best = max(best, v.objective)
    return best


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), n_alt=st.integers(1, 3))
def test_exhaustive_with_alternatives_equals_brute_force(seed: int, n_alt: int) -> None:
    base = random_instance(seed, 25, 4, max_open=3)
    options = _options(base, seed, n_alt)
    got = exhaustive_with_options(base, options)
    assert got.plan.feasible
    # Alternatives within VOTE_TIE of a station's best count as equally good (cheaper first).
    best = _brute_force(base, options)
    assert best - VOTE_TIE * base.max_open - 1e-9 <= got.objective <= best + 1e-9 * abs(best)
    # The plan is what its chosen alternatives give.
    again = value_plan(instance_with(base, options, got.choice), list(got.plan.open_sites))
    assert again.objective == pytest.approx(got.objective)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), factor=st.floats(0.3, 2.0), site=st.integers(0, 4))
def test_an_added_alternative_never_lowers_the_value(seed: int, factor: float, site: int) -> None:
    base = random_instance(seed, 30, 5, max_open=4)
    rng = np.random.default_rng(seed)
    rows = [(s, float(rng.uniform(0.5, 1.6))) for s in range(5) for _ in range(2)]
    before = exhaustive_with_options(base, _options_of(base, rows, seed)).objective
    wider = sorted([*rows, (site, factor)], key=lambda r: r[0])
    after = exhaustive_with_options(base, _options_of(base, wider, seed)).objective
    # Within the votes tie of each open station (VOTE_TIE, the reported round-off).
    assert after >= before - VOTE_TIE * base.max_open - 1e-9 * max(1.0, abs(before))


def test_one_alternative_per_site_is_the_plain_planner() -> None:
    base = random_instance(3, 40, 6, max_open=4)
    own = SiteOptions.build(
        n_sites=base.n_sites,
        site=np.arange(base.n_sites),
        served_intercept=base.served_intercept,
        served_slope=base.served_slope,
        staff_break_load=base.staff_break_load,
        staff_level=base.staff_level,
        open_cost=base.open_cost,
    )
    assert exhaustive_with_options(base, own).objective == pytest.approx(
        exhaustive_best(base).objective
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_large_instance_planner_is_feasible_and_its_bound_holds(seed: int) -> None:
    base = random_instance(seed, 60, 8, max_open=5)
    options = _options(base, seed, 3)
    optimum = exhaustive_with_options(base, options).objective
    got = plan_with_options(
        base, options, time_limit_seconds=2.0, seed=seed, exhaustive_max_plans=0
    )
    assert got.plan.feasible
    assert got.objective <= optimum + 1e-6 * abs(optimum)
    assert got.bound >= optimum - 1e-6 * abs(optimum)
    assert got.objective >= 0.9 * optimum


def test_the_relaxed_instance_majorises_every_alternative() -> None:
    base = random_instance(5, 30, 4, max_open=3)
    options = _options(base, 5, 3)
    relaxed = relaxed_instance(base, options)
    for o in range(options.n_options):
        s = int(options.site[o])
        for load in np.linspace(0, base.max_load()[s], 25):
            own = float(np.min(options.served_intercept[o] + options.served_slope[o] * load))
            assert relaxed.served(s, load) >= own - 1e-9
            j = int(np.sum(options.staff_break_load[o] < load))
            assert relaxed.staff(s, load) <= options.staff_level[o, j] + 1e-9
        assert relaxed.open_cost[s] <= options.open_cost[o]


def test_budgets_pick_cheaper_alternatives() -> None:
    """A cost budget that the best alternatives break makes the knapsack trade them."""
    base = random_instance(7, 30, 4, max_open=4, with_cost=False)
    rows = [(s, f) for s in range(4) for f in (0.6, 1.5)]
    options = _options_of(base, rows, 7)
    mask = np.ones(4, dtype=np.bool_)
    load = value_plan(base, mask).load_voters
    free = choose_alternatives(base, options, mask, load)
    assert free is not None
    costly = SiteOptions.build(
        n_sites=4,
        site=options.site,
        served_intercept=options.served_intercept,
        served_slope=options.served_slope,
        staff_break_load=options.staff_break_load,
        staff_level=options.staff_level,
        open_cost=[1.0 if i % 2 == 0 else 3.0 for i in range(8)],
    )
    budget = PlanningInstance.build(
        demand_weight=base.demand_weight,
        pref_site=base.pref_site,
        pref_decay=base.pref_decay,
        served_intercept=base.served_intercept,
        served_slope=base.served_slope,
        cost_budget=8.0,
    )
    chosen = choose_alternatives(budget, costly, mask, load)
    assert chosen is not None
    assert costly.open_cost[chosen].sum() <= 8.0 + 1e-9
    # ... and the best such trade: brute force over the 16 combinations within the budget.
    best = max(
        sum(
            float(np.min(costly.served_intercept[o] + costly.served_slope[o] * load[s]))
            for s, o in enumerate(c)
        )
        for c in itertools.product(*[costly.of_site(s).tolist() for s in range(4)])
        if costly.open_cost[list(c)].sum() <= 8.0
    )
    got = sum(
        float(np.min(costly.served_intercept[o] + costly.served_slope[o] * load[s]))
        for s, o in enumerate(chosen)
    )
    assert best - 4 * VOTE_TIE - 1e-6 <= got <= best + 1e-6
