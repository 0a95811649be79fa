"""What anyone may read without an account: elections and their stations (no personal data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from abroad.server.access import Principal, allow
from abroad.server.models import Election
from abroad.server.routes.common import ERRORS, Limit, Offset, db_of, etagged, not_found, page
from abroad.server.schemas import ElectionOut, Page, Role, StationOut
from abroad.server.services import workspace as ws

router = APIRouter(prefix="/api/public", tags=["public"], responses=ERRORS)


@router.get("/elections", response_model=Page[ElectionOut])
def elections(
    request: Request, offset: Offset = 0, limit: Limit = 50, _: Principal = allow(Role.PUBLIC)
) -> Any:
    """Every election with its voting days."""
    with db_of(request).read() as s:
        total = s.scalar(select(func.count()).select_from(Election)) or 0
        rows = s.scalars(select(Election).order_by(Election.id).offset(offset).limit(limit))
        items = [ws.election_out(e) for e in rows]
    return etagged(request, page(items, total, offset, limit))


@router.get("/elections/{election_key}/stations", response_model=Page[StationOut])
def stations(
    election_key: str,
    request: Request,
    offset: Offset = 0,
    limit: Limit = 50,
    _: Principal = allow(Role.PUBLIC),
) -> Any:
    """Where and when to vote: each station's address, place, days and local hours."""
    with db_of(request).read() as s:
        e = s.scalar(select(Election).where(Election.election_key == election_key))
        if e is None:
            raise not_found(f"no election {election_key!r}")
        rows, total = ws.stations(s, e.id, offset=offset, limit=limit)
        items = [ws.station_out(r) for r in rows]
    return etagged(request, page(items, total, offset, limit))
