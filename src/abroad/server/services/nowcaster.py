"""Recompute stations' nowcasts and alerts from their accepted reports.

A station's nowcast is stale after each accepted report; one nowcaster process per database
recomputes stale ones every tick (so bursts of reports coalesce into one recompute per
station), and a read of a stale nowcast recomputes it at once. Every server worker starts a
candidate; the one holding the ``LeaderLock`` runs and writes a heartbeat row
(``nowcaster_beats``), the others wait to take over. The station's simulator
spec comes from the election's stored scenario and stations (the adopted plan's, or the
status quo's) through ``server.engine``; specs are cached per election version (a cache
only: any worker can rebuild it).

The present state and the nowcast are ``ops``'s: ``state_from_reports`` on the reports of
the latest report's voting day, ``condition`` / ``run`` / ``summarise``, then
``evaluate_alerts`` with the election's thresholds (``services.alert_settings``; the
station's own cap on the line outside from its site unless the election sets one).
Replications and seed are fixed per station and report, so a recompute of the same reports
gives the same figures.

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
import multiprocessing as mp
import os
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
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
    evaluate_alerts,
    needs_actions,
    silent_alert,
)
from abroad.ops.neighbours import Located, nearest_by_travel
from abroad.ops.nowcast import (
    Conditioned,
    clock_text,
    condition,
    planned_processed,
    run,
    summarise,
)
from abroad.ops.reports import state_from_reports
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

log = logging.getLogger(__name__)

REPLICATIONS = 60
PLANNED_REPLICATIONS = 60
TICK_SECONDS = 2.0
SYSTEM = "system:nowcast"
NOWCAST_KINDS = tuple(k.value for k in AlertKind if k is not AlertKind.SILENT)


@dataclass(frozen=True)
class ElectionModel:
    """What the nowcasts of an election's stations need from its scenario."""

    specs: dict[str, Any]
    """The simulator's ``StationSpec`` by site key."""
    travel: TravelModel
    planned: dict[tuple[str, int], list[dict[str, float]]] = field(
        default_factory=dict, compare=False
    )
    """The plan's processed curve by (site key, day), filled as first needed."""

    def planned_processed(self, site_key: str, day: int) -> list[dict[str, float]]:
        """The plan's voters processed by each clock minute of ``day``, from opening."""
        key = (site_key, day)
        if key not in self.planned:
            curve = planned_processed(
                self.specs[site_key], day, PLANNED_REPLICATIONS, _seed(site_key, -1)
            )
            self.planned[key] = [
                {"minute": p.minute, "mean": p.mean, "ci_low": p.ci_low, "ci_high": p.ci_high}
                for p in curve
            ]
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
        _specs[key] = ElectionModel(specs, scenario.travel)
        return _specs[key]


