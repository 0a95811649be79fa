"""Per-election alert thresholds, the timeline by role, and redirect actions to the nearest
open station (against a direct computation with ``abroad.ops``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from abroad.geo.distance import haversine_km
from abroad.ops.actions import Neighbour, redirect_action
from abroad.ops.nowcast import condition
from abroad.ops.reports import state_from_reports
from abroad.server.app import create_app
from abroad.server.db import Database, upgrade
from abroad.server.models import (
    AuditEntry,
    Election,
    Station,
    StationAlertRow,
    StationNowcastRow,
    StationReportRow,
)
from abroad.server.services import live, nowcaster
from abroad.server.services.importer import import_scenario

from scenario_factory import PLACES_CSV, SCENARIO_YAML, write_scenario
from server.conftest import Backend, login, settings_for
from server.day import file_report
from server.test_server_reports import audit_types, report

BASE = "/api/elections/tiny"


@pytest.fixture
def client(db_url: str) -> Any:
    with TestClient(create_app(settings_for(db_url))) as c:
        yield c


def device(backend: Backend) -> dict[str, str]:
    return {"Authorization": f"Bearer {backend.template.tokens['station_emb']}"}


def long_line(client: TestClient, h: dict[str, str]) -> None:
    """A line longer than the six desks can clear by closing (21:00): dozens left then."""
    url = f"{BASE}/stations/emb/reports"
    for body in (
        report("thr-0001", "08:05", people_in_line=250, processed=0),
        report("thr-0002", "16:00", people_in_line=1200, processed=1000),
    ):
        assert client.post(url, json=body, headers=h).status_code == 201


def active(client: TestClient, h: dict[str, str]) -> dict[str, bool]:
    """Alert kind -> still raised, for emb (recomputed on read when stale)."""
    body = client.get(f"{BASE}/stations/emb/nowcast", headers=h).json()
    assert body["stale"] is False
    return {a["kind"]: a["active"] for a in body["alerts"] if a["status"] != "resolved"}


def test_thresholds_raised_and_lowered_change_the_alerts_and_are_audited(
    backend: Backend, client: TestClient, db_url: str
) -> None:
    h = device(backend)
    login(client, "admin")
    got = client.get(f"{BASE}/alert-settings").json()
    assert got["is_default"] is True
    # the wait target's default is the scenario's policy (30 minutes when unset)
    assert got["settings"]["wait_target_minutes"] == got["defaults"]["wait_target_minutes"] == 30
    r = client.patch(f"{BASE}/alert-settings", json={"wait_target_minutes": 5000})
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["wait_target_minutes"] == 5000
    assert r.json()["settings"]["left_at_close_people"] == 20  # the others kept
    long_line(client, h)
    first = active(client, h)
    assert first.get("left_at_close") is True
    assert "wait_above_target" not in first  # a 5000-minute target is not exceeded
    # raise the people-left threshold above any prediction: the alert is no longer raised
    client.patch(f"{BASE}/alert-settings", json={"left_at_close_people": 1_000_000})
    assert active(client, h)["left_at_close"] is False
    # lower both: the people-left alert is raised again, and a wait alert opens
    client.patch(f"{BASE}/alert-settings", json={"left_at_close_people": 10})
    client.patch(f"{BASE}/alert-settings", json={"wait_target_minutes": 15})
    again = active(client, h)
    assert again["left_at_close"] is True and again["wait_above_target"] is True
    # one alert row per kind: raising again re-activates the open alert
    assert sum(1 for k in again if k == "left_at_close") == 1
    # every change is audited with before and after
    db = Database.open(db_url)
    try:
        with db.read() as s:
            changes = list(
                s.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.event_type == "alert_settings.changed")
                    .order_by(AuditEntry.seq)
                )
            )
    finally:
        db.dispose()
    assert [c.actor for c in changes] == ["admin"] * 4
    assert all(c.subject == "alert_settings/tiny" for c in changes)
    before, after = json.loads(changes[1].before), json.loads(changes[1].after)
    assert (before["left_at_close_people"], after["left_at_close_people"]) == (20, 1_000_000)
    assert audit_types(db_url).count("alert_settings.changed") == 4
    # an unchanged PATCH writes nothing
    same = client.patch(f"{BASE}/alert-settings", json={"wait_target_minutes": 15})
    assert same.status_code == 200 and same.json()["is_default"] is False
    assert audit_types(db_url).count("alert_settings.changed") == 4


def test_only_admins_change_thresholds_and_bad_values_are_located(
    backend: Backend, client: TestClient, db_url: str
) -> None:
    url = f"{BASE}/alert-settings"
    # a device, mission staff, a planner and an observer may read but not change them
    h = device(backend)
    assert client.patch(url, json={"silent_minutes": 1}, headers=h).status_code == 403
    for who in ("staff", "planner", "observer"):
        client.cookies.clear()
        login(client, who)
        assert client.get(url).status_code == 200
        r = client.patch(url, json={"silent_minutes": 1})
        assert r.status_code == 403, who
    # without the CSRF token even an admin's session is refused
    client.cookies.clear()
    login(client, "admin")
    csrf = client.headers.pop("X-CSRF-Token")
    assert client.patch(url, json={"silent_minutes": 1}).status_code == 403
    client.headers["X-CSRF-Token"] = csrf
    # the defaults sent back are no change: nothing stored, nothing audited
    assert client.patch(url, json={"silent_minutes": 45}).json()["is_default"] is True
    bad = client.patch(url, json={"wait_target_minutes": -3})
    assert bad.status_code == 422
    assert "wait_target_minutes" in json.dumps(bad.json()["error"]["details"])
    unknown = client.patch(url, json={"left_people": 3})
    assert unknown.status_code == 422
    assert audit_types(db_url).count("alert_settings.changed") == 0


def test_the_silent_rule_uses_the_elections_minutes(
    backend: Backend, client: TestClient, db_url: str
) -> None:
    h = device(backend)
    cg = {"Authorization": f"Bearer {backend.template.tokens['mission_cg']}"}
    client.post(f"{BASE}/stations/emb/reports", json=report("sil-0101", "10:00"), headers=h)
    cg_report = {**report("sil-0102"), "taken_at": "2024-03-17T10:30:00-05:00", "station_id": "cg"}
    assert client.post(f"{BASE}/missions/cg/reports", json=cg_report, headers=cg).status_code == 201
    db = Database.open(db_url)
    try:
        assert nowcaster.check_silent(db) == 1  # 90 minutes >= the default 45
        login(client, "admin")
        client.patch(f"{BASE}/alert-settings", json={"silent_minutes": 120})
        assert nowcaster.check_silent(db) == 0  # 90 minutes < 120
    finally:
        db.dispose()


def test_the_timeline_shows_each_role_its_stations(
    backend: Backend, client: TestClient, db_url: str
) -> None:
    h = device(backend)
    cg = {"Authorization": f"Bearer {backend.template.tokens['mission_cg']}"}
    long_line(client, h)
    r = client.post(
        f"{BASE}/stations/emb/reports",
        json=report("tln-0001", "13:10", incident="printer jammed at desk 2"),
        headers=h,
    )
    assert r.status_code == 201, r.text
    r = client.post(f"{BASE}/stations/emb/reports", json=report("tln-0002", "03:00"), headers=h)
    assert r.json()["status"] == "quarantined", r.text
    cg_report = {
        **report("tln-0003", incident="cg: water leak"),
        "taken_at": "2024-03-17T10:30:00-05:00",
        "station_id": "cg",
    }
    client.post(f"{BASE}/missions/cg/reports", json=cg_report, headers=cg)
    alerts = client.get(f"{BASE}/stations/emb/nowcast", headers=h).json()["alerts"]
    login(client, "staff")
    aid = next(a["id"] for a in alerts if a["kind"] == "left_at_close")
    client.post(f"{BASE}/alerts/{aid}/acknowledge")

    items = client.get(f"{BASE}/timeline").json()
    kinds = {i["kind"] for i in items}
    assert {"report", "incident", "quarantined", "alert_raised", "alert_acknowledged"} <= kinds
    assert {i["station_key"] for i in items} == {"emb"}  # their mission's station only
    assert "printer jammed at desk 2" in [i["text"] for i in items if i["kind"] == "incident"]
    acked = next(i for i in items if i["kind"] == "alert_acknowledged")
    assert acked["actor"] == "staff" and acked["alert_id"] == aid
    ats = [i["at"] for i in items]
    assert ats == sorted(ats, reverse=True)  # newest first
    # an attacker from the other mission sees neither emb's timeline nor its items
    client.cookies.clear()
    login(client, "staff_other")
    assert client.get(f"{BASE}/stations/emb/timeline").status_code == 403
    theirs = client.get(f"{BASE}/timeline").json()
    assert {i["station_key"] for i in theirs} == {"cg"}
    assert "printer jammed" not in json.dumps(theirs)
    # the station's device sees its own station's timeline only
    client.cookies.clear()
    assert client.get(f"{BASE}/stations/emb/timeline", headers=h).status_code == 200
    assert client.get(f"{BASE}/stations/cg/timeline", headers=h).status_code == 403
    assert client.get(f"{BASE}/timeline", headers=h).status_code == 403
    # headquarters see every station
    login(client, "planner")
    assert {i["station_key"] for i in client.get(f"{BASE}/timeline").json()} == {"emb", "cg"}


# ---------------------------------------------------------------------------------------------
# Redirects

ANNEX = "annex,Annex,venue,US,39.2904,-76.6122,America/New_York,true,true,3,8,0\n"
"""A venue in Baltimore, about 56 km from the embassy in Washington (within the default
90 minutes by road)."""


@pytest.fixture
def annex_db(tmp_path: Path) -> Any:
    from scenario_factory import SITES_CSV

    folder = write_scenario(tmp_path / "annex", SCENARIO_YAML, SITES_CSV + ANNEX, PLACES_CSV)
    db = Database.open(f"sqlite:///{tmp_path / 'annex.db'}")
    upgrade(db)
    with db.write() as s:
        import_scenario(s, folder, "cli:setup")
    try:
        yield db
    finally:
        db.dispose()


def _file(db: Database, station: str, cid: str, hhmm: str, **fields: Any) -> None:
    row = file_report(db, station, cid, hhmm, **fields)
    assert row.status == "accepted", row.reasons


def test_redirect_actions_match_a_direct_computation(annex_db: Database) -> None:
    db = annex_db
    _file(db, "emb", "red-0001", "08:05", people_in_line=250, processed=0)
    _file(db, "emb", "red-0002", "16:00", people_in_line=1200, processed=1000)
    _file(db, "annex", "red-0003", "15:50", people_in_line=5, processed=300)
    _file(db, "cg", "red-0004", "15:55", people_in_line=0, processed=100)  # far: Houston
    nowcaster.refresh(db, "tiny", "emb")
    with db.read() as s:
        alert = s.scalar(
            select(StationAlertRow).where(
                StationAlertRow.station_key == "emb", StationAlertRow.kind == "left_at_close"
            )
        )
        assert alert is not None
        stations = {st.station_key: st for st in s.scalars(select(Station))}
        e = s.scalar(select(Election))
        emb_reports = live.accepted_reports(s, e.id, "emb")
        annex_reports = live.accepted_reports(s, e.id, "annex")
        ids = {
            k: max(r.id for r in s.scalars(select(StationReportRow)) if r.station_key == k)
            for k in ("emb", "annex")
        }
    redirects = [a for a in alert.actions if a["kind"] == "redirect"]
    assert [a["station"] for a in redirects] == ["annex"]  # cg is hours away by plane
    got = redirects[0]

    # the same figures by hand: road time from the great-circle distance (detour 1.3 at
    # 80 km/h, the scenario's default travel model), each station conditioned on its own
    # reports with its own nowcast's seed, then ops' redirect action
    emb, annex = stations["emb"], stations["annex"]
    km = float(haversine_km(emb.lat, emb.lon, annex.lat, annex.lon))
    minutes = km * 1.3 / 80 * 60
    assert 40 < minutes < 70
    assert got["travel_minutes"] == pytest.approx(minutes, rel=1e-9)
    model = nowcaster.election_model(db, e, list(stations.values()))

    def cond(st: Station, reports: list[Any], seen: int) -> Any:
        calendar = live.calendar_of(st)
        state = state_from_reports(calendar, reports, 1)  # 17 March: the second day
        assert state is not None
        return condition(
            model.specs[st.site_key],
            state,
            nowcaster.REPLICATIONS,
            nowcaster._seed(st.station_key, seen),
        )

    here = cond(emb, emb_reports, ids["emb"])
    there = cond(annex, annex_reports, ids["annex"])
    direct = redirect_action(here, Neighbour("annex", minutes, there))
    assert direct is not None
    assert got["voters"] == direct.voters
    assert got["left_in_line_at_close_after"] == direct.left_in_line_at_close_after.as_dict()
    # a real figure: the annex takes some of the line, and that leaves fewer here
    assert 0 < got["voters"] < 1200
    left_now = alert.value
    assert got["left_in_line_at_close_after"]["mean"] < left_now


def test_a_silent_or_distant_station_is_not_offered(annex_db: Database) -> None:
    db = annex_db
    _file(db, "emb", "red-0101", "08:05", people_in_line=250, processed=0)
    _file(db, "emb", "red-0102", "16:00", people_in_line=1200, processed=1000)
    _file(db, "annex", "red-0103", "12:00", people_in_line=5, processed=30)  # 4 h ago: silent
    nowcaster.refresh(db, "tiny", "emb")
    with db.read() as s:
        alert = s.scalar(
            select(StationAlertRow).where(
                StationAlertRow.station_key == "emb", StationAlertRow.kind == "left_at_close"
            )
        )
    assert alert is not None
    assert [a for a in alert.actions if a["kind"] == "redirect"] == []


def test_nowcasts_and_alerts_first_then_the_actions(annex_db: Database) -> None:
    """One nowcaster pass stores every stale station's nowcast and alerts (actions pending);
    the actions pass then stores the very actions a full recompute gives."""
    db = annex_db
    _file(db, "emb", "def-0001", "08:05", people_in_line=250, processed=0)
    _file(db, "emb", "def-0002", "16:00", people_in_line=1200, processed=1000)
    _file(db, "annex", "def-0003", "15:50", people_in_line=5, processed=300)
    _file(db, "cg", "def-0004", "15:55", people_in_line=0, processed=100)

    def rows() -> tuple[dict[str, StationNowcastRow], list[StationAlertRow]]:
        with db.read() as s:
            nowcasts = {r.station_key: r for r in s.scalars(select(StationNowcastRow))}
            return nowcasts, list(s.scalars(select(StationAlertRow)))

    count, pending = nowcaster.refresh_nowcasts(db)
    assert count == 3
    nowcasts, alerts = rows()
    assert {k for k, r in nowcasts.items() if r.result is not None and not r.stale} == {
        "emb",
        "annex",
        "cg",
    }
    emb_alerts = [a for a in alerts if a.station_key == "emb"]
    assert {a.kind for a in emb_alerts} >= {"left_at_close", "wait_above_target"}
    assert all(a.actions == [] for a in alerts)
    assert [p.station_key for p in pending] == ["emb"]
    assert nowcasts["emb"].result is not None and nowcasts["emb"].result["actions_pending"]
    shown = nowcaster._out("emb", nowcasts["emb"], [live.alert_out(a) for a in emb_alerts])
    assert shown.alerts and all(a.actions_pending for a in shown.alerts)

    assert nowcaster.finish_actions(db, pending[0])
    nowcasts, alerts = rows()
    deferred = {a.kind: a.actions for a in alerts if a.station_key == "emb"}
    assert all(deferred.values())
    assert "actions_pending" not in (nowcasts["emb"].result or {})
    assert (
        not nowcaster._out("emb", nowcasts["emb"], [live.alert_out(a) for a in alerts])
        .alerts[0]
        .actions_pending
    )
    # the same actions as computing everything at once
    nowcaster.refresh(db, "tiny", "emb")
    _, alerts = rows()
    assert {a.kind: a.actions for a in alerts if a.station_key == "emb"} == deferred
    # actions for a recompute that has since been replaced are not stored
    assert not nowcaster.finish_actions(db, pending[0])
