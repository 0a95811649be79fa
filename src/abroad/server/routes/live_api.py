"""Voting days: station reports, the admin's quarantine review, nowcasts and alerts.

Staff report for their missions' stations; a device reports for the station (or mission) its
token was issued for. Reports are idempotent by client id: ``201`` when stored, ``200`` with
the stored report when the same report is sent again, ``409`` for other content under a
stored id.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from abroad.ops.reports import StationReport
from abroad.server.access import GLOBAL_ROLES, Principal, allow
from abroad.server.errors import ApiError
from abroad.server.models import Election, StationAlertRow, StationReportRow
from abroad.server.routes.common import ERRORS, PageQuery, db_of, etagged, not_found, paged
from abroad.server.schemas import ErrorBody, ErrorDetail, Page, Role
from abroad.server.services import ingest, live, nowcaster
from abroad.server.services.live import (
    AlertOut,
    BulkReportsIn,
    NowcastOut,
    ReassignIn,
    ReportIn,
    ReportOut,
)

router = APIRouter(prefix="/api/elections/{election_key}", tags=["voting day"], responses=ERRORS)

REPORTERS = (Role.ADMIN, Role.MISSION_STAFF, Role.DEVICE)
WATCHERS = (Role.ADMIN, Role.PLANNER, Role.MISSION_STAFF, Role.OBSERVER, Role.DEVICE)
ALERT_HANDLERS = (Role.ADMIN, Role.PLANNER, Role.MISSION_STAFF)
CONSOLE_ROLES = (Role.ADMIN, Role.PLANNER, Role.MISSION_STAFF, Role.OBSERVER)


def _station(request: Request, election_key: str, station_key: str) -> Any:
    with db_of(request).read() as s:
        e = _election(s, election_key)
        return live.station_by_key(s, e.id, station_key)


def _election(s: Any, key: str) -> Election:
    e = s.scalar(select(Election).where(Election.election_key == key))
    if e is None:
        raise not_found(f"no election {key!r}")
    return e  # type: ignore[no-any-return]


async def _file(request: Request, election_key: str, report: StationReport, me: Principal) -> Any:
    """Hand the report to the server's writer (group commit) and answer once it is stored."""
    writer: ingest.Ingest = request.app.state.ingest
    try:
        if writer.enabled:
            answer = await writer.file(election_key, report, me.name)
        else:
            answer = await run_in_threadpool(
                lambda: writer.submit(election_key, report, me.name).result()
            )
    except live.Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except ingest.UnknownElection as exc:
        raise not_found(str(exc)) from None
    if not answer.duplicate and answer.out.status == live.ACCEPTED:
        nowcaster.poke(request.app)
    return Response(
        answer.out.model_dump_json(),
        status_code=200 if answer.duplicate else 201,
        media_type="application/json",
    )


@router.post(
    "/stations/{station_key}/reports",
    response_model=ReportOut,
    status_code=201,
    responses={200: {"model": ReportOut, "description": "The same report was already stored."}},
)
async def file_station_report(
    election_key: str,
    station_key: str,
    data: ReportIn,
    request: Request,
    me: Principal = allow(*REPORTERS, scope="station"),
) -> Any:
    """File a report for a station (idempotent by ``client_id``). Reports that fail a check
    (outside the station's days and hours, processed going down, more ballots than issued, …)
    are stored in quarantine with the reasons: the answer says which."""
    if data.station_id is not None and data.station_id != station_key:
        raise ApiError(422, "invalid", f"station_id {data.station_id!r} is not {station_key!r}")
    return await _file(request, election_key, data.to_report(station_key), me)


class FiledOut(BaseModel):
    """One report's answer in a bulk filing: what the one-report route would have said."""

    status: int = Field(description="201 stored, 200 stored before, 404, 409 or 422.")
    report: ReportOut | None = None
    error: ErrorBody | None = None


class BulkReportsOut(BaseModel):
    results: list[FiledOut] = Field(description="One answer per report, in the order sent.")