def _seed(station_key: str, reports_seen: int) -> int:
    digest = hashlib.sha256(f"{station_key}/{reports_seen}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _accepted_rows(s: Any, election_id: int, station_key: str) -> list[StationReportRow]:
    return list(
        s.scalars(
            select(StationReportRow).where(
                StationReportRow.election_id == election_id,
                StationReportRow.station_key == station_key,
                StationReportRow.status == live.ACCEPTED,
            )
        )
    )


def conditioned(
    spec: Any, station: Station, rows: Sequence[StationReportRow]
) -> tuple[Conditioned | None, str | None]:
    """A station's present state from its accepted report rows, conditioned for its nowcast
    (the replications and seed its own nowcast uses); or why not."""
    seen = max((r.id for r in rows), default=0)
    reports = [live.report_of(r) for r in rows]
    calendar = live.calendar_of(station)
    latest = max(reports, key=lambda r: r.taken_at, default=None)
    if latest is None:
        return None, "no accepted report yet"
    day = calendar.local(latest.taken_at)[0]
    state = state_from_reports(calendar, reports, day) if day is not None else None
    if state is None:
        return None, "no report of the latest voting day gives the line yet"
    try:
        return condition(spec, state, REPLICATIONS, _seed(station.station_key, seen)), None
    except ValueError as exc:
        return None, f"cannot nowcast: {exc}"


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


def processed_chart(
    model: ElectionModel, station: Station, rows: Sequence[StationReportRow], cond: Conditioned
) -> dict[str, Any]:
    """What the console's processed chart needs beside the nowcast's ``processed_from_now``:
    ``base``, the processed count reported before the day (reports are cumulative over the
    election; the chart shows the day's), ``today_now``, processed today as of the present
    state, and ``planned``, the plan's curve from opening (``ops.nowcast.planned_processed``)."""
    calendar = live.calendar_of(station)
    day = cond.state.day
    earlier = []
    for r in rows:
        report = live.report_of(r)
        d = calendar.local(report.taken_at)[0]
        if report.processed is not None and d is not None and d < day:
            earlier.append(report.processed)
    return {
        "day": calendar.days[day].date.isoformat(),
        "base": max(earlier, default=0),
        "today_now": cond.state.processed_today,
        "planned": model.planned_processed(station.site_key, day),
    }


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


ACTIONS_PENDING = "actions_pending"
"""Key set (true) in a stored nowcast whose alerts' actions are still being computed."""


@dataclass(frozen=True)
class PendingActions:
    """A station whose nowcast and alerts are stored and whose alerts' actions are not yet."""

    election_id: int
    station_key: str
    reports_seen: int
    cond: Conditioned
    alerts: tuple[Alert, ...]
    neighbours: LazyNeighbours


def refresh(
    db: Database, election_key: str, station_key: str, *, defer_actions: bool = False
) -> PendingActions | None:
    """Recompute one station's nowcast and alerts from its accepted reports. With
    ``defer_actions`` the alerts are stored without their actions (the nowcast marked
    ``actions_pending``) and what ``finish_actions`` needs to add them is returned."""
    with db.read() as s:
        e = s.scalar(select(Election).where(Election.election_key == election_key))
        if e is None:
            return None
        station = live.station_by_key(s, e.id, station_key)
        if station is None:
            return None
        stations = list(
            s.scalars(select(Station).where(Station.election_id == e.id).order_by(Station.id))
        )
        rows = _accepted_rows(s, e.id, station_key)
        settings = alert_settings.current(s, e.id)
    seen = max((r.id for r in rows), default=0)
    result: dict[str, Any] | None = None
    error: str | None = None
    alerts: list[Any] = []
    pending: PendingActions | None = None
    if not rows:
        error = "no accepted report yet"
    else:
        try:
            model = election_model(db, e, stations)
            cond, error = conditioned(model.specs[station.site_key], station, rows)
            if cond is not None:
                nc = summarise(cond, run(cond))
                instant = max(r.taken_at for r in rows)
                neighbours = LazyNeighbours(
                    lambda: open_neighbours(db, e.id, station, stations, instant, model, settings)
                )
                alerts = list(
                    evaluate_alerts(
                        cond,
                        nc,
                        settings.thresholds(),
                        neighbours=neighbours,
                        with_actions=not defer_actions,
                    )
                )
                result = {
                    **nc.as_dict(),
                    "processed_chart": processed_chart(model, station, rows, cond),
                }
                if defer_actions and needs_actions(alerts):
                    result[ACTIONS_PENDING] = True
                    pending = PendingActions(
                        e.id, station_key, seen, cond, tuple(alerts), neighbours
                    )
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
    return pending


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
        for eid, key, latest in rows:
            minutes = (clock[eid] - _aware(latest)).total_seconds() / 60
            alert = silent_alert(str(key), minutes, per_election[eid])
            silent += alert is not None
            _store_alerts(s, eid, str(key), [alert] if alert else [], [AlertKind.SILENT.value])
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
            for eid, key, alert in silent:
                _store_alerts(s, eid, key, [alert] if alert else [], [AlertKind.SILENT.value])
    return sum(a is not None for _, _, a in silent)


def _stale(db: Database) -> list[tuple[str, str]]:
    with db.read() as s:
        return [
            (str(ek), str(sk))
            for ek, sk in s.execute(
                select(Election.election_key, StationNowcastRow.station_key)
                .join(Election, Election.id == StationNowcastRow.election_id)
                .where(StationNowcastRow.stale.is_(True))
            )
        ]


def refresh_nowcasts(
    db: Database, skip: set[tuple[str, str]] | None = None
) -> tuple[int, list[PendingActions]]:
    """Recompute every stale nowcast and its alerts, deferring the alerts' actions: how many,
    and the stations whose actions are pending (for ``finish_actions``). Stations that fail
    are logged, stay stale (retried next tick) and are added to ``skip``."""
    skip = set() if skip is None else skip
    pending: list[PendingActions] = []
    count = 0
    for election_key, station_key in _stale(db):
        if (election_key, station_key) in skip:
            continue
        count += 1
        try:
            p = refresh(db, election_key, station_key, defer_actions=True)
        except Exception:  # keep the thread alive; the row stays stale and is retried
            log.exception("nowcast of %s/%s failed", election_key, station_key)
            skip.add((election_key, station_key))
            continue
        if p is not None:
            pending.append(p)
    return count, pending


def refresh_stale(db: Database, stop: Any = None) -> int:
    """Recompute every stale nowcast; how many. Nowcasts first: one pass stores every stale
    station's nowcast and alerts (the alerts marked ``actions_pending``), then the alerting
    stations' actions are simulated one station at a time and stored onto their alerts;
    between two stations, stations gone stale meanwhile get their nowcasts first. ``stop``
    (an event) ends the actions early (they stay pending)."""
    failed: set[tuple[str, str]] = set()
    done = 0
    pending: list[PendingActions] = []
    while True:
        count, fresh = refresh_nowcasts(db, failed)
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
    nowcasts and checks silent stations every tick; otherwise it tries for the lock every
    tick. It stops when told to or when the server worker that started it is gone (even
    after a ``kill -9``). Ctrl-C at the terminal reaches the whole process group: the
    candidate ignores it and is stopped by its server, never killed mid-pass."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    db = Database.open(db_url)
    lock = LeaderLock(db)
    leading_since: dt.datetime | None = None
    try:
        while not stop.is_set() and os.getppid() == parent:
            try:
                if lock.acquire():
                    leading_since = leading_since or utcnow()
                    beat(db, leading_since)
                    refresh_stale(db, stop)
                    check_silent(db)
                else:
                    leading_since = None
            except Exception:
                log.exception("nowcaster pass failed")
            stop.wait(tick_seconds)
    finally:
        lock.release()
        db.dispose()


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
