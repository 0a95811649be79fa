"""One station's nowcast and alerts from its accepted reports, without the database.

The nowcaster's unit of work (``services.nowcaster`` reads and stores, this computes): the
present state from the reports of the latest report's voting day (``ops.reports``), the
conditional simulation and its summary (``ops.nowcast``), the console's processed chart, and
the alerts (``ops.alerts.evaluate_alerts`` without their actions, which the nowcaster adds
afterwards). Its inputs and outputs are plain picklable values, so that the same function
runs in the nowcaster process (one station, or a small batch) and in its worker processes
(``services.nowcast_pool``, a large batch spread over the cores) with the same seeds and so
the same figures.
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from abroad.ops.alerts import Alert, AlertThresholds, evaluate_alerts, needs_actions
from abroad.ops.nowcast import Conditioned, condition, planned_processed, run, summarise
from abroad.ops.reports import StationCalendar, StationReport, state_from_reports

REPLICATIONS = 40
"""Replications of a station's nowcast (and of its actions and neighbours). The intervals are
read at the Weibull positions (``ops.nowcast.predictive_bounds``), so they hold today's
outcome at their nominal rate whatever the count (distribution-free: 90.0 % at 40 draws as
at 60 or 100); more replications only steady the means and the bounds. Measured on simulated
days (benchmarks/bench_nowcast.py's cases, 80 days x 11 hours), 40 covered people left at
closing and the wait as 60 did (typical station 92.5 / 91.8 % against 91.7 / 90.7 %; Berlin
91.1 / 89.3 % against 91.1 / 89.1 %; New York 89.9 / 80.7 % against 91.2 / 80.7 %), at two
thirds of the cost: what lets every station of a 300-station election be nowcast in about
2 s on two cores."""
PLANNED_REPLICATIONS = 60
"""Replications of the plan's processed curve (the console's chart)."""
ACTIONS_PENDING = "actions_pending"
"""Key set (true) in a stored nowcast whose alerts' actions are still being computed."""

PlannedCurve = list[dict[str, float]]
"""The plan's voters processed by clock minute: ``{minute, mean, ci_low, ci_high}`` each."""


