"""The faster action searches give the earlier methods' answers (issue 13)."""

from __future__ import annotations

import pytest

from abroad.model import ClosePolicy, Exponential, LogNormal
from abroad.ops.actions import (
    ActionGoal,
    _search_from,
    extension_action,
    extension_action_bisect,
    servers_action,
)
from abroad.ops.nowcast import StationState, condition
from abroad.queueing import DaySpec, StageSpec, StationSpec


def station(desks: int, rate: float, lanes: int | None = None, extend: float = 0.0) -> StationSpec:
    stages = [StageSpec(name="checkin", servers=desks, service=Exponential(mean_minutes=2.0))]
    if lanes is not None:  # a door screening before the desks: a line of two stages
        stages.insert(
            0, StageSpec(name="security", servers=lanes, service=Exponential(mean_minutes=1.0))
        )
    return StationSpec(
        name="s",
        days=(
            DaySpec(
                open_minutes=480, close_minutes=1200, arrivals_per_hour=(rate,), bin_minutes=720
            ),
        ),
        stages=(
            *stages,
            StageSpec(name="booth", servers=12, service=LogNormal(mean_minutes=3, cv=0.5)),
        ),
        close_policy=ClosePolicy(kind="extend", extend_minutes=extend)
        if extend
        else ClosePolicy(kind="hard_close"),
        line_stages=2 if lanes is not None else 1,
    )


@pytest.mark.parametrize(
    ("spec", "now", "in_line", "goal"),
    [
        (station(2, 75), 840, 120, ActionGoal()),
        (station(2, 75), 1000, 250, ActionGoal()),
        (station(3, 100), 900, 60, ActionGoal(max_left_in_line=5)),
        (station(2, 75, extend=30), 840, 120, ActionGoal(extension_step_minutes=10)),
        (station(2, 75, lanes=1), 840, 150, ActionGoal()),  # two line stages: the guess is a guess
        (station(1, 60), 1100, 400, ActionGoal(max_extension_minutes=120)),  # not reachable
    ],
)
def test_extension_matches_the_bisection(
    spec: StationSpec, now: float, in_line: int, goal: ActionGoal
) -> None:
    cond = condition(
        spec, StationState(now_minute=now, people_in_line=in_line, processed_today=300), 30, 4
    )
    fast = extension_action(cond, goal)
    slow = extension_action_bisect(cond, goal)
    assert fast is not None and slow is not None
    assert fast.achieves_goal == slow.achieves_goal
    assert fast.minutes is not None and slow.minutes is not None
    assert abs(fast.minutes - slow.minutes) <= goal.extension_step_minutes
    if fast.minutes == slow.minutes:
        assert fast.left_in_line_at_close_after == slow.left_in_line_at_close_after


@pytest.mark.parametrize("answer", [0, 1, 7, 30, 71, 72])
@pytest.mark.parametrize("guess", [0, 5, 30, 72, 73])
def test_search_from_any_guess_finds_the_smallest(answer: int, guess: int) -> None:
    probes: list[int] = []

    def ok(k: int) -> bool:
        probes.append(k)
        return k >= answer

    assert _search_from(ok, guess, 72) == answer
    assert len(probes) <= 16
    if guess == answer and answer > 0:
        assert len(probes) == 2  # the guess and the step below


def test_search_from_reports_an_unreachable_goal() -> None:
    assert _search_from(lambda k: False, 10, 72) is None


@pytest.mark.parametrize(
    ("spec", "now", "in_line", "goal"),
    [
        (station(2, 75), 840, 120, ActionGoal()),
        (station(2, 75), 840, 120, ActionGoal(max_wait_minutes=30)),
        (station(3, 100), 900, 200, ActionGoal(lead_minutes=30)),
        (station(2, 75, lanes=1), 840, 150, ActionGoal()),
        (station(2, 75, lanes=1), 840, 150, ActionGoal(max_wait_minutes=20)),
    ],
)
def test_servers_ranked_on_a_share_of_the_runs_match_the_full_greedy(
    spec: StationSpec, now: float, in_line: int, goal: ActionGoal
) -> None:
    cond = condition(
        spec, StationState(now_minute=now, people_in_line=in_line, processed_today=300), 40, 4
    )
    quick = servers_action(cond, goal)
    full = servers_action(cond, goal, probe_share=1.0)
    assert quick is not None and full is not None
    assert quick.servers_by_stage == full.servers_by_stage
    assert quick.achieves_goal == full.achieves_goal
    assert quick.left_in_line_at_close_after == full.left_in_line_at_close_after
    assert quick.wait_minutes_now_after == full.wait_minutes_now_after
