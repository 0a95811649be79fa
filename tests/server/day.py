"""Helpers for the voting-day tests that work on a database in process: filing a report as a
station would, and waiting for something another process does."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from abroad.ops.reports import StationReport
from abroad.server.db import Database
from abroad.server.models import Election
from abroad.server.services import live


def file_report(db: Database, station: str, cid: str, hhmm: str, **fields: Any) -> Any:
    """File a report of ``station`` taken at ``hhmm`` on the test election's day (17 March
    2024, New York time) with ``fields``; the stored report (``status``, ``reasons``)."""
    body = {"client_id": cid, "taken_at": f"2024-03-17T{hhmm}:00-04:00", **fields}
    with db.write() as s:
        e = s.scalar(select(Election))
        assert e is not None
        row, _ = live.submit_report(
            s, e, StationReport.model_validate({"station_id": station, **body}), "test"
        )
        return row


def wait_for(what: str, check: Any, seconds: float, every: float) -> Any:
    """Poll ``check`` every ``every`` seconds until it returns something true (returned), for
    at most ``seconds`` (an upper bound that stops a hung test, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}")
