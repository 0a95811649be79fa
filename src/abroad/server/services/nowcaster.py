"""Recompute stations' nowcasts and alerts from their accepted reports.

A station's nowcast is stale after each accepted report; one nowcaster process per database
recomputes stale ones (it looks every ``POLL_SECONDS`` and works every tick, so bursts of
reports coalesce into one recompute per station), and a read of a stale nowcast recomputes
it at once. Every server worker starts a candidate; the one holding the ``LeaderLock`` runs
and writes a heartbeat row (``nowcaster_beats``), the others wait to take over. The
station's simulator spec comes from the election's stored scenario and stations (the
adopted plan's, or the status quo's) through ``server.engine``; specs are cached per
election version (a cache only: any worker can rebuild it).

**A pass** (``refresh_nowcasts``) takes each election's stale stations together: one read
of the election, its stations, its thresholds and all those stations' accepted reports
(``_read_batch``); the computation of each station (``services.nowcast_compute``: the
present state by ``ops.reports.state_from_reports`` on the reports of the latest report's
voting day, ``condition`` / ``run`` / ``summarise``, then ``evaluate_alerts`` with the
election's thresholds, without actions) spread over worker processes
(``services.nowcast_pool``) when there are enough stations, else in this process; and the
outcomes stored chunk by chunk as they come, each chunk in one short write transaction
(``_store``) that checks the stations' accepted reports and the thresholds again: a station
whose reports or thresholds changed during the pass stays stale for the next one. The
alerting stations' actions are simulated afterwards, one station at a time
(``finish_actions``). ``refresh`` (one station, for a read of a stale nowcast) runs the same
code on one station. Replications and seed are fixed per station and report, so a
recompute of the same reports gives the same figures wherever it runs.

Redirect actions consider the nearest open stations of the same election by travel time
(``ops.neighbours``: the scenario's travel model on the stations' coordinates), each
conditioned on its own reports exactly as its own nowcast is (same replications and seed),
so the voters it could absorb come from its own predicted day. A neighbour is open when it
has a line report on the same voting day, the present instant is within its hours, and it
has reported within the silent threshold. Neighbours are only built when an alert needs
actions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import multiprocessing as mp
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, overload

from fastapi import FastAPI
from sqlalchemy import func, select

from abroad.model.scenario import TravelModel
from abroad.ops.actions import Neighbour
from abroad.ops.alerts import (
    Alert,
    AlertKind,
    AlertThresholds,
    attach_actions,
    silent_alert,
)
from abroad.ops.neighbours import Located, nearest_by_travel
from abroad.ops.nowcast import Conditioned, clock_text
from abroad.ops.reports import StationCalendar
from abroad.server import audit, engine
from abroad.server.db import Database
from abroad.server.events import EventType
from abroad.server.jobs import load_election_scenario
from abroad.server.models import (
    Election,
    NowcasterBeat,
    Plan,
    Station,
    StationAlertRow,
    StationNowcastRow,
    StationReportRow,
    utcnow,
)
from abroad.server.services import alert_settings, live
from abroad.server.services.alert_settings import AlertSettings
from abroad.server.services.nowcast_compute import ACTIONS_PENDING as ACTIONS_PENDING
from abroad.server.services.nowcast_compute import (
    PLANNED_REPLICATIONS as PLANNED_REPLICATIONS,
)
from abroad.server.services.nowcast_compute import REPLICATIONS as REPLICATIONS
from abroad.server.services.nowcast_compute import (
    PlannedCurve,
    StationOutcome,
    StationTask,
    planned_curve,
    seed_of,
)
from abroad.server.services.nowcast_compute import compute_station as compute_station
from abroad.server.services.nowcast_compute import conditioned as conditioned_reports
from abroad.server.services.nowcast_pool import NowcastPool

log = logging.getLogger(__name__)

TICK_SECONDS = 2.0
"""The nowcaster's clock: its heartbeat, the silent stations' check, and a pass."""
POLL_SECONDS = 0.25
"""Between ticks, how often the leading nowcaster looks for stale nowcasts (one small read)
and makes a pass if there are: a report's nowcast is fresh soon after it is stored."""
SYSTEM = "system:nowcast"
NOWCAST_KINDS = tuple(k.value for k in AlertKind if k is not AlertKind.SILENT)
POOL_MIN_STATIONS = 12
"""A pass with fewer stale stations of an election is computed in the nowcaster's own
process (the workers' round trip would not pay)."""
STORE_CHUNK = 50
"""Stations computed in the nowcaster's own process are stored this many at a time (one
write transaction each: short, so that report ingest is never held up for long)."""


