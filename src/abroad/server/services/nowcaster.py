"""Recompute stations' nowcasts and alerts from their accepted reports.

A station's nowcast is stale after each accepted report; a child process of each server
recomputes stale ones every tick (so bursts of reports coalesce into one recompute per
station), and a read of a stale nowcast recomputes it at once. The station's simulator
spec comes from the election's stored scenario and stations (the adopted plan's, or the
status quo's) through ``server.engine``; specs are cached per election version (a cache
only: any worker can rebuild it).

The present state and the nowcast are ``ops``'s: ``state_from_reports`` on the reports of
the latest report's voting day, ``condition`` / ``run`` / ``summarise``, then
``evaluate_alerts`` with the default thresholds (the station's own cap on the line outside
from its site). Replications and seed are fixed per station and report, so a recompute of
the same reports gives the same figures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import multiprocessing as mp
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from abroad.ops.alerts import AlertKind, AlertThresholds, evaluate_alerts, silent_alert
from abroad.ops.nowcast import clock_text, condition, run, summarise
from abroad.ops.reports import state_from_reports
from abroad.server import audit, engine
from abroad.server.db import Database
from abroad.server.events import EventType
from abroad.server.jobs import load_election_scenario
from abroad.server.models import (
    Election,
    Plan,
    Station,
    StationAlertRow,
    StationNowcastRow,
    StationReportRow,
    utcnow,
)
from abroad.server.services import live

log = logging.getLogger(__name__)

REPLICATIONS = 60
TICK_SECONDS = 2.0
SYSTEM = "system:nowcast"
NOWCAST_KINDS = tuple(k.value for k in AlertKind if k is not AlertKind.SILENT)

_specs: dict[tuple[int, str, int | None, str], dict[str, Any]] = {}
_specs_lock = threading.Lock()


def _station_specs(db: Database, election: Election, stations: list[Station]) -> dict[str, Any]:
    shape = hashlib.sha256(
        repr([(s.site_key, s.desks, s.booths, s.lanes) for s in stations]).encode()
    ).hexdigest()
    key = (election.id, election.updated_at.isoformat(), election.adopted_plan_id, shape)
    with _specs_lock:
        if key in _specs:
            return _specs[key]
        variant = None
        if election.adopted_plan_id is not None:
            with db.read() as s:
                plan = s.get(Plan, election.adopted_plan_id)
                variant = plan.variant if plan is not None else None
        with tempfile.TemporaryDirectory(prefix="abroad-live-") as tmp:
            scenario = load_election_scenario(db, election.id, Path(tmp), variant)
            specs = engine.live_station_specs(
                scenario, [(s.site_key, s.desks, s.booths, s.lanes) for s in stations]
            )
        _specs.clear()
        _specs[key] = specs
        return specs


def _seed(station_key: str, reports_seen: int) -> int:
    digest = hashlib.sha256(f"{station_key}/{reports_seen}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def refresh(db: Database, election_key: str, station_key: str) -> None:
    """Recompute one station's nowcast and alerts from its accepted reports."""
    with db.read() as s:
        e = s.scalar(select(Election).where(Election.election_key == election_key))
        if e is None:
            return
        station = live.station_by_key(s, e.id, station_key)
        if station is None:
            return
        stations = list(
            s.scalars(select(Station).where(Station.election_id == e.id).order_by(Station.id))
        )
        rows = list(
            s.scalars(
                select(StationReportRow).where(
                    StationReportRow.election_id == e.id,
                    StationReportRow.station_key == station_key,
                    StationReportRow.status == live.ACCEPTED,
                )
            )
        )
    seen = max((r.id for r in rows), default=0)
    reports = [live.report_of(r) for r in rows]
    calendar = live.calendar_of(station)
    result: dict[str, Any] | None = None
    error: str | None = None
    alerts: list[Any] = []
    latest = max(reports, key=lambda r: r.taken_at, default=None)
    day = calendar.local(latest.taken_at)[0] if latest is not None else None
    state = state_from_reports(calendar, reports, day) if day is not None else None
    if latest is None:
        error = "no accepted report yet"
    elif state is None:
        error = "no report of the latest voting day gives the line yet"
    else:
        try:
            spec = _station_specs(db, e, stations)[station.site_key]
            cond = condition(spec, state, REPLICATIONS, _seed(station_key, seen))
            nc = summarise(cond, run(cond))
            thresholds = AlertThresholds(line_cap_people=spec.max_queue_outside)
            alerts = list(evaluate_alerts(cond, nc, thresholds))
            result = nc.as_dict()
        except (ValueError, KeyError) as exc:
            error = f"cannot nowcast: {exc}"
    with db.write() as s:
        row = s.scalar(
            select(StationNowcastRow).where(
                StationNowcastRow.election_id == e.id,
                StationNowcastRow.station_key == station_key,
            )
        )
        if row is None:
            row = StationNowcastRow(election_id=e.id, station_key=station_key)
            s.add(row)
        newest = s.scalar(
            select(StationReportRow.id)
            .where(
                StationReportRow.election_id == e.id,
                StationReportRow.station_key == station_key,
                StationReportRow.status == live.ACCEPTED,
            )
            .order_by(StationReportRow.id.desc())
            .limit(1)
        )
        row.stale = (newest or 0) > seen
        row.reports_seen = seen
        row.computed_at = utcnow()
        row.result = result
        row.error = error
        _store_alerts(s, e.id, station_key, alerts, NOWCAST_KINDS if result is not None else ())


