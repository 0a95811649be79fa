"""Ballots to send to a station, with a stated probability of running out.

A station's turnout is uncertain before the vote: the planner knows its expected load, not
what will come. The load is taken as lognormal, its median the expected load, with
``forecast_sigma`` (the standard deviation of its logarithm). The day's votes are Poisson
around the station's votes curve at that load (so a saturated station is never sent many more
ballots than it can process). The ballots sent are the fewest whose probability of running
out, over both, is at most ``run_out_probability``. Where a ballot cap binds, the cap is sent
and its own probability of running out is stated.

Calibration of the default ``forecast_sigma`` (0.32): in Russia's 2018 election abroad
(../shared/data/ru_2018_abroad_stations.csv) stations received a median 1.81 ballots per voter
and 3.1 % of them were left with at most 1 % unused (ran out, or nearly); a lognormal error of
sigma 0.32 gives both (ln 1.81 / 1.87 = 0.32, 1.87 being the normal 96.9 % quantile).
Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import pdtrc

DEFAULT_FORECAST_SIGMA = 0.32
DEFAULT_RUN_OUT_PROBABILITY = 0.01


@dataclass(frozen=True)
class BallotAdvice:
    ballots: int
    run_out_probability: float
    """Probability that the station runs out with ``ballots`` (stated, from the model above)."""


_Z = np.linspace(-7.0, 7.0, 1401)
"""Standard normal grid for the load's uncertainty (fine: the Poisson tail is a sharp step)."""
_W = np.exp(-0.5 * _Z**2) / np.exp(-0.5 * _Z**2).sum()


def _vote_means(
    votes_at: Callable[[float], float], expected_load: float, forecast_sigma: float
) -> npt.NDArray[np.float64]:
    loads = expected_load * np.exp(forecast_sigma * _Z)
    return np.array([max(votes_at(float(x)), 0.0) for x in loads])


def probability_of_running_out(
    votes_at: Callable[[float], float], expected_load: float, ballots: int, forecast_sigma: float
) -> float:
    """P(more voters would cast a ballot than ``ballots``): the load lognormal (median the
    expected load), the day's votes Poisson around the votes curve at that load."""
    means = _vote_means(votes_at, expected_load, forecast_sigma)
    return float(np.sum(_W * pdtrc(ballots, means)))


def ballots_to_send(
    votes_at: Callable[[float], float],
    expected_load: float,
    *,
    run_out_probability: float = DEFAULT_RUN_OUT_PROBABILITY,
    forecast_sigma: float = DEFAULT_FORECAST_SIGMA,
    cap: int | None = None,
) -> BallotAdvice:
    """The fewest ballots with which a station whose votes cast at load L are ``votes_at(L)``
    runs out with at most ``run_out_probability`` (the cap, if it binds, and its probability)."""
    if not 0 < run_out_probability < 1:
        raise ValueError("run_out_probability must be in (0, 1)")

    means = _vote_means(votes_at, expected_load, forecast_sigma)

    def p_out(b: int) -> float:
        return float(np.sum(_W * pdtrc(b, means)))

    hi = max(math.ceil(votes_at(expected_load * math.exp(6 * forecast_sigma)) * 2), 10)
    while p_out(hi) > run_out_probability:
        hi *= 2
    lo = 0
    while lo < hi:
        mid = (lo + hi) // 2
        if p_out(mid) <= run_out_probability:
            hi = mid
        else:
            lo = mid + 1
    if cap is not None and hi > cap:
        return BallotAdvice(cap, p_out(cap))
    return BallotAdvice(hi, p_out(hi))