@dataclass(frozen=True)
class ElectionModel:
    """What the nowcasts of an election's stations need from its scenario."""

    key: Any
    """The election's version (``election_model``'s cache key): the workers' model key."""
    specs: dict[str, Any]
    """The simulator's ``StationSpec`` by site key."""
    travel: TravelModel
    planned: dict[tuple[str, int], PlannedCurve] = field(default_factory=dict, compare=False)
    """The plan's processed curve by (site key, day), filled as first needed."""

    def planned_processed(self, site_key: str, day: int) -> PlannedCurve:
        """The plan's voters processed by each clock minute of ``day``, from opening."""
        key = (site_key, day)
        if key not in self.planned:
            self.planned[key] = planned_curve(self.specs[site_key], site_key, day)
        return self.planned[key]


_specs: dict[tuple[int, str, int | None, str], ElectionModel] = {}
_specs_lock = threading.Lock()


def election_model(db: Database, election: Election, stations: list[Station]) -> ElectionModel:
    """The election's station specs and travel model (cached per election version)."""
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
        _specs[key] = ElectionModel(key, specs, scenario.travel)
        return _specs[key]


_seed = seed_of


def _accepted_rows(s: Any, election_id: int, station_key: str) -> list[StationReportRow]:
    return list(
        s.scalars(
            select(StationReportRow)
            .where(
                StationReportRow.election_id == election_id,
                StationReportRow.station_key == station_key,
                StationReportRow.status == live.ACCEPTED,
            )
            .order_by(StationReportRow.id)
        )
    )


def conditioned(
    spec: Any, station: Station, rows: Sequence[StationReportRow]
) -> tuple[Conditioned | None, str | None]:
    """A station's present state from its accepted report rows, conditioned for its nowcast
    (the replications and seed its own nowcast uses); or why not."""
    seen = max((r.id for r in rows), default=0)
    reports = [live.report_of(r) for r in rows]
    return conditioned_reports(spec, station.station_key, live.calendar_of(station), reports, seen)


def open_neighbours(
    db: Database,
    election_id: int,
    station: Station,
    stations: Sequence[Station],
    instant: dt.datetime,
    model: ElectionModel,
    settings: AlertSettings,
) -> list[Neighbour]:
    """The nearest open stations by travel time (at most ``settings.redirect_neighbours``,
    within ``settings.redirect_max_travel_minutes``), each conditioned on its own reports,
    with its clock offset from ``station`` at ``instant`` (the present report's time)."""
    if settings.redirect_neighbours == 0:
        return []
    by_key = {st.station_key: st for st in stations}
    near = nearest_by_travel(
        Located(station.station_key, station.lat, station.lon),
        [Located(st.station_key, st.lat, st.lon) for st in stations],
        model.travel,
        settings.redirect_max_travel_minutes,
    )
    own_minute = live.calendar_of(station).local(instant)[1]
    out: list[Neighbour] = []
    for key, minutes in near:
        if len(out) >= settings.redirect_neighbours:
            break
        other = by_key[key]
        spec = model.specs.get(other.site_key)
        calendar = live.calendar_of(other)
        day, minute = calendar.local(instant)
        if spec is None or day is None:
            continue
        hours = calendar.days[day]
        if not hours.open_minutes <= minute < hours.close_minutes:
            continue
        with db.read() as s:
            rows = _accepted_rows(s, election_id, key)
        cond, _ = conditioned(spec, other, rows)
        if cond is None or cond.state.day != day:
            continue
        if minute - cond.state.now_minute > settings.silent_minutes:
            continue  # silent: what it reported no longer says what it could take
        out.append(Neighbour(key, minutes, cond, clock_offset_minutes=minute - own_minute))
    return out


class LazyNeighbours(Sequence[Neighbour]):
    """The neighbours, built on first use: the rules only ask for them when an alert
    needs its actions, and most stations raise none."""

    def __init__(self, build: Any) -> None:
        self._build = build
        self._items: list[Neighbour] | None = None

    def _all(self) -> list[Neighbour]:
        if self._items is None:
            self._items = list(self._build())
        return self._items

    @property
    def built(self) -> bool:
        return self._items is not None

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, i: int) -> Neighbour: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Neighbour]: ...
    def __getitem__(self, i: int | slice) -> Neighbour | Sequence[Neighbour]:
        return self._all()[i]

    def __iter__(self) -> Iterator[Neighbour]:
        return iter(self._all())


