"""Ballots sent with a stated probability of running out, checked by sampling the model."""

from __future__ import annotations

import numpy as np
import pytest

from abroad.network.ballots import ballots_to_send


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
