"""Voting days, for the console: the election's alert thresholds and the timeline of reports,
incidents and alerts (each caller sees the stations their role allows)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy import select

from abroad.server.access import Principal, allow
from abroad.server.errors import ApiError
from abroad.server.models import Election
from abroad.server.routes.common import ERRORS, db_of, etagged, not_found
from abroad.server.schemas import Role
from abroad.server.services import alert_settings
from abroad.server.services.alert_settings import AlertSettings, AlertSettingsOut
from abroad.server.services.timeline import TimelineItem, timeline, visible_stations

router = APIRouter(prefix="/api/elections/{election_key}", tags=["voting day"], responses=ERRORS)

SETTINGS_READERS = (Role.ADMIN, Role.PLANNER, Role.MISSION_STAFF, Role.OBSERVER)
TIMELINE_READERS = (Role.ADMIN, Role.PLANNER, Role.MISSION_STAFF, Role.OBSERVER)
STATION_TIMELINE_READERS = (*TIMELINE_READERS, Role.DEVICE)
Limit = Annotated[int, Query(ge=1, le=1000, description="Newest items to return.")]


def _election(s: Any, key: str) -> Election:
    e = s.scalar(select(Election).where(Election.election_key == key))
    if e is None:
        raise not_found(f"no election {key!r}")
    return e  # type: ignore[no-any-return]


@router.get("/alert-settings", response_model=AlertSettingsOut)
def get_alert_settings(
    election_key: str, request: Request, _: Principal = allow(*SETTINGS_READERS)
) -> Any:
    """The thresholds the election's alerts are judged with, and the defaults."""
    with db_of(request).read() as s:
        return etagged(request, alert_settings.settings_out(s, _election(s, election_key)))


@router.patch("/alert-settings", response_model=AlertSettingsOut)
def change_alert_settings(
    election_key: str,
    data: AlertSettings,
    request: Request,
    me: Principal = allow(Role.ADMIN),
) -> AlertSettingsOut:
    """Change some thresholds (the fields sent; the others keep their values). Audited as
    ``alert_settings.changed``; every station is judged again with the new thresholds (an
    alert no longer raised becomes inactive, a new one opens)."""
    given = data.model_dump(include=data.model_fields_set)
    with db_of(request).write() as s:
        e = _election(s, election_key)
        try:
            return alert_settings.change(s, e, given, me.name)
        except ValidationError as exc:  # pragma: no cover  (the body was validated already)
            raise ApiError(422, "invalid", str(exc)) from None


@router.get("/timeline", response_model=list[TimelineItem])
def election_timeline(
    election_key: str,
    request: Request,
    limit: Limit = 200,
    me: Principal = allow(*TIMELINE_READERS),
) -> Any:
    """Reports, incidents, quarantines, reviews and alerts (raised, acknowledged, resolved),
    newest first: every station for headquarters, their missions' (or assigned) stations
    for mission staff and observers."""
    with db_of(request).read() as s:
        e = _election(s, election_key)
        items = timeline(s, e.id, visible_stations(s, e.id, me), limit)
    return etagged(request, items)


@router.get("/stations/{station_key}/timeline", response_model=list[TimelineItem])
def station_timeline(
    election_key: str,
    station_key: str,
    request: Request,
    limit: Limit = 200,
    _: Principal = allow(*STATION_TIMELINE_READERS, scope="station"),
) -> Any:
    """One station's timeline, newest first."""
    with db_of(request).read() as s:
        e = _election(s, election_key)
        items = timeline(s, e.id, [station_key], limit)
    return etagged(request, items)
