"""Fixtures of the server tests: every test that takes ``db_url`` runs on SQLite and PostgreSQL.

Each backend gets one template database per test session (schema upgraded, the tiny scenario
imported, one account of each role and two device tokens); each test gets a fresh copy.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from abroad.server.app import create_app
from abroad.server.config import Settings
from abroad.server.db import Database, upgrade
from abroad.server.schemas import TokenIn, UserIn
from abroad.server.services.accounts import create_user, issue_token
from abroad.server.services.importer import import_scenario

from scenario_factory import write_scenario
from server.pg import Cluster, unavailable_reason

PASSWORD = "correct horse battery"
USERS: dict[str, dict[str, Any]] = {
    "admin": {"role": "admin"},
    "planner": {"role": "planner"},
    "staff": {"role": "mission_staff", "missions": ["emb"]},
    "staff_other": {"role": "mission_staff", "missions": ["cg"]},
    "observer": {"role": "observer", "stations": ["emb"]},
    "observer_other": {"role": "observer", "stations": ["cg"]},
}
BACKENDS = ["sqlite", "postgresql"]


@dataclass
class Template:
    """What every fresh database copy holds."""

    tokens: dict[str, str] = field(default_factory=dict)
    """Device token secrets: ``station_emb`` and ``mission_cg``."""


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    if unavailable_reason() is not None:
        yield None
        return
    cluster = Cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _fill(url: str, scenario: Path) -> Template:
    db = Database.open(url)
    try:
        upgrade(db)
        template = Template()
        with db.write() as s:
            import_scenario(s, scenario, "cli:setup")
            for name, spec in USERS.items():
                create_user(s, UserIn(username=name, password=PASSWORD, **spec), "cli:setup")
            template.tokens["station_emb"] = issue_token(
                s, TokenIn(name="emb tablet", scope_kind="station", scope_key="emb"), "cli:setup"
            ).token
            template.tokens["mission_cg"] = issue_token(
                s, TokenIn(name="cg laptop", scope_kind="mission", scope_key="cg"), "cli:setup"
            ).token
        return template
    finally:
        db.dispose()


@dataclass
class Backend:
    name: str
    make_url: Any
    """make_url(empty: bool) -> a URL of a fresh database (empty: no schema at all)."""
    template: Template


_counter = itertools.count()


@pytest.fixture(scope="session")
def backends(
    tmp_path_factory: pytest.TempPathFactory, pg_cluster: Cluster | None
) -> dict[str, Backend]:
    root = tmp_path_factory.mktemp("dbs")
    scenario = write_scenario(root / "tiny")
    out: dict[str, Backend] = {}

    sqlite_template = root / "template.db"
    tpl = _fill(f"sqlite:///{sqlite_template}", scenario)

    def sqlite_url(empty: bool = False) -> str:
        path = root / f"test-{next(_counter)}.db"
        if not empty:
            shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"

    out["sqlite"] = Backend("sqlite", sqlite_url, tpl)
    if pg_cluster is not None:
        pg_tpl = _fill(pg_cluster.create_database("abroad_template"), scenario)

        def pg_url(empty: bool = False) -> str:
            name = f"abroad_test_{next(_counter)}"
            return pg_cluster.create_database(name, None if empty else "abroad_template")

        out["postgresql"] = Backend("postgresql", pg_url, pg_tpl)
    return out


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, backends: dict[str, Backend]) -> Backend:
    if request.param not in backends:
        pytest.skip(unavailable_reason() or "PostgreSQL unavailable")
    return backends[request.param]


@pytest.fixture
def db_url(backend: Backend) -> str:
    """A fresh copy of the template database on each backend."""
    url: str = backend.make_url()
    return url


def settings_for(url: str, **overrides: Any) -> Settings:
    # no nowcaster process per app: nowcasts are recomputed when read stale
    return Settings(
        **{"db_url": url, "heartbeat_seconds": 0.2, "nowcast_thread": False, **overrides}
    )


@pytest.fixture
def app_client(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(db_url)), base_url="http://testserver") as client:
        yield client


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in over the API; returns the CSRF token (the client keeps the cookie)."""
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    csrf: str = r.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = csrf
    return csrf


def count(url: str, table: str) -> int:
    db = Database.open(url)
    try:
        with db.read() as s:
            return int(s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        db.dispose()
