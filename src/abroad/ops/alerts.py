"""Alerts: rules with thresholds set per election, each alert carrying its actions.

Rules (``AlertThresholds``, one set per election):

- ``left_at_close``: the nowcast's people still in line at closing (mean) at least
  ``left_at_close_people``;
- ``wait_above_target``: the wait of someone joining now (mean) above ``wait_target_minutes``;
- ``ballots_exhausted``: the ballots run out before closing with a chance of at least
  ``ballots_chance``;
- ``line_above_cap``: the line now, or predicted (upper bound) later today, at or above the
  site's security cap (``line_cap_people``, else the spec's ``max_queue_outside``);
- ``silent``: no report for ``silent_minutes``.

The actions come from ``abroad.ops.actions``, simulated from the same present state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial

from pydantic import BaseModel, ConfigDict, Field

from abroad.ops.actions import (
    Action,
    ActionGoal,
    Neighbour,
    ballots_action,
    extension_action,
    redirect_action,
    servers_action,
)
from abroad.ops.nowcast import Conditioned, Nowcast, clock_text


class AlertKind(StrEnum):
    LEFT_AT_CLOSE = "left_at_close"
    WAIT_ABOVE_TARGET = "wait_above_target"
    BALLOTS_EXHAUSTED = "ballots_exhausted"
    LINE_ABOVE_CAP = "line_above_cap"
    SILENT = "silent"


class AlertThresholds(BaseModel):
    """The rules' thresholds for one election."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    left_at_close_people: float = Field(default=20.0, ge=0)
    wait_target_minutes: float = Field(default=30.0, gt=0)
    ballots_chance: float = Field(default=0.1, gt=0, le=1)
    line_cap_people: int | None = Field(default=None, ge=0)
    silent_minutes: float = Field(default=45.0, gt=0)


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    station: str
    message: str
    value: float
    threshold: float
    actions: tuple[Action, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "station": self.station,
            "message": self.message,
            "value": self.value,
            "threshold": self.threshold,
            "actions": [a.as_dict() for a in self.actions],
        }


def silent_alert(
    station: str, minutes_since_report: float, thresholds: AlertThresholds
) -> Alert | None:
    """A station that has not reported for too long (no nowcast needed)."""
    if minutes_since_report < thresholds.silent_minutes:
        return None
    return Alert(
        AlertKind.SILENT,
        station,
        f"no report for {minutes_since_report:.0f} min",
        minutes_since_report,
        thresholds.silent_minutes,
    )


def evaluate_alerts(
    cond: Conditioned,
    result: Nowcast,
    thresholds: AlertThresholds,
    *,
    minutes_since_report: float = 0.0,
    neighbours: Sequence[Neighbour] = (),
    goal: ActionGoal | None = None,
    with_actions: bool = True,
) -> tuple[Alert, ...]:
    """Every alert the rules raise for one station's nowcast, each with its actions (none
    with ``with_actions=False``: ``attach_actions`` adds them later, as the server does once
    every station has its nowcast).

    Each action is computed once per call and shared by every alert that carries it (the
    left-at-close and line-cap alerts share the added servers and the redirects; the wait
    alert's servers aim at the wait target, its redirects are the same)."""
    name = result.station
    out: list[Alert] = []
    silent = silent_alert(name, minutes_since_report, thresholds)
    if silent is not None:
        out.append(silent)
    left = result.left_in_line_at_close
    if left.mean >= thresholds.left_at_close_people and left.mean > 0:
        out.append(
            Alert(
                AlertKind.LEFT_AT_CLOSE,
                name,
                f"about {left.mean:,.0f} people ({left.ci_low:,.0f}-{left.ci_high:,.0f}) "
                "predicted still in line at closing",
                left.mean,
                thresholds.left_at_close_people,
            )
        )
    wait = result.wait_minutes_now
    if wait.mean > thresholds.wait_target_minutes:
        out.append(
            Alert(
                AlertKind.WAIT_ABOVE_TARGET,
                name,
                f"someone joining now waits about {wait.mean:,.0f} min "
                f"(target {thresholds.wait_target_minutes:g})",
                wait.mean,
                thresholds.wait_target_minutes,
            )
        )
    b = result.ballots
    if b.stock_now is not None and b.chance_run_out >= thresholds.ballots_chance:
        when = "" if b.minute is None else f" around {clock_text(b.minute.mean)}"
        out.append(
            Alert(
                AlertKind.BALLOTS_EXHAUSTED,
                name,
                f"ballots run out before closing{when} ({b.chance_run_out:.0%} chance)",
                b.chance_run_out,
                thresholds.ballots_chance,
            )
        )
    cap = thresholds.line_cap_people
    if cap is None:
        cap = cond.spec.max_queue_outside
    if cap is not None:
        peak = max((p.ci_high for p in result.line), default=0.0)
        now_line = float(cond.outside)  # the cap holds the line outside, not those inside
        worst = max(peak, now_line)
        if worst >= cap:  # the simulator holds the line at the cap: reaching it turns people away
            out.append(
                Alert(
                    AlertKind.LINE_ABOVE_CAP,
                    name,
                    f"line of {worst:,.0f} (now or predicted) at or above the cap of {cap:,}",
                    worst,
                    float(cap),
                )
            )
    return attach_actions(cond, out, neighbours, goal) if with_actions else tuple(out)


