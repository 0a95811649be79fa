"""One nowcaster per database, however many uvicorn workers: a real ``abroad serve --workers
2`` starts two candidates, one holds the lock and beats, the other takes over when the
first one's worker is killed."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from abroad.server.db import Database
from abroad.server.models import NowcasterBeat
from abroad.server.services.nowcaster import LeaderLock

from server.conftest import Backend
from server.day import wait_for as poll
from server.live_server import Served

WAIT_SECONDS = 120.0
"""Upper bound on waits (stops a hung test; not a timing assertion)."""


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def candidates(served: Served) -> dict[int, int]:
    """Nowcaster candidate pid -> its worker's pid (spawned children of the workers)."""
    assert served.proc is not None
    out = {}
    for worker in _children(served.proc.pid):
        for child in _children(worker):
            if "spawn_main" in _cmdline(child):
                out[child] = worker
    return out


def the_beat(url: str) -> tuple[int, int] | None:
    db = Database.open(url)
    try:
        with db.read() as s:
            row = s.get(NowcasterBeat, "nowcaster")
            return None if row is None else (row.pid, row.passes)
    finally:
        db.dispose()


def wait_for(what: str, check: Any) -> Any:
    return poll(what, check, WAIT_SECONDS, 0.3)


@pytest.fixture
def served(backend: Backend) -> Iterator[Served]:
    s = Served(backend.make_url(), workers=2).start()
    try:
        yield s
    finally:
        s.stop()


def test_two_workers_run_exactly_one_nowcaster(served: Served) -> None:
    both = wait_for(
        "a candidate in each worker", lambda: (c := candidates(served)) and len(c) == 2 and c
    )
    assert len(set(both.values())) == 2  # one candidate per worker

    first = wait_for("a heartbeat", lambda: the_beat(served.db_url))
    leader = first[0]
    assert leader in both
    # it keeps beating, and no other process takes the heartbeat while it lives
    later = wait_for(
        "three more passes", lambda: (b := the_beat(served.db_url)) and b[1] >= first[1] + 3 and b
    )
    assert later[0] == leader
    # the lock is held: a third candidate cannot take it
    db = Database.open(served.db_url)
    third = LeaderLock(db)
    try:
        assert third.acquire() is False
    finally:
        third.release()
        db.dispose()

    # kill -9 the leader's worker: its nowcaster goes with it and another candidate takes
    # over: the surviving worker's, or that of a worker the server respawned meanwhile
    os.kill(both[leader], signal.SIGKILL)
    wait_for("the old leader to exit", lambda: not _alive(leader))
    taken = wait_for(
        "another candidate to take over",
        lambda: (b := the_beat(served.db_url)) and b[0] != leader and b,
    )
    assert taken[0] in candidates(served)  # a live candidate of this server
    assert both[leader] not in candidates(served).values()  # none under the killed worker


def _alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