def _store_alerts(
    s: Any, election_id: int, station_key: str, alerts: list[Any], judged: Iterable[str]
) -> None:
    """Open or update the raised alerts; alerts of the ``judged`` kinds not raised now become
    inactive (they stay until staff resolve them)."""
    current = {
        a.kind: a
        for a in s.scalars(
            select(StationAlertRow).where(
                StationAlertRow.election_id == election_id,
                StationAlertRow.station_key == station_key,
                StationAlertRow.status != "resolved",
            )
        )
    }
    now = utcnow()
    raised = set()
    for a in alerts:
        kind = a.kind.value
        raised.add(kind)
        actions = [x.as_dict() for x in a.actions]
        row = current.get(kind)
        if row is None:
            row = StationAlertRow(
                election_id=election_id,
                station_key=station_key,
                kind=kind,
                status="open",
                active=True,
                message=a.message,
                value=float(a.value),
                threshold=float(a.threshold),
                actions=actions,
                raised_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            audit.append(
                s,
                SYSTEM,
                EventType.ALERT_RAISED,
                f"alert/{row.id}",
                after={
                    "station": station_key,
                    "kind": kind,
                    "message": a.message,
                    "value": float(a.value),
                    "threshold": float(a.threshold),
                },
            )
        elif (row.active, row.message, row.value, row.actions) != (
            True,
            a.message,
            float(a.value),
            actions,
        ):
            row.active = True
            row.message, row.value, row.actions = a.message, float(a.value), actions
            row.updated_at = now
    judged = set(judged)
    for kind, row in current.items():
        if kind in judged and kind not in raised and row.active:
            row.active = False
            row.updated_at = now


def nowcast_out(
    app: FastAPI, election_key: str, station_key: str, recompute: bool
) -> live.NowcastOut | None:
    """The station's stored nowcast (recomputed first if stale and ``recompute``)."""
    db: Database = app.state.db
    for attempt in (0, 1):
        with db.read() as s:
            e = s.scalar(select(Election).where(Election.election_key == election_key))
            if e is None or live.station_by_key(s, e.id, station_key) is None:
                return None
            row = s.scalar(
                select(StationNowcastRow).where(
                    StationNowcastRow.election_id == e.id,
                    StationNowcastRow.station_key == station_key,
                )
            )
            if recompute and attempt == 0 and row is not None and row.stale:
                pass
            else:
                alerts = [live.alert_out(a) for a in live.alerts_of(s, e.id, station_key)]
                return _out(station_key, row, alerts)
        refresh(db, election_key, station_key)
    return None  # pragma: no cover  (the loop returns on its second pass)


def _out(
    station_key: str, row: StationNowcastRow | None, alerts: list[live.AlertOut]
) -> live.NowcastOut:
    if row is None:
        return live.NowcastOut(
            station_key=station_key,
            stale=False,
            computed_at=None,
            reports_seen=0,
            nowcast=None,
            note="no accepted report yet",
            alerts=alerts,
        )
    return live.NowcastOut(
        station_key=station_key,
        stale=row.stale,
        computed_at=row.computed_at,
        reports_seen=row.reports_seen,
        nowcast=row.result,
        note=row.error,
        alerts=alerts,
    )


def overview(app: FastAPI, election_key: str) -> list[dict[str, Any]]:
    """Every station with its latest accepted report, stored nowcast and alerts."""
    db: Database = app.state.db
    with db.read() as s:
        e = s.scalar(select(Election).where(Election.election_key == election_key))
        if e is None:
            from abroad.server.routes.common import not_found

            raise not_found(f"no election {election_key!r}")
        stations = list(
            s.scalars(select(Station).where(Station.election_id == e.id).order_by(Station.id))
        )
        nowcasts = {
            r.station_key: r
            for r in s.scalars(
                select(StationNowcastRow).where(StationNowcastRow.election_id == e.id)
            )
        }
        latest_ids = live.latest_report_ids(s, e.id)
        latest = {
            r.station_key: r
            for r in s.scalars(
                select(StationReportRow).where(StationReportRow.id.in_(latest_ids.values()))
            )
        }
        alerts: dict[str, list[live.AlertOut]] = {}
        for a in live.alerts_of(s, e.id):
            alerts.setdefault(a.station_key, []).append(live.alert_out(a))
        out = []
        for st in stations:
            item = _out(
                st.station_key, nowcasts.get(st.station_key), alerts.get(st.station_key, [])
            )
            rep = latest.get(st.station_key)
            out.append(
                {
                    **item.model_dump(mode="json"),
                    "name": st.name,
                    "mission_key": st.mission_key,
                    "lat": st.lat,
                    "lon": st.lon,
                    "latest_report": None
                    if rep is None
                    else live.report_out(rep).model_dump(mode="json"),
                }
            )
    return out


def _aware(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def check_silent(db: Database, thresholds: AlertThresholds | None = None) -> int:
    """Raise (or clear) the ``silent`` alert of every station: one that has reported and
    then been silent for ``silent_minutes`` before the election's latest report (its
    voting-day clock, so that replays at any speed and late deliveries are judged on the
    day's own time), and one that has never reported although its opening on that clock
    (the wall clock while no station of the election has reported) passed
    ``silent_minutes`` ago. Returns how many stations are silent."""
    thresholds = thresholds or AlertThresholds()
    with db.read() as s:
        rows = s.execute(
            select(
                StationReportRow.election_id,
                StationReportRow.station_key,
                func.max(StationReportRow.taken_at),
            )
            .where(StationReportRow.status == live.ACCEPTED)
            .group_by(StationReportRow.election_id, StationReportRow.station_key)
        ).all()
    clock: dict[int, dt.datetime] = {}
    for eid, _, latest in rows:
        clock[eid] = max(clock.get(eid, _aware(latest)), _aware(latest))
    silent = 0
    with db.write() as s:
        for eid, key, latest in rows:
            minutes = (clock[eid] - _aware(latest)).total_seconds() / 60
            alert = silent_alert(str(key), minutes, thresholds)
            silent += alert is not None
            _store_alerts(s, eid, str(key), [alert] if alert else [], [AlertKind.SILENT.value])
    return silent + _check_never_reported(db, thresholds, {(e, str(k)) for e, k, _ in rows}, clock)


def _check_never_reported(
    db: Database,
    thresholds: AlertThresholds,
    reported: set[tuple[int, str]],
    clock: dict[int, dt.datetime],
) -> int:
    """The ``silent`` alert of the stations with no accepted report (see ``check_silent``)."""
    now = utcnow()
    silent: list[tuple[int, str, Any]] = []
    with db.read() as s:
        raised = {
            (int(eid), str(key))
            for eid, key in s.execute(
                select(StationAlertRow.election_id, StationAlertRow.station_key).where(
                    StationAlertRow.kind == AlertKind.SILENT.value,
                    StationAlertRow.status != "resolved",
                    StationAlertRow.active.is_(True),
                )
            )
        }
        for st in s.scalars(select(Station).order_by(Station.id)):
            if (st.election_id, st.station_key) in reported:
                continue
            since = live.calendar_of(st).minutes_since_opening(clock.get(st.election_id, now))
            alert = None if since is None else silent_alert(st.station_key, since[0], thresholds)
            if alert is not None and since is not None:
                alert = replace(
                    alert,
                    message=f"no report since opening at {clock_text(since[1])} "
                    f"({since[0]:.0f} min)",
                )
            if alert is not None or (st.election_id, st.station_key) in raised:
                silent.append((st.election_id, st.station_key, alert))
    if silent:
        with db.write() as s:
            for eid, key, alert in silent:
                _store_alerts(s, eid, key, [alert] if alert else [], [AlertKind.SILENT.value])
    return sum(a is not None for _, _, a in silent)


def refresh_stale(db: Database) -> int:
    """Recompute every stale nowcast; how many."""
    with db.read() as s:
        todo = list(
            s.execute(
                select(Election.election_key, StationNowcastRow.station_key)
                .join(Election, Election.id == StationNowcastRow.election_id)
                .where(StationNowcastRow.stale.is_(True))
            )
        )
    for election_key, station_key in todo:
        try:
            refresh(db, election_key, station_key)
        except Exception:  # keep the thread alive; the row stays stale and is retried
            log.exception("nowcast of %s/%s failed", election_key, station_key)
    return len(todo)


def _loop(db_url: str, tick_seconds: float, stop: Any, parent: int) -> None:
    """The nowcaster process: recompute stale nowcasts every tick until told to stop or
    until the server that started it is gone (even after a ``kill -9``)."""
    db = Database.open(db_url)
    try:
        while not stop.is_set() and os.getppid() == parent:
            try:
                refresh_stale(db)
                check_silent(db)
            except Exception:
                log.exception("nowcaster pass failed")
            stop.wait(tick_seconds)
    finally:
        db.dispose()


class Nowcaster:
    """Keeps nowcasts fresh in a child process of the server (the simulations never hold the
    request workers' interpreter lock); it polls for stale nowcasts every tick."""

    def __init__(self, db_url: str, tick_seconds: float = TICK_SECONDS) -> None:
        ctx = mp.get_context("spawn")
        self.stop = ctx.Event()
        self.process = ctx.Process(
            target=_loop,
            args=(db_url, tick_seconds, self.stop, os.getpid()),
            name="abroad-nowcaster",
            daemon=True,
        )
        self.process.start()

    def close(self) -> None:
        self.stop.set()
        self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def poke(app: FastAPI) -> None:
    """After an accepted report: nothing to do here, the nowcaster polls for stale rows (kept
    as the one hook should a push be wanted)."""