@dataclass
class PendingActions:
    """A station whose nowcast and alerts are stored and whose alerts' actions are not yet.
    ``cond``: its conditioned replications, as its nowcast drew them (rebuilt from its
    reports when the nowcast was computed by a worker process)."""

    election_id: int
    station_key: str
    reports_seen: int
    alerts: tuple[Alert, ...]
    neighbours: LazyNeighbours
    spec: Any
    task: StationTask
    given_cond: Conditioned | None = None

    @cached_property
    def cond(self) -> Conditioned:
        if self.given_cond is not None:
            return self.given_cond
        cond, error = conditioned_reports(
            self.spec,
            self.task.station_key,
            self.task.calendar,
            self.task.reports(),
            self.task.reports_seen,
        )
        if cond is None:  # pragma: no cover  (its nowcast was conditioned on the same)
            raise ValueError(error)
        return cond


# ---------------------------------------------------------------------------------------------
# A pass: read in a few queries, compute (here or in the workers), store chunk by chunk


@dataclass
class _Batch:
    """What a pass over some stations of one election read: the stations, the thresholds,
    the model, and each station's task (its accepted reports) with how many it had."""

    election: Election
    stations: list[Station]
    settings: AlertSettings
    thresholds: AlertThresholds
    model: ElectionModel | None
    model_error: str | None
    tasks: list[StationTask]
    counts: dict[str, int]
    """Accepted reports read per station: with the newest id, what the store checks again."""
    instants: dict[str, dt.datetime]
    """The newest report's time per station (``taken_at`` as stored; the redirects' clock)."""

    @cached_property
    def by_key(self) -> dict[str, Station]:
        return {st.station_key: st for st in self.stations}


def _read_batch(db: Database, election_id: int, keys: Sequence[str]) -> _Batch | None:
    """One election's stations ``keys`` (those that exist) and everything their nowcasts
    need, in a few queries (the election, its stations, its thresholds, the stations'
    accepted reports), and the election's model (cached per election version)."""
    with db.read() as s:
        e = s.get(Election, election_id)
        if e is None:
            return None
        stations = list(
            s.scalars(select(Station).where(Station.election_id == e.id).order_by(Station.id))
        )
        settings = alert_settings.current(s, e.id)
        by_key = {st.station_key: st for st in stations}
        wanted = [k for k in dict.fromkeys(keys) if k in by_key]
        r = StationReportRow
        q = select(r.station_key, r.id, r.taken_at, r.payload).where(
            r.election_id == e.id, r.status == live.ACCEPTED
        )
        if len(wanted) < len(stations):
            q = q.where(r.station_key.in_(wanted))
        got: dict[str, list[tuple[int, dt.datetime, Any]]] = {}
        for key, rid, taken_at, payload in s.execute(q.order_by(r.station_key, r.id)):
            got.setdefault(str(key), []).append((int(rid), taken_at, payload))
    tasks: list[StationTask] = []
    counts: dict[str, int] = {}
    instants: dict[str, dt.datetime] = {}
    for key in wanted:
        st = by_key[key]
        rows = got.get(key, [])
        counts[key] = len(rows)
        if rows:
            instants[key] = max(t for _, t, _ in rows)
        tasks.append(
            StationTask(
                key,
                st.site_key,
                _calendar(st),
                tuple(p for _, _, p in rows),
                max((i for i, _, _ in rows), default=0),
            )
        )
    model, error = None, None
    if any(t.payloads for t in tasks):
        try:
            model = election_model(db, e, stations)
        except (ValueError, KeyError) as exc:
            error = f"cannot nowcast: {exc}"
    return _Batch(
        e, stations, settings, settings.thresholds(), model, error, tasks, counts, instants
    )


def _calendar(station: Station) -> StationCalendar:
    return live.calendar_of(station)


def _cost(batch: _Batch, task: StationTask) -> float:
    """A guess of a station's share of a pass (costliest first evens out the workers' end):
    its line as last reported plus its planned voters of a day."""
    spec = batch.model.specs.get(task.site_key) if batch.model is not None else None
    line = task.payloads[-1].get("people_in_line") if task.payloads else None
    size = 0.0
    if spec is not None:
        day = spec.days[-1]
        size = sum(day.arrivals_per_hour) * day.bin_minutes / 60.0
    return float(line or 0) + size