def _refused(status: int, code: str, message: str, details: list[ErrorDetail]) -> FiledOut:
    return FiledOut(status=status, error=ErrorBody(code=code, message=message, details=details))


@router.post(
    "/stations/{station_key}/reports/bulk",
    response_model=BulkReportsOut,
)
async def file_station_reports(
    election_key: str,
    station_key: str,
    data: BulkReportsIn,
    request: Request,
    me: Principal = allow(*REPORTERS, scope="station"),
) -> Any:
    """File several reports of a station at once (an offline device's queue): each is
    validated, stored (or quarantined) and audited as on the one-report route, idempotent by
    its ``client_id``, and answered with its own status; the reports are written together."""
    writer: ingest.Ingest = request.app.state.ingest
    results: list[FiledOut | None] = []
    waiting: list[tuple[int, Any]] = []
    for i, raw in enumerate(data.reports):
        try:
            report = ReportIn.model_validate(raw)
        except ValidationError as exc:
            details = [
                ErrorDetail(
                    loc=[
                        "body",
                        "reports",
                        i,
                        *(x if isinstance(x, int) else str(x) for x in e["loc"]),
                    ],
                    msg=str(e["msg"]),
                )
                for e in exc.errors()
            ]
            results.append(_refused(422, "invalid_input", "the report is not valid", details))
            continue
        if report.station_id is not None and report.station_id != station_key:
            message = f"station_id {report.station_id!r} is not {station_key!r}"
            results.append(_refused(422, "invalid", message, []))
            continue
        results.append(None)
        waiting.append((i, writer.file(election_key, report.to_report(station_key), me.name)))
    answers = await asyncio.gather(*(w for _, w in waiting), return_exceptions=True)
    accepted = False
    for (i, _), answer in zip(waiting, answers, strict=True):
        if isinstance(answer, live.Conflict):
            results[i] = _refused(409, "conflict", str(answer), [])
        elif isinstance(answer, ingest.UnknownElection):
            results[i] = _refused(404, "not_found", str(answer), [])
        elif isinstance(answer, BaseException):
            raise answer
        else:
            results[i] = FiledOut(status=200 if answer.duplicate else 201, report=answer.out)
            accepted |= not answer.duplicate and answer.out.status == live.ACCEPTED
    if accepted:
        nowcaster.poke(request.app)
    return Response(
        BulkReportsOut(results=[r for r in results if r is not None]).model_dump_json(),
        media_type="application/json",
    )


@router.post(
    "/missions/{mission_key}/reports",
    response_model=ReportOut,
    status_code=201,
    responses={200: {"model": ReportOut, "description": "The same report was already stored."}},
)
async def file_mission_report(
    election_key: str,
    mission_key: str,
    data: ReportIn,
    request: Request,
    me: Principal = allow(*REPORTERS, scope="mission"),
) -> Any:
    """File a report for any station of a mission (``station_id`` required). A station the
    election does not know is stored in quarantine (unknown station) for an admin to
    re-assign; a station of another mission is refused."""
    if data.station_id is None:
        raise ApiError(422, "invalid", "station_id is required on the mission's route")
    st = await run_in_threadpool(_station, request, election_key, data.station_id)
    if st is not None and st.mission_key != mission_key and me.role not in GLOBAL_ROLES:
        raise ApiError(403, "forbidden", f"station {data.station_id!r} is not run by this mission")
    return await _file(request, election_key, data.to_report(data.station_id), me)


@router.get("/stations/{station_key}/reports", response_model=Page[ReportOut])
def station_reports(
    election_key: str,
    station_key: str,
    request: Request,
    paging: PageQuery,
    _: Principal = allow(*WATCHERS, scope="station"),
) -> Any:
    """A station's reports (accepted and quarantined) in the order they were taken."""
    with db_of(request).read() as s:
        e = _election(s, election_key)
        q = live.reports_query(e.id, None, station_key)
        body = paged(s, q, StationReportRow.taken_at, paging, live.report_out)
    return etagged(request, body)