def attach_actions(
    cond: Conditioned,
    alerts: Sequence[Alert],
    neighbours: Sequence[Neighbour] = (),
    goal: ActionGoal | None = None,
) -> tuple[Alert, ...]:
    """The alerts of one station (``evaluate_alerts(..., with_actions=False)``) with their
    actions, each action simulated once and shared by the alerts that carry it: the line left
    at closing gets the extension, added servers and redirects; the wait above target the
    servers that bring it to the target (the alert's threshold) and the redirects; the line
    above the cap the servers and redirects; the ballots the delivery."""
    goal = goal or ActionGoal()
    acts = _Actions(cond, neighbours)
    out: list[Alert] = []
    for a in alerts:
        if a.kind is AlertKind.LEFT_AT_CLOSE:
            found = acts.all(goal)
        elif a.kind is AlertKind.WAIT_ABOVE_TARGET:
            found = acts.servers_and_redirects(
                goal.model_copy(update={"max_wait_minutes": a.threshold})
            )
        elif a.kind is AlertKind.BALLOTS_EXHAUSTED:
            act = ballots_action(cond, goal)
            found = () if act is None else (act,)
        elif a.kind is AlertKind.LINE_ABOVE_CAP:
            found = acts.servers_and_redirects(goal)
        else:
            found = ()
        out.append(replace(a, actions=found))
    return tuple(out)


def needs_actions(alerts: Sequence[Alert]) -> bool:
    """Whether any of the alerts carries actions (all but the silent one)."""
    return any(a.kind is not AlertKind.SILENT for a in alerts)


class _Actions:
    """One station's actions within one ``evaluate_alerts`` call, each computed once (keyed by
    the action and the goal; redirects do not read the wait target, so they share one key)."""

    def __init__(self, cond: Conditioned, neighbours: Sequence[Neighbour]) -> None:
        self.cond = cond
        self.neighbours = sorted(neighbours, key=lambda x: x.travel_minutes)
        self._memo: dict[tuple[str, ActionGoal], Action | None] = {}

    def _once(self, key: str, goal: ActionGoal, make: Callable[[], Action | None]) -> Action | None:
        k = (key, goal)
        if k not in self._memo:
            self._memo[k] = make()
        return self._memo[k]

    def _redirects(self, goal: ActionGoal) -> list[Action | None]:
        g = goal.model_copy(update={"max_wait_minutes": None})
        return [
            self._once(f"redirect:{i}", g, partial(redirect_action, self.cond, nb, g))
            for i, nb in enumerate(self.neighbours)
        ]

    def servers_and_redirects(self, goal: ActionGoal) -> tuple[Action, ...]:
        acts = [self._once("servers", goal, lambda: servers_action(self.cond, goal))]
        return tuple(a for a in (*acts, *self._redirects(goal)) if a is not None)

    def all(self, goal: ActionGoal) -> tuple[Action, ...]:
        """As ``actions_for``: extension, added servers, redirects (nearest first)."""
        ext = self._once("extension", goal, lambda: extension_action(self.cond, goal))
        acts = (ext, self._once("servers", goal, lambda: servers_action(self.cond, goal)))
        return tuple(a for a in (*acts, *self._redirects(goal)) if a is not None)
