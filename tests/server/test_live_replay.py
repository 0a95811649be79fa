"""``abroad replay`` against a real ``abroad serve`` on 127.0.0.1: every report stored once,
also when the server is killed (-9) in the middle of the replay and started again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from abroad.server.db import Database

from scenario_factory import write_scenario
from server.conftest import PASSWORD, Backend
from server.live_server import Served

WAIT_SECONDS = 180.0
"""Upper bound on waits (stops a hung test; not a timing assertion)."""


@pytest.fixture
def served(backends: dict[str, Backend]) -> Iterator[Served]:
    s = Served(backends["sqlite"].make_url()).start()
    try:
        yield s
    finally:
        s.stop()


def replay_cmd(scenario: Path, served: Served, *extra: str) -> list[str]:
    abroad = shutil.which("abroad", path=str(Path(sys.executable).parent))
    assert abroad is not None
    return [
        abroad,
        "replay",
        str(scenario),
        "--server",
        served.base,
        "--user",
        "admin",
        "--json",
        *extra,
    ]


ENV = {**os.environ, "ABROAD_PASSWORD": PASSWORD}


def stored(url: str) -> tuple[int, int]:
    """(rows, distinct client ids) of the stored reports."""
    db = Database.open(url)
    try:
        with db.read() as s:
            row = s.execute(
                text("SELECT count(*), count(DISTINCT client_id) FROM station_reports")
            ).one()
            return int(row[0]), int(row[1])
    finally:
        db.dispose()


def test_a_replayed_day_is_stored_exactly_once(tmp_path: Path, served: Served) -> None:
    scenario = write_scenario(tmp_path / "tiny")
    cmd = replay_cmd(
        scenario,
        served,
        "--speed",
        "100000",
        "--every",
        "60",
        "--out-of-order",
        "0.3",
        "--silent",
        "cg@15:00",
    )
    first = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=WAIT_SECONDS)
    assert first.returncode == 0, first.stderr
    tally = json.loads(first.stdout)
    # emb reports 08:00-21:00 hourly (14), cg 08:00-14:00 before falling silent (7)
    assert tally["reports"] == 21
    assert tally["stored"] == 21 and tally["duplicates"] == 0 and tally["refused"] == []
    assert stored(served.db_url) == (21, 21)
    # replaying the same day again stores nothing new
    again = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=WAIT_SECONDS)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["duplicates"] == 21
    assert stored(served.db_url) == (21, 21)


def test_kill_9_mid_replay_stores_acknowledged_reports_once(tmp_path: Path, served: Served) -> None:
    scenario = write_scenario(tmp_path / "tiny")
    # 08:00-21:00 every 15 minutes at 4,000x: about 12 s of reports
    cmd = replay_cmd(scenario, served, "--speed", "4000", "--every", "15")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while stored(served.db_url)[0] < 10:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        served.kill9()
        at_kill = stored(served.db_url)
        assert at_kill[0] == at_kill[1]
        time.sleep(1.0)  # the replay meets a dead server and retries
        served.start()
        out, err = proc.communicate(timeout=WAIT_SECONDS)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    tally = json.loads(out)
    total = tally["reports"]
    assert total == 53 + 49  # emb 08:00-21:00, cg 08:00-20:00, every 15 min
    assert tally["retries"] > 0
    assert tally["stored"] + tally["duplicates"] == total and tally["refused"] == []
    assert stored(served.db_url) == (total, total)
