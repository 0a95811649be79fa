"""Processed voters over the day: the plan's curve and the nowcast's, against theory and the
station simulator (a peer: the same voters through ``simulate_station``)."""

from __future__ import annotations

import numpy as np
import pytest

from abroad.model import ClosePolicy, Exponential, LogNormal
from abroad.ops.nowcast import (
    StationState,
    condition,
    planned_arrivals_by,
    planned_processed,
    run,
    summarise,
)
from abroad.queueing import DaySpec, StageSpec, StationSpec, simulate_station
from queueing.factory import PROFILE, two_stage


def test_a_station_that_keeps_up_processes_every_planned_voter() -> None:
    spec = two_stage(checkin=8)  # far more desks than the load: nobody waits long
    curve = planned_processed(spec, 0, replications=200, seed=1)
    means = np.array([p.mean for p in curve])
    assert np.all(np.diff(means) >= 0)  # cumulative
    assert curve[0].minute == 480
    planned = sum(PROFILE)  # 12 hours of the profile, no early line
    assert means[-1] == pytest.approx(planned, rel=0.03)
    # half-way through the day: the arrivals of the first six hours, less those in service
    mid = next(p for p in curve if p.minute == 480 + 360)
    assert mid.mean == pytest.approx(sum(PROFILE[:6]), rel=0.05)
    assert mid.ci_low <= mid.mean <= mid.ci_high


def test_the_plans_curve_agrees_with_the_station_simulator() -> None:
    spec = StationSpec(
        days=(DaySpec(open_minutes=480, close_minutes=1200, arrivals_per_hour=(60.0,) * 12),),
        stages=(
            StageSpec(name="checkin", servers=1, service=Exponential(mean_minutes=1.5)),
            StageSpec(name="booth", servers=8, service=LogNormal(mean_minutes=3, cv=0.5)),
        ),
        close_policy=ClosePolicy(kind="hard_close"),
    )
    curve = planned_processed(spec, 0, replications=100, seed=5)
    peer = simulate_station(spec, replications=100, seed=5)
    # with a hard close, what left the line by closing is what the simulator served
    at_close = max(p.mean for p in curve)
    assert at_close == pytest.approx(peer.total.served.mean, rel=0.03)


def test_the_nowcast_curve_starts_now_and_adds_up() -> None:
    spec = two_stage(checkin=8)
    state = StationState(now_minute=720, people_in_line=30, processed_today=1000)
    cond = condition(spec, state, replications=200, seed=2)
    nc = summarise(cond, run(cond))
    curve = nc.processed
    assert curve[0].minute == 720
    means = np.array([p.mean for p in curve])
    assert np.all(np.diff(means) >= 0)
    # everyone in line now and every arrival until closing leaves the line by the end
    expected = 30 + cond.thetas.mean() * (
        planned_arrivals_by(spec.days[0], 1200) - planned_arrivals_by(spec.days[0], 720)
    )
    assert means[-1] == pytest.approx(expected, rel=0.03)
    assert nc.as_dict()["processed_from_now"][0]["minute"] == 720