def seed_of(station_key: str, reports_seen: int) -> int:
    """The seed of a station's nowcast after the report ``reports_seen`` (its newest id)."""
    digest = hashlib.sha256(f"{station_key}/{reports_seen}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def planned_curve(spec: Any, site_key: str, day: int) -> PlannedCurve:
    """The plan's voters processed by each clock minute of ``day``, from opening."""
    curve = planned_processed(spec, day, PLANNED_REPLICATIONS, seed_of(site_key, -1))
    return [
        {"minute": p.minute, "mean": p.mean, "ci_low": p.ci_low, "ci_high": p.ci_high}
        for p in curve
    ]


@dataclass(frozen=True)
class StationTask:
    """What one station's nowcast needs beside its spec: its accepted reports (the stored
    payloads, in id order) and the newest report id among them."""

    station_key: str
    site_key: str
    calendar: StationCalendar
    payloads: tuple[Mapping[str, Any], ...]
    reports_seen: int
    """The newest accepted report's id (0: none): with the station key, the seed."""

    def reports(self) -> list[StationReport]:
        return [StationReport.model_validate(p) for p in self.payloads]


@dataclass(frozen=True)
class StationOutcome:
    """A station's computed nowcast (``result``, the stored JSON) or why there is none
    (``error``), its alerts without actions, and whether they need actions. ``failed``: an
    unexpected error's traceback (nothing is stored; the station stays stale)."""

    station_key: str
    reports_seen: int
    result: dict[str, Any] | None
    error: str | None
    alerts: tuple[Alert, ...] = ()
    pending: bool = False
    """The alerts need actions (``result`` is marked ``actions_pending``)."""
    planned: tuple[tuple[str, int], PlannedCurve] | None = None
    """A plan's curve computed for this outcome ((site key, day), curve), for the caller's
    cache."""
    failed: str | None = None


def conditioned(
    spec: Any,
    station_key: str,
    calendar: StationCalendar,
    reports: Sequence[StationReport],
    reports_seen: int,
) -> tuple[Conditioned | None, str | None]:
    """A station's present state from its accepted reports, conditioned for its nowcast (the
    replications and seed its own nowcast uses); or why not."""
    latest = max(reports, key=lambda r: r.taken_at, default=None)
    if latest is None:
        return None, "no accepted report yet"
    day = calendar.local(latest.taken_at)[0]
    state = state_from_reports(calendar, reports, day) if day is not None else None
    if state is None:
        return None, "no report of the latest voting day gives the line yet"
    try:
        return condition(spec, state, REPLICATIONS, seed_of(station_key, reports_seen)), None
    except ValueError as exc:
        return None, f"cannot nowcast: {exc}"


def processed_chart(
    calendar: StationCalendar,
    reports: Sequence[StationReport],
    cond: Conditioned,
    planned: PlannedCurve,
) -> dict[str, Any]:
    """What the console's processed chart needs beside the nowcast's ``processed_from_now``:
    ``base``, the processed count reported before the day (reports are cumulative over the
    election; the chart shows the day's), ``today_now``, processed today as of the present
    state, and ``planned``, the plan's curve from opening (``ops.nowcast.planned_processed``)."""
    day = cond.state.day
    earlier = []
    for report in reports:
        d = calendar.local(report.taken_at)[0]
        if report.processed is not None and d is not None and d < day:
            earlier.append(report.processed)
    return {
        "day": calendar.days[day].date.isoformat(),
        "base": max(earlier, default=0),
        "today_now": cond.state.processed_today,
        "planned": planned,
    }


def compute_station(
    spec: Any,
    task: StationTask,
    thresholds: AlertThresholds,
    planned: Mapping[tuple[str, int], PlannedCurve],
) -> tuple[StationOutcome, Conditioned | None]:
    """The station's nowcast, chart and alerts (without actions), and its conditioned
    replications (for the actions). ``planned``: the plan's curves already known by (site
    key, day); a missing one is computed and returned in the outcome. Never raises: an
    unexpected error comes back as ``failed``."""
    try:
        return _compute(spec, task, thresholds, planned)
    except Exception:
        failed = traceback.format_exc()
        return StationOutcome(task.station_key, task.reports_seen, None, None, failed=failed), None


def _compute(
    spec: Any,
    task: StationTask,
    thresholds: AlertThresholds,
    planned: Mapping[tuple[str, int], PlannedCurve],
) -> tuple[StationOutcome, Conditioned | None]:
    key, seen = task.station_key, task.reports_seen
    if not task.payloads:
        return StationOutcome(key, seen, None, "no accepted report yet"), None
    if spec is None:
        return StationOutcome(key, seen, None, f"cannot nowcast: {task.site_key!r}"), None
    try:
        reports = task.reports()
        cond, error = conditioned(spec, key, task.calendar, reports, seen)
        if cond is None:
            return StationOutcome(key, seen, None, error), None
        nc = summarise(cond, run(cond))
        alerts = evaluate_alerts(cond, nc, thresholds, with_actions=False)
        at = (task.site_key, cond.state.day)
        fresh = None
        curve = planned.get(at)
        if curve is None:
            curve = planned_curve(spec, task.site_key, cond.state.day)
            fresh = (at, curve)
        result: dict[str, Any] = {
            **nc.as_dict(),
            "processed_chart": processed_chart(task.calendar, reports, cond, curve),
        }
    except (ValueError, KeyError) as exc:
        return StationOutcome(key, seen, None, f"cannot nowcast: {exc}"), None
    pending = needs_actions(alerts)
    if pending:
        result[ACTIONS_PENDING] = True
    return StationOutcome(key, seen, result, None, alerts, pending, fresh), cond