def _computed(
    batch: _Batch, pool: NowcastPool | None
) -> Iterator[list[tuple[StationOutcome, Conditioned | None]]]:
    """The batch's outcomes, chunk by chunk: in the worker processes when there are enough
    stations and a pool, else here (with each station's conditioned replications)."""
    model = batch.model
    if model is None:
        error = batch.model_error or "no accepted report yet"
        yield [
            (
                StationOutcome(
                    t.station_key,
                    t.reports_seen,
                    None,
                    error if t.payloads else "no accepted report yet",
                ),
                None,
            )
            for t in batch.tasks
        ]
        return
    tasks = batch.tasks
    if pool is not None and pool.size > 1 and len(tasks) >= POOL_MIN_STATIONS:
        order = sorted(tasks, key=lambda t: -_cost(batch, t))
        for outcomes in pool.map(model.key, model.specs, batch.thresholds, order, model.planned):
            for o in outcomes:
                if o.planned is not None:
                    model.planned.setdefault(*o.planned)
            yield [(o, None) for o in outcomes]
        return
    for at in range(0, len(tasks), STORE_CHUNK):
        out = []
        for t in tasks[at : at + STORE_CHUNK]:
            o, cond = compute_station(
                model.specs.get(t.site_key), t, batch.thresholds, model.planned
            )
            if o.planned is not None:
                model.planned.setdefault(*o.planned)
            out.append((o, cond))
        yield out


def _store(
    db: Database,
    batch: _Batch,
    computed: Sequence[tuple[StationOutcome, Conditioned | None]],
    *,
    defer_actions: bool = True,
) -> list[PendingActions]:
    """Store the outcomes of some of the batch's stations in one write transaction: each
    station's nowcast row and its alerts (without actions: the stations whose alerts need
    them are returned). A station stays stale when its accepted reports changed since the
    batch read them (a newer report, one accepted from quarantine or re-assigned) or the
    election's thresholds did: the next pass takes it again. Stations that failed are
    logged and not stored (their rows stay stale)."""
    e = batch.election
    ok = []
    for o, cond in computed:
        if o.failed is not None:
            log.error("nowcast of %s/%s failed:\n%s", e.election_key, o.station_key, o.failed)
        else:
            ok.append((o, cond))
    if not ok:
        return []
    prepared: list[tuple[StationOutcome, dict[str, Any] | None, list[Alert]]] = []
    pending: list[PendingActions] = []
    tasks = {t.station_key: t for t in batch.tasks}
    for o, cond in ok:  # actions (when not deferred) are simulated before the write
        alerts, result = list(o.alerts), o.result
        if result is not None and o.pending:
            p = _pending(db, batch, o, tasks[o.station_key], cond)
            if defer_actions:
                pending.append(p)
            else:
                alerts = list(attach_actions(p.cond, o.alerts, p.neighbours))
                result = {k: v for k, v in result.items() if k != ACTIONS_PENDING}
        prepared.append((o, result, alerts))
    keys = [o.station_key for o, _ in ok]
    r = StationReportRow
    with db.write() as s:
        rows = {
            n.station_key: n
            for n in s.scalars(
                select(StationNowcastRow).where(
                    StationNowcastRow.election_id == e.id, StationNowcastRow.station_key.in_(keys)
                )
            )
        }
        now_seen = {
            str(k): (int(mx), int(n))
            for k, mx, n in s.execute(
                select(r.station_key, func.max(r.id), func.count(r.id))
                .where(r.election_id == e.id, r.station_key.in_(keys), r.status == live.ACCEPTED)
                .group_by(r.station_key)
            )
        }
        same_settings = alert_settings.current(s, e.id) == batch.settings
        current: dict[str, dict[str, StationAlertRow]] = {}
        for a in s.scalars(
            select(StationAlertRow).where(
                StationAlertRow.election_id == e.id,
                StationAlertRow.station_key.in_(keys),
                StationAlertRow.status != "resolved",
            )
        ):
            current.setdefault(a.station_key, {})[a.kind] = a
        now = utcnow()
        raised: list[tuple[StationAlertRow, Alert]] = []
        for o, result, alerts in prepared:
            key = o.station_key
            row = rows.get(key)
            if row is None:
                row = StationNowcastRow(election_id=e.id, station_key=key)
                s.add(row)
            read = (o.reports_seen, batch.counts.get(key, 0))
            row.stale = not same_settings or now_seen.get(key, (0, 0)) != read
            row.reports_seen = o.reports_seen
            row.computed_at = now
            row.result = result
            row.error = o.error
            judged = NOWCAST_KINDS if result is not None else ()
            raised += _update_alerts(s, e.id, key, alerts, judged, current.get(key, {}), now)
        _audit_raised(s, raised)
    return pending


