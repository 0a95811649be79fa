"""Helpers shared by the route modules: the database, pagination, ETags, client address."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from abroad.server.config import Settings
from abroad.server.db import Database
from abroad.server.errors import ApiError
from abroad.server.schemas import ErrorResponse


@dataclass(frozen=True)
class Paging:
    """``?offset=&limit=`` of every list."""

    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")] = 0
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 50


PageQuery = Annotated[Paging, Depends()]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 422, 429)
}


def db_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def page(items: list[Any], total: int, paging: Paging) -> dict[str, Any]:
    nxt = paging.offset + paging.limit
    return {
        "items": items,
        "total": total,
        "offset": paging.offset,
        "limit": paging.limit,
        "next_offset": nxt if nxt < total else None,
    }


def paged(
    session: Session, query: Select[Any], order: Any, paging: Paging, convert: Callable[[Any], Any]
) -> dict[str, Any]:
    """One page of ``query``'s rows in ``order``, each converted, with the total count."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(order).offset(paging.offset).limit(paging.limit))
    return page([convert(r) for r in rows], total, paging)


def etagged(request: Request, payload: Any) -> Response:
    """A JSON response with a strong ETag; 304 when the client already has it."""
    from fastapi.encoders import jsonable_encoder

    resp = JSONResponse(jsonable_encoder(payload))
    tag = '"' + hashlib.sha256(bytes(resp.body)).hexdigest()[:32] + '"'
    if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers={"ETag": tag})
    resp.headers["ETag"] = tag
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", what)
