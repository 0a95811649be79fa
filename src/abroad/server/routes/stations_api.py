"""Missions and stations for the people who run them: mission staff, observers, devices.

Live-ops routes (station reports, nowcasts) will sit beside these, scoped the same way.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from abroad.server.access import Principal, allow
from abroad.server.models import Election, Station
from abroad.server.routes.common import ERRORS, PageQuery, db_of, etagged, not_found, paged
from abroad.server.schemas import Page, Role, StationDetail
from abroad.server.services import workspace as ws

router = APIRouter(prefix="/api/elections/{election_key}", tags=["stations"], responses=ERRORS)


@router.get("/missions/{mission_key}/stations", response_model=Page[StationDetail])
def mission_stations(
    election_key: str,
    mission_key: str,
    request: Request,
    paging: PageQuery,
    _: Principal = allow(
        Role.ADMIN, Role.PLANNER, Role.MISSION_STAFF, Role.DEVICE, scope="mission"
    ),
) -> Any:
    """The stations a mission runs, with their resources and hours."""
    with db_of(request).read() as s:
        e = s.scalar(select(Election).where(Election.election_key == election_key))
        if e is None:
            raise not_found(f"no election {election_key!r}")
        q = ws.stations_query(e.id).where(Station.mission_key == mission_key)
        body = paged(s, q, Station.station_key, paging, ws.station_detail)
    return etagged(request, body)


@router.get("/stations/{station_key}", response_model=StationDetail)
def station(
    election_key: str,
    station_key: str,
    request: Request,
    _: Principal = allow(
        Role.ADMIN,
        Role.PLANNER,
        Role.MISSION_STAFF,
        Role.OBSERVER,
        Role.DEVICE,
        scope="station",
    ),
) -> Any:
    """One station with its resources, hours (local time, IANA zone) and address."""
    with db_of(request).read() as s:
        row = s.scalar(
            select(Station)
            .join(Election, Election.id == Station.election_id)
            .where(Election.election_key == election_key, Station.station_key == station_key)
        )
        if row is None:
            raise not_found(f"no station {station_key!r} in election {election_key!r}")
        return etagged(request, ws.station_detail(row))