def _pending(
    db: Database, batch: _Batch, o: StationOutcome, task: StationTask, cond: Conditioned | None
) -> PendingActions:
    assert batch.model is not None
    model, settings, e = batch.model, batch.settings, batch.election
    station = batch.by_key[o.station_key]
    instant = batch.instants[o.station_key]
    stations = batch.stations
    neighbours = LazyNeighbours(
        lambda: open_neighbours(db, e.id, station, stations, instant, model, settings)
    )
    return PendingActions(
        e.id,
        o.station_key,
        o.reports_seen,
        o.alerts,
        neighbours,
        model.specs.get(task.site_key),
        task,
        cond,
    )


def refresh(
    db: Database, election_key: str, station_key: str, *, defer_actions: bool = False
) -> PendingActions | None:
    """Recompute one station's nowcast and alerts from its accepted reports (the batch
    pass's code on one station). With ``defer_actions`` the alerts are stored without their
    actions (the nowcast marked ``actions_pending``) and what ``finish_actions`` needs to add
    them is returned."""
    with db.read() as s:
        e = s.scalar(select(Election).where(Election.election_key == election_key))
        if e is None:
            return None
        eid = e.id
    batch = _read_batch(db, eid, [station_key])
    if batch is None or not batch.tasks:
        return None
    pending: list[PendingActions] = []
    for chunk in _computed(batch, None):
        failed = [o.failed for o, _ in chunk if o.failed is not None]
        if failed:
            raise RuntimeError(f"nowcast of {election_key}/{station_key} failed:\n{failed[0]}")
        pending += _store(db, batch, chunk, defer_actions=defer_actions)
    return pending[0] if pending else None


def finish_actions(db: Database, pending: PendingActions) -> bool:
    """Simulate the actions of a station's stored alerts and store them onto the alerts;
    False (nothing stored) if the station has been recomputed meanwhile (that recompute
    brings its own alerts and actions)."""
    try:
        alerts = list(attach_actions(pending.cond, pending.alerts, pending.neighbours))
    except Exception:  # the alerts stay without actions; the next recompute tries again
        log.exception("actions of %s failed", pending.station_key)
        alerts = list(pending.alerts)
    with db.write() as s:
        row = s.scalar(
            select(StationNowcastRow).where(
                StationNowcastRow.election_id == pending.election_id,
                StationNowcastRow.station_key == pending.station_key,
            )
        )
        if (
            row is None
            or row.reports_seen != pending.reports_seen
            or not (row.result or {}).get(ACTIONS_PENDING)
        ):
            return False
        row.result = {k: v for k, v in (row.result or {}).items() if k != ACTIONS_PENDING}
        _store_alerts(s, pending.election_id, pending.station_key, alerts, NOWCAST_KINDS)
    return True


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
    raised = _update_alerts(s, election_id, station_key, alerts, judged, current, utcnow())
    _audit_raised(s, raised)


def _update_alerts(
    s: Any,
    election_id: int,
    station_key: str,
    alerts: list[Any],
    judged: Iterable[str],
    current: dict[str, StationAlertRow],
    now: dt.datetime,
) -> list[tuple[StationAlertRow, Alert]]:
    """``_store_alerts`` given the station's alerts not resolved (``current``, by kind):
    the new alert rows, added and not yet audited (``_audit_raised``), are returned."""
    new: list[tuple[StationAlertRow, Alert]] = []
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
            new.append((row, a))
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
    return new


