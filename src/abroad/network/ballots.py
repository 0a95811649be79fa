"""Ballots to send to a station, with a stated probability of running out.

A station's turnout is uncertain before the vote: the planner knows its expected load, not
what will come. The load is taken as lognormal, its median the expected load, with
``forecast_sigma`` (the standard deviation of its logarithm). The day's votes are Poisson
around the station's votes curve at that load (so a saturated station is never sent many more
ballots than it can process). The ballots sent are the fewest whose probability of running
out, over both, is at most ``run_out_probability``. Where a ballot cap binds, the cap is sent
and its own probability of running out is stated.

With a ballot budget for the whole network (``allocate_ballots``), ballots go where they
save most: a station's expected shortfall (votes it could not take for want of a ballot) falls
by its probability of running out for each ballot more, so the total shortfall is least when
every station runs out with the same probability (a station at its cap aside). If the stations'
own ballots fit the budget nothing changes; otherwise that common probability is raised until
they fit, and what is left of the budget (under one ballot a station) is stated as a reserve.

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
    return _Station.of(votes_at, expected_load, forecast_sigma).advice(run_out_probability, cap)


@dataclass(frozen=True)
class _Station:
    """A station's vote means over the load grid (``_vote_means``, computed once) and a first
    upper bracket for its ballots."""

    means: npt.NDArray[np.float64]
    start_hi: int

    @classmethod
    def of(
        cls, votes_at: Callable[[float], float], expected_load: float, forecast_sigma: float
    ) -> _Station:
        hi = max(math.ceil(votes_at(expected_load * math.exp(6 * forecast_sigma)) * 2), 10)
        return cls(_vote_means(votes_at, expected_load, forecast_sigma), hi)

    def p_out(self, ballots: int) -> float:
        return float(np.sum(_W * pdtrc(ballots, self.means)))

    def advice(self, run_out_probability: float, cap: int | None) -> BallotAdvice:
        """The fewest ballots that run out with at most ``run_out_probability`` (or the cap)."""
        hi = self.start_hi
        while self.p_out(hi) > run_out_probability:
            hi *= 2
        lo = 0
        while lo < hi:
            mid = (lo + hi) // 2
            if self.p_out(mid) <= run_out_probability:
                hi = mid
            else:
                lo = mid + 1
        if cap is not None and hi > cap:
            return BallotAdvice(cap, self.p_out(cap))
        return BallotAdvice(hi, self.p_out(hi))


@dataclass(frozen=True)
class BallotAllocation:
    """Ballots per station within a network's ballot budget."""

    stations: tuple[BallotAdvice, ...]
    budget_binds: bool
    """The stations' own ballots (at ``run_out_probability``) did not fit the budget."""
    common_run_out_probability: float
    """The probability every station (under its cap) runs out with when the budget binds;
    the stated ``run_out_probability`` otherwise."""
    reserve: int
    """Ballots of the budget not sent to any station (0 without a budget)."""

    @property
    def total(self) -> int:
        return sum(a.ballots for a in self.stations)


def expected_shortfall(
    votes_at: Callable[[float], float], expected_load: float, ballots: int, forecast_sigma: float
) -> float:
    """Expected votes lost for want of a ballot, E[(V - ballots)+], V as in
    ``probability_of_running_out``."""
    means = _vote_means(votes_at, expected_load, forecast_sigma)
    # E[(X - b)+] for X ~ Poisson(m): m P(X >= b) - b P(X > b)
    tail = means * pdtrc(ballots - 1, means) if ballots > 0 else means
    return float(np.sum(_W * (tail - ballots * pdtrc(ballots, means))))


def allocate_ballots(
    stations: list[tuple[Callable[[float], float], float]],
    *,
    budget: int | None,
    run_out_probability: float = DEFAULT_RUN_OUT_PROBABILITY,
    forecast_sigma: float = DEFAULT_FORECAST_SIGMA,
    cap: int | None = None,
) -> BallotAllocation:
    """Ballots for each ``(votes_at, expected_load)`` station: ``ballots_to_send`` each when
    they fit ``budget`` (or there is none), else the same probability of running out at every
    station, the least with which the total fits the budget."""

    if not 0 < run_out_probability < 1:
        raise ValueError("run_out_probability must be in (0, 1)")
    prepared = [_Station.of(votes_at, load, forecast_sigma) for votes_at, load in stations]

    def at(p: float) -> tuple[BallotAdvice, ...]:
        return tuple(s.advice(p, cap) for s in prepared)

    own = at(run_out_probability)
    total = sum(a.ballots for a in own)
    if budget is None or total <= budget:
        reserve = 0 if budget is None else budget - total
        return BallotAllocation(own, False, run_out_probability, reserve)
    lo, hi = math.log(run_out_probability), math.log(1 - 1e-9)
    best = at(math.exp(hi))
    if sum(a.ballots for a in best) > budget:  # not even a ballot short of certain run-out
        zero = tuple(BallotAdvice(0, 1.0) for _ in stations)
        return BallotAllocation(zero, True, 1.0, budget)
    best_p = math.exp(hi)
    for _ in range(40):  # bisection on log p: the total falls as p rises
        mid = 0.5 * (lo + hi)
        advice = at(math.exp(mid))
        if sum(a.ballots for a in advice) <= budget:
            hi, best, best_p = mid, advice, math.exp(mid)
        else:
            lo = mid
    return BallotAllocation(best, True, best_p, budget - sum(a.ballots for a in best))
