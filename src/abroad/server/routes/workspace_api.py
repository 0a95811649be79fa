"""The planners' workspace over JSON: import, jobs, plans, adoption."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from abroad.server import engine
from abroad.server.access import Principal, allow
from abroad.server.errors import ApiError, problem_details
from abroad.server.models import Election, Job, Mission, Plan, Site
from abroad.server.routes.common import (
    ERRORS,
    Limit,
    Offset,
    db_of,
    etagged,
    not_found,
    page,
    settings_of,
)
from abroad.server.schemas import (
    ElectionOut,
    ImportResult,
    JobIn,
    JobOut,
    MissionOut,
    Page,
    PlanDetail,
    PlanOut,
    Role,
    SiteOut,
    StationDetail,
)
from abroad.server.services import workspace as ws
from abroad.server.services.importer import import_scenario
from abroad.server.uploads import UploadedFile, unpack

router = APIRouter(prefix="/api", tags=["workspace"], responses=ERRORS)
PLANNERS = (Role.ADMIN, Role.PLANNER)

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "scenario.yaml and its tables, or one .zip",
                        }
                    },
                }
            }
        },
    }
}


def _election(s: Any, key: str) -> Election:
    try:
        return ws.election_by_key(s, key)
    except ws.NotFound as exc:
        raise not_found(str(exc)) from exc


def import_upload(request: Request, files: list[UploadedFile], actor: str) -> ImportResult:
    """Unpack, validate and import an uploaded scenario; nothing is stored on any error."""
    settings = settings_of(request)
    with tempfile.TemporaryDirectory(prefix="abroad-upload-") as tmp:
        folder = Path(tmp)
        unpack(files, folder, settings.max_unzipped_bytes)
        try:
            sc = engine.load_scenario(folder)
        except engine.InputError as exc:
            raise ApiError(
                422,
                "invalid_scenario",
                f"{len(exc.problems)} problem(s) in the scenario",
                problem_details(exc.problems),
            ) from exc
        with db_of(request).write() as s:
            return import_scenario(s, folder, actor, sc)


async def read_files(request: Request) -> list[UploadedFile]:
    form = await request.form(max_files=50)
    out = []
    for value in form.getlist("files"):
        if isinstance(value, UploadFile):
            out.append(UploadedFile(value.filename or "upload", await value.read()))
    return out


@router.post(
    "/elections/import", response_model=ImportResult, openapi_extra=UPLOAD_BODY, status_code=200
)
async def import_election(request: Request, me: Principal = allow(*PLANNERS)) -> ImportResult:
    """Upload a scenario (its files or one zip): validated, imported, the diff returned."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_media_type", "send multipart/form-data with 'files'")
    files = await read_files(request)
    return await run_in_threadpool(import_upload, request, files, me.name)


@router.get("/elections", response_model=Page[ElectionOut])
def list_elections(
    request: Request, offset: Offset = 0, limit: Limit = 50, _: Principal = allow(*PLANNERS)
) -> Any:
    """The imported elections."""
    with db_of(request).read() as s:
        total = s.scalar(select(func.count()).select_from(Election)) or 0
        rows = s.scalars(select(Election).order_by(Election.id).offset(offset).limit(limit))
        items = [ws.election_out(e) for e in rows]
    return page(items, total, offset, limit)


@router.get("/elections/{election_key}", response_model=ElectionOut)
def get_election(election_key: str, request: Request, _: Principal = allow(*PLANNERS)) -> Any:
    """One election with its days and where its stations come from (ETag)."""
    with db_of(request).read() as s:
        return etagged(request, ws.election_out(_election(s, election_key)))


@router.get("/elections/{election_key}/missions", response_model=Page[MissionOut])
def list_missions(
    election_key: str,
    request: Request,
    offset: Offset = 0,
    limit: Limit = 50,
    _: Principal = allow(*PLANNERS),
) -> Any:
    """The election's diplomatic missions."""
    with db_of(request).read() as s:
        e = _election(s, election_key)
        q = select(Mission).where(Mission.election_id == e.id)
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        items = [
            MissionOut(
                mission_key=m.mission_key,
                name=m.name,
                country=m.country,
                city=m.city,
                timezone=m.timezone,
            )
            for m in s.scalars(q.order_by(Mission.mission_key).offset(offset).limit(limit))
        ]
    return page(items, total, offset, limit)


@router.get("/elections/{election_key}/sites", response_model=Page[SiteOut])
def list_sites(
    election_key: str,
    request: Request,
    offset: Offset = 0,
    limit: Limit = 50,
    _: Principal = allow(*PLANNERS),
) -> Any:
    """Every site of the election, open or not, with its limits."""
    with db_of(request).read() as s:
        e = _election(s, election_key)
        q = select(Site).where(Site.election_id == e.id)
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        items = [
            SiteOut.model_validate(r, from_attributes=True)
            for r in s.scalars(q.order_by(Site.site_key).offset(offset).limit(limit))
        ]
    return page(items, total, offset, limit)


