"""The planners' workspace over JSON: import, jobs, plans, adoption."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from abroad.server import engine
from abroad.server.access import Principal, allow
from abroad.server.errors import ApiError, problem_details
from abroad.server.models import Election, Job, Mission, Plan, Site, Station
from abroad.server.routes.common import (
    ERRORS,
    PageQuery,
    db_of,
    etagged,
    not_found,
    paged,
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


def _as(model: type[BaseModel]) -> Callable[[Any], BaseModel]:
    return lambda row: model.model_validate(row, from_attributes=True)


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
def list_elections(request: Request, paging: PageQuery, _: Principal = allow(*PLANNERS)) -> Any:
    """The imported elections."""
    with db_of(request).read() as s:
        return paged(s, select(Election), Election.id, paging, ws.election_out)


@router.get("/elections/{election_key}", response_model=ElectionOut)
def get_election(election_key: str, request: Request, _: Principal = allow(*PLANNERS)) -> Any:
    """One election with its days and where its stations come from (ETag)."""
    with db_of(request).read() as s:
        return etagged(request, ws.election_out(_election(s, election_key)))


@router.get("/elections/{election_key}/missions", response_model=Page[MissionOut])
def list_missions(
    election_key: str,
    request: Request,
    paging: PageQuery,
    _: Principal = allow(*PLANNERS),
) -> Any:
    """The election's diplomatic missions."""
    with db_of(request).read() as s:
        q = select(Mission).where(Mission.election_id == _election(s, election_key).id)
        return paged(s, q, Mission.mission_key, paging, _as(MissionOut))


@router.get("/elections/{election_key}/sites", response_model=Page[SiteOut])
def list_sites(
    election_key: str,
    request: Request,
    paging: PageQuery,
    _: Principal = allow(*PLANNERS),
) -> Any:
    """Every site of the election, open or not, with its limits."""
    with db_of(request).read() as s:
        q = select(Site).where(Site.election_id == _election(s, election_key).id)
        return paged(s, q, Site.site_key, paging, _as(SiteOut))


@router.get("/elections/{election_key}/stations", response_model=Page[StationDetail])
def list_stations(
    election_key: str,
    request: Request,
    paging: PageQuery,
    _: Principal = allow(*PLANNERS),
) -> Any:
    """The election's stations with their resources (ETag: poll with If-None-Match)."""
    with db_of(request).read() as s:
        q = ws.stations_query(_election(s, election_key).id)
        body = paged(s, q, Station.station_key, paging, ws.station_detail)
    return etagged(request, body)


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
    paging: PageQuery,
    _: Principal = allow(*PLANNERS),
) -> Any:
    """The election's jobs, newest first."""
    with db_of(request).read() as s:
        e = _election(s, election_key)
        q = select(Job).where(Job.election_id == e.id)
        return paged(s, q, Job.id.desc(), paging, lambda j: ws.job_out(j, election_key))


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
    paging: PageQuery,
    _: Principal = allow(*PLANNERS),
) -> Any:
    """The election's stored plans, newest first."""
    with db_of(request).read() as s:
        e = _election(s, election_key)
        q = select(Plan).where(Plan.election_id == e.id)
        return paged(s, q, Plan.id.desc(), paging, lambda p: ws.plan_out(p, e))


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
    # The report carries names from an uploaded scenario: it runs sandboxed in an origin of
    # its own (its scripts draw the map but cannot reach this site's pages or cookies).
    return HTMLResponse(
        html, headers={"Content-Security-Policy": "sandbox allow-scripts; connect-src 'none'"}
    )


@router.post("/plans/{plan_id}/adopt", response_model=ElectionOut)
def adopt_plan(plan_id: int, request: Request, me: Principal = allow(*PLANNERS)) -> ElectionOut:
    """Adopt the plan: its stations become the election's (audit-logged)."""
    return adopt(request, plan_id, me.name)


def adopt(request: Request, plan_id: int, actor: str) -> ElectionOut:
    """Adopt a plan (audited); the election as it is afterwards."""
    db = db_of(request)
    with db.write() as s:
        p, e = plan_by_id(s, plan_id)
        try:
            ws.adopt_plan(db, s, p, actor)
        except ws.Conflict as exc:
            raise ApiError(409, "conflict", str(exc)) from exc
        return ws.election_out(e)
