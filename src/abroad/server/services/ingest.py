"""Group commit of station reports: one writer stores what many requests hand over.

A request validates its report at the edge, hands it to the ``Ingest`` writer and waits for
the answer. The writer is one thread: it takes every report waiting in its queue (up to
``max_batch``), stores them in order in one write transaction (``live.submit_reports``:
the checks, the rows, their audit entries chained in that order, the stations' nowcasts
marked stale) and commits; only then does it answer each request. An acknowledged report
(``201`` or ``200``) is therefore committed with its audit entry, as with one transaction
per request, but a burst of reports costs one transaction, one read of the chain's head and
one commit instead of one each, and the requests no longer queue on the database's write
lock (SQLite's busy wait, PostgreSQL's advisory lock).

There is no waiting for a batch to fill: a lone report is written at once, and the reports
that arrive while a batch commits form the next one. A batch that fails as a whole (a
database error) is retried one report per transaction, so that one bad report fails alone.
Several server workers each have their own writer; their transactions are serialised by
the database's write lock as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select

from abroad.ops.reports import StationReport
from abroad.server.db import Database
from abroad.server.models import Election
from abroad.server.services import live

log = logging.getLogger(__name__)

MAX_BATCH = 256
"""Reports stored per transaction at most."""
ELECTIONS = select(Election.id, Election.election_key).where(
    Election.election_key.in_(bindparam("keys", expanding=True))
)


class UnknownElection(LookupError):
    """The report names an election the server does not know."""


@dataclass(frozen=True)
class Stored:
    """A filing's answer: the stored report and whether the filing was a resubmission."""

    out: live.ReportOut
    duplicate: bool


@dataclass
class _Item:
    election_key: str
    report: StationReport
    actor: str
    future: Future[Stored] = field(default_factory=Future)
    """The answer for a caller on a thread (``submit``)."""
    waiter: asyncio.Future[Stored] | None = None
    """The answer for a caller in an event loop (``file``): set in that loop."""


def _settle(answers: list[tuple[asyncio.Future[Stored], Stored | BaseException]]) -> None:
    """Answer a batch's waiters of one event loop (run in that loop)."""
    for waiter, answer in answers:
        if waiter.done():  # the request went away
            continue
        if isinstance(answer, BaseException):
            waiter.set_exception(answer)
        else:
            waiter.set_result(answer)


def store(db: Database, items: list[tuple[str, StationReport, str]]) -> list[Stored | Exception]:
    """Store reports in one write transaction, in order; each answer, or the exception
    (``live.Conflict``, ``UnknownElection``) that refuses that report alone."""
    answers: list[Stored | Exception] = []
    with db.write_connection() as conn:
        keys = sorted({k for k, _, _ in items})
        elections = {
            key: live.ElectionRef(eid, key) for eid, key in conn.execute(ELECTIONS, {"keys": keys})
        }
        filed: list[live.Filed] = []
        places: list[int | Exception] = []
        for key, report, actor in items:
            election = elections.get(key)
            if election is None:
                places.append(UnknownElection(f"no election {key!r}"))
            else:
                places.append(len(filed))
                filed.append(live.Filed(election, report, actor))
        outcomes = live.submit_reports(conn, filed)
        for place in places:
            if isinstance(place, Exception):
                answers.append(place)
                continue
            outcome = outcomes[place]
            if isinstance(outcome, live.Conflict):
                answers.append(outcome)
            else:
                row, duplicate = outcome
                answers.append(Stored(live.report_out(row, duplicate), duplicate))
    return answers  # committed: the ``with`` block above has ended


class Ingest:
    """The group-commit writer of one server process (a daemon thread started on first use).

    ``enabled=False`` stores each report in its own transaction on the caller's thread (the
    path before group commit; kept for the benchmark's comparison)."""

    def __init__(
        self,
        db: Database,
        *,
        enabled: bool = True,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.db = db
        self.enabled = enabled
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.batches = 0
        """Transactions written so far (for tests and the benchmark)."""

    def submit(self, election_key: str, report: StationReport, actor: str) -> Future[Stored]:
        """Hand a validated report over; the future resolves once it is committed (or with
        the exception that refuses it)."""
        item = _Item(election_key, report, actor)
        if not self.enabled:
            self._write([item])
            return item.future
        self._put(item)
        return item.future

    def _put(self, item: _Item) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the report writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="abroad-ingest", daemon=True)
                self._thread.start()
            self._queue.put(item)

    def file(self, election_key: str, report: StationReport, actor: str) -> asyncio.Future[Stored]:
        """``submit`` for a caller in an event loop: the writer answers each batch's callers
        with one call into their loop (not one wake-up per report)."""
        waiter: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        item = _Item(election_key, report, actor, waiter=waiter)
        if self.enabled:
            self._put(item)
        else:
            self._write([item])  # on the caller's thread (the comparison path)
        return waiter

    def close(self) -> None:
        """Write what is queued, then stop the writer."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        # a request that went away (its future cancelled) still has its report stored: the
        # client did not hear back and will resend it, which answers as a duplicate
        waiting = [i.waiter is not None or i.future.set_running_or_notify_cancel() for i in batch]
        self._store(batch, waiting)

    def _store(self, batch: list[_Item], waiting: list[bool]) -> None:
        try:
            answers: list[Stored | Exception] = store(
                self.db, [(i.election_key, i.report, i.actor) for i in batch]
            )
        except Exception as exc:
            if len(batch) > 1:
                log.warning(
                    "a batch of %d reports failed (%s); storing one by one", len(batch), exc
                )
                for item, wait in zip(batch, waiting, strict=True):
                    self._store([item], [wait])
                return
            answers = [exc]
        else:
            self.batches += 1
        loops: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Stored], Any]]] = {}
        for item, wait, answer in zip(batch, waiting, answers, strict=True):
            if not wait:
                continue
            if item.waiter is not None:
                loops.setdefault(item.waiter.get_loop(), []).append((item.waiter, answer))
            elif isinstance(answer, Exception):
                item.future.set_exception(answer)
            else:
                item.future.set_result(answer)
        for loop, settled in loops.items():
            # RuntimeError: the loop has closed, nobody is waiting any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, settled)
