"""API conventions (one error shape, pagination, ETags, OpenAPI) and background jobs."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from abroad.cli import app as cli
from abroad.server.app import create_app
from abroad.server.db import Database
from abroad.server.models import Election, Job, utcnow

from scenario_factory import write_scenario
from server.conftest import count, login, settings_for

WAIT_SECONDS = 240.0
"""Upper bound on waiting for a job (not a timing assertion: it only stops a hung test)."""


def wait_for(client: TestClient, job_id: int, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    seen: list[float] = []
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        seen.append(job["progress_fraction"])
        if job["status"] in statuses:
            job["seen_fractions"] = seen
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {statuses}: {job}")


def _error_shape(body: dict[str, Any]) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    for d in body["error"]["details"]:
        assert set(d) == {"loc", "msg"}


def test_every_error_has_the_one_shape(app_client: TestClient) -> None:
    r = app_client.get("/api/no/such/route")
    assert r.status_code == 404
    _error_shape(r.json())
    r = app_client.delete("/api/public/elections")
    assert r.status_code == 405
    _error_shape(r.json())
    login(app_client, "admin")
    r = app_client.post("/api/users", json={"username": "x y", "role": "king"})
    assert r.status_code == 422
    _error_shape(r.json())
    locs = [d["loc"] for d in r.json()["error"]["details"]]
    assert ["body", "password"] in locs and ["body", "role"] in locs
    r = app_client.get("/api/public/elections?limit=0")
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == ["query", "limit"]
    r = app_client.get("/api/plans/12345")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_lists_are_paginated(app_client: TestClient) -> None:
    login(app_client, "admin")
    first = app_client.get("/api/users?limit=4").json()
    assert first["total"] == 6 and len(first["items"]) == 4 and first["next_offset"] == 4
    rest = app_client.get(f"/api/users?limit=4&offset={first['next_offset']}").json()
    assert len(rest["items"]) == 2 and rest["next_offset"] is None
    names = [u["username"] for u in first["items"] + rest["items"]]
    assert len(set(names)) == 6


def test_polled_reads_carry_etags(app_client: TestClient) -> None:
    r = app_client.get("/api/public/elections/tiny/stations")
    tag = r.headers["ETag"]
    again = app_client.get("/api/public/elections/tiny/stations", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    other = app_client.get(
        "/api/public/elections/tiny/stations?limit=1", headers={"If-None-Match": tag}
    )
    assert other.status_code == 200


def test_openapi_is_published(app_client: TestClient) -> None:
    spec = app_client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/elections/{election_key}/jobs" in spec["paths"]
    assert "ErrorResponse" in spec["components"]["schemas"]
    page = app_client.get("/api/docs")
    assert page.status_code == 200 and "/api/openapi.json" in page.text
    assert "cdn" not in page.text.lower()


def _submit(client: TestClient, **body: Any) -> dict[str, Any]:
    r = client.post("/api/elections/tiny/jobs", json=body)
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    return job


def _events(client: TestClient) -> list[str]:
    items = client.get("/api/audit?limit=500").json()["items"]
    return [e["event_type"] for e in items]


def test_plan_job_report_and_adoption(app_client: TestClient, db_url: str, tmp_path: Path) -> None:
    login(app_client, "planner")
    job = _submit(app_client, kind="plan", time_limit_seconds=1, replications=3)
    assert job["status"] == "queued"
    done = wait_for(app_client, job["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done["error"]
    assert done["progress_fraction"] == 1.0
    assert all(
        a <= b for a, b in zip(done["seen_fractions"], done["seen_fractions"][1:], strict=False)
    )
    plan_id = done["plan_id"]
    plan = app_client.get(f"/api/plans/{plan_id}").json()
    assert plan["open_sites"] and plan["summary"]["scenario"] == "tiny"
    report = app_client.get(f"/api/plans/{plan_id}/report")
    assert report.status_code == 200 and "<html" in report.text.lower()
    # it shows names from an upload: sandboxed in an origin of its own
    assert "sandbox allow-scripts" in report.headers["content-security-policy"]

    side_by_side = app_client.get(f"/plans/compare?ids={plan_id}&ids={plan_id}")
    assert side_by_side.status_code == 200 and "Plans side by side" in side_by_side.text
    assert side_by_side.text.count(f">plan {plan_id}</a>") == 2

    adopted = app_client.post(f"/api/plans/{plan_id}/adopt")
    assert adopted.status_code == 200, adopted.text
    assert adopted.json()["stations_source"] == "plan"
    stations = app_client.get("/api/elections/tiny/stations").json()["items"]
    assert sorted(s["station_key"] for s in stations) == sorted(plan["open_sites"])
    by_site = {s["site_id"]: s for s in plan["summary"]["stations"]}
    for s in stations:
        assert s["source"] == "plan" and s["plan_id"] == plan_id
        assert (s["desks"], s["booths"]) == (
            by_site[s["station_key"]]["desks"],
            by_site[s["station_key"]]["booths"],
        )

    login(app_client, "admin")
    events = _events(app_client)
    for e in ("job.submitted", "job.ended", "plan.stored", "plan.adopted"):
        assert e in events
    # a re-import leaves the adopted network alone
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_scenario(Path(tmp) / "tiny")
        r = CliRunner().invoke(cli, ["import", str(folder), "--db", db_url, "--json"])
        assert r.exit_code == 0, r.output
    assert count(db_url, "stations") == len(stations)
    assert app_client.get("/api/elections/tiny").json()["adopted_plan_id"] == plan_id


def test_evaluate_and_compare_jobs(app_client: TestClient) -> None:
    login(app_client, "planner")
    ev = _submit(app_client, kind="evaluate", open_sites=["emb", "cg"])
    cmp_ = _submit(app_client, kind="compare", variants=["open-venue"], time_limit_seconds=1)
    ev_done = wait_for(app_client, ev["id"], {"succeeded", "failed"})
    assert ev_done["status"] == "succeeded", ev_done["error"]
    assert ev_done["result"]["open_sites"] == ["emb", "cg"]
    assert ev_done["result"]["expected_votes_cast"] > 0
    cmp_done = wait_for(app_client, cmp_["id"], {"succeeded", "failed"})
    assert cmp_done["status"] == "succeeded", cmp_done["error"]
    assert [r["variant"] for r in cmp_done["result"]["rows"]] == ["base", "open-venue"]
    bad = app_client.post("/api/elections/tiny/jobs", json={"kind": "plan", "variant": "nope"})
    assert bad.status_code == 422 and "nope" in bad.json()["error"]["message"]


def test_a_running_job_can_be_cancelled(app_client: TestClient) -> None:
    login(app_client, "planner")
    job = _submit(app_client, kind="plan", time_limit_seconds=120, replications=3)
    wait_for(app_client, job["id"], {"running"})
    r = app_client.post(f"/api/jobs/{job['id']}/cancel")
    assert r.status_code == 200 and r.json()["cancel_requested"] is True
    done = wait_for(app_client, job["id"], {"cancelled", "succeeded", "failed"})
    assert done["status"] == "cancelled"
    assert done["plan_id"] is None


def test_stopping_the_server_marks_running_jobs_interrupted(db_url: str) -> None:
    with TestClient(create_app(settings_for(db_url))) as client:
        login(client, "planner")
        job = _submit(client, kind="plan", time_limit_seconds=120, replications=3)
        wait_for(client, job["id"], {"running"})
    # the server stopped while the job ran; a new one sees it interrupted, never done
    with TestClient(create_app(settings_for(db_url))) as client:
        login(client, "planner")
        after = client.get(f"/api/jobs/{job['id']}").json()
        assert after["status"] == "interrupted"


def test_a_crashed_servers_jobs_are_interrupted_at_start(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        with db.write() as s:
            e = s.scalar(select(Election))
            assert e is not None
            stale = utcnow() - dt.timedelta(minutes=5)
            job = Job(
                election_id=e.id,
                kind="plan",
                params={},
                status="running",
                created_by="planner",
                heartbeat_at=stale,
                started_at=stale,
            )
            s.add(job)
            s.flush()
            job_id = job.id
    finally:
        db.dispose()
    with TestClient(create_app(settings_for(db_url))) as client:
        login(client, "planner")
        assert client.get(f"/api/jobs/{job_id}").json()["status"] == "interrupted"
        login(client, "admin")
        assert "job.ended" in _events(client)
