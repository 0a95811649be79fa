"""The access cache: a resolved caller is kept a few seconds, but never outlives a revocation
made through the same server process, and a change made elsewhere within its time to live."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from abroad.server.access import ACCESS_TABLES, SESSION_COOKIE, AccessCache, Principal
from abroad.server.app import create_app
from abroad.server.db import Database
from abroad.server.models import ApiToken, StationReportRow, User
from abroad.server.schemas import Role

from server.conftest import Backend, count, login, settings_for

BASE = "/api/elections/tiny"


def report(client_id: str, hhmm: str = "10:00") -> dict[str, Any]:
    return {"client_id": client_id, "taken_at": f"2024-03-17T{hhmm}:00-04:00", "people_in_line": 5}


@pytest.fixture
def app(db_url: str) -> Any:
    return create_app(settings_for(db_url, access_cache_seconds=60))


def cache_of(client: TestClient) -> AccessCache:
    cache = client.app.state.access_cache  # type: ignore[attr-defined]
    assert isinstance(cache, AccessCache)
    return cache


def test_a_revoked_device_token_is_refused_at_once_on_the_same_worker(
    app: Any, backend: Backend, db_url: str
) -> None:
    token = backend.template.tokens["station_emb"]
    h = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as device, TestClient(app) as admin:
        assert (
            device.post(
                f"{BASE}/stations/emb/reports", json=report("cache-0001"), headers=h
            ).status_code
            == 201
        )
        assert device.get(f"{BASE}/stations/emb", headers=h).status_code == 200
        assert len(cache_of(device)) >= 2  # the token's principal and emb's mission are cached
        login(admin, "admin")
        (row,) = [t for t in admin.get("/api/tokens").json() if t["name"] == "emb tablet"]
        assert admin.post(f"/api/tokens/{row['id']}/revoke").status_code == 200
        r = device.post(
            f"{BASE}/stations/emb/reports", json=report("cache-0002", "10:05"), headers=h
        )
        assert r.status_code == 401
        assert device.get(f"{BASE}/stations/emb", headers=h).status_code == 401
    assert count(db_url, "station_reports") == 1


def test_a_forged_secret_never_matches_a_cached_token(app: Any, backend: Backend) -> None:
    token = backend.template.tokens["station_emb"]
    with TestClient(app) as device:
        ok = device.get(f"{BASE}/stations/emb", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        for forged in (token[:-4] + "AAAA", token + "x", token[:-1], token.upper()):
            if forged == token:
                continue
            r = device.get(f"{BASE}/stations/emb", headers={"Authorization": f"Bearer {forged}"})
            assert r.status_code == 401, forged


def test_logout_and_a_role_change_end_cached_sessions_at_once(app: Any) -> None:
    with TestClient(app) as staff, TestClient(app) as admin, TestClient(app) as other:
        login(staff, "staff")
        assert staff.get(f"{BASE}/stations/emb/reports").status_code == 200
        assert (
            staff.post(f"{BASE}/stations/emb/reports", json=report("cache-0100")).status_code == 201
        )
        login(other, "planner")
        assert other.get("/api/auth/me").status_code == 200
        cookie = str(other.cookies.get(SESSION_COOKIE))
        assert other.post("/api/auth/logout").status_code == 204
        r = other.get("/api/auth/me", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
        assert r.status_code == 401

        login(admin, "admin")
        r = admin.put("/api/users/staff/role", json={"role": "observer", "stations": ["cg"]})
        assert r.status_code == 200, r.text
        assert staff.get(f"{BASE}/stations/emb/reports").status_code == 401
        r = staff.post(f"{BASE}/stations/emb/reports", json=report("cache-0101", "10:05"))
        assert r.status_code == 401
        login(staff, "staff")  # the new role, at once
        assert staff.get(f"{BASE}/stations/emb/reports").status_code == 403
        assert staff.get(f"{BASE}/stations/cg/reports").status_code == 200


def test_a_change_made_by_another_process_is_seen_within_the_time_to_live(
    backend: Backend, db_url: str
) -> None:
    ttl = 0.3
    token = backend.template.tokens["station_emb"]
    h = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings_for(db_url, access_cache_seconds=ttl))) as device:
        assert device.get(f"{BASE}/stations/emb", headers=h).status_code == 200
        elsewhere = Database.open(db_url)  # the command line, or another worker
        try:
            with elsewhere.write() as s:
                s.execute(update(ApiToken).values(revoked_at=dt.datetime.now(dt.UTC)))
        finally:
            elsewhere.dispose()
        time.sleep(ttl * 1.5)
        assert device.get(f"{BASE}/stations/emb", headers=h).status_code == 401


def test_a_token_or_session_expiry_is_kept_exactly() -> None:
    cache = AccessCache(60)
    who = Principal(Role.DEVICE, name="token/1")
    cache.put("k", who, cache.generation, until=time.time() - 0.001)
    assert cache.get("k") is None
    cache.put("k", who, cache.generation, until=time.time() + 30)
    assert cache.get("k") is who


def test_an_answer_read_during_an_invalidation_is_not_kept() -> None:
    cache = AccessCache(60)
    before = cache.generation
    cache.invalidate()  # a revocation committed while the answer was being read
    cache.put("k", Principal(Role.ADMIN, name="admin"), before)
    assert cache.get("k") is None and len(cache) == 0
    assert AccessCache(0).enabled is False


@pytest.fixture
def watched(db_url: str) -> Iterator[tuple[Database, AccessCache]]:
    db = Database.open(db_url)
    cache = AccessCache.of(db, 60)
    try:
        yield db, cache
    finally:
        db.dispose()


def test_every_write_of_an_access_table_empties_the_cache(
    watched: tuple[Database, AccessCache],
) -> None:
    db, cache = watched
    assert {"users", "user_scopes", "api_tokens", "login_sessions", "stations"} <= ACCESS_TABLES

    def filled() -> None:
        cache.put("k", Principal(Role.ADMIN, name="admin"), cache.generation)
        assert len(cache) == 1

    filled()
    with db.write() as s:  # a report: not an access table
        s.execute(select(StationReportRow.id)).all()
        s.execute(update(StationReportRow).values(reviewed_by="x"))
    assert len(cache) == 1
    with db.read() as s:
        s.execute(select(User.id)).all()
    assert len(cache) == 1
    with db.write() as s:
        s.execute(update(User).where(User.username == "planner").values(disabled=True))
        assert len(cache) == 1  # not before the commit
    assert len(cache) == 0
    for table in sorted(ACCESS_TABLES):
        filled()
        with db.write() as s:
            s.connection().exec_driver_sql(f"DELETE FROM {table} WHERE 1 = 0")
        assert len(cache) == 0, table