@router.get("/reports", response_model=Page[ReportOut])
def list_reports(
    election_key: str,
    request: Request,
    paging: PageQuery,
    status: Annotated[Literal["accepted", "quarantined"] | None, Query()] = None,
    _: Principal = allow(Role.ADMIN),
) -> Any:
    """Every report of the election; ``?status=quarantined`` for the review queue."""
    with db_of(request).read() as s:
        e = _election(s, election_key)
        q = live.reports_query(e.id, status, None)
        body = paged(s, q, StationReportRow.id, paging, live.report_out)
    return etagged(request, body)


def _review(request: Request, election_key: str, report_id: int, act: Any) -> ReportOut:
    with db_of(request).write() as s:
        e = _election(s, election_key)
        row = s.get(StationReportRow, report_id)
        if row is None or row.election_id != e.id:
            raise not_found(f"no report {report_id} in election {election_key!r}")
        try:
            act(s, e, row)
        except live.ReviewRefused as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        out = live.report_out(row)
    if out.status == live.ACCEPTED:
        nowcaster.poke(request.app)
    return out


@router.post("/reports/{report_id}/accept", response_model=ReportOut)
def accept_report(
    election_key: str, report_id: int, request: Request, me: Principal = allow(Role.ADMIN)
) -> ReportOut:
    """Accept a quarantined report as it is (its reasons stay on record)."""
    return _review(
        request, election_key, report_id, lambda s, e, r: live.accept_quarantined(s, e, r, me.name)
    )


@router.post("/reports/{report_id}/reassign", response_model=ReportOut)
def reassign_report(
    election_key: str,
    report_id: int,
    data: ReassignIn,
    request: Request,
    me: Principal = allow(Role.ADMIN),
) -> ReportOut:
    """File a quarantined report under another station; it is checked again there."""
    return _review(
        request,
        election_key,
        report_id,
        lambda s, e, r: live.reassign_quarantined(s, e, r, data.station_key, me.name),
    )


# ---------------------------------------------------------------------------------------------
# Nowcasts and alerts


@router.get("/stations/{station_key}/nowcast", response_model=NowcastOut)
async def station_nowcast(
    election_key: str,
    station_key: str,
    request: Request,
    _: Principal = allow(*WATCHERS, scope="station"),
) -> Any:
    """The station's nowcast from its latest accepted reports (recomputed here when stale)
    and its alerts with their actions. Poll it with ``If-None-Match``."""
    out = await run_in_threadpool(
        nowcaster.nowcast_out, request.app, election_key, station_key, True
    )
    if out is None:
        raise not_found(f"no station {station_key!r} in election {election_key!r}")
    return etagged(request, out)


@router.get("/live", response_model=list[NowcastOut])
def live_overview(
    election_key: str,
    request: Request,
    me: Principal = allow(*CONSOLE_ROLES),
) -> Any:
    """Every station's stored nowcast and alerts (what the console polls; not recomputed):
    all stations for headquarters, their missions' (or assigned) stations for mission staff
    and observers."""
    return etagged(request, nowcaster.overview(request.app, election_key, me))


@router.post("/alerts/{alert_id}/{step}", response_model=AlertOut)
def handle_alert(
    election_key: str,
    alert_id: int,
    step: Literal["acknowledge", "resolve"],
    request: Request,
    me: Principal = allow(*ALERT_HANDLERS),
) -> AlertOut:
    """Acknowledge or resolve an alert (staff only for their missions' stations)."""
    with db_of(request).write() as s:
        e = _election(s, election_key)
        row = s.get(StationAlertRow, alert_id)
        if row is None or row.election_id != e.id:
            raise not_found(f"no alert {alert_id} in election {election_key!r}")
        if me.role not in GLOBAL_ROLES:
            st = live.station_by_key(s, e.id, row.station_key)
            if st is None or st.mission_key not in me.missions:
                raise ApiError(403, "forbidden", "outside your missions or stations")
        try:
            live.move_alert(
                s, row, "acknowledged" if step == "acknowledge" else "resolved", me.name
            )
        except live.ReviewRefused as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        return live.alert_out(row)
