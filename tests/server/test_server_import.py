"""Importing scenarios: CLI and upload, idempotent with a diff, located errors, safe archives."""

from __future__ import annotations

import importlib.util
import io
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from abroad.cli import app as cli
from abroad.server.app import create_app
from abroad.server.db import Database
from abroad.server.models import ScenarioFile

from scenario_factory import PLACES_CSV, SCENARIO_YAML, SITES_CSV, write_scenario
from server.conftest import count, login, settings_for
from tests_paths import REPO


def _validation_cases() -> ModuleType:
    path = REPO / "tests" / "io" / "test_scenario_validation.py"
    spec = importlib.util.spec_from_file_location("scenario_validation_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _files(yaml: str = SCENARIO_YAML, sites: str = SITES_CSV, places: str = PLACES_CSV) -> list:
    return [
        ("files", ("scenario.yaml", yaml.encode(), "application/yaml")),
        ("files", ("sites.csv", sites.encode(), "text/csv")),
        ("files", ("places.csv", places.encode(), "text/csv")),
    ]


def test_reimport_is_idempotent_and_a_change_shows_a_diff(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    folder = write_scenario(tmp_path / "tiny")
    entries = count(db_url, "audit_entries")
    same = runner.invoke(cli, ["import", str(folder), "--db", db_url, "--json"])
    assert same.exit_code == 0, same.output
    assert '"changed": false' in same.stdout
    assert count(db_url, "audit_entries") == entries  # nothing changed, nothing written

    sites = SITES_CSV.replace(
        "America/New_York,true,true,6,14,10", "America/New_York,true,true,8,14,10"
    )
    places = (
        "\n".join(line for line in PLACES_CSV.splitlines() if not line.startswith("p4,")) + "\n"
    )
    write_scenario(folder, sites_csv=sites, places_csv=places)
    changed = runner.invoke(cli, ["import", str(folder), "--db", db_url])
    assert changed.exit_code == 0, changed.output
    assert "updated" in changed.stdout
    assert "max_desks" in changed.stdout and "p4" in changed.stdout
    assert count(db_url, "voter_places") == 3
    assert count(db_url, "audit_entries") == entries + 2  # election.updated, stations.replaced


def test_status_quo_stations_until_a_plan_is_adopted(app_client: TestClient) -> None:
    login(app_client, "planner")
    stations = app_client.get("/api/elections/tiny/stations").json()["items"]
    assert [s["station_key"] for s in stations] == ["cg", "emb"]  # available and permitted
    emb = stations[1]
    assert (emb["desks"], emb["booths"], emb["source"]) == (6, 14, "status_quo")
    assert emb["timezone"] == "America/New_York"
    assert emb["ballots"] == 5000 and emb["lanes"] == 0
    # site_hours override on the second day for emb (local time, its zone beside it)
    assert emb["days"] == [
        {"date": "2024-03-15", "open": "08:00", "close": "20:00"},
        {"date": "2024-03-17", "open": "08:00", "close": "21:00"},
    ]
    assert emb["mission_key"] == "emb" and stations[0]["mission_key"] == "cg"
    election = app_client.get("/api/elections/tiny").json()
    assert election["stations_source"] == "status_quo" and election["adopted_plan_id"] is None


def test_every_broken_scenario_is_refused_with_located_errors(
    app_client: TestClient, db_url: str
) -> None:
    login(app_client, "planner")
    module = _validation_cases()
    before = {t: count(db_url, t) for t in ("elections", "sites", "voter_places", "audit_entries")}
    for case in module.CASES:
        r = app_client.post(
            "/api/elections/import",
            files=_files(case.scenario_yaml, case.sites_csv, case.places_csv),
        )
        assert r.status_code == 422, (case.name, r.text)
        err = r.json()["error"]
        assert err["code"] == "invalid_scenario"
        locs = [d["loc"] for d in err["details"]]
        assert any(
            loc[0] == case.file
            and (case.row is None or case.row in loc)
            and (case.column is None or case.column in loc)
            and (case.path is None or case.path in loc)
            for loc in locs
        ), (case.name, locs)
    after = {t: count(db_url, t) for t in before}
    assert after == before  # nothing stored


def test_upload_page_shows_errors_beside_file_and_row(app_client: TestClient) -> None:
    csrf = login(app_client, "planner")
    sites = SITES_CSV.replace("emb,Embassy,embassy", "emb,Embassy,palace")
    r = app_client.post("/upload", files=_files(sites=sites), data={"csrf_token": csrf})
    assert r.status_code == 422
    assert "nothing was stored" in r.text
    assert '<th rowspan="1" class="file">sites.csv</th>' in r.text
    assert '<td class="row">2</td>' in r.text


def _zip(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    return buf.getvalue()


def test_a_zip_of_the_folder_imports(app_client: TestClient) -> None:
    login(app_client, "planner")
    yaml = SCENARIO_YAML.replace("name: tiny", "name: tiny-zip")
    data = _zip(
        {
            "tiny-zip/scenario.yaml": yaml,
            "tiny-zip/sites.csv": SITES_CSV,
            "tiny-zip/places.csv": PLACES_CSV,
        }
    )
    r = app_client.post(
        "/api/elections/import", files=[("files", ("s.zip", data, "application/zip"))]
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] is True and r.json()["counts"]["station"] == 2
    again = app_client.post(
        "/api/elections/import", files=[("files", ("s.zip", data, "application/zip"))]
    )
    assert again.json()["changed"] is False


@pytest.mark.parametrize(
    "evil", ["../escape.csv", "/etc/passwd-copy", "tiny/../../escape.csv", "C:/windows.csv"]
)
def test_a_zip_with_paths_outside_its_folder_is_refused(
    app_client: TestClient, db_url: str, evil: str
) -> None:
    login(app_client, "planner")
    data = _zip(
        {
            "scenario.yaml": SCENARIO_YAML,
            "sites.csv": SITES_CSV,
            "places.csv": PLACES_CSV,
            evil: "x",
        }
    )
    entries = count(db_url, "audit_entries")
    r = app_client.post(
        "/api/elections/import", files=[("files", ("s.zip", data, "application/zip"))]
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unsafe_archive"
    assert r.json()["error"]["details"][0]["loc"] == [evil]
    assert count(db_url, "audit_entries") == entries


def test_oversized_uploads_are_refused_with_413(db_url: str) -> None:
    with TestClient(create_app(settings_for(db_url, max_upload_bytes=2000))) as client:
        login(client, "planner")
        big = _files(places=PLACES_CSV + "#" * 5000)
        r = client.post("/api/elections/import", files=big)
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "too_large"


def test_a_zip_bomb_is_refused(db_url: str) -> None:
    with TestClient(create_app(settings_for(db_url, max_unzipped_bytes=100_000))) as client:
        login(client, "planner")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("scenario.yaml", SCENARIO_YAML)
            z.writestr("places.csv", "0" * 1_000_000)
        r = client.post(
            "/api/elections/import", files=[("files", ("b.zip", buf.getvalue(), "application/zip"))]
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "unsafe_archive"


def test_names_from_an_upload_are_escaped_and_file_names_stripped(
    app_client: TestClient, db_url: str
) -> None:
    login(app_client, "planner")
    evil = "<script>alert(1)</script>"
    sites = SITES_CSV.replace("emb,Embassy,embassy", f"emb,{evil},embassy")
    files = _files(sites=sites)
    files[0] = ("files", ("../../scenario.yaml", SCENARIO_YAML.encode(), "application/yaml"))
    r = app_client.post("/api/elections/import", files=files)
    assert r.status_code == 200, r.text
    page = app_client.get("/elections/tiny", headers={"Accept": "text/html"})
    assert evil not in page.text and "&lt;script&gt;" in page.text
    db = Database.open(db_url)
    try:
        with db.read() as s:
            names = set(s.scalars(select(ScenarioFile.name)))
    finally:
        db.dispose()
    assert names == {"scenario.yaml", "sites.csv", "places.csv"}
