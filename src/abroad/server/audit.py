"""The append-only, hash-chained audit log.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical JSON
(sorted keys, no spaces). Appends happen inside the caller's write transaction, which holds
the database's write lock (see ``db.Database.write``), so the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event, insert, select
from sqlalchemy.orm import Session

from abroad.server.events import CATALOGUE, EventType
from abroad.server.models import AuditEntry

GENESIS = "0" * 64
HEAD = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
"""The chain's last entry (built once)."""
INSERT = insert(AuditEntry)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    prev_hash: str,
    seq: int,
    at: str,
    actor: str,
    event_type: str,
    subject: str,
    before: str,
    after: str,
) -> str:
    body = canonical(
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "event_type": event_type,
            "subject": subject,
            "before": before,
            "after": after,
        }
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


class Chain:
    """Appends entries to the chain within one write transaction, reading the chain's head
    once: a batch of entries (a group commit of station reports) costs one look-up.

    Use one ``Chain`` per transaction for every entry of that transaction: after an entry
    appended by other means the chain's next entry would reuse a sequence number, which is
    the table's key, so the transaction would fail rather than fork the chain.

    ``append`` adds an ORM entry to the session; ``add`` keeps the entry as a row that
    ``write`` inserts with the others in one statement (a batch of station reports): on a
    session at the latest when it commits, on a bare connection (SQLAlchemy Core) when the
    caller calls ``write`` before its transaction ends."""

    def __init__(self, session: Session | Connection) -> None:
        self.session = session
        self._head: tuple[int, str] | None = None
        self._rows: list[dict[str, Any]] = []

    def _connection(self) -> Connection:
        s = self.session
        return s.connection() if isinstance(s, Session) else s

    def _link(
        self, actor: str, event_type: EventType, subject: str, before: Any, after: Any
    ) -> dict[str, Any]:
        if event_type not in CATALOGUE:
            raise ValueError(f"undeclared audit event {event_type!r}")
        if self._head is None:
            if isinstance(self.session, Session):
                self.session.flush()  # entries appended through the ORM come first
            last = self._connection().execute(HEAD).first()
            self._head = (0, GENESIS) if last is None else (last[0], last[1])
        seq, prev = self._head[0] + 1, self._head[1]
        at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        b, a = canonical(before), canonical(after)
        digest = entry_hash(prev, seq, at, actor, event_type.value, subject, b, a)
        self._head = (seq, digest)
        return {
            "seq": seq,
            "at": at,
            "actor": actor,
            "event_type": event_type.value,
            "subject": subject,
            "before": b,
            "after": a,
            "prev_hash": prev,
            "hash": digest,
        }

    def append(
        self,
        actor: str,
        event: EventType,
        subject: str,
        *,
        before: Any = None,
        after: Any = None,
    ) -> AuditEntry:
        """Add one entry at the end of the chain (committed with the caller's work)."""
        if not isinstance(self.session, Session):
            raise TypeError("Chain.append needs an ORM session; use add and write")
        entry = AuditEntry(**self._link(actor, event, subject, before, after))
        self.session.add(entry)
        return entry

    def add(
        self,
        actor: str,
        event_type: EventType,
        subject: str,
        *,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """Add one entry at the end of the chain, written by ``write`` (or at the commit)."""
        row = self._link(actor, event_type, subject, before, after)
        if not self._rows and isinstance(self.session, Session):
            event.listen(self.session, "before_commit", self._written, once=True)
        self._rows.append(row)

    def write(self) -> None:
        """Insert the entries kept by ``add`` (one statement for all of them)."""
        if self._rows:
            rows, self._rows = self._rows, []
            self._connection().execute(INSERT, rows)

    def _written(self, _session: Session) -> None:
        self.write()


def append(
    session: Session,
    actor: str,
    event: EventType,
    subject: str,
    *,
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Add one entry at the end of the chain (flushed, committed with the caller's work)."""
    entry = Chain(session).append(actor, event, subject, before=before, after=after)
    session.flush()
    return entry


@dataclass(frozen=True)
class Verification:
    entries: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def _entries(session: Session) -> Iterator[AuditEntry]:
    yield from session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(1000)


def verify(session: Session, expect_head: str | None = None) -> Verification:
    """Recompute the chain; report the first entry whose link or content does not hold."""
    prev = GENESIS
    count = 0
    for e in _entries(session):
        count += 1
        if e.seq != count:
            return Verification(
                count - 1, prev, e.seq, f"entry {e.seq} follows entry {count - 1}: entries missing"
            )
        if e.prev_hash != prev:
            return Verification(
                count - 1,
                prev,
                e.seq,
                f"entry {e.seq} does not name the previous entry's hash "
                "(an entry before it was deleted, inserted or reordered)",
            )
        if e.event_type not in {t.value for t in EventType}:
            return Verification(count - 1, prev, e.seq, f"entry {e.seq}: unknown event type")
        h = entry_hash(
            e.prev_hash, e.seq, e.at, e.actor, e.event_type, e.subject, e.before, e.after
        )
        if h != e.hash:
            return Verification(
                count - 1, prev, e.seq, f"entry {e.seq}: content does not match its hash (edited)"
            )
        prev = e.hash
    if expect_head is not None and prev != expect_head:
        return Verification(
            count,
            prev,
            count + 1,
            f"the chain ends at entry {count} with hash {prev[:12]}…, not at the expected head "
            f"{expect_head[:12]}… (entries at the end were removed)",
        )
    return Verification(count, prev)


def entry_dict(e: AuditEntry) -> dict[str, Any]:
    """An entry as data, with its before and after parsed."""
    return {
        "seq": e.seq,
        "at": e.at,
        "actor": e.actor,
        "event_type": e.event_type,
        "subject": e.subject,
        "before": json.loads(e.before),
        "after": json.loads(e.after),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def export_lines(session: Session) -> Iterator[str]:
    """Every entry as one JSON object per line, oldest first."""
    for e in _entries(session):
        yield canonical(entry_dict(e))
