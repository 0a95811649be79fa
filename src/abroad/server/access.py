"""Who may call what: principals, and the one declaration every route makes.

A route declares its access with ``Depends(allow(...))`` (or ``principal: Principal =
allow(...)``). The declaration is kept on the dependency (``ACCESS_ATTR``) so that a test can
walk the route table and check each role against it; a route without one fails that test.

Scoped roles: mission staff act on their missions and those missions' stations; observers on
their assigned stations; devices (API tokens) on the one station or mission they were issued
for. A route that names a station or mission in its path declares ``scope=`` and the check
looks the station up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from abroad.server.models import (
    ApiToken,
    Election,
    LoginSession,
    Station,
    User,
    UserScope,
    utcnow,
)
from abroad.server.schemas import Role
from abroad.server.security import same, sha256_hex, split_token

SESSION_COOKIE = "abroad_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
ACCESS_ATTR = "__abroad_access__"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
GLOBAL_ROLES = frozenset({Role.ADMIN, Role.PLANNER})

Scope = Literal["mission", "station"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account, a device token, or nobody (``role`` public)."""

    role: Role
    name: str = "anonymous"
    user_id: int | None = None
    missions: frozenset[str] = frozenset()
    stations: frozenset[str] = frozenset()
    token_id: int | None = None
    csrf_token: str | None = None
    session_id_sha256: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.role is not Role.PUBLIC


ANONYMOUS = Principal(Role.PUBLIC)


@dataclass(frozen=True)
class Access:
    """A route's declaration: the roles that may call it and what scopes them."""

    roles: frozenset[Role]
    scope: Scope | None = None
    mission_param: str = "mission_key"
    station_param: str = "station_key"
    election_param: str = "election_key"
    notes: str = field(default="", compare=False)

    @property
    def public(self) -> bool:
        return Role.PUBLIC in self.roles

    def describe(self) -> str:
        if self.public:
            return "anyone (no account needed)"
        names = [r.value for r in Role if r in self.roles]
        return ", ".join(names) + (f" (scoped to the {self.scope})" if self.scope else "")


def _unauthorised(message: str = "log in or send an API token") -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": 'Bearer realm="abroad"'})


def _forbidden(message: str = "your role may not do this") -> HTTPException:
    return HTTPException(403, message)


def resolve_principal(request: Request) -> Principal:
    """The caller, from an ``Authorization: Bearer`` token or the session cookie."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    db = request.app.state.db
    principal = ANONYMOUS
    auth = request.headers.get("authorization", "")
    now = utcnow()
    if auth:
        scheme, _, value = auth.partition(" ")
        parts = split_token(value.strip()) if scheme.lower() == "bearer" else None
        if parts is None:
            raise _unauthorised("malformed Authorization header: expected 'Bearer abt_…'")
        lookup, secret = parts
        with db.engine.connect() as conn:  # Core reads: this runs on every API request
            tok = conn.execute(
                select(
                    ApiToken.id,
                    ApiToken.secret_sha256,
                    ApiToken.revoked_at,
                    ApiToken.expires_at,
                    ApiToken.scope_kind,
                    ApiToken.scope_key,
                ).where(ApiToken.lookup == lookup)
            ).first()
        if (
            tok is None
            or not same(tok.secret_sha256, sha256_hex(secret))
            or tok.revoked_at is not None
            or tok.expires_at <= now
        ):
            raise _unauthorised("unknown, expired or revoked API token")
        principal = Principal(
            Role.DEVICE,
            name=f"token/{tok.id}",
            missions=frozenset([tok.scope_key]) if tok.scope_kind == "mission" else frozenset(),
            stations=frozenset([tok.scope_key]) if tok.scope_kind == "station" else frozenset(),
            token_id=tok.id,
        )
    elif cookie := request.cookies.get(SESSION_COOKIE):
        digest = sha256_hex(cookie)
        with db.engine.connect() as conn:
            row = conn.execute(
                select(
                    LoginSession.csrf_token,
                    LoginSession.expires_at,
                    User.id,
                    User.username,
                    User.role,
                    User.disabled,
                )
                .join(User, User.id == LoginSession.user_id)
                .where(LoginSession.id_sha256 == digest)
            ).first()
            scopes = (
                []
                if row is None
                else conn.execute(
                    select(UserScope.kind, UserScope.key).where(UserScope.user_id == row.id)
                ).all()
            )
        if row is not None and not row.disabled and row.expires_at > now:
            principal = Principal(
                Role(row.role),
                name=row.username,
                user_id=row.id,
                missions=frozenset(k for kind, k in scopes if kind == "mission"),
                stations=frozenset(k for kind, k in scopes if kind == "station"),
                csrf_token=row.csrf_token,
                session_id_sha256=digest,
            )
    request.state.principal = principal
    return principal


async def _check_csrf(request: Request, principal: Principal) -> None:
    """Unsafe requests authenticated by the session cookie must echo the session's CSRF token."""
    if request.method in SAFE_METHODS or principal.session_id_sha256 is None:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or principal.csrf_token is None or not same(sent, principal.csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token", headers={"X-Abroad-Code": "csrf"})


def _station_mission(request: Request, access: Access) -> tuple[str | None, str | None]:
    """(station key, its mission key) of the station named in the path, if any."""
    key = request.path_params.get(access.station_param)
    election = request.path_params.get(access.election_param)
    if key is None:
        return None, None
    with request.app.state.db.read() as s:
        q = select(Station.mission_key).where(Station.station_key == key)
        if election is not None:
            q = q.join(Election, Election.id == Station.election_id).where(
                Election.election_key == election
            )
        mission = s.scalar(q)
    return str(key), mission


def in_scope(principal: Principal, access: Access, request: Request) -> bool:
    """Whether a scoped principal may act on the mission or station the path names."""
    if principal.role in GLOBAL_ROLES:
        return True
    if access.scope is None:
        return True
    if access.scope == "mission":
        key = request.path_params.get(access.mission_param)
        return key is not None and key in principal.missions
    station, mission = _station_mission(request, access)
    if station is None:
        return False
    if station in principal.stations:
        return True
    return (
        mission is not None
        and mission in principal.missions
        and principal.role
        in (
            Role.MISSION_STAFF,
            Role.DEVICE,
        )
    )


def allow(*roles: Role, scope: Scope | None = None, **params: str) -> Any:
    """Declare who may call a route; use as a parameter default or in ``dependencies=``."""
    access = Access(frozenset(roles), scope, **params)

    async def dependency(request: Request) -> Principal:
        if request.app.state.db.sqlite:
            # a few indexed reads of a local file, which WAL readers never wait for: cheaper
            # in the event loop than a hop to the thread pool and back on every request
            principal = resolve_principal(request)
        else:
            principal = await run_in_threadpool(resolve_principal, request)
        if access.public:
            # Public routes change nothing of the caller's; the login routes, the only unsafe
            # ones, guard themselves (JSON only, or the login form's double-submit cookie).
            return principal
        if not principal.authenticated:
            raise _unauthorised()
        await _check_csrf(request, principal)
        if principal.role not in access.roles:
            raise _forbidden()
        if (
            access.scope is not None
            and principal.role not in GLOBAL_ROLES
            and not await run_in_threadpool(in_scope, principal, access, request)
        ):
            raise _forbidden("outside your missions or stations")
        return principal

    setattr(dependency, ACCESS_ATTR, access)
    return Depends(dependency)


def declared_access(call: Callable[..., Any] | None) -> Access | None:
    return getattr(call, ACCESS_ATTR, None) if call is not None else None
