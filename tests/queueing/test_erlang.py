"""Erlang C formula and the simulator against it on long stationary M/M/c runs."""

from __future__ import annotations

import math

import pytest

from abroad.model import Exponential
from abroad.queueing import DaySpec, StageSpec, StationSpec
from abroad.queueing import kernel as K
from abroad.queueing.erlang import erlang_c, erlang_c_servers, erlang_c_wait
from abroad.queueing.station import run_replications


def test_erlang_c_textbook_values() -> None:
    # M/M/1: P(wait) = rho
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    # M/M/2 with a = 1: C = (1/2 * 2) / (1 + 1 + 1) = 1/3
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # direct formula for c = 10, a = 9
    a, c = 9.0, 10
    top = a**c / math.factorial(c) * c / (c - a)
    bottom = sum(a**k / math.factorial(k) for k in range(c)) + top
    assert erlang_c(c, a) == pytest.approx(top / bottom, rel=1e-12)
    assert erlang_c(3, 3.0) == 1.0  # unstable
    e = erlang_c_wait(arrivals_per_hour=60, mean_service_minutes=0.5, servers=1)
    assert e.mean_wait_minutes == pytest.approx(0.5 * 0.5 / (1 - 0.5))  # M/M/1 Wq


def test_erlang_c_servers_is_the_fewest_meeting_the_level() -> None:
    c = erlang_c_servers(270, 2.0, target_wait_minutes=5, service_level=0.9)
    assert c is not None
    assert erlang_c_wait(270, 2.0, c).prob_wait_at_most(5) >= 0.9
    assert erlang_c_wait(270, 2.0, c - 1).prob_wait_at_most(5) < 0.9


def _mmc(rho: float, servers: int, horizon_minutes: float) -> tuple[StationSpec, float]:
    mean = 5.0
    lam_h = rho * servers / mean * 60
    spec = StationSpec(
        days=(
            DaySpec(
                open_minutes=0,
                close_minutes=horizon_minutes,
                arrivals_per_hour=(lam_h,),
                bin_minutes=horizon_minutes,
            ),
        ),
        stages=(StageSpec(name="s", servers=servers, service=Exponential(mean_minutes=mean)),),
        queue_step_minutes=horizon_minutes,
    )
    return spec, erlang_c_wait(lam_h, mean, servers).mean_wait_minutes


def _simulated_mean_wait(spec: StationSpec, replications: int) -> float:
    stats = run_replications(spec, replications, seed=11).stats[:, -1, :]
    # pool: total wait / total served
    served = stats[:, K.COL_COUNTS + K.SERVED]
    return float((stats[:, K.COL_WAIT_MEAN] * served).sum() / served.sum())


@pytest.mark.parametrize("rho", [0.83, 0.90])
def test_mmc_mean_wait_near_erlang_c_within_two_percent(rho: float) -> None:
    # ~6 M voters per case (a twelfth of the slow check below); the standard error is about
    # 0.7 %, so 2 % is three standard errors (and the run is seeded)
    spec, expected = _mmc(rho, 10, 600_000.0)
    assert _simulated_mean_wait(spec, 12) == pytest.approx(expected, rel=0.02)


@pytest.mark.slow
@pytest.mark.parametrize("rho", [0.83, 0.90])
def test_mmc_mean_wait_matches_erlang_c_within_one_percent(rho: float) -> None:
    # ~70 M voters per case; the standard error is about 0.2 %
    spec, expected = _mmc(rho, 10, 2_000_000.0)
    assert _simulated_mean_wait(spec, 40) == pytest.approx(expected, rel=0.01)
