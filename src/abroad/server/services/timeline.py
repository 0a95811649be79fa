"""A voting day's timeline: reports, incidents, quarantines and reviews, alerts raised,
acknowledged and resolved, newest first, for the stations a caller may see.

Everything here is read from what is already stored: the reports (their free-text incidents
are items of their own), the alert rows (raised) and the audit log (acknowledged, resolved:
who and when). Items are ordered by the server's clock (when a report was received, when an
alert moved), so that a late report appears when it arrived; a report also carries the time
it was taken, on the station's own clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from abroad.server.access import GLOBAL_ROLES, Principal
from abroad.server.events import EventType
from abroad.server.models import AuditEntry, Station, StationAlertRow, StationReportRow
from abroad.server.schemas import Role

ItemKind = Literal[
    "report",
    "incident",
    "quarantined",
    "reviewed",
    "alert_raised",
    "alert_acknowledged",
    "alert_resolved",
]


class TimelineItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: dt.datetime = Field(description="When it happened on the server's clock (UTC).")
    kind: ItemKind
    station_key: str
    text: str
    actor: str | None = None
    taken_at: dt.datetime | None = Field(
        default=None, description="For reports: when the report was taken (station's offset)."
    )
    report_id: int | None = None
    alert_id: int | None = None


def _summary(payload: dict[str, object]) -> str:
    parts: list[str] = []
    if payload.get("people_in_line") is not None:
        parts.append(f"{payload['people_in_line']} in line")
    elif payload.get("line_length_m") is not None:
        parts.append(f"line of {payload['line_length_m']} m")
    if payload.get("processed") is not None:
        parts.append(f"{payload['processed']} processed")
    if payload.get("ballots_left") is not None:
        parts.append(f"{payload['ballots_left']} ballots left")
    working = payload.get("working")
    if isinstance(working, list) and working:
        parts.append(", ".join(f"{n} {k} working" for k, n in working))
    if payload.get("event"):
        parts.append(str(payload["event"]))
    return "; ".join(parts) or "report"


def _aware(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def timeline(
    session: Session, election_id: int, stations: Collection[str] | None, limit: int = 200
) -> list[TimelineItem]:
    """The newest ``limit`` items of the ``stations`` (None: every station)."""
    items: list[TimelineItem] = []
    q = select(StationReportRow).where(StationReportRow.election_id == election_id)
    if stations is not None:
        q = q.where(StationReportRow.station_key.in_(list(stations)))
    for r in session.scalars(q.order_by(StationReportRow.received_at.desc()).limit(limit)):
        taken = r.payload.get("taken_at")
        taken_at = dt.datetime.fromisoformat(taken) if isinstance(taken, str) else r.taken_at
        common = {
            "station_key": r.station_key,
            "actor": r.submitted_by,
            "taken_at": taken_at,
            "report_id": r.id,
        }
        if r.status == "accepted" and r.reviewed_at is None:
            items.append(
                TimelineItem(at=r.received_at, kind="report", text=_summary(r.payload), **common)
            )
        elif r.status == "quarantined" or r.reviewed_at is not None:
            reasons = "; ".join(str(x.get("message", x)) for x in r.reasons) or "quarantined"
            items.append(
                TimelineItem(
                    at=r.received_at,
                    kind="quarantined",
                    text=f"{_summary(r.payload)} (quarantined: {reasons})",
                    **common,
                )
            )
        if r.reviewed_at is not None:
            items.append(
                TimelineItem(
                    at=r.reviewed_at,
                    kind="reviewed",
                    text=f"{r.status} after review (filed for {r.filed_station_key})",
                    **{**common, "actor": r.reviewed_by},
                )
            )
        incident = r.payload.get("incident")
        if incident:
            items.append(
                TimelineItem(at=r.received_at, kind="incident", text=str(incident), **common)
            )
    aq = select(StationAlertRow).where(StationAlertRow.election_id == election_id)
    if stations is not None:
        aq = aq.where(StationAlertRow.station_key.in_(list(stations)))
    alerts = {a.id: a for a in session.scalars(aq.order_by(StationAlertRow.id.desc()).limit(limit))}
    for a in alerts.values():
        items.append(
            TimelineItem(
                at=a.raised_at,
                kind="alert_raised",
                station_key=a.station_key,
                text=f"{a.kind}: {a.message}",
                actor="system:nowcast",
                alert_id=a.id,
            )
        )
    if alerts:
        moves = session.scalars(
            select(AuditEntry).where(
                AuditEntry.event_type.in_(
                    [EventType.ALERT_ACKNOWLEDGED.value, EventType.ALERT_RESOLVED.value]
                ),
                AuditEntry.subject.in_([f"alert/{i}" for i in alerts]),
            )
        )
        for e in moves:
            a = alerts[int(e.subject.split("/", 1)[1])]
            acked = e.event_type == EventType.ALERT_ACKNOWLEDGED.value
            items.append(
                TimelineItem(
                    at=dt.datetime.fromisoformat(e.at),
                    kind="alert_acknowledged" if acked else "alert_resolved",
                    station_key=a.station_key,
                    text=f"{a.kind}: {a.message}",
                    actor=e.actor,
                    alert_id=a.id,
                )
            )
    items.sort(key=lambda x: (_aware(x.at), x.kind), reverse=True)
    return items[:limit]


def visible_stations(s: Any, election_id: int, me: Principal) -> list[str] | None:
    """The station keys ``me`` may see (None: every station of the election)."""
    if me.role in GLOBAL_ROLES:
        return None
    rows = s.execute(
        select(Station.station_key, Station.mission_key).where(Station.election_id == election_id)
    )
    return [
        str(k)
        for k, m in rows
        if k in me.stations or (m in me.missions and me.role in (Role.MISSION_STAFF, Role.DEVICE))
    ]
