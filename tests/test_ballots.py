"""Ballots sent with a stated probability of running out, checked by sampling the model."""

from __future__ import annotations

import numpy as np
import pytest

from abroad.network.ballots import (
    allocate_ballots,
    ballots_to_send,
    expected_shortfall,
    probability_of_running_out,
)


def _run_out_rate(votes_at, load: float, sigma: float, ballots: int, n: int = 200_000) -> float:
    rng = np.random.default_rng(7)
    loads = load * np.exp(sigma * rng.standard_normal(n))
    votes = rng.poisson(np.array([votes_at(x) for x in loads]))
    return float(np.mean(votes > ballots))


def test_the_stated_probability_is_the_sampled_one_for_an_idle_station() -> None:
    advice = ballots_to_send(lambda x: x, 1000.0, run_out_probability=0.02, forecast_sigma=0.3)
    rate = _run_out_rate(lambda x: x, 1000.0, 0.3, advice.ballots)
    assert rate == pytest.approx(0.02, abs=0.006)


def test_a_saturated_station_is_not_sent_more_than_it_can_process() -> None:
    advice = ballots_to_send(lambda x: min(x, 800.0), 3000.0, run_out_probability=0.01)
    assert 800 <= advice.ballots <= 800 + 3 * np.sqrt(800) + 1


def test_a_binding_cap_states_its_higher_probability() -> None:
    free = ballots_to_send(lambda x: x, 4000.0, run_out_probability=0.01)
    capped = ballots_to_send(lambda x: x, 4000.0, run_out_probability=0.01, cap=5000)
    assert free.ballots > 5000 and capped.ballots == 5000
    assert capped.run_out_probability > 0.01
    rate = _run_out_rate(lambda x: x, 4000.0, 0.32, 5000)
    assert capped.run_out_probability == pytest.approx(rate, abs=0.01)


# --- a ballot budget for the network ---------------------------------------------------------

STATIONS = [(lambda x: x, 60.0), (lambda x: min(x, 150.0), 200.0), (lambda x: x, 25.0)]


def _shortfall_sampled(votes_at, load: float, sigma: float, ballots: int) -> float:
    rng = np.random.default_rng(11)
    loads = load * np.exp(sigma * rng.standard_normal(200_000))
    votes = rng.poisson(np.array([votes_at(x) for x in loads]))
    return float(np.mean(np.maximum(votes - ballots, 0)))


def test_the_expected_shortfall_is_the_sampled_one() -> None:
    votes_at, load = STATIONS[1]
    for ballots in (0, 120, 160, 400):
        stated = expected_shortfall(votes_at, load, ballots, 0.32)
        sampled = _shortfall_sampled(votes_at, load, 0.32, ballots)
        assert stated == pytest.approx(sampled, rel=0.03, abs=0.05)


def test_a_budget_that_fits_changes_nothing_and_states_the_reserve() -> None:
    own = [ballots_to_send(f, load) for f, load in STATIONS]
    alloc = allocate_ballots(STATIONS, budget=10_000)
    assert alloc.stations == tuple(own)
    assert not alloc.budget_binds
    assert alloc.reserve == 10_000 - sum(a.ballots for a in own)
    assert allocate_ballots(STATIONS, budget=None).reserve == 0


def test_a_binding_budget_is_shared_as_well_as_ballot_by_ballot_greedy() -> None:
    """Expected shortfall is convex in each station's ballots, so handing out the budget one
    ballot at a time to the station most likely to run out is optimal; the common-probability
    allocation must lose at most one ballot's worth against it."""
    budget = 260
    alloc = allocate_ballots(STATIONS, budget=budget)
    assert alloc.budget_binds
    assert alloc.total + alloc.reserve == budget
    assert all(a.run_out_probability <= alloc.common_run_out_probability for a in alloc.stations)
    assert alloc.common_run_out_probability > 0.01
    greedy = [0] * len(STATIONS)
    for _ in range(budget):
        p = [
            probability_of_running_out(f, load, b, 0.32)
            for (f, load), b in zip(STATIONS, greedy, strict=True)
        ]
        greedy[int(np.argmax(p))] += 1

    def total_short(ballots: list[int]) -> float:
        return sum(
            expected_shortfall(f, load, b, 0.32)
            for (f, load), b in zip(STATIONS, ballots, strict=True)
        )

    ours = total_short([a.ballots for a in alloc.stations])
    best = total_short(greedy)
    assert best <= ours <= best + 1.0
    # and much better than cutting every station's own ballots in the same proportion
    own = [ballots_to_send(f, load).ballots for f, load in STATIONS]
    scaled = [int(b * budget / sum(own)) for b in own]
    assert ours < total_short(scaled)
