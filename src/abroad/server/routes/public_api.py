"""What anyone may read without an account: elections and their stations (no personal data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from abroad.server.access import Principal, allow
from abroad.server.models import Election, Station
from abroad.server.routes.common import ERRORS, PageQuery, db_of, etagged, not_found, paged
from abroad.server.schemas import ElectionOut, Page, Role, StationOut
from abroad.server.services import workspace as ws

router = APIRouter(prefix="/api/public", tags=["public"], responses=ERRORS)


@router.get("/elections", response_model=Page[ElectionOut])
def elections(request: Request, paging: PageQuery, _: Principal = allow(Role.PUBLIC)) -> Any:
    """Every election with its voting days."""
    with db_of(request).read() as s:
        body = paged(s, select(Election), Election.id, paging, ws.election_out)
    return etagged(request, body)


@router.get("/elections/{election_key}/stations", response_model=Page[StationOut])
def stations(
    election_key: str,
    request: Request,
    paging: PageQuery,
    _: Principal = allow(Role.PUBLIC),
) -> Any:
    """Where and when to vote: each station's address, place, days and local hours."""
    with db_of(request).read() as s:
        e = s.scalar(select(Election).where(Election.election_key == election_key))
        if e is None:
            raise not_found(f"no election {election_key!r}")
        body = paged(s, ws.stations_query(e.id), Station.station_key, paging, ws.station_out)
    return etagged(request, body)
