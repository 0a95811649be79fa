"""Storage: migrations match the models, the schema check, SQLite WAL, both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from typer.testing import CliRunner

from abroad.cli import app as cli
from abroad.server.app import create_app
from abroad.server.db import Database, SchemaOutOfDate, current_revision, head_revision, upgrade
from abroad.server.models import Base

from server.conftest import Backend, settings_for


def test_migrations_build_exactly_the_models(backend: Backend) -> None:
    db = Database.open(backend.make_url(empty=True))
    try:
        upgrade(db)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        db.dispose()


def test_server_refuses_an_empty_or_old_schema_and_names_the_fix(backend: Backend) -> None:
    url = backend.make_url(empty=True)
    with pytest.raises(SchemaOutOfDate, match="abroad db upgrade --db"):
        create_app(settings_for(url))
    db = Database.open(url)
    try:
        upgrade(db)
        assert current_revision(db) == head_revision(db)
        with db.write() as s:  # pretend the database was made by an older abroad
            s.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    finally:
        db.dispose()
    with pytest.raises(SchemaOutOfDate, match="at revision old"):
        create_app(settings_for(url))


def test_cli_upgrade_then_serve_check(backend: Backend) -> None:
    url = backend.make_url(empty=True)
    runner = CliRunner()
    refused = runner.invoke(cli, ["users", "list", "--db", url])
    assert refused.exit_code == 1
    assert "abroad db upgrade" in refused.output
    first = runner.invoke(cli, ["db", "upgrade", "--db", url])
    assert first.exit_code == 0, first.output
    assert "upgraded from empty" in first.output
    again = runner.invoke(cli, ["db", "upgrade", "--db", url])
    assert "already at" in again.output


def test_sqlite_runs_in_wal_mode(backends: dict[str, Backend]) -> None:
    db = Database.open(backends["sqlite"].make_url())
    try:
        with db.read() as s:
            assert s.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert s.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        db.dispose()


def test_writes_of_two_sessions_are_serialised(db_url: str) -> None:
    """A second writer waits for the first rather than forking the audit chain."""
    import threading

    from abroad.server import audit
    from abroad.server.events import EventType

    db = Database.open(db_url)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                with db.write() as s:
                    audit.append(s, f"t{n}", EventType.LOGGED_OUT, f"user/x{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        with db.read() as s:
            v = audit.verify(s)
        assert v.ok, v.reason
    finally:
        db.dispose()
