"""Alert rules with their thresholds, and the actions attached to each alert."""

from __future__ import annotations

import numpy as np

from abroad.model import ClosePolicy, Exponential, LogNormal
from abroad.ops.actions import ActionGoal, ActionKind, Neighbour, redirect_action, servers_action
from abroad.ops.alerts import (
    AlertKind,
    AlertThresholds,
    attach_actions,
    evaluate_alerts,
    needs_actions,
    silent_alert,
)
from abroad.ops.nowcast import StationState, condition, run, summarise
from abroad.queueing import DaySpec, StageSpec, StationSpec


def station(
    desks: int, rate: float, ballots: int | None = None, cap: int | None = None, name: str = "s"
) -> StationSpec:
    return StationSpec(
        name=name,
        days=(
            DaySpec(
                open_minutes=480, close_minutes=1200, arrivals_per_hour=(rate,), bin_minutes=720
            ),
        ),
        stages=(
            StageSpec(name="checkin", servers=desks, service=Exponential(mean_minutes=2.0)),
            StageSpec(name="booth", servers=12, service=LogNormal(mean_minutes=3, cv=0.5)),
        ),
        close_policy=ClosePolicy(kind="hard_close"),
        ballots=ballots,
        max_queue_outside=cap,
    )


def alerts_for(spec: StationSpec, state: StationState, th: AlertThresholds, **kw: object):  # type: ignore[no-untyped-def]
    cond = condition(spec, state, replications=30, seed=1)
    return cond, evaluate_alerts(cond, summarise(cond, run(cond)), th, **kw)  # type: ignore[arg-type]


def test_a_quiet_station_raises_nothing() -> None:
    _, alerts = alerts_for(
        station(3, 40),
        StationState(now_minute=700, people_in_line=2, processed_today=150),
        AlertThresholds(),
    )
    assert alerts == ()


def test_silent_station() -> None:
    th = AlertThresholds(silent_minutes=30)
    assert silent_alert("s", 29, th) is None
    a = silent_alert("s", 45, th)
    assert a is not None and a.kind is AlertKind.SILENT and a.value == 45


def test_overloaded_station_alerts_with_actions_that_fix_it() -> None:
    # 2 desks x 30/h = 60/h against 75/h, 120 in line at 14:00
    spec = station(2, 75)
    state = StationState(now_minute=840, people_in_line=120, processed_today=360)
    _, alerts = alerts_for(spec, state, AlertThresholds(left_at_close_people=10))
    kinds = {a.kind for a in alerts}
    assert {AlertKind.LEFT_AT_CLOSE, AlertKind.WAIT_ABOVE_TARGET} <= kinds
    left = next(a for a in alerts if a.kind is AlertKind.LEFT_AT_CLOSE)
    acts = {a.kind: a for a in left.actions}
    assert acts[ActionKind.EXTEND].achieves_goal
    assert acts[ActionKind.EXTEND].minutes and acts[ActionKind.EXTEND].minutes >= 60
    add = acts[ActionKind.ADD_SERVERS]
    assert add.achieves_goal and add.stage == "checkin" and add.servers and add.servers >= 1
    assert add.left_in_line_at_close_after.ci_high == 0
    wait = next(a for a in alerts if a.kind is AlertKind.WAIT_ABOVE_TARGET)
    w_add = next(a for a in wait.actions if a.kind is ActionKind.ADD_SERVERS)
    assert w_add.wait_minutes_now_after.mean <= 30
    assert w_add.achieves_goal


def test_ballots_running_out_asks_for_ballots() -> None:
    # 365 ballots left at noon, about 60 x 8 = 480 more voters to come
    spec = station(4, 60, ballots=600)
    state = StationState(now_minute=720, people_in_line=5, processed_today=235)
    cond, alerts = alerts_for(spec, state, AlertThresholds())
    a = next(a for a in alerts if a.kind is AlertKind.BALLOTS_EXHAUSTED)
    assert a.value > 0.9
    result = summarise(cond, run(cond))
    assert result.ballots.minute is not None
    assert 960 <= result.ballots.minute.mean <= 1200  # 365 / 60 h after noon: about 18:00
    act = a.actions[0]
    assert act.kind is ActionKind.DELIVER_BALLOTS
    assert act.ballots is not None and 60 <= act.ballots <= 250


