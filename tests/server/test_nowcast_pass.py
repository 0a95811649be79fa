"""The nowcaster's batched pass: what it stores is exactly what the one-station refresh stores
(in the nowcaster's process or in its worker processes, same seeds), a report or a threshold
change arriving during a pass leaves the station stale for the next pass, and the workers
go when the nowcaster goes (told, or killed with ``kill -9``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from abroad.ops.reports import StationReport
from abroad.server.db import Database, upgrade
from abroad.server.models import Election, StationAlertRow, StationNowcastRow, StationReportRow
from abroad.server.services import alert_settings, live, nowcaster
from abroad.server.services.importer import import_scenario
from abroad.server.services.nowcast_pool import NowcastPool, chunk_sizes, default_workers

from scenario_factory import PLACES_CSV, SCENARIO_YAML, SITES_CSV, write_scenario
from server.day import file_report
from server.day import wait_for as poll

WAIT_SECONDS = 60.0
"""Upper bound on waits (stops a hung test; not a timing assertion)."""
ANNEX = "annex,Annex,venue,US,39.2904,-76.6122,America/New_York,true,true,3,8,0\n"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    folder = write_scenario(tmp_path / "annex", SCENARIO_YAML, SITES_CSV + ANNEX, PLACES_CSV)
    d = Database.open(f"sqlite:///{tmp_path / 'pass.db'}")
    upgrade(d)
    with d.write() as s:
        import_scenario(s, folder, "cli:setup")
    try:
        yield d
    finally:
        d.dispose()


@pytest.fixture
def pool() -> Iterator[NowcastPool]:
    p = NowcastPool(2)
    try:
        yield p
    finally:
        p.close()


def file(db: Database, station: str, cid: str, hhmm: str, **fields: Any) -> str:
    """File a report; its status (accepted or quarantined)."""
    return str(file_report(db, station, cid, hhmm, **fields).status)


def a_day(db: Database) -> None:
    """emb with a long line (alerts that need actions), annex and cg quieter."""
    assert file(db, "emb", "pass-0001", "08:05", people_in_line=250, processed=0) == "accepted"
    assert file(db, "emb", "pass-0002", "16:00", people_in_line=1200, processed=1000) == "accepted"
    assert file(db, "annex", "pass-0003", "15:50", people_in_line=5, processed=300) == "accepted"
    assert file(db, "cg", "pass-0004", "15:55", people_in_line=0, processed=100) == "accepted"


def stored(db: Database) -> dict[str, Any]:
    """Every station's stored nowcast and alerts (the computation's figures, not its time)."""
    with db.read() as s:
        rows = {
            r.station_key: (r.stale, r.reports_seen, r.result, r.error)
            for r in s.scalars(select(StationNowcastRow))
        }
        alerts: dict[str, list[Any]] = {}
        for a in s.scalars(select(StationAlertRow).order_by(StationAlertRow.kind)):
            alerts.setdefault(a.station_key, []).append(
                (a.kind, a.status, a.active, a.message, a.value, a.threshold, a.actions)
            )
    return {k: (row, alerts.get(k, [])) for k, row in rows.items()}


def all_stale(db: Database) -> None:
    with db.write() as s:
        s.execute(update(StationNowcastRow).values(stale=True))


def test_a_pass_in_the_workers_stores_what_the_one_station_refresh_stores(
    db: Database, pool: NowcastPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_day(db)
    for key in ("emb", "annex", "cg"):
        nowcaster.refresh(db, "tiny", key, defer_actions=True)
    one_by_one = stored(db)
    assert {k for k, (row, _) in one_by_one.items() if row[2] is not None} == {
        "emb",
        "annex",
        "cg",
    }
    assert one_by_one["emb"][0][2]["actions_pending"] is True
    assert {a[0] for a in one_by_one["emb"][1]} >= {"left_at_close", "wait_above_target"}

    all_stale(db)
    monkeypatch.setattr(nowcaster, "POOL_MIN_STATIONS", 2)  # three stations are enough here
    count, pending = nowcaster.refresh_nowcasts(db, pool=pool)
    assert count == 3
    assert len(pool.pids()) == 2
    assert pool.cpu_seconds > 0  # computed in the workers
    assert nowcaster.last_pass.worker_cpu_seconds == pool.cpu_seconds
    assert stored(db) == one_by_one
    assert [p.station_key for p in pending] == ["emb"]

    # the sequential pass (no pool) stores the same again
    all_stale(db)
    count, pending = nowcaster.refresh_nowcasts(db)
    assert count == 3 and stored(db) == one_by_one

    # the actions of a pooled pass (its replications rebuilt here) are those of a full
    # one-station recompute
    all_stale(db)
    _, pending = nowcaster.refresh_nowcasts(db, pool=pool)
    assert pending[0].given_cond is None
    assert nowcaster.finish_actions(db, pending[0])
    deferred = stored(db)
    assert all(a[6] for a in deferred["emb"][1])  # every emb alert has its actions
    nowcaster.refresh(db, "tiny", "emb")
    assert stored(db)["emb"] == deferred["emb"]


def test_a_report_arriving_during_a_pass_leaves_its_station_stale(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_day(db)
    # a quarantined report (processed going down) below emb's newest accepted id
    assert file(
        db, "emb", "pass-0005", "16:10", people_in_line=1210, processed=900, ballots_left=40
    ) == ("quarantined")
    assert file(db, "emb", "pass-0006", "16:30", people_in_line=1250, processed=1100) == (
        "accepted"
    )
    real = nowcaster.compute_station
    during: dict[str, Any] = {}

    def compute_then_report(spec: Any, task: Any, *args: Any) -> Any:
        out = real(spec, task, *args)
        if task.station_key in during:
            during.pop(task.station_key)()
        return out

    def late_report() -> None:
        assert file(db, "annex", "pass-0007", "16:10", people_in_line=9, processed=320) == (
            "accepted"
        )

    def accept_quarantined() -> None:  # an older id: the newest id does not change
        with db.write() as s:
            e = s.scalar(select(Election))
            row = s.scalar(
                select(StationReportRow).where(StationReportRow.client_id == "pass-0005")
            )
            assert e is not None and row is not None
            live.accept_quarantined(s, e, row, "admin")

    def new_thresholds() -> None:  # a change of thresholds marks every station stale
        with db.write() as s:
            e = s.scalar(select(Election))
            assert e is not None
            alert_settings.change(s, e, {"left_at_close_people": 5}, "admin")

    monkeypatch.setattr(nowcaster, "compute_station", compute_then_report)
    during.update(annex=late_report, emb=accept_quarantined)
    nowcaster.refresh_nowcasts(db)
    after = stored(db)
    assert after["annex"][0][0] is True  # stale: its new report is not in this nowcast
    assert after["emb"][0][0] is True  # stale: a report was accepted from quarantine
    assert after["cg"][0][0] is False
    assert after["annex"][0][2] is not None  # the nowcast computed is stored meanwhile
    # the next pass takes exactly the stale ones, and they are fresh after it
    count, _ = nowcaster.refresh_nowcasts(db)
    assert count == 2
    again = stored(db)
    assert not any(row[0] for row, _ in again.values())
    assert again["annex"][0][1] > after["annex"][0][1]  # the late report is seen now
    assert again["emb"][0][1] == after["emb"][0][1]  # same newest id, one report more
    assert again["emb"][0][2]["ballots"]["stock_now"] == 40  # its ballots count now

    during.update(cg=new_thresholds)
    all_stale(db)
    nowcaster.refresh_nowcasts(db)
    assert all(row[0] for row, _ in stored(db).values())  # judged with the old thresholds
    nowcaster.refresh_nowcasts(db)
    assert not any(row[0] for row, _ in stored(db).values())


def test_a_worker_lost_mid_pass_costs_nothing(
    db: Database, pool: NowcastPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_day(db)
    nowcaster.refresh_nowcasts(db)
    expected = stored(db)
    pool.start()
    victim = pool.pids()[0]
    os.kill(victim, signal.SIGKILL)
    wait_for("the worker to die", lambda: not _alive(victim))
    monkeypatch.setattr(pool, "start", lambda: None)  # not restarted before this pass
    all_stale(db)
    monkeypatch.setattr(nowcaster, "POOL_MIN_STATIONS", 2)
    count, _ = nowcaster.refresh_nowcasts(db, pool=pool)
    assert count == 3
    assert stored(db) == expected
    assert pool.pids() and victim not in pool.pids()
    monkeypatch.undo()
    pool.start()  # a new worker takes its place
    assert len(pool.pids()) == 2


def test_chunks_are_large_first_and_cover_every_station() -> None:
    for n in (1, 2, 3, 12, 300):
        sizes = chunk_sizes(n, 2)
        assert sum(sizes) == n
        assert sizes == sorted(sizes, reverse=True)
    assert chunk_sizes(300, 2)[0] == 75  # a quarter: the other worker takes the next
    assert chunk_sizes(300, 2)[-1] <= 2


def test_the_workers_go_with_the_nowcaster_even_after_kill_9(tmp_path: Path) -> None:
    script = (
        "import time\n"
        "from abroad.server.services.nowcast_pool import NowcastPool\n"
        "p = NowcastPool(2)\n"
        "p.start()\n"
        "print(*p.pids(), flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        pids = [int(x) for x in proc.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        wait_for("the workers to exit", lambda: not any(_alive(p) for p in pids))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    told = NowcastPool(2)
    told.start()
    pids = told.pids()
    told.close()
    assert not any(_alive(p) for p in pids)  # close() waits for them


def wait_for(what: str, check: Any) -> Any:
    return poll(what, check, WAIT_SECONDS, 0.1)


def _alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


MANY_YAML = """\
format_version: 1
name: many
description: Fourteen consulates, enough for the nowcaster's workers.
citizen_country: RU
election:
  name: Test election
  days:
    - {date: 2024-03-17, open: "08:00", close: "20:00"}
