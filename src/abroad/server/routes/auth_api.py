"""Logging in and out over the API (JSON)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from abroad.server.access import SESSION_COOKIE, Principal, allow
from abroad.server.errors import ApiError
from abroad.server.routes.common import ERRORS, client_of, db_of, settings_of
from abroad.server.schemas import ACCOUNT_ROLES, LoginIn, Role, SessionOut, UserOut
from abroad.server.services import accounts

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=ERRORS)


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    settings = settings_of(request)
    secure = (
        settings.secure_cookies
        if settings.secure_cookies is not None
        else request.url.scheme == "https"
    )
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


def do_login(request: Request, username: str, password: str) -> accounts.LoginOutcome:
    """Check the password and, on success, start a fresh session (never reuse the old one)."""
    db = db_of(request)
    old = request.cookies.get(SESSION_COOKIE)
    with db.write() as s:
        outcome = accounts.login(s, username, password, client_of(request), settings_of(request))
        user = accounts.user_out(outcome.user) if outcome.user is not None else None
        if old and outcome.session_id is not None:
            accounts.end_session(s, old)
    if outcome.session_id is None or user is None:
        status = 429 if outcome.retry_after_seconds else 401
        headers = (
            {"Retry-After": str(outcome.retry_after_seconds)}
            if outcome.retry_after_seconds
            else None
        )
        raise ApiError(status, outcome.code, outcome.message, headers=headers)
    request.state.login_user = user
    return outcome


@router.post("/login", response_model=SessionOut)
def login(
    data: LoginIn, request: Request, response: Response, _: Principal = allow(Role.PUBLIC)
) -> SessionOut:
    """Log in with a password; sets the session cookie and returns the CSRF token."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        # A cross-site form cannot send JSON: this keeps other sites from logging you in.
        raise ApiError(415, "unsupported_media_type", "send the credentials as application/json")
    outcome = do_login(request, data.username, data.password)
    assert outcome.session_id is not None and outcome.csrf_token is not None
    set_session_cookie(request, response, outcome.session_id)
    return SessionOut(user=request.state.login_user, csrf_token=outcome.csrf_token)


@router.post("/logout", status_code=204)
def logout(request: Request, _: Principal = allow(*ACCOUNT_ROLES)) -> Response:
    """End this session."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with db_of(request).write() as s:
            accounts.logout(s, cookie)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=UserOut)
def me(request: Request, principal: Principal = allow(*ACCOUNT_ROLES)) -> UserOut:
    """The logged-in account."""
    from abroad.server.models import User

    with db_of(request).read() as s:
        user = s.get(User, principal.user_id)
        assert user is not None
        return accounts.user_out(user)