def _audit_raised(s: Any, raised: list[tuple[StationAlertRow, Alert]]) -> None:
    """Audit the alert rows just added (one flush for their ids, one read of the chain's
    head for all their entries)."""
    if not raised:
        return
    s.flush()
    chain = audit.Chain(s)
    for row, a in raised:
        chain.append(
            SYSTEM,
            EventType.ALERT_RAISED,
            f"alert/{row.id}",
            after={
                "station": row.station_key,
                "kind": row.kind,
                "message": a.message,
                "value": float(a.value),
                "threshold": float(a.threshold),
            },
        )
    s.flush()


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
    if (row.result or {}).get(ACTIONS_PENDING):
        alerts = [
            a.model_copy(update={"actions_pending": True})
            if a.active and a.kind in NOWCAST_KINDS and a.status != "resolved"
            else a
            for a in alerts
        ]
    return live.NowcastOut(
        station_key=station_key,
        stale=row.stale,
        computed_at=row.computed_at,
        reports_seen=row.reports_seen,
        nowcast=row.result,
        note=row.error,
        alerts=alerts,
    )


def overview(app: FastAPI, election_key: str, me: Any = None) -> list[dict[str, Any]]:
    """Every station ``me`` may see (None: every station) with its latest accepted report,
    stored nowcast and alerts."""
    from abroad.server.services.timeline import visible_stations

    db: Database = app.state.db
    with db.read() as s:
        e = s.scalar(select(Election).where(Election.election_key == election_key))
        if e is None:
            from abroad.server.routes.common import not_found

            raise not_found(f"no election {election_key!r}")
        stations = list(
            s.scalars(select(Station).where(Station.election_id == e.id).order_by(Station.id))
        )
        if me is not None:
            seen = visible_stations(s, e.id, me)
            if seen is not None:
                stations = [st for st in stations if st.station_key in seen]
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
    ``silent_minutes`` ago; ``silent_minutes`` is the election's, unless ``thresholds``
    are given. Returns how many stations are silent."""
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
        per_election = {
            eid: thresholds or alert_settings.current(s, eid).thresholds()
            for eid in s.scalars(select(Station.election_id).distinct())
        }
    clock: dict[int, dt.datetime] = {}
    for eid, _, latest in rows:
        clock[eid] = max(clock.get(eid, _aware(latest)), _aware(latest))
    silent = 0
    with db.write() as s:
        current = _silent_alerts(s)
        now = utcnow()
        raised: list[tuple[StationAlertRow, Alert]] = []
        for eid, key, latest in rows:
            minutes = (clock[eid] - _aware(latest)).total_seconds() / 60
            alert = silent_alert(str(key), minutes, per_election[eid])
            silent += alert is not None
            raised += _update_alerts(
                s,
                eid,
                str(key),
                [alert] if alert else [],
                [AlertKind.SILENT.value],
                current.get((eid, str(key)), {}),
                now,
            )
        _audit_raised(s, raised)
    return silent + _check_never_reported(
        db, per_election, {(e, str(k)) for e, k, _ in rows}, clock
    )


def _check_never_reported(
    db: Database,
    per_election: dict[int, AlertThresholds],
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
            alert = (
                None
                if since is None
                else silent_alert(st.station_key, since[0], per_election[st.election_id])
            )
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
            current = _silent_alerts(s)
            new_rows: list[tuple[StationAlertRow, Alert]] = []
            for eid, key, alert in silent:
                new_rows += _update_alerts(
                    s,
                    eid,
                    key,
                    [alert] if alert else [],
                    [AlertKind.SILENT.value],
                    current.get((eid, key), {}),
                    now,
                )
            _audit_raised(s, new_rows)
    return sum(a is not None for _, _, a in silent)


def _silent_alerts(s: Any) -> dict[tuple[int, str], dict[str, StationAlertRow]]:
    """Every station's ``silent`` alert not resolved, by (election id, station key)."""
    out: dict[tuple[int, str], dict[str, StationAlertRow]] = {}
    for a in s.scalars(
        select(StationAlertRow).where(
            StationAlertRow.kind == AlertKind.SILENT.value, StationAlertRow.status != "resolved"
        )
    ):
        out.setdefault((a.election_id, a.station_key), {})[a.kind] = a
    return out


def _stale(db: Database) -> list[tuple[int, str]]:
    """The stale nowcasts, as (election id, station key)."""
    with db.read() as s:
        return [
            (int(eid), str(sk))
            for eid, sk in s.execute(
                select(StationNowcastRow.election_id, StationNowcastRow.station_key)
                .where(StationNowcastRow.stale.is_(True))
                .order_by(StationNowcastRow.election_id, StationNowcastRow.id)
            )
        ]


@dataclass
class PassStats:
    """What the last ``refresh_nowcasts`` did: stations stored, wall and CPU seconds (the
    nowcaster's own and its workers')."""

    stations: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    worker_cpu_seconds: float = 0.0


