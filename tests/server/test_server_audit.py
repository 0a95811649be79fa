"""The audit log: declared events, documented, hash-chained, append-only, tamper-evident."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from abroad.cli import app as cli
from abroad.server import audit
from abroad.server.db import Database
from abroad.server.events import CATALOGUE, EventType, render_markdown

from tests_paths import REPO


def test_every_event_type_is_declared_once_with_its_documentation() -> None:
    assert set(CATALOGUE) == set(EventType)
    assert len({e.value for e in EventType}) == len(EventType)


def test_generated_event_docs_are_up_to_date() -> None:
    page = REPO / "docs" / "reference" / "audit-events.md"
    assert page.read_text(encoding="utf-8") == render_markdown(), (
        "docs/reference/audit-events.md is stale: "
        "python -m abroad.server.events > docs/reference/audit-events.md"
    )


def test_undeclared_events_are_refused(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        with pytest.raises(ValueError, match="undeclared"), db.write() as s:
            audit.append(s, "x", "made.up", "y")  # type: ignore[arg-type]
    finally:
        db.dispose()


def _exec(url: str, sql: str) -> None:
    db = Database.open(url)
    try:
        with db.write() as s:
            s.execute(text(sql))
    finally:
        db.dispose()


def test_the_database_refuses_update_and_delete_of_entries(db_url: str) -> None:
    for sql in (
        "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 1",
        "DELETE FROM audit_entries WHERE seq = 1",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            _exec(db_url, sql)
    if not db_url.startswith("sqlite"):
        with pytest.raises(DatabaseError, match="append-only"):
            _exec(db_url, "TRUNCATE audit_entries")


def drop_triggers(url: str) -> None:
    """What an attacker with database access does first."""
    if url.startswith("sqlite"):
        _exec(url, "DROP TRIGGER audit_entries_no_update")
        _exec(url, "DROP TRIGGER audit_entries_no_delete")
    else:
        _exec(url, "DROP TRIGGER audit_entries_no_change ON audit_entries")


def verify(url: str, *extra: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["audit", "verify", "--db", url, *extra])
    return r.exit_code, r.output


def _rehash(url: str, seq: int) -> None:
    """Change an entry and give it a correct hash of its own: the next link breaks."""
    db = Database.open(url)
    try:
        with db.write() as s:
            row = s.execute(
                text(
                    "SELECT prev_hash, at, event_type, subject, before FROM audit_entries "
                    "WHERE seq = :s"
                ),
                {"s": seq},
            ).one()
            after = audit.canonical({"forged": True})
            h = audit.entry_hash(row[0], seq, row[1], "mallory", row[2], row[3], row[4], after)
            s.execute(
                text(
                    "UPDATE audit_entries SET actor = 'mallory', after = :a, hash = :h "
                    "WHERE seq = :s"
                ),
                {"a": after, "h": h, "s": seq},
            )
    finally:
        db.dispose()


def _delete_3_and_renumber(url: str) -> None:
    _exec(url, "DELETE FROM audit_entries WHERE seq = 3")
    db = Database.open(url)
    try:
        with db.write() as s:
            n = s.execute(text("SELECT max(seq) FROM audit_entries")).scalar_one()
            for seq in range(4, n + 1):
                s.execute(
                    text("UPDATE audit_entries SET seq = :a WHERE seq = :b"),
                    {"a": seq - 1, "b": seq},
                )
    finally:
        db.dispose()


def _swap_2_and_3(url: str) -> None:
    _exec(url, "UPDATE audit_entries SET seq = -2 WHERE seq = 2")
    _exec(url, "UPDATE audit_entries SET seq = 2 WHERE seq = 3")
    _exec(url, "UPDATE audit_entries SET seq = 3 WHERE seq = -2")


TAMPERING: dict[str, tuple[Callable[[str], None], str]] = {
    "edit an entry's content": (
        lambda u: _exec(u, "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 3"),
        "entry 3: content does not match its hash",
    ),
    "edit an entry and recompute its hash": (
        lambda u: _rehash(u, 3),
        "entry 4 does not name the previous entry's hash",
    ),
    "delete an entry": (
        lambda u: _exec(u, "DELETE FROM audit_entries WHERE seq = 3"),
        "entry 4 follows entry 2",
    ),
    "delete an entry and renumber the rest": (
        _delete_3_and_renumber,
        "entry 3 does not name the previous entry's hash",
    ),
    "reorder two entries": (_swap_2_and_3, "entry 2 does not name the previous entry's hash"),
}


def test_an_intact_log_verifies(db_url: str) -> None:
    code, out = verify(db_url)
    assert code == 0, out
    assert "audit log intact" in out


@pytest.mark.parametrize("attack", list(TAMPERING))
def test_tampering_behind_the_apps_back_is_caught(db_url: str, attack: str) -> None:
    tamper, message = TAMPERING[attack]
    assert verify(db_url)[0] == 0
    drop_triggers(db_url)
    tamper(db_url)
    code, out = verify(db_url)
    assert code == 1
    assert message in out, out


def test_a_cut_off_end_is_caught_against_a_kept_head(db_url: str) -> None:
    r = CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"])
    head = json.loads(r.stdout)["head_hash"]
    entries = json.loads(r.stdout)["entries"]
    drop_triggers(db_url)
    _exec(db_url, f"DELETE FROM audit_entries WHERE seq = {entries}")
    assert verify(db_url)[0] == 0  # the chain alone cannot tell
    code, out = verify(db_url, "--expect-head", head)
    assert code == 1 and "entries at the end were removed" in out


def test_export_writes_the_chain_as_json_lines(db_url: str) -> None:
    r = CliRunner().invoke(cli, ["audit", "export", "--db", db_url])
    assert r.exit_code == 0
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) >= 9  # the import, six users, two tokens
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    assert lines[0]["prev_hash"] == audit.GENESIS
    for a, b in itertools.pairwise(lines):
        assert b["prev_hash"] == a["hash"]
    for e in lines:
        recomputed = audit.entry_hash(
            e["prev_hash"],
            e["seq"],
            e["at"],
            e["actor"],
            e["event_type"],
            e["subject"],
            audit.canonical(e["before"]),
            audit.canonical(e["after"]),
        )
        assert recomputed == e["hash"]
    assert {e["event_type"] for e in lines} >= {"election.imported", "user.created", "token.issued"}
