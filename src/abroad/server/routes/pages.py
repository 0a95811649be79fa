"""The planner workspace in the browser: server-rendered pages, a little JavaScript.

Forms carry the session's CSRF token; the login form, before any session exists, uses a
double-submit cookie. JavaScript calls the JSON API with the token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from abroad.server.access import SESSION_COOKIE, Principal, allow
from abroad.server.errors import ApiError
from abroad.server.models import Election, Job, Plan
from abroad.server.routes.auth_api import do_login, set_session_cookie
from abroad.server.routes.common import db_of
from abroad.server.routes.workspace_api import adopt, import_upload, plan_by_id, read_files
from abroad.server.schemas import ACCOUNT_ROLES, Role
from abroad.server.security import new_secret, same
from abroad.server.services import accounts
from abroad.server.services import workspace as ws

router = APIRouter(include_in_schema=False)
PLANNERS = (Role.ADMIN, Role.PLANNER)
LOGIN_CSRF_COOKIE = "abroad_login_csrf"


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, {"me": principal, **context}, status_code=status
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, _: Principal = allow(Role.PUBLIC)) -> Response:
    """The login form."""
    token = new_secret()
    response = render(request, "login.html", {"login_csrf": token, "error": None})
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.post("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    username: Annotated[str, Form(max_length=120)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)],
    _: Principal = allow(Role.PUBLIC),
) -> Response:
    """Log in from the form; a fresh session, then the workspace."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not same(cookie, csrf_token):
        raise ApiError(403, "csrf", "the login form expired: reload the page")
    try:
        outcome = do_login(request, username, password)
    except ApiError as exc:
        token = new_secret()
        response = render(
            request, "login.html", {"login_csrf": token, "error": exc.message}, exc.status
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login"
        )
        return response
    assert outcome.session_id is not None
    redirect = RedirectResponse("/", status_code=303)
    set_session_cookie(request, redirect, outcome.session_id)
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return redirect


@router.post("/logout")
def logout_form(request: Request, _: Principal = allow(*ACCOUNT_ROLES)) -> Response:
    """Log out from the page header."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with db_of(request).write() as s:
            accounts.logout(s, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, _: Principal = allow(*PLANNERS)) -> Response:
    """The workspace: elections and the upload form."""
    with db_of(request).read() as s:
        elections = [ws.election_out(e) for e in s.scalars(select(Election).order_by(Election.id))]
    return render(request, "home.html", {"elections": elections})


@router.post("/upload", response_class=HTMLResponse)
async def upload(request: Request, me: Principal = allow(*PLANNERS)) -> Response:
    """Upload a scenario from the browser; errors shown beside file and row."""
    files = await read_files(request)
    try:
        result = await run_in_threadpool(import_upload, request, files, me.name)
    except ApiError as exc:
        by_file: dict[str, list[Any]] = {}
        for d in exc.details:
            by_file.setdefault(str(d.loc[0]) if d.loc else "", []).append(d)
        return render(
            request,
            "upload_errors.html",
            {"error": exc, "by_file": by_file, "files": [f.name for f in files]},
            exc.status,
        )
    return render(request, "imported.html", {"result": result})


@router.get("/elections/{election_key}", response_class=HTMLResponse)
def election_page(election_key: str, request: Request, _: Principal = allow(*PLANNERS)) -> Response:
    """An election: stations, plans, jobs, and the form that starts a job."""
    with db_of(request).read() as s:
        e = s.scalar(select(Election).where(Election.election_key == election_key))
        if e is None:
            raise ApiError(404, "not_found", f"no election {election_key!r}")
        stations = [ws.station_detail(r) for r in ws.all_stations(s, e.id)]
        plans = [
            ws.plan_out(p, e)
            for p in s.scalars(
                select(Plan).where(Plan.election_id == e.id).order_by(Plan.id.desc())
            )
        ]
        jobs = [
            ws.job_out(j, e.election_key)
            for j in s.scalars(
                select(Job).where(Job.election_id == e.id).order_by(Job.id.desc()).limit(20)
            )
        ]
        election = ws.election_out(e)
    variants = ws.variant_names(db_of(request), e.id)
    return render(
        request,
        "election.html",
        {
            "election": election,
            "stations": stations,
            "plans": plans,
            "jobs": jobs,
            "variants": variants,
        },
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: int, request: Request, _: Principal = allow(*PLANNERS)) -> Response:
    """A job's live progress bar, cancel button and result."""
    from abroad.server.routes.workspace_api import job_by_id

    return render(request, "job.html", {"job": job_by_id(request, job_id)})


@router.get("/plans/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    ids: Annotated[list[int], Query(max_length=6)],
    _: Principal = allow(*PLANNERS),
) -> Response:
    """Plans side by side."""
    with db_of(request).read() as s:
        plans = [ws.plan_detail(*plan_by_id(s, i)) for i in ids]
    return render(request, "compare.html", {"plans": plans})


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(plan_id: int, request: Request, _: Principal = allow(*PLANNERS)) -> Response:
    """A plan's stations and the button that adopts it."""
    with db_of(request).read() as s:
        plan = ws.plan_detail(*plan_by_id(s, plan_id))
    return render(request, "plan.html", {"plan": plan})


@router.post("/plans/{plan_id}/adopt")
def adopt_form(plan_id: int, request: Request, me: Principal = allow(*PLANNERS)) -> Response:
    """Adopt a plan from its page."""
    election = adopt(request, plan_id, me.name)
    return RedirectResponse(
        f"/elections/{election.election_key}?adopted={plan_id}", status_code=303
    )