def test_line_above_the_security_cap() -> None:
    spec = station(2, 75, cap=100)
    state = StationState(now_minute=840, people_in_line=90, processed_today=360)
    _, alerts = alerts_for(spec, state, AlertThresholds())
    assert AlertKind.LINE_ABOVE_CAP in {a.kind for a in alerts}


def test_redirect_takes_people_a_neighbour_can_serve() -> None:
    busy = station(2, 75, name="busy")
    idle = station(6, 30, name="idle")
    cond = condition(
        busy, StationState(now_minute=840, people_in_line=150, processed_today=360), 30, 1
    )
    other = condition(
        idle, StationState(now_minute=840, people_in_line=0, processed_today=180), 30, 2
    )
    act = redirect_action(cond, Neighbour("idle", 40.0, other))
    assert act is not None and act.kind is ActionKind.REDIRECT
    assert act.voters is not None and 50 <= act.voters <= 150
    before = run(cond).left_in_line_at_close.mean()
    assert act.left_in_line_at_close_after.mean < before
    # a neighbour that is itself full takes nobody
    full = condition(
        busy.model_copy(update={"name": "full"}),
        StationState(now_minute=840, people_in_line=150, processed_today=360),
        30,
        3,
    )
    none = redirect_action(cond, Neighbour("full", 40.0, full))
    assert none is not None and none.voters is not None and none.voters <= 5


def test_servers_action_with_a_lead_time_needs_at_least_as_many() -> None:
    spec = station(2, 75)
    cond = condition(
        spec, StationState(now_minute=840, people_in_line=120, processed_today=360), 30, 1
    )
    now = servers_action(cond, ActionGoal())
    later = servers_action(cond, ActionGoal(lead_minutes=120))
    assert now is not None and later is not None
    assert later.servers is not None and now.servers is not None and later.servers >= now.servers
    assert later.minutes == 960
    assert np.isfinite(later.left_in_line_at_close_after.mean)


def test_alerts_of_one_station_share_its_actions() -> None:
    """The left-at-close and line-cap alerts carry the same added servers and redirects,
    computed once; the wait alert's servers aim at the wait target instead."""
    spec = station(2, 75, cap=100, name="busy")
    idle = condition(
        station(6, 30, name="idle"),
        StationState(now_minute=840, people_in_line=0, processed_today=180),
        30,
        2,
    )
    state = StationState(now_minute=840, people_in_line=120, processed_today=360)
    _, alerts = alerts_for(
        spec,
        state,
        AlertThresholds(left_at_close_people=10),
        neighbours=[Neighbour("idle", 40.0, idle)],
    )
    by_kind = {a.kind: a for a in alerts}
    left = {a.kind: a for a in by_kind[AlertKind.LEFT_AT_CLOSE].actions}
    cap = {a.kind: a for a in by_kind[AlertKind.LINE_ABOVE_CAP].actions}
    wait = {a.kind: a for a in by_kind[AlertKind.WAIT_ABOVE_TARGET].actions}
    assert left[ActionKind.ADD_SERVERS] is cap[ActionKind.ADD_SERVERS]
    assert left[ActionKind.REDIRECT] is cap[ActionKind.REDIRECT] is wait[ActionKind.REDIRECT]
    assert ActionKind.EXTEND in left and ActionKind.EXTEND not in cap
    assert wait[ActionKind.ADD_SERVERS].wait_minutes_now_after.mean <= 30


def test_alerts_first_then_their_actions_give_the_same_alerts() -> None:
    spec = station(2, 75, cap=100)
    state = StationState(now_minute=840, people_in_line=120, processed_today=360)
    cond = condition(spec, state, replications=30, seed=1)
    nc = summarise(cond, run(cond))
    th = AlertThresholds(left_at_close_people=10)
    bare = evaluate_alerts(cond, nc, th, with_actions=False)
    assert needs_actions(bare) and all(a.actions == () for a in bare)
    full = evaluate_alerts(cond, nc, th)
    assert attach_actions(cond, bare) == full
    assert {a.kind for a in full} >= {
        AlertKind.LEFT_AT_CLOSE,
        AlertKind.WAIT_ABOVE_TARGET,
        AlertKind.LINE_ABOVE_CAP,
    }
    assert all(a.actions for a in full)
    assert not needs_actions([silent_alert("s", 60, th)])  # type: ignore[list-item]