@router.get("/elections/{election_key}/stations", response_model=Page[StationDetail])
def list_stations(
    election_key: str,
    request: Request,
    offset: Offset = 0,
    limit: Limit = 50,
    _: Principal = allow(*PLANNERS),
) -> Any:
    """The election's stations with their resources (ETag: poll with If-None-Match)."""
    with db_of(request).read() as s:
        e = _election(s, election_key)
        rows, total = ws.stations(s, e.id, offset=offset, limit=limit)
        items = [ws.station_detail(r) for r in rows]
    return etagged(request, page(items, total, offset, limit))


@router.post("/elections/{election_key}/jobs", response_model=JobOut, status_code=202)
def submit_job(
    election_key: str, data: JobIn, request: Request, me: Principal = allow(*PLANNERS)
) -> Any:
    """Start a plan, compare or evaluate job; poll GET /api/jobs/{id} for its progress."""
    db = db_of(request)
    with db.read() as s:
        e = _election(s, election_key)
    try:
        ws.check_job_input(db, e, data)
    except ws.Conflict as exc:
        raise ApiError(422, "invalid_input", str(exc)) from exc
    with db.write() as s:
        job = ws.submit_job(s, e, data, me.name)
        out = ws.job_out(job, e.election_key)
    request.app.state.jobs.submit(job.id)
    return out


@router.get("/elections/{election_key}/jobs", response_model=Page[JobOut])
def list_jobs(
    election_key: str,
    request: Request,
    offset: Offset = 0,
    limit: Limit = 50,
    _: Principal = allow(*PLANNERS),
) -> Any:
    """The election's jobs, newest first."""
    with db_of(request).read() as s:
        e = _election(s, election_key)
        q = select(Job).where(Job.election_id == e.id)
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        items = [
            ws.job_out(j, e.election_key)
            for j in s.scalars(q.order_by(Job.id.desc()).offset(offset).limit(limit))
        ]
    return page(items, total, offset, limit)


def job_by_id(request: Request, job_id: int) -> JobOut:
    from abroad.server.jobs import sweep_stale

    db = db_of(request)
    sweep_stale(db, settings_of(request))
    with db.read() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise not_found(f"no job {job_id}")
        e = s.get(Election, job.election_id)
        assert e is not None
        return ws.job_out(job, e.election_key)


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: int, request: Request, _: Principal = allow(*PLANNERS)) -> Any:
    """A job's status and progress (ETag: poll with If-None-Match)."""
    return etagged(request, job_by_id(request, job_id))


@router.post("/jobs/{job_id}/cancel", response_model=JobOut)
def cancel_job(job_id: int, request: Request, me: Principal = allow(*PLANNERS)) -> JobOut:
    """Ask a queued or running job to stop."""
    with db_of(request).write() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise not_found(f"no job {job_id}")
        ws.cancel_job(s, job, me.name)
    return job_by_id(request, job_id)


@router.get("/elections/{election_key}/plans", response_model=Page[PlanOut])
def list_plans(
    election_key: str,
    request: Request,
    offset: Offset = 0,
    limit: Limit = 50,
    _: Principal = allow(*PLANNERS),
) -> Any:
    """The election's stored plans, newest first."""
    with db_of(request).read() as s:
        e = _election(s, election_key)
        q = select(Plan).where(Plan.election_id == e.id)
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        items = [
            ws.plan_out(p, e)
            for p in s.scalars(q.order_by(Plan.id.desc()).offset(offset).limit(limit))
        ]
    return page(items, total, offset, limit)


def plan_by_id(s: Any, plan_id: int) -> tuple[Plan, Election]:
    p = s.get(Plan, plan_id)
    if p is None:
        raise not_found(f"no plan {plan_id}")
    e = s.get(Election, p.election_id)
    assert e is not None
    return p, e


@router.get("/plans/{plan_id}", response_model=PlanDetail)
def get_plan(plan_id: int, request: Request, _: Principal = allow(*PLANNERS)) -> Any:
    """A stored plan with its full summary (the same as ``abroad plan --json``)."""
    with db_of(request).read() as s:
        return ws.plan_detail(*plan_by_id(s, plan_id))


@router.get(
    "/plans/{plan_id}/report",
    response_class=Response,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def plan_report(plan_id: int, request: Request, _: Principal = allow(*PLANNERS)) -> Response:
    """The plan's HTML report (self-contained: no network needed to view it)."""
    with db_of(request).read() as s:
        p, _e = plan_by_id(s, plan_id)
        if p.report_html is None:
            raise not_found("this plan has no report (it opened no station)")
        html = p.report_html
    return HTMLResponse(html, headers={"Content-Security-Policy": "connect-src 'none'"})


@router.post("/plans/{plan_id}/adopt", response_model=ElectionOut)
def adopt_plan(plan_id: int, request: Request, me: Principal = allow(*PLANNERS)) -> ElectionOut:
    """Adopt the plan: its stations become the election's (audit-logged)."""
    db = db_of(request)
    with db.write() as s:
        p, e = plan_by_id(s, plan_id)
        try:
            ws.adopt_plan(db, s, p, me.name)
        except ws.Conflict as exc:
            raise ApiError(409, "conflict", str(exc)) from exc
        return ws.election_out(e)