voters:
  table: places.csv
sites:
  table: sites.csv
service:
  checkin: {dist: lognormal, mean_minutes: 2.0, cv: 0.6}
  booth: {dist: exponential, mean_minutes: 3.0}
  patience: {dist: uniform, low_minutes: 30, high_minutes: 90}
policies:
  close_policy: hard_close
  staff_budget: 200
"""


def many_stations(folder: Path, n: int) -> Path:
    sites = [
        "site_id,name,kind,country,lat,lon,timezone,available,host_permits,max_desks,"
        "max_booths,staff_available"
    ]
    places = ["place_id,name,country,lat,lon,timezone,eligible_citizens"]
    for i in range(n):
        lat, lon = 30 + i * 1.1, -120 + i * 3.3
        sites.append(
            f"s{i:02d},Station {i},consulate,US,{lat},{lon},America/New_York,true,true,2,5,4"
        )
        places.append(f"p{i:02d},Place {i},US,{lat},{lon},America/New_York,{2000 + 300 * i}")
    return write_scenario(folder, MANY_YAML, "\n".join(sites) + "\n", "\n".join(places) + "\n")


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def test_the_server_nowcaster_uses_its_workers_and_leaves_no_orphans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real nowcaster process (as a server worker starts it) computes a pass of fourteen
    stations in its workers; killed with ``kill -9`` its workers go too, and a nowcaster
    stopped by its server stops its workers."""
    n = 14
    folder = many_stations(tmp_path / "many", n)
    url = f"sqlite:///{tmp_path / 'many.db'}"
    d = Database.open(url)
    try:
        upgrade(d)
        with d.write() as s:
            import_scenario(s, folder, "cli:setup")
            e = s.scalar(select(Election))
            assert e is not None
            for i in range(n):
                row, _ = live.submit_report(
                    s,
                    e,
                    StationReport.model_validate(
                        {
                            "station_id": f"s{i:02d}",
                            "client_id": f"many-{i:04d}",
                            "taken_at": "2024-03-17T14:00:00-04:00",
                            "people_in_line": 20 * i,
                            "processed": 100 + 40 * i,
                        }
                    ),
                    "test",
                )
                assert row.status == "accepted"
        monkeypatch.setenv("ABROAD_NOWCAST_WORKERS", "2")
        first = nowcaster.Nowcaster(url, tick_seconds=0.5)
        try:
            wait_for("every nowcast", lambda: not any(r[0][0] for r in stored(d).values()))
            assert all(r[0][2] is not None for r in stored(d).values())
            workers = wait_for(
                "the nowcaster's workers",
                lambda: [
                    p
                    for p in _children(first.process.pid)
                    if "nowcast_pool" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")
                ],
            )
            assert len(workers) == 2
            os.kill(first.process.pid, signal.SIGKILL)
            wait_for("the workers to exit", lambda: not any(_alive(p) for p in workers))
        finally:
            first.close()
        second = nowcaster.Nowcaster(url, tick_seconds=0.5)  # takes the lock over
        try:
            all_stale(d)
            wait_for("every nowcast again", lambda: not any(r[0][0] for r in stored(d).values()))
            workers = [p for p in _children(second.process.pid) if _alive(p)]
            assert workers
        finally:
            second.close()
        assert not any(_alive(p) for p in workers)
    finally:
        d.dispose()


