"""Station reports over the API: idempotency, quarantine, review, audit, nowcast and alerts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from abroad.server.app import create_app
from abroad.server.audit import verify
from abroad.server.db import Database
from abroad.server.models import AuditEntry

from server.conftest import Backend, count, login, settings_for

BASE = "/api/elections/tiny"


def report(client_id: str, hhmm: str = "10:00", **fields: Any) -> dict[str, Any]:
    """A report taken at ``hhmm`` New York time on 17 March 2024 (a voting day of emb)."""
    return {"client_id": client_id, "taken_at": f"2024-03-17T{hhmm}:00-04:00", **fields}


@pytest.fixture
def client(db_url: str) -> Any:
    app = create_app(settings_for(db_url, nowcast_thread=False))
    with TestClient(app) as c:
        yield c


def device(backend: Backend) -> dict[str, str]:
    return {"Authorization": f"Bearer {backend.template.tokens['station_emb']}"}


def audit_types(url: str) -> list[str]:
    db = Database.open(url)
    try:
        with db.read() as s:
            assert verify(s).ok
            return [e.event_type for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    finally:
        db.dispose()


def test_a_report_is_stored_once_per_client_id(
    backend: Backend, client: TestClient, db_url: str
) -> None:
    h = device(backend)
    body = report("rep-0001", people_in_line=120, processed=300, working={"checkin": 4})
    first = client.post(f"{BASE}/stations/emb/reports", json=body, headers=h)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "accepted" and first.json()["duplicate"] is False
    again = client.post(f"{BASE}/stations/emb/reports", json=body, headers=h)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["duplicate"] is True
    other = client.post(
        f"{BASE}/stations/emb/reports", json={**body, "people_in_line": 121}, headers=h
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "conflict"
    assert count(db_url, "station_reports") == 1
    assert audit_types(db_url).count("report.accepted") == 1


def test_late_reports_take_their_own_place_and_inconsistent_ones_are_quarantined(
    backend: Backend, client: TestClient, db_url: str
) -> None:
    h = device(backend)
    url = f"{BASE}/stations/emb/reports"
    assert (
        client.post(url, json=report("rep-0011", "12:00", processed=500), headers=h).json()[
            "status"
        ]
        == "accepted"
    )
    # late: taken at 11:00 with fewer processed than at 12:00 -> consistent, accepted
    late = client.post(url, json=report("rep-0010", "11:00", processed=400), headers=h).json()
    assert late["status"] == "accepted"
    # processed going down after 12:00
    down = client.post(url, json=report("rep-0012", "13:00", processed=450), headers=h).json()
    assert down["status"] == "quarantined"
    assert [r["reason"] for r in down["reasons"]] == ["processed_went_down"]
    # outside the hours (03:00) and on a day that is not a voting day
    night = client.post(url, json=report("rep-0013", "03:00"), headers=h).json()
    assert [r["reason"] for r in night["reasons"]] == ["outside_hours"]
    # more ballots left than issued
    many = client.post(url, json=report("rep-0014", "13:30", ballots_left=10**6), headers=h)
    assert "more_ballots_than_issued" in [r["reason"] for r in many.json()["reasons"]]
    listed = client.get(url, headers=h).json()["items"]
    assert [x["client_id"] for x in listed][:3] == ["rep-0013", "rep-0010", "rep-0011"]
    types = audit_types(db_url)
    assert types.count("report.accepted") == 2 and types.count("report.quarantined") == 3


def test_unknown_stations_are_quarantined_and_an_admin_reassigns_them(
    client: TestClient, db_url: str
) -> None:
    login(client, "staff")  # mission staff of emb
    r = client.post(
        f"{BASE}/missions/emb/reports",
        json=report("rep-0100", station_id="embassy-typo", people_in_line=40),
    )
    assert r.status_code == 201 and r.json()["status"] == "quarantined"
    assert r.json()["reasons"][0]["reason"] == "unknown_station"
    # a station of another mission is refused on this mission's route
    other = client.post(
        f"{BASE}/missions/emb/reports", json=report("rep-0101", station_id="cg", people_in_line=1)
    )
    assert other.status_code == 403
    client.cookies.clear()
    login(client, "admin")
    queue = client.get(f"{BASE}/reports", params={"status": "quarantined"}).json()["items"]
    assert [q["client_id"] for q in queue] == ["rep-0100"]
    rid = queue[0]["id"]
    refused = client.post(f"{BASE}/reports/{rid}/accept")
    assert refused.status_code == 409  # an unknown station cannot be accepted as it is
    moved = client.post(f"{BASE}/reports/{rid}/reassign", json={"station_key": "emb"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "accepted" and moved.json()["station_key"] == "emb"
    assert moved.json()["filed_station_key"] == "embassy-typo"
    assert client.get(f"{BASE}/reports", params={"status": "quarantined"}).json()["total"] == 0
    live = [t for t in audit_types(db_url) if t.startswith("report.")]
    assert live == ["report.quarantined", "report.reviewed"]


def test_an_admin_accepts_a_quarantined_report(backend: Backend, client: TestClient) -> None:
    h = device(backend)
    r = client.post(f"{BASE}/stations/emb/reports", json=report("rep-0200", "05:00"), headers=h)
    assert r.json()["status"] == "quarantined"
    login(client, "admin")
    ok = client.post(f"{BASE}/reports/{r.json()['id']}/accept")
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    assert ok.json()["reasons"][0]["reason"] == "outside_hours"  # kept on record
    assert client.post(f"{BASE}/reports/{r.json()['id']}/accept").status_code == 409


def test_bad_reports_get_located_422s(backend: Backend, client: TestClient) -> None:
    h = device(backend)
    url = f"{BASE}/stations/emb/reports"
    both = client.post(url, json=report("rep-0300", people_in_line=3, line_length_m=4), headers=h)
    assert both.status_code == 422
    naive = client.post(
        url, json={"client_id": "rep-0301", "taken_at": "2024-03-17T10:00:00"}, headers=h
    )
    assert naive.status_code == 422
    assert "taken_at" in json.dumps(naive.json()["error"]["details"])
    wrong = client.post(url, json=report("rep-0302", station_id="cg"), headers=h)
    assert wrong.status_code == 422
    assert (
        client.post(f"{BASE}/stations/cg/reports", json=report("rep-0303"), headers=h).status_code
        == 403
    )


def test_a_station_nowcast_and_its_alerts_are_served_and_handled(
    backend: Backend, client: TestClient, db_url: str
) -> None:
    h = device(backend)
    url = f"{BASE}/stations/emb/reports"
    # A Berlin-like afternoon at the embassy: a line far longer than the desks can clear.
    client.post(url, json=report("rep-0400", "08:05", people_in_line=250, processed=0), headers=h)
    client.post(
        url, json=report("rep-0401", "13:00", people_in_line=2000, processed=1200), headers=h
    )
    r = client.get(f"{BASE}/stations/emb/nowcast", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stale"] is False and body["nowcast"] is not None
    nc = body["nowcast"]
    assert nc["now"] == "13:00"
    left = nc["left_in_line_at_close"]
    assert left["ci_low"] <= left["mean"] <= left["ci_high"]
    assert left["mean"] > 100  # hundreds still in line at closing
    kinds = {a["kind"]: a for a in body["alerts"]}
    assert "left_at_close" in kinds
    alert = kinds["left_at_close"]
    assert alert["status"] == "open" and alert["active"] is True
    assert {a["kind"] for a in alert["actions"]} >= {"extend"}
    # the polled read answers 304 while nothing changed
    again = client.get(
        f"{BASE}/stations/emb/nowcast", headers={**h, "If-None-Match": r.headers["ETag"]}
    )
    assert again.status_code == 304
    # staff acknowledge, then resolve; a second resolve is refused
    login(client, "staff")
    aid = alert["id"]
    assert client.post(f"{BASE}/alerts/{aid}/acknowledge").json()["status"] == "acknowledged"
    assert client.post(f"{BASE}/alerts/{aid}/resolve").json()["status"] == "resolved"
    assert client.post(f"{BASE}/alerts/{aid}/resolve").status_code == 409
    types = audit_types(db_url)
    assert "alert.raised" in types
    assert types[-2:] == ["alert.acknowledged", "alert.resolved"]
    client.cookies.clear()
    login(client, "staff_other")  # the other mission's staff may not handle it
    assert client.post(f"{BASE}/alerts/{aid}/acknowledge").status_code == 403


def test_a_station_that_stops_reporting_raises_a_silent_alert(
    backend: Backend, client: TestClient, db_url: str
) -> None:
    from abroad.server.services.nowcaster import check_silent

    h = device(backend)
    cg = {"Authorization": f"Bearer {backend.template.tokens['mission_cg']}"}
    client.post(f"{BASE}/stations/emb/reports", json=report("sil-0001", "10:00"), headers=h)
    # cg is an hour behind New York: 11:00 in Houston is 12:00 in New York
    cg_report = {**report("sil-0002"), "taken_at": "2024-03-17T11:00:00-05:00", "station_id": "cg"}
    assert client.post(f"{BASE}/missions/cg/reports", json=cg_report, headers=cg).status_code == 201
    db = Database.open(db_url)
    try:
        assert check_silent(db) == 1  # emb: nothing for 120 minutes of the day's clock
        assert check_silent(db) == 1  # idempotent: no second alert
        alerts = client.get(f"{BASE}/stations/emb/nowcast", headers=h).json()["alerts"]
        assert [(a["kind"], a["active"]) for a in alerts] == [("silent", True)]
        assert "120 min" in alerts[0]["message"]
        client.post(f"{BASE}/stations/emb/reports", json=report("sil-0003", "12:05"), headers=h)
        assert check_silent(db) == 0
        alerts = client.get(f"{BASE}/stations/emb/nowcast", headers=h).json()["alerts"]
        assert [(a["kind"], a["active"]) for a in alerts] == [("silent", False)]
    finally:
        db.dispose()
    assert audit_types(db_url).count("alert.raised") == 1
