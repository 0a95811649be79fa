"""Who may call what: the role matrix over every route, sessions, CSRF, lock-out, tokens."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select
from starlette.routing import Mount

from abroad.server.access import ACCESS_ATTR, GLOBAL_ROLES, SESSION_COOKIE, Access
from abroad.server.app import create_app
from abroad.server.db import Database
from abroad.server.models import ApiToken
from abroad.server.schemas import Role

from server.conftest import PASSWORD, USERS, Backend, login, settings_for


def _declarations(dependant: object) -> list[Access]:
    found = []
    for dep in getattr(dependant, "dependencies", []):
        access = getattr(dep.call, ACCESS_ATTR, None)
        if access is not None:
            found.append(access)
        found.extend(_declarations(dep))
    return found


def route_table(app: object) -> list[tuple[str, str, Access]]:
    """(method, path, declared access) of every route; fails on a route without one."""
    out = []
    for ctx in iter_route_contexts(app.routes):  # type: ignore[attr-defined]
        route, path = ctx.original_route, ctx.path
        if isinstance(route, Mount):
            assert isinstance(getattr(route.app, ACCESS_ATTR, None), Access), path
            continue
        assert isinstance(route, APIRoute), f"{path}: not declared through access.allow"
        found = _declarations(route.dependant)
        assert len(found) == 1, f"{path} declares {len(found)} access rules, not 1"
        for method in sorted((ctx.methods or set()) - {"HEAD"}):
            out.append((method, path, found[0]))
    return out


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role
    missions: frozenset[str] = frozenset()
    stations: frozenset[str] = frozenset()
    token: str | None = None


STATION_MISSION = {"emb": "emb", "cg": "cg"}


def callers(tokens: dict[str, str]) -> list[Caller]:
    out = [Caller("anonymous", Role.PUBLIC)]
    for name, spec in USERS.items():
        out.append(
            Caller(
                name,
                Role(spec["role"]),
                frozenset(spec.get("missions", [])),
                frozenset(spec.get("stations", [])),
            )
        )
    out.append(
        Caller("device_emb", Role.DEVICE, stations=frozenset({"emb"}), token=tokens["station_emb"])
    )
    out.append(
        Caller("device_cg", Role.DEVICE, missions=frozenset({"cg"}), token=tokens["mission_cg"])
    )
    return out


def expected_allowed(c: Caller, access: Access, station: str, mission: str) -> bool:
    """What the declaration promises (see access.py)."""
    if access.public:
        return True
    if c.role not in access.roles:
        return False
    if c.role in GLOBAL_ROLES or access.scope is None:
        return True
    if access.scope == "mission":
        return mission in c.missions
    return station in c.stations or (
        c.role in (Role.MISSION_STAFF, Role.DEVICE) and STATION_MISSION[station] in c.missions
    )


def fill(path: str, station: str, mission: str) -> str:
    values = {
        "election_key": "tiny",
        "station_key": station,
        "mission_key": mission,
        "job_id": "999",
        "plan_id": "999",
        "token_id": "999",
        "username": "nobody",
        "report_id": "999",
        "alert_id": "999",
        "step": "acknowledge",
        "name": "leaflet.css",
    }
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], path)


def client_for(app: object, c: Caller) -> Iterator[TestClient]:
    with TestClient(app) as client:  # type: ignore[arg-type]
        if c.token is not None:
            client.headers["Authorization"] = f"Bearer {c.token}"
        elif c.role is not Role.PUBLIC:
            login(client, c.name)
        yield client


def test_every_route_declares_its_access(db_url: str) -> None:
    table = route_table(create_app(settings_for(db_url)))
    assert len(table) > 30
    paths = {p for _m, p, _a in table}
    assert {"/api/users", "/api/public/elections", "/", "/login"} <= paths


def test_a_route_without_a_declaration_fails_the_walk(db_url: str) -> None:
    app = create_app(settings_for(db_url))

    @app.get("/api/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(AssertionError, match="/api/forgotten"):
        route_table(app)


def test_each_role_gets_exactly_the_declared_access(backend: Backend, db_url: str) -> None:
    app = create_app(settings_for(db_url, login_attempts_per_minute=1000))
    table = route_table(app)
    table.sort(key=lambda r: r[1].endswith("/logout"))  # logging out last
    checked = 0
    for c in callers(backend.template.tokens):
        for client in client_for(app, c):
            for method, path, access in table:
                contexts = (("emb", "emb"), ("cg", "cg")) if access.scope else (("emb", "emb"),)
                for station, mission in contexts:
                    url = fill(path, station, mission)
                    if path.endswith("/logout") and c.token is None and c.role is not Role.PUBLIC:
                        login(client, c.name)  # the previous logout ended the session
                    r = client.request(method, url, follow_redirects=False)
                    allowed = expected_allowed(c, access, station, mission)
                    where = f"{c.name} {method} {url} -> {r.status_code} {r.text[:200]}"
                    if allowed:
                        assert r.status_code not in (401, 403), where
                    else:
                        want = 401 if c.role is Role.PUBLIC else 403
                        assert r.status_code == want, where
                        assert r.json()["error"]["code"] in ("unauthorised", "forbidden"), where
                    checked += 1
    assert checked > 300


def test_role_spot_checks(backend: Backend, app_client: TestClient) -> None:
    """A few promises stated plainly, independent of the declaration walk."""
    t = backend.template.tokens
    assert app_client.get("/api/users").status_code == 401
    assert app_client.get("/api/public/elections/tiny/stations").status_code == 200
    h = {"Authorization": f"Bearer {t['station_emb']}"}
    assert app_client.get("/api/elections/tiny/stations/emb", headers=h).status_code == 200
    assert app_client.get("/api/elections/tiny/stations/cg", headers=h).status_code == 403
    assert app_client.get("/api/elections/tiny/stations", headers=h).status_code == 403
    login(app_client, "observer")
    assert app_client.get("/api/elections/tiny/stations/emb").status_code == 200
    assert app_client.get("/api/elections/tiny/stations/cg").status_code == 403
    assert app_client.get("/api/users").status_code == 403


def test_public_endpoints_carry_no_personal_data(app_client: TestClient) -> None:
    body = app_client.get("/api/public/elections/tiny/stations").text
    for name in USERS:
        assert name not in body
    assert "desks" not in body and "created_by" not in body


# ---------------------------------------------------------------------------------------------
# Sessions


def test_login_sets_a_fresh_httponly_samesite_cookie(app_client: TestClient) -> None:
    r = app_client.post("/api/auth/login", json={"username": "planner", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http in the test


def test_cookie_is_secure_over_tls(db_url: str) -> None:
    with TestClient(create_app(settings_for(db_url)), base_url="https://testserver") as client:
        r = client.post("/api/auth/login", json={"username": "planner", "password": PASSWORD})
        assert "Secure" in r.headers["set-cookie"]


def login_with(client: TestClient, username: str, planted: str | None = None) -> str:
    """Log in while the browser holds ``planted`` as its session cookie; the new session id."""
    client.cookies.clear()
    headers = {"Cookie": f"{SESSION_COOKIE}={planted}"} if planted else {}
    r = client.post(
        "/api/auth/login", json={"username": username, "password": PASSWORD}, headers=headers
    )
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return str(r.cookies[SESSION_COOKIE])


def whoami(client: TestClient, session_id: str) -> str | None:
    client.cookies.clear()
    r = client.get("/api/auth/me", headers={"Cookie": f"{SESSION_COOKIE}={session_id}"})
    return r.json()["username"] if r.status_code == 200 else None


def test_session_fixation_is_impossible(app_client: TestClient) -> None:
    # A session id the attacker chose is never adopted.
    sid = login_with(app_client, "admin", planted="attacker-chosen")
    assert sid != "attacker-chosen"
    assert whoami(app_client, sid) == "admin"
    assert whoami(app_client, "attacker-chosen") is None
    # An attacker's own valid session planted in the victim's browser ends at the victim's login.
    planted = login_with(app_client, "planner")
    assert whoami(app_client, planted) == "planner"
    fresh = login_with(app_client, "admin", planted=planted)
    assert fresh != planted
    assert whoami(app_client, fresh) == "admin"
    assert whoami(app_client, planted) is None


def test_logout_ends_the_session(app_client: TestClient) -> None:
    sid = login_with(app_client, "planner")
    csrf = app_client.post(
        "/api/auth/login", json={"username": "planner", "password": PASSWORD}
    ).json()["csrf_token"]
    other = str(app_client.cookies.get(SESSION_COOKIE))
    assert app_client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert whoami(app_client, other) is None
    assert whoami(app_client, sid) == "planner"  # other sessions of the user go on


def test_csrf_is_required_on_unsafe_requests(app_client: TestClient) -> None:
    login(app_client, "admin")
    del app_client.headers["X-CSRF-Token"]
    body = {"name": "x", "scope_kind": "station", "scope_key": "emb"}
    r = app_client.post("/api/tokens", json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
    r = app_client.post("/api/tokens", json=body, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    r = app_client.post("/plans/1/adopt", data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert app_client.get("/api/tokens").json() and app_client.get("/api/tokens").status_code == 200


def test_login_form_needs_its_csrf_cookie(app_client: TestClient) -> None:
    r = app_client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "guess"}
    )
    assert r.status_code == 403
    page = app_client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = app_client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and SESSION_COOKIE in r.headers["set-cookie"]


def test_brute_force_locks_the_account(db_url: str) -> None:
    with TestClient(create_app(settings_for(db_url, lockout_failures=5))) as client:
        for _ in range(5):
            r = client.post("/api/auth/login", json={"username": "planner", "password": "nope"})
            assert r.status_code == 401
        r = client.post("/api/auth/login", json={"username": "planner", "password": PASSWORD})
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "account_locked"
        assert int(r.headers["Retry-After"]) > 0
        login(client, "admin")
        events = [e["event_type"] for e in client.get("/api/audit?limit=500").json()["items"]]
        assert events.count("auth.login_failed") == 6
        assert "auth.account_locked" in events


def test_login_is_rate_limited_per_client(db_url: str) -> None:
    with TestClient(create_app(settings_for(db_url, login_attempts_per_minute=3))) as client:
        codes = [
            client.post("/api/auth/login", json={"username": u, "password": "x"}).status_code
            for u in ("a", "b", "c", "d")
        ]
        assert codes == [401, 401, 401, 429]
        r = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"


def test_disabled_user_is_logged_out_at_once(app_client: TestClient, db_url: str) -> None:
    with TestClient(app_client.app) as other:
        login(other, "planner")
        assert other.get("/api/auth/me").status_code == 200
        login(app_client, "admin")
        assert app_client.post("/api/users/planner/disable").status_code == 200
        assert other.get("/api/auth/me").status_code == 401
        r = other.post("/api/auth/login", json={"username": "planner", "password": PASSWORD})
        assert r.status_code == 401


# ---------------------------------------------------------------------------------------------
# Tokens


def _all_text(url: str) -> str:
    db = Database.open(url)
    try:
        meta = MetaData()
        meta.reflect(db.engine)
        parts = []
        with db.engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(select(table)):
                    parts.extend(
                        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                        for v in row
                    )
        return "\n".join(parts)
    finally:
        db.dispose()


def test_secrets_are_never_stored_or_logged_in_clear(
    app_client: TestClient, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    login(app_client, "admin")
    issued = app_client.post(
        "/api/tokens", json={"name": "tablet", "scope_kind": "station", "scope_key": "emb"}
    ).json()
    secret = issued["token"]
    assert secret.startswith("abt_")
    new_password = "a brand new passphrase"
    r = app_client.post(
        "/api/users", json={"username": "newbie", "password": new_password, "role": "planner"}
    )
    assert r.status_code == 201
    r = app_client.get(
        "/api/elections/tiny/stations/emb", headers={"Authorization": f"Bearer {secret}"}
    )
    assert r.status_code == 200
    stored = _all_text(db_url)
    assert secret not in stored and secret.split("_", 2)[2] not in stored
    assert new_password not in stored and PASSWORD not in stored
    assert issued["lookup"] in stored  # the public part is kept to recognise the token
    assert "token" not in app_client.get("/api/tokens").json()[0]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in logged and new_password not in logged


def test_revoked_and_expired_tokens_are_refused(app_client: TestClient, db_url: str) -> None:
    login(app_client, "admin")
    issued = app_client.post(
        "/api/tokens", json={"name": "t", "scope_kind": "station", "scope_key": "emb"}
    ).json()
    h = {"Authorization": f"Bearer {issued['token']}"}
    assert app_client.get("/api/elections/tiny/stations/emb", headers=h).status_code == 200
    assert app_client.post(f"/api/tokens/{issued['id']}/revoke").status_code == 200
    assert app_client.get("/api/elections/tiny/stations/emb", headers=h).status_code == 401

    other = app_client.post(
        "/api/tokens", json={"name": "t2", "scope_kind": "station", "scope_key": "emb"}
    ).json()
    db = Database.open(db_url)
    try:
        with db.write() as s:
            tok = s.get(ApiToken, other["id"])
            assert tok is not None
            tok.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    finally:
        db.dispose()
    h = {"Authorization": f"Bearer {other['token']}"}
    assert app_client.get("/api/elections/tiny/stations/emb", headers=h).status_code == 401
    forged = other["token"][:-4] + "AAAA"
    h = {"Authorization": f"Bearer {forged}"}
    assert app_client.get("/api/elections/tiny/stations/emb", headers=h).status_code == 401
    r = app_client.get("/api/elections/tiny/stations/emb", headers={"Authorization": "Basic x"})
    assert r.status_code == 401


def test_api_login_accepts_only_json(app_client: TestClient) -> None:
    """A cross-site form post (text/plain) cannot log the browser into someone's account."""
    r = app_client.post(
        "/api/auth/login",
        content=f'{{"username": "admin", "password": "{PASSWORD}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code in (415, 422)
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_generated_route_reference_is_up_to_date(db_url: str) -> None:
    from abroad.server.routes_doc import render_markdown

    from tests_paths import REPO

    page = REPO / "docs" / "reference" / "api-routes.md"
    assert page.read_text(encoding="utf-8") == render_markdown(create_app(settings_for(db_url))), (
        "docs/reference/api-routes.md is stale: "
        "python -m abroad.server.routes_doc > docs/reference/api-routes.md"
    )
    assert "**undeclared**" not in page.read_text(encoding="utf-8")


def test_a_role_change_takes_effect_at_once_and_is_audited(app_client: TestClient) -> None:
    with TestClient(app_client.app) as staff:
        login(staff, "staff")
        assert staff.get("/api/elections/tiny/stations/emb").status_code == 200
        login(app_client, "admin")
        r = app_client.put("/api/users/staff/role", json={"role": "observer", "stations": ["cg"]})
        assert r.status_code == 200 and r.json()["stations"] == ["cg"]
        assert staff.get("/api/elections/tiny/stations/emb").status_code == 401  # logged out
        login(staff, "staff")
        assert staff.get("/api/elections/tiny/stations/emb").status_code == 403
        assert staff.get("/api/elections/tiny/stations/cg").status_code == 200
        bad = app_client.put("/api/users/staff/role", json={"role": "mission_staff"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "scope_required"
        entries = app_client.get("/api/audit?limit=500").json()["items"]
        changed = [e for e in entries if e["event_type"] == "user.role_changed"]
        assert changed[-1]["before"]["role"] == "mission_staff"
        assert changed[-1]["after"] == {"role": "observer", "missions": [], "stations": ["cg"]}