def _day_batch(db: Database) -> tuple[nowcaster._Batch, nowcaster.ElectionModel]:
    """A day's reports, every nowcast fresh, then a pass's batch of the day's three stations
    read again (and its election model)."""
    a_day(db)
    nowcaster.refresh_nowcasts(db)
    with db.read() as s:
        e = s.scalar(select(Election))
        assert e is not None
        eid = e.id
    batch = nowcaster._read_batch(db, eid, ["emb", "annex", "cg"])
    assert batch is not None and batch.model is not None
    return batch, batch.model


def test_a_pass_left_early_does_not_leak_into_the_next(db: Database, pool: NowcastPool) -> None:
    batch, model = _day_batch(db)
    tasks = batch.tasks * 4  # twelve: several chunks in flight
    expected = {
        o.station_key: o.result
        for o in (
            nowcaster.compute_station(model.specs[t.site_key], t, batch.thresholds, model.planned)[
                0
            ]
            for t in batch.tasks
        )
    }
    chunks = pool.map(model.key, model.specs, batch.thresholds, tasks, model.planned)
    next(chunks)
    chunks.close()  # the caller gave up mid-pass (a failed store)
    got = [
        o
        for chunk in pool.map(model.key, model.specs, batch.thresholds, tasks, model.planned)
        for o in chunk
    ]
    assert len(got) == len(tasks)
    assert all(o.result == expected[o.station_key] for o in got)


def test_the_number_of_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABROAD_NOWCAST_WORKERS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("ABROAD_NOWCAST_WORKERS", "0")
    assert default_workers() == 0
    monkeypatch.setenv("ABROAD_NOWCAST_WORKERS", "many")  # ignored (logged): the cores
    assert default_workers() == min(len(os.sched_getaffinity(0)), 8)
    monkeypatch.delenv("ABROAD_NOWCAST_WORKERS")
    assert default_workers() == min(len(os.sched_getaffinity(0)), 8)


def test_workers_hold_several_elections_models(db: Database, pool: NowcastPool) -> None:
    batch, model = _day_batch(db)
    expected = {k: row[2] for k, (row, _) in stored(db).items()}
    keys = [("other", k) for k in range(5)] + [model.key]  # six models, four kept
    for key in keys:
        got = [
            o
            for chunk in pool.map(key, model.specs, batch.thresholds, batch.tasks, {})
            for o in chunk
        ]
        assert {o.station_key: o.result for o in got} == expected
    for w in pool._workers:
        assert w is not None and w.models == keys[-4:]