last_pass = PassStats()
"""The last ``refresh_nowcasts`` of this process (bookkeeping for benchmarks and logs)."""


def refresh_nowcasts(
    db: Database, skip: set[tuple[str, str]] | None = None, pool: NowcastPool | None = None
) -> tuple[int, list[PendingActions]]:
    """Recompute every stale nowcast and its alerts, deferring the alerts' actions: how many,
    and the stations whose actions are pending (for ``finish_actions``). Each election's
    stale stations are read together (``_read_batch``), computed in ``pool``'s workers
    when there are enough of them (else here), and stored chunk by chunk as they are
    computed (``_store``). Stations that fail are logged, stay stale (retried next tick)
    and are added to ``skip`` (as (election key, station key))."""
    global last_pass
    t0, c0 = time.perf_counter(), time.process_time()
    skip = set() if skip is None else skip
    by_election: dict[int, list[str]] = {}
    for eid, key in _stale(db):
        by_election.setdefault(eid, []).append(key)
    big = any(len(keys) >= POOL_MIN_STATIONS for keys in by_election.values())
    if pool is not None and pool.size > 1 and big:
        pool.start()  # the workers start up while the stations are read
    pending: list[PendingActions] = []
    count = 0
    workers_cpu = 0.0
    for eid, keys in by_election.items():
        try:
            batch = _read_batch(db, eid, keys)
        except Exception:  # keep the loop alive; the rows stay stale and are retried
            log.exception("reading the nowcasts of election %s failed", eid)
            continue
        if batch is None:
            continue
        ek = batch.election.election_key
        batch.tasks = [t for t in batch.tasks if (ek, t.station_key) not in skip]
        count += len(batch.tasks)
        try:
            for chunk in _computed(batch, pool):
                for o, _ in chunk:
                    if o.failed is not None:
                        skip.add((ek, o.station_key))
                pending += _store(db, batch, chunk)
        except Exception:  # the stations not stored stay stale and are retried next tick
            log.exception("nowcasts of election %s failed", ek)
            skip.update((ek, t.station_key) for t in batch.tasks)
        if pool is not None:
            workers_cpu += pool.cpu_seconds
    last_pass = PassStats(
        count,
        time.perf_counter() - t0,
        time.process_time() - c0 + workers_cpu,
        workers_cpu,
    )
    if count:
        log.info(
            "nowcast pass: %d stations in %.2f s (CPU %.2f s, of which workers %.2f s)",
            count,
            last_pass.wall_seconds,
            last_pass.cpu_seconds,
            workers_cpu,
        )
    return count, pending


def refresh_stale(db: Database, stop: Any = None, pool: NowcastPool | None = None) -> int:
    """Recompute every stale nowcast; how many. Nowcasts first: one pass stores every stale
    station's nowcast and alerts (the alerts marked ``actions_pending``), then the alerting
    stations' actions are simulated one station at a time and stored onto their alerts;
    between two stations, stations gone stale meanwhile get their nowcasts first. ``stop``
    (an event) ends the actions early (they stay pending). ``pool``: worker processes for
    the nowcasts of large passes."""
    failed: set[tuple[str, str]] = set()
    done = 0
    pending: list[PendingActions] = []
    while True:
        count, fresh = refresh_nowcasts(db, failed, pool)
        done += count
        keys = {(p.election_id, p.station_key) for p in fresh}
        pending = [p for p in pending if (p.election_id, p.station_key) not in keys] + fresh
        if not pending or (stop is not None and stop.is_set()):
            return done
        finish_actions(db, pending.pop(0))


NOWCASTER_LOCK_KEY = 0x6E6F7763
"""PostgreSQL advisory lock held (on its own connection) by the one running nowcaster."""
BEAT_NAME = "nowcaster"


