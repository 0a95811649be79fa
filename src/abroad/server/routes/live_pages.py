"""Voting-day pages: a station's reporting form (works offline) and the operations console."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from abroad.server.access import Principal, allow
from abroad.server.errors import ApiError
from abroad.server.models import Election
from abroad.server.routes.common import db_of
from abroad.server.routes.pages import render
from abroad.server.schemas import Role
from abroad.server.services import live

router = APIRouter(include_in_schema=False)


@router.get("/elections/{election_key}/stations/{station_key}/report", response_class=HTMLResponse)
def report_page(
    election_key: str,
    station_key: str,
    request: Request,
    _: Principal = allow(Role.ADMIN, Role.MISSION_STAFF, scope="station"),
) -> Response:
    """The station's reporting form: reports wait on the device until the server has them."""
    with db_of(request).read() as s:
        e = s.scalar(select(Election).where(Election.election_key == election_key))
        station = live.station_by_key(s, e.id, station_key) if e is not None else None
        if e is None or station is None:
            raise ApiError(404, "not_found", f"no station {station_key!r} in {election_key!r}")
        stages = live.calendar_of(station).stages
    return render(
        request,
        "report.html",
        {"election": e, "station": station, "stages": stages},
    )


@router.get("/elections/{election_key}/console", response_class=HTMLResponse)
def console_page(
    election_key: str,
    request: Request,
    me: Principal = allow(Role.ADMIN, Role.PLANNER, Role.MISSION_STAFF, Role.OBSERVER),
) -> Response:
    """Every station on a map and in a table with its latest report, nowcast and alerts,
    per-station charts and the timeline (mission staff and observers: their stations)."""
    with db_of(request).read() as s:
        e = s.scalar(select(Election).where(Election.election_key == election_key))
        if e is None:
            raise ApiError(404, "not_found", f"no election {election_key!r}")
    return render(
        request,
        "console.html",
        {
            "election": e,
            "can_handle_alerts": me.role in (Role.ADMIN, Role.PLANNER, Role.MISSION_STAFF),
            "can_set_thresholds": me.role is Role.ADMIN,
        },
    )


ASSET_TYPES = {
    "leaflet.js": "text/javascript; charset=utf-8",
    "leaflet.css": "text/css; charset=utf-8",
    "world-countries.geojson": "application/geo+json",
}


@router.get("/live-assets/{name}")
def live_asset(name: str, _: Principal = allow(Role.PUBLIC)) -> Response:
    """The console's map library and outlines: the report's offline assets (no CDN)."""
    from abroad.report.assets_loader import load_assets

    if name not in ASSET_TYPES:
        raise ApiError(404, "not_found", f"no asset {name!r}")
    a = load_assets()
    content = {
        "leaflet.js": a.leaflet_js,
        "leaflet.css": a.leaflet_css,
        "world-countries.geojson": a.world_geojson,
    }[name]
    return Response(
        content, media_type=ASSET_TYPES[name], headers={"Cache-Control": "max-age=3600"}
    )
