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

import re
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine, event, select
from starlette.concurrency import run_in_threadpool

from abroad.server.db import Database
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


# ---------------------------------------------------------------------------------------------
# The access cache: who a credential is, and which mission runs a station, for a few seconds

ACCESS_TABLES = frozenset(
    {"users", "user_scopes", "api_tokens", "login_sessions", "stations", "elections", "missions"}
)
"""Tables whose changes end every cached answer (credentials, roles, scopes, stations)."""
_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)
_DIRTY = "abroad_access_dirty"
MAX_CACHED = 4096


class AccessCache:
    """Resolved principals (by the hash of their token or session cookie) and stations'
    missions, kept for ``ttl_seconds`` at most, so that a busy caller (a station's device
    filing reports) is not looked up in the database on every request.

    Revocation stays immediate in this process: every write of the credential, account and
    station tables through this process's engines (a token revoked, a session ended, a
    password, role, scope changed, an account disabled, stations imported) empties the cache
    once its transaction is over (the connection's return to its pool, after the commit). An
    answer being looked up while such a write commits is not cached (a generation count). In
    another server process (another worker, the command line) a change is seen within
    ``ttl_seconds``: that is the bound of the delay across processes. A token's or a session's
    own expiry is kept exactly. Failed look-ups (unknown, revoked, expired) are never cached."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl_seconds = ttl_seconds
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self.generation = 0
        """Bumped by every invalidation (an answer read before it is not cached)."""

    @property
    def enabled(self) -> bool:
        return self.ttl_seconds > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any:
        """The cached answer, or None when there is none (or it is too old)."""
        hit = self._entries.get(key)
        if hit is None:
            return None
        if hit[0] <= time.time():
            self._entries.pop(key, None)
            return None
        return hit[1]

    def put(self, key: Hashable, value: Any, generation: int, until: float | None = None) -> None:
        """Keep an answer read since ``generation`` (dropped if an invalidation came since)
        until ``until`` (a POSIX time) or the cache's time to live, whichever is sooner."""
        if not self.enabled:
            return
        deadline = time.time() + self.ttl_seconds
        if until is not None:
            deadline = min(deadline, until)
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= MAX_CACHED:
                self._entries.clear()
            self._entries[key] = (deadline, value)

    def invalidate(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    @classmethod
    def of(cls, db: Database, ttl_seconds: float) -> AccessCache:
        """A cache that watches both of the database's engines."""
        cache = cls(ttl_seconds)
        cache.watch(db.engine)
        if db.write_engine is not db.engine:
            cache.watch(db.write_engine)
        return cache

    def watch(self, engine: Engine) -> None:
        """Invalidate after every transaction on ``engine`` that wrote an access table."""

        @event.listens_for(engine, "after_cursor_execute")
        def _written(
            conn: Any, _cursor: Any, statement: str, _p: Any, _c: Any, _many: bool
        ) -> None:
            m = _WRITE.match(statement)
            if m is not None and m.group(1).lower() in ACCESS_TABLES:
                conn.info[_DIRTY] = True

        @event.listens_for(engine, "checkin")
        def _returned(_dbapi_conn: Any, record: Any) -> None:
            if record is None or record.info.pop(_DIRTY, False):
                self.invalidate()


def _cache(request: Request) -> AccessCache | None:
    cache = getattr(request.app.state, "access_cache", None)
    return cache if isinstance(cache, AccessCache) and cache.enabled else None


def _credential(request: Request) -> tuple[str, tuple[str, str] | None]:
    """The Authorization header, and the access cache's key of the credential sent."""
    auth = request.headers.get("authorization", "")
    if auth:
        return auth, ("bearer", sha256_hex(auth))
    if cookie := request.cookies.get(SESSION_COOKIE):
        return auth, ("session", sha256_hex(cookie))
    return auth, None


def known_principal(request: Request) -> Principal | None:
    """The caller when no database read is needed: resolved already for this request, in
    the access cache, or anonymous (no credential sent); None otherwise."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    auth, key = _credential(request)
    if key is None and not auth:
        request.state.principal = ANONYMOUS
        return ANONYMOUS
    cache = _cache(request)
    if cache is not None and key is not None:
        hit = cache.get(key)
        if isinstance(hit, Principal):
            request.state.principal = hit
            return hit
    return None


def resolve_principal(request: Request) -> Principal:
    """The caller, from an ``Authorization: Bearer`` token or the session cookie (kept in
    the app's ``AccessCache`` for a few seconds, by the SHA-256 of the credential)."""
    known = known_principal(request)
    if known is not None:
        return known
    cache = _cache(request)
    auth, key = _credential(request)
    generation = cache.generation if cache is not None else 0
    principal, until = _look_up(request, auth)
    if cache is not None and key is not None and principal.authenticated:
        cache.put(key, principal, generation, until)
    request.state.principal = principal
    return principal


def _look_up(request: Request, auth: str) -> tuple[Principal, float | None]:
    """The caller from the database, and when its credential expires (POSIX time)."""
    db = request.app.state.db
    principal = ANONYMOUS
    until: float | None = None
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
        until = tok.expires_at.timestamp()
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
            until = row.expires_at.timestamp()
    return principal, until


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
    cache = _cache(request)
    generation = cache.generation if cache is not None else 0
    with request.app.state.db.read() as s:
        q = select(Station.mission_key).where(Station.station_key == key)
        if election is not None:
            q = q.join(Election, Election.id == Station.election_id).where(
                Election.election_key == election
            )
        mission = s.scalar(q)
    if cache is not None:
        cache.put(("station", election, key), (mission,), generation)
    return str(key), mission


def _scope_allows(
    principal: Principal, access: Access, request: Request, station: str | None, mission: str | None
) -> bool:
    if access.scope == "mission":
        key = request.path_params.get(access.mission_param)
        return key is not None and key in principal.missions
    if station is None:
        return False
    if station in principal.stations:
        return True
    return (
        mission is not None
        and mission in principal.missions
        and principal.role in (Role.MISSION_STAFF, Role.DEVICE)
    )


def in_scope(principal: Principal, access: Access, request: Request) -> bool:
    """Whether a scoped principal may act on the mission or station the path names."""
    if principal.role in GLOBAL_ROLES or access.scope is None:
        return True
    station, mission = (
        (None, None) if access.scope == "mission" else _station_mission(request, access)
    )
    return _scope_allows(principal, access, request, station, mission)


async def _in_scope(principal: Principal, access: Access, request: Request) -> bool:
    """``in_scope``, answered from the access cache without a database read when it can."""
    if access.scope == "mission":
        return _scope_allows(principal, access, request, None, None)
    if access.scope == "station":
        key = request.path_params.get(access.station_param)
        cache = _cache(request)
        if key is not None and cache is not None:
            hit = cache.get(("station", request.path_params.get(access.election_param), key))
            if isinstance(hit, tuple):
                return _scope_allows(principal, access, request, str(key), hit[0])
    return await run_in_threadpool(in_scope, principal, access, request)


def allow(*roles: Role, scope: Scope | None = None, **params: str) -> Any:
    """Declare who may call a route; use as a parameter default or in ``dependencies=``."""
    access = Access(frozenset(roles), scope, **params)

    async def dependency(request: Request) -> Principal:
        principal = known_principal(request)
        if principal is not None:
            pass  # no database read: answered in the event loop
        elif request.app.state.db.sqlite:
            # a few indexed reads of a local file, which WAL readers never wait for: cheaper
            # in the event loop than a hop to the thread pool and back
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
            and not await _in_scope(principal, access, request)
        ):
            raise _forbidden("outside your missions or stations")
        return principal

    setattr(dependency, ACCESS_ATTR, access)
    return Depends(dependency)


def declared_access(call: Callable[..., Any] | None) -> Access | None:
    return getattr(call, ACCESS_ATTR, None) if call is not None else None