class LeaderLock:
    """Exactly one nowcaster runs per database, however many server workers (each starts a
    candidate): the one holding this lock. On SQLite it is an exclusive ``flock`` on a file
    beside the database (``<db>.nowcaster.lock``); on PostgreSQL a session advisory lock on
    a connection kept open while it leads. Either is released by the operating system or
    the database server when its process dies (even after a ``kill -9``), and a waiting
    candidate takes over at its next tick."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._fd: int | None = None
        self._conn: Any = None
        self._always = False
        if db.sqlite:
            from sqlalchemy.engine import make_url

            path = make_url(db.url).database
            if not path or path == ":memory:":
                self._always = True  # a private database: nobody else can share it
                self.path: Path | None = None
            else:
                self.path = Path(path).with_name(Path(path).name + ".nowcaster.lock")
        else:
            self.path = None

    @property
    def held(self) -> bool:
        return self._always or self._fd is not None or self._conn is not None

    def acquire(self) -> bool:
        """Take the lock if free (no wait); True while this process holds it."""
        if self._always:
            return True
        if self.db.sqlite:
            return self._acquire_file()
        return self._acquire_pg()

    def _acquire_file(self) -> bool:
        import fcntl

        if self._fd is not None:
            return True
        assert self.path is not None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _acquire_pg(self) -> bool:
        from sqlalchemy import text

        if self._conn is not None:
            try:  # still ours while the connection lives
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("nowcaster lost its lock connection; trying again")
                self._drop_conn()
        conn = self.db.engine.connect()
        try:
            got = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": NOWCASTER_LOCK_KEY}
                ).scalar_one()
            )
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def _drop_conn(self) -> None:
        try:
            self._conn.invalidate()
        except Exception:
            log.debug("closing a dead lock connection failed", exc_info=True)
        self._conn = None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
        if self._conn is not None:
            from sqlalchemy import text

            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": NOWCASTER_LOCK_KEY})
                self._conn.close()
            except Exception:
                self._drop_conn()
            self._conn = None


def beat(db: Database, started_at: dt.datetime) -> None:
    """The running nowcaster's heartbeat: its pid and host, since when it leads, a pass
    count (bookkeeping: not audited)."""
    import socket

    now = utcnow()
    with db.write() as s:
        row = s.get(NowcasterBeat, BEAT_NAME)
        pid, host = os.getpid(), socket.gethostname()
        if row is None:
            s.add(
                NowcasterBeat(
                    name=BEAT_NAME, pid=pid, host=host, started_at=started_at, beat_at=now, passes=1
                )
            )
        elif (row.pid, row.host, row.started_at) != (pid, host, started_at):
            row.pid, row.host, row.started_at, row.beat_at, row.passes = (
                pid,
                host,
                started_at,
                now,
                1,
            )
        else:
            row.beat_at, row.passes = now, row.passes + 1


def _loop(db_url: str, tick_seconds: float, stop: Any, parent: int) -> None:
    """A nowcaster candidate process: while it holds the ``LeaderLock`` it recomputes stale
    nowcasts (with its worker processes, ``services.nowcast_pool``, started for its first
    large pass) and checks silent stations every tick, and between ticks makes a pass as soon
    as a nowcast is stale (``POLL_SECONDS``); otherwise it tries for the lock every tick. It
    stops when told to or when the server worker that started it is gone (even
    after a ``kill -9``; its workers then see their socket close and exit). Ctrl-C at the
    terminal reaches the whole process group: the candidate and its workers ignore it and
    are stopped by the server, never killed mid-pass."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    db = Database.open(db_url)
    lock = LeaderLock(db)
    leading_since: dt.datetime | None = None
    pool: NowcastPool | None = None
    last_tick = -math.inf
    try:
        while not stop.is_set() and os.getppid() == parent:
            try:
                if time.monotonic() - last_tick >= tick_seconds:
                    last_tick = time.monotonic()
                    if lock.acquire():
                        leading_since = leading_since or utcnow()
                        pool = pool or NowcastPool()  # its workers start with a large pass
                        beat(db, leading_since)
                        refresh_stale(db, stop, pool)
                        check_silent(db)
                    else:
                        leading_since = None
                        if pool is not None:
                            pool.close()
                            pool = None
                elif lock.held and _any_stale(db):
                    refresh_stale(db, stop, pool)
            except Exception:
                log.exception("nowcaster pass failed")
            stop.wait(min(POLL_SECONDS, tick_seconds))
    finally:
        if pool is not None:
            pool.close()
        lock.release()
        db.dispose()


def _any_stale(db: Database) -> bool:
    with db.read() as s:
        return (
            s.scalar(select(StationNowcastRow.id).where(StationNowcastRow.stale.is_(True)).limit(1))
            is not None
        )


class Nowcaster:
    """Keeps nowcasts fresh in a child process of the server (the simulations never hold the
    request workers' interpreter lock); it polls for stale nowcasts every tick. Every worker
    starts one; only the holder of the ``LeaderLock`` works, the others wait to take over."""

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
