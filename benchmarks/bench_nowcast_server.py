"""The nowcast on the server's path (issue 13): coverage as the API serves it, and speed.

**Coverage.** Simulated voting days are replayed into a real ``abroad serve`` (SQLite, on
127.0.0.1) with the replay's own machinery (``jobs.replay``: each station's day simulated
with the spec the server nowcasts with, read out as reports every hour from opening). Each
day is a fresh election (a copy of the bundled us-2024 example with the venues permitted:
17 stations, the three missions with door screening and the venues, hard close at 20:00),
and each station's day runs at a true intensity drawn from the nowcast's own prior
(Gamma(4, 4) times the plan; the replay's surge factor from opening). After the reports
up to each hour 09:00-19:00 are in, every station's nowcast is read from
``GET .../stations/KEY/nowcast`` (recomputed by the server when stale) and checked against
the day's truth: the people still in line at closing, and the time in line of a probe
voter with unlimited patience joining at that hour (the same day rerun with the probe
added, as bench_nowcast.py does). The same station-hours are nowcast in this process by the
pure core (``ops.nowcast.nowcast`` on the same present state, as many replications as the
server), so the two coverages are paired; bench_nowcast.py's own calibration run (its
typical station) is printed beside them.

**Speed.** A synthetic 300-station election (100 to 6,000 voters a station) is imported.
End to end: a running server (its nowcaster process and its workers) gets a burst of one
report per station at 14:00 (cold: the specs and the plan's curves are built then) and, once
the alerting stations' actions are done, another at 15:00 (warm); timed is how long until
every station's nowcast has seen its report, with the CPU the nowcaster and its workers
spent. Then, in this process, the nowcaster's own first pass (``refresh_nowcasts``: every
stale station's nowcast and alerts stored, actions pending) over all 300 stations with its
worker processes (cold once, then warm ``--rounds`` times) and without them, and one
station's ``refresh`` (best of 5; goal < 50 ms a station and < 2 s for the election),
against the peers measured in the same run on the same specs and states (the latest
reports): the pure-core nowcast, and the plain simulator running the station's whole day
(``simulate_station``) with as many replications. CPU time is printed beside wall time, with
the load average (the machine is shared).

    .venv/bin/python benchmarks/bench_nowcast_server.py               # full run (about 40 min)
    .venv/bin/python benchmarks/bench_nowcast_server.py --speed-only  # speed, 300 stations
    .venv/bin/python benchmarks/bench_nowcast_server.py --quick       # 100 stations, 1 day
    ... --actions   # also the alerting stations' actions (minutes)
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from sqlalchemy import select, update

from abroad.cli.replay import Client
from abroad.io.scenario import load_scenario
from abroad.jobs.replay import (
    ReplayOptions,
    StationDay,
    replay_specs,
    station_day,
    station_reports,
)
from abroad.ops.actions import extension_action, extension_action_bisect
from abroad.ops.alerts import AlertThresholds, evaluate_alerts
from abroad.ops.nowcast import (
    IntensityPrior,
    StationState,
    condition,
    nowcast,
    run,
    summarise,
)
from abroad.queueing import simulate_station
from abroad.server.db import Database, upgrade
from abroad.server.models import Election, Station, StationNowcastRow
from abroad.server.schemas import UserIn
from abroad.server.services import nowcaster
from abroad.server.services.accounts import create_user
from abroad.server.services.importer import import_scenario
from abroad.server.services.nowcast_pool import NowcastPool, default_workers

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "us-2024"
sys.path.insert(0, str(REPO / "benchmarks"))
import bench_nowcast  # noqa: E402

PASSWORD = "benchmark password"
HOURS = [540.0 + 60 * h for h in range(11)]  # 09:00 ... 19:00
START_SECONDS = 120.0
REPLICATIONS = nowcaster.REPLICATIONS


# ---------------------------------------------------------------- a server on 127.0.0.1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_db(url: str, folders: list[Path]) -> None:
    """Schema, each scenario folder imported, an admin."""
    db = Database.open(url)
    try:
        upgrade(db)
        with db.write() as s:
            for f in folders:
                import_scenario(s, f, "bench")
            create_user(s, UserIn(username="admin", password=PASSWORD, role="admin"), "bench")
    finally:
        db.dispose()


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str

    @classmethod
    def start(cls, url: str, nowcaster_process: bool) -> Server:
        port = _free_port()
        env = {**os.environ, "ABROAD_NOWCASTER": "1" if nowcaster_process else "0"}
        serve = ["serve", "--db", url, "--port", str(port)]
        proc = subprocess.Popen(
            [sys.executable, "-c", "from abroad.cli import main; main()", *serve],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    return cls(proc, base)
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)

    def client(self) -> Client:
        c = Client(self.base, None, "admin", timeout=120.0, password=PASSWORD)
        c.login()
        return c

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def post(client: Client, election: str, station: str, body: dict[str, Any]) -> int:
    """Post a report; its id."""
    status, answer = client.post(f"/api/elections/{election}/stations/{station}/reports", body)
    if status not in (200, 201) or answer.get("status") != "accepted":
        raise RuntimeError(f"report {body['client_id']} not accepted: {status} {answer}")
    return int(answer["id"])


# ---------------------------------------------------------------- coverage


def open_everything(folder: Path, name: str) -> Path:
    """A copy of the example named ``name`` with every venue permitted (the permissive-host
    variant's sites as the base): the three missions and the venues open."""
    folder.mkdir(parents=True)
    for f in EXAMPLE.iterdir():
        if f.is_file():
            shutil.copy(f, folder / f.name)
    text = (folder / "scenario.yaml").read_text(encoding="utf-8")
    (folder / "scenario.yaml").write_text(
        text.replace("name: us-2024", f"name: {name}", 1), encoding="utf-8"
    )
    lines = (folder / "sites.csv").read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    ih = head.index("host_permits")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[ih] = "true"
        out.append(",".join(cells))
    (folder / "sites.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    return folder


@dataclass
class Tally:
    """Hits of the 90 % intervals by hour (left at closing; wait of a joining probe)."""

    left: np.ndarray
    left_n: np.ndarray
    busy: np.ndarray
    busy_n: np.ndarray
    wait: np.ndarray
    wait_n: np.ndarray

    @classmethod
    def empty(cls) -> Tally:
        z = [np.zeros(len(HOURS)) for _ in range(6)]
        return cls(*z)

    def add(self, j: int, est: dict[str, Any], true_left: int, probe: float | None) -> None:
        left = est["left_in_line_at_close"]
        hit = left["ci_low"] <= true_left <= left["ci_high"]
        self.left[j] += hit
        self.left_n[j] += 1
        if true_left > 0 or left["ci_high"] > 0:
            self.busy[j] += hit
            self.busy_n[j] += 1
        if probe is not None:
            w = est["wait_minutes_now"]
            self.wait[j] += w["ci_low"] - 1e-9 <= probe <= w["ci_high"] + 1e-9
            self.wait_n[j] += 1


def _share(hits: float, n: float) -> str:
    return f"{hits / n:6.1%} (n={int(n):4d})" if n else "      -       "


def print_tallies(server: Tally, core: Tally) -> None:
    print(
        "    hour   left at closing              ... not trivially 0          "
        "wait if joining (served probes)"
    )
    print(
        "           server          core         server          core         server          core"
    )
    for j, h in enumerate(HOURS):
        print(
            f"    {int(h) // 60:02d}:00  "
            f"{_share(server.left[j], server.left_n[j])} {_share(core.left[j], core.left_n[j])} "
            f"{_share(server.busy[j], server.busy_n[j])} {_share(core.busy[j], core.busy_n[j])} "
            f"{_share(server.wait[j], server.wait_n[j])} {_share(core.wait[j], core.wait_n[j])}"
        )
    s, c = server, core
    print(
        f"    all    {_share(s.left.sum(), s.left_n.sum())} {_share(c.left.sum(), c.left_n.sum())} "
        f"{_share(s.busy.sum(), s.busy_n.sum())} {_share(c.busy.sum(), c.busy_n.sum())} "
        f"{_share(s.wait.sum(), s.wait_n.sum())} {_share(c.wait.sum(), c.wait_n.sum())}"
    )


def probe_wait(sd: StationDay, h: float, seed: int) -> float | None:
    """Time in the line of one more voter (unlimited patience) joining the true day at ``h``."""
    return bench_nowcast._probe_wait(sd.spec, sd.prepared, sd.inputs, h, seed)


def coverage(tmp: Path, days: int, seed: int) -> None:
    names = [f"bench-d{d}" for d in range(days)]
    folders = [open_everything(tmp / n, n) for n in names]
    url = f"sqlite:///{tmp / 'coverage.db'}"
    prepare_db(url, folders)
    sc = load_scenario(folders[0])
    prior = IntensityPrior()
    rng = np.random.default_rng(seed)
    server_t, core_t = Tally.empty(), Tally.empty()
    srv = Server.start(url, nowcaster_process=False)  # nowcasts recomputed on read
    t_api = t_core = 0.0
    n_stations = 0
    truth_left_pos = 0
    t0 = time.perf_counter()
    try:
        client = srv.client()
        for d, name in enumerate(names):
            base = ReplayOptions(every_minutes=60.0, seed=seed * 1000 + d)
            specs = replay_specs(sc, base)
            n_stations = len(specs)
            stations: list[Played] = []
            by_key = specs_by_key(specs)
            for sid, spec, st_seed in specs:
                theta = float(rng.gamma(prior.shape, 1.0 / prior.rate))
                opts = ReplayOptions(
                    every_minutes=60.0,
                    seed=base.seed,
                    surge_factor=theta,
                    surge_from_minute=0.0,
                )
                sd = station_day(spec, opts, st_seed)
                reps = station_reports(
                    str(sid),
                    spec,
                    sc.election.days[-1].date,
                    sc.site(sid).timezone,
                    opts,
                    st_seed,
                )
                true_left = sd.left_in_line_at_close()
                truth_left_pos += true_left > 0
                stations.append(
                    Played(str(sid), sd, {r.minute: r.body for r in reps}, true_left, st_seed)
                )
            for minute in [480.0, *HOURS]:
                for st in stations:
                    post(client, name, st.key, st.reports[minute])
                if minute not in HOURS:
                    continue
                j = HOURS.index(minute)
                for st in stations:
                    t = time.perf_counter()
                    status, out = client.get(f"/api/elections/{name}/stations/{st.key}/nowcast")
                    t_api += time.perf_counter() - t
                    if status != 200 or out["nowcast"] is None:
                        raise RuntimeError(f"{name}/{st.key} at {minute}: {status} {out}")
                    probe = probe_wait(st.day, minute, st.seed)
                    server_t.add(j, out["nowcast"], st.true_left, probe)
                    t = time.perf_counter()
                    nc = nowcast(
                        by_key[st.key],
                        state_of(minute, st.reports[minute]),
                        replications=REPLICATIONS,
                        seed=d * 10_000 + j,
                        prior=prior,
                    )
                    t_core += time.perf_counter() - t
                    core_t.add(j, nc.as_dict(), st.true_left, probe)
            print(f"    day {d + 1}/{days} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        srv.stop()
    n = days * n_stations * len(HOURS)
    print(
        f"  us-2024 with the venues permitted: {days} days x {n_stations} stations x {len(HOURS)} "
        f"hours, R={REPLICATIONS}, nominal 90 %; {truth_left_pos} station-days with people "
        f"left at closing; server {t_api / n * 1e3:.0f} ms a nowcast read (HTTP, recomputed), "
        f"pure core {t_core / n * 1e3:.0f} ms"
    )
    print_tallies(server_t, core_t)


def state_of(minute: float, body: dict[str, Any]) -> StationState:
    """The present state a report gives (the server reads the same fields)."""
    return StationState(
        now_minute=minute,
        people_in_line=int(body["people_in_line"]),
        processed_today=int(body["processed"]),
        working=tuple(dict(body["working"]).items()),
    )


@dataclass(frozen=True)
class Played:
    """One station's replayed day: its reports by minute and its truth."""

    key: str
    day: StationDay
    reports: dict[float, dict[str, Any]]
    true_left: int
    seed: int


def core_with_alerts(spec: Any, state: StationState, seed: int) -> int:
    """What ``nowcaster.refresh`` computes, without the database: the nowcast, then the alerts
    with their actions (each action simulated from the present state). How many alerts."""
    cond = condition(spec, state, REPLICATIONS, seed)
    nc = summarise(cond, run(cond))
    return len(evaluate_alerts(cond, nc, AlertThresholds(line_cap_people=spec.max_queue_outside)))


def specs_by_key(specs: list[tuple[Any, Any, int]]) -> dict[str, Any]:
    return {str(sid): spec for sid, spec, _ in specs}


# ---------------------------------------------------------------- speed, 300 stations

SCENARIO_300 = """\
format_version: 1
name: {name}
description: A synthetic election of 300 stations for the nowcast benchmark.
citizen_country: RU
election:
  name: Synthetic election
  days:
    - {{date: 2024-03-17, open: "08:00", close: "20:00"}}
voters:
  table: places.csv
sites:
  table: sites.csv
service:
  checkin: {{dist: lognormal, mean_minutes: 2.0, cv: 0.6}}
  booth: {{dist: lognormal, mean_minutes: 3.0, cv: 0.6}}
  security: {{service: {{dist: lognormal, mean_minutes: 0.45, cv: 0.3}}, servers: 1}}
  patience: {{dist: uniform, low_minutes: 60, high_minutes: 240}}
policies:
  close_policy: hard_close
  ballot_cap_per_station: null
  staff_budget: 5000
demand:
  base_turnout: 0.25
  decay: {{family: exponential, scale_km: 150}}
"""


def synthetic_300(folder: Path, n: int, name: str) -> Path:
    """``n`` consulates spread over the USA, each with one voter place at its door:
    100-6,000 voters a station (log-normal around 900), desks and booths for about its load."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    (folder / "scenario.yaml").write_text(SCENARIO_300.format(name=name), encoding="utf-8")
    sites = [
        "site_id,name,kind,country,lat,lon,timezone,available,host_permits,max_desks,"
        "max_booths,max_security_lanes,max_queue_outside,staff_available"
    ]
    places = ["place_id,name,country,lat,lon,timezone,eligible_citizens"]
    for i in range(n):
        voters = float(np.clip(rng.lognormal(math.log(900), 0.6), 100, 6000))
        lat, lon = float(rng.uniform(30, 47)), float(rng.uniform(-120, -72))
        desks = max(1, math.ceil(voters / 720 * 2.0 * rng.uniform(0.9, 1.4)))
        booths = max(1, math.ceil(voters / 720 * 3.0 * 1.3))
        lanes = max(1, math.ceil(voters / 720 * 0.45 * 1.5))
        sites.append(
            f"s{i:03d},Station {i},consulate,US,{lat:.4f},{lon:.4f},America/New_York,true,true,"
            f"{desks},{booths},{lanes},400,{desks + 4}"
        )
        places.append(
            f"p{i:03d},Place {i},US,{lat:.4f},{lon:.4f},America/New_York,{voters / 0.25:.0f}"
        )
    (folder / "sites.csv").write_text("\n".join(sites) + "\n", encoding="utf-8")
    (folder / "places.csv").write_text("\n".join(places) + "\n", encoding="utf-8")
    return folder


def _stale_all(db: Database, election_id: int) -> None:
    with db.write() as s:
        s.execute(
            update(StationNowcastRow)
            .where(StationNowcastRow.election_id == election_id)
            .values(stale=True)
        )


def _fresh_for(db: Database, election_id: int, ids: dict[str, int]) -> int:
    """Stations whose stored nowcast is fresh and has seen their report ``ids[key]``."""
    with db.read() as s:
        rows = s.execute(
            select(
                StationNowcastRow.station_key,
                StationNowcastRow.stale,
                StationNowcastRow.reports_seen,
            ).where(StationNowcastRow.election_id == election_id)
        ).all()
    return sum(1 for key, stale, seen in rows if not stale and seen >= ids.get(key, 1 << 62))


def _pending_actions(db: Database, election_id: int) -> int:
    with db.read() as s:
        rows = s.scalars(
            select(StationNowcastRow.result).where(StationNowcastRow.election_id == election_id)
        ).all()
    return sum(1 for r in rows if r and r.get(nowcaster.ACTIONS_PENDING))


def _tree_cpu(root: int) -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) of ``root``'s descendants by pid, with their command."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    stats: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parent[int(entry.name)] = int(fields[1])
        stats[int(entry.name)] = (cmd, (int(fields[11]) + int(fields[12])) / tick)
    out = {}
    for pid in stats:
        p = pid
        while p in parent and p != root and p > 1:
            p = parent[p]
        if p == root and pid != root:
            out[pid] = stats[pid]
    return out


def _nowcaster_cpu(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> float:
    """CPU seconds the nowcaster and its workers spent between two ``_tree_cpu``."""
    total = 0.0
    for pid, (cmd, cpu) in after.items():
        if "spawn_main" in cmd or "nowcast_pool" in cmd:
            total += cpu - before.get(pid, (cmd, 0.0))[1]
    return total


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


@dataclass(frozen=True)
class Burst:
    post_seconds: float
    fresh_after_first_seconds: float
    fresh_after_last_seconds: float
    nowcaster_cpu_seconds: float


def burst(
    srv: Server, db: Database, eid: int, name: str, bodies: dict[str, dict[str, Any]]
) -> Burst:
    """Post one report a station, then wait until every station's nowcast has seen it."""
    client = srv.client()
    assert srv.proc.pid is not None
    cpu0 = _tree_cpu(srv.proc.pid)
    ids: dict[str, int] = {}
    t0 = time.perf_counter()
    for key, body in bodies.items():
        ids[key] = post(client, name, key, body)
    t_post = time.perf_counter() - t0
    while _fresh_for(db, eid, ids) < len(ids):
        time.sleep(0.05)
        if time.perf_counter() - t0 > 600:
            raise RuntimeError("the nowcaster did not catch up in 10 minutes")
    t_fresh = time.perf_counter() - t0
    cpu = _nowcaster_cpu(cpu0, _tree_cpu(srv.proc.pid))
    return Burst(t_post, t_fresh, t_fresh - t_post, cpu)


@dataclass(frozen=True)
class Pass:
    wall: float
    cpu: float
    workers_cpu: float
    pending: int


def first_pass(db: Database, eid: int, n: int, pool: NowcastPool | None) -> Pass:
    """Every station stale, then one ``refresh_nowcasts``: every nowcast and its alerts stored."""
    _stale_all(db, eid)
    count, pending = nowcaster.refresh_nowcasts(db, pool=pool)
    assert count == n, count
    stats = nowcaster.last_pass
    return Pass(stats.wall_seconds, stats.cpu_seconds, stats.worker_cpu_seconds, len(pending))


def actions_peers(keys: list[str], by_key: dict[str, Any], states: dict[str, StationState]) -> None:
    """The pure core with the alerts' actions, and the extension action's one serve-everyone
    run and two confirming probes against the earlier bisection (same answers expected)."""
    t0, c0 = time.perf_counter(), time.process_time()
    alerting = 0
    for i, key in enumerate(keys):
        alerting += core_with_alerts(by_key[key], states[key], i) > 0
    t_alerts, c_alerts = time.perf_counter() - t0, time.process_time() - c0
    t_ext = t_bis = 0.0
    n_ext = same = within = 0
    for i, key in enumerate(keys):
        if states[key].people_in_line < 50:
            continue
        cond = condition(by_key[key], states[key], REPLICATIONS, i)
        if run(cond).left_in_line_at_close.mean() < 20:
            continue
        t0 = time.perf_counter()
        fast = extension_action(cond)
        t_ext += time.perf_counter() - t0
        t0 = time.perf_counter()
        slow = extension_action_bisect(cond)
        t_bis += time.perf_counter() - t0
        assert fast is not None and slow is not None
        n_ext += 1
        same += fast.minutes == slow.minutes
        within += abs((fast.minutes or 0) - (slow.minutes or 0)) <= 5
    print(
        f"    pure-core nowcast + alerts with simulated actions {t_alerts:.2f} s (CPU "
        f"{c_alerts:.2f}; {alerting} of {len(keys)} stations alert)"
    )
    if n_ext:
        print(
            f"    extension action on {n_ext} stations with a line left at closing: serve-"
            f"everyone read + confirmation {t_ext:.2f} s, bisection {t_bis:.2f} s (ratio "
            f"{t_ext / t_bis:.2f}); same minutes {same}/{n_ext}, within one step {within}/{n_ext}"
        )


def _median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def speed(tmp: Path, n: int, rounds: int, actions: bool) -> None:
    name = "bench-300"
    folder = synthetic_300(tmp / name, n, name)
    url = f"sqlite:///{tmp / 'speed.db'}"
    t = time.perf_counter()
    prepare_db(url, [folder])
    print(f"  {n} stations imported in {time.perf_counter() - t:.1f} s; load average {_load()}")
    sc = load_scenario(folder)
    opts = ReplayOptions(every_minutes=60.0, seed=7)
    specs = replay_specs(sc, opts)
    states: dict[str, StationState] = {}
    bodies: dict[float, dict[str, dict[str, Any]]] = {840.0: {}, 900.0: {}}
    for sid, spec, st_seed in specs:
        reps = station_reports(
            str(sid), spec, sc.election.days[-1].date, "America/New_York", opts, st_seed
        )
        at = {r.minute: r for r in reps}
        for minute in bodies:
            bodies[minute][str(sid)] = at[minute].body
        states[str(sid)] = state_of(900.0, at[900.0].body)  # 15:00, the latest reports
    lines = sorted(s.people_in_line for s in states.values())
    workers = default_workers()
    print(
        f"  reports at 14:00, then at 15:00: people in line per station at 15:00 median "
        f"{lines[len(lines) // 2]}, "
        f"max {lines[-1]}; R={REPLICATIONS} (the server's); {workers} nowcast workers "
        f"({os.cpu_count()} cores)"
    )

    db = Database.open(url)
    try:
        with db.read() as s:
            e = s.scalar(select(Election).where(Election.election_key == name))
            assert e is not None
            eid = e.id
            keys = [
                st.station_key
                for st in s.scalars(select(Station).where(Station.election_id == eid))
            ]

        # end to end: bursts of one report a station into a running server; its nowcaster
        # process (and its workers) make every nowcast fresh
        srv = Server.start(url, nowcaster_process=True)
        try:
            cold = burst(srv, db, eid, name, bodies[840.0])
            t0 = time.perf_counter()
            while _pending_actions(db, eid) and time.perf_counter() - t0 < 600:
                time.sleep(1.0)  # the alerting stations' actions, one station at a time
            t_actions = time.perf_counter() - t0
            warm = burst(srv, db, eid, name, bodies[900.0])
        finally:
            srv.stop()
        for label, b in (("cold: specs and plan curves built", cold), ("warm", warm)):
            print(
                f"  end to end, server + its nowcaster ({label}): {n} reports posted in "
                f"{b.post_seconds:.1f} s; every nowcast fresh {b.fresh_after_first_seconds:.1f} s "
                f"after the first post, {b.fresh_after_last_seconds:.1f} s after the last; "
                f"nowcaster + workers CPU {b.nowcaster_cpu_seconds:.1f} s"
            )
        print(f"    (between the bursts, the actions of the alerting stations: {t_actions:.0f} s)")

        # the nowcaster's own functions in this process, on the same database
        pool = NowcastPool(workers)
        try:
            nowcaster._specs.clear()
            cold_pass = first_pass(db, eid, n, pool)
            passes = [first_pass(db, eid, n, pool) for _ in range(rounds)]
        finally:
            pool.close()
        sequential = first_pass(db, eid, n, None)
        if actions:
            _stale_all(db, eid)
            _, pending = nowcaster.refresh_nowcasts(db)
            t0, c0 = time.perf_counter(), time.process_time()
            for p in pending:
                nowcaster.finish_actions(db, p)
            t_acts, c_acts = time.perf_counter() - t0, time.process_time() - c0
        biggest = max(keys, key=lambda k: states[k].people_in_line)
        typical = sorted(keys, key=lambda k: states[k].people_in_line)[len(keys) // 2]
        # one station: its nowcast and alerts stored (actions deferred), and as an API read
        # of a stale nowcast recomputes it (alerts with their actions)
        one: dict[tuple[str, bool], tuple[float, float]] = {}
        for key in (typical, biggest):
            for defer in (True, False):
                one_wall = one_cpu = math.inf
                for _ in range(5):
                    t0, c0 = time.perf_counter(), time.process_time()
                    nowcaster.refresh(db, name, key, defer_actions=defer)
                    one_wall = min(one_wall, time.perf_counter() - t0)
                    one_cpu = min(one_cpu, time.process_time() - c0)
                one[key, defer] = (one_wall, one_cpu)
    finally:
        db.dispose()

    # peers on the same specs and states, in this process
    by_key = specs_by_key(specs)
    for key in keys[:3]:  # compile / warm
        nowcast(by_key[key], states[key], replications=3)
        simulate_station(by_key[key], replications=3)
    t0, c0 = time.perf_counter(), time.process_time()
    for i, key in enumerate(keys):
        nowcast(by_key[key], states[key], replications=REPLICATIONS, seed=i)
    t_core, c_core = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    for i, key in enumerate(keys):
        simulate_station(by_key[key], replications=REPLICATIONS, seed=i)
    t_sim, c_sim = time.perf_counter() - t0, time.process_time() - c0
    if actions:
        actions_peers(keys, by_key, states)

    best = min(passes, key=lambda p: p.wall)
    med_wall = _median([p.wall for p in passes])
    print(
        f"  first pass, all {n} stations (nowcaster.refresh_nowcasts: reports read, nowcast, "
        f"alerts stored; actions pending for {best.pending}), {workers} workers: warm best "
        f"{best.wall:.2f} s wall (CPU {best.cpu:.2f}: workers {best.workers_cpu:.2f}, nowcaster "
        f"{best.cpu - best.workers_cpu:.2f}), median of {rounds} {med_wall:.2f} s; cold (specs "
        f"and plan curves built) {cold_pass.wall:.2f} s (CPU {cold_pass.cpu:.2f}); goal < 2 s"
    )
    print(
        f"    the same pass without workers (in the nowcaster's process): {sequential.wall:.2f} s "
        f"wall (CPU {sequential.cpu:.2f})"
    )
    print(
        f"    peers in this process, one core: pure-core nowcast (ops.nowcast) {t_core:.2f} s "
        f"(CPU {c_core:.2f}); plain whole-day simulation {t_sim:.2f} s (CPU {c_sim:.2f})"
    )
    print(
        f"    ratios: first pass with workers / pure core {best.wall / t_core:.2f} (CPU "
        f"{best.cpu / c_core:.2f}); without workers / pure core {sequential.wall / t_core:.2f}; "
        f"pure core / plain simulation {t_core / t_sim:.2f}"
    )
    if actions:
        print(
            f"    then the actions of the {best.pending} alerting stations, one at a time: "
            f"{t_acts:.2f} s (CPU {c_acts:.2f})"
        )
    for label, key in (("typical", typical), ("largest line", biggest)):
        (w, c), (w_all, c_all) = one[key, True], one[key, False]
        print(
            f"  one station ({label}, {states[key].people_in_line} in line), best of 5: nowcast "
            f"and alerts stored {w * 1e3:.1f} ms (CPU {c * 1e3:.1f}), goal < 50 ms; with the "
            f"alerts' actions (an API read of a stale nowcast) {w_all * 1e3:.1f} ms (CPU "
            f"{c_all * 1e3:.1f})"
        )
    print(f"  load average at the end {_load()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller runs for development")
    ap.add_argument("--days", type=int, default=None, help="simulated days (elections)")
    ap.add_argument("--stations", type=int, default=None, help="default 300 (--quick: 100)")
    ap.add_argument("--skip-coverage", action="store_true")
    ap.add_argument("--speed-only", action="store_true", help="the speed part only")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument(
        "--actions",
        action="store_true",
        help="also time the actions of the alerting stations (minutes)",
    )
    ap.add_argument("--rounds", type=int, default=5, help="warm first passes timed")
    args = ap.parse_args()
    days = args.days or (1 if args.quick else 8)
    n_stations = args.stations or (100 if args.quick else 300)
    tmp = Path(tempfile.mkdtemp(prefix="abroad-bench-nowcast-"))
    try:
        if not args.skip_speed:
            print(f"speed: every station of a {n_stations}-station election at 14:00")
            speed(tmp, n_stations, args.rounds, args.actions)
        if not (args.skip_coverage or args.speed_only):
            print("coverage of the 90 % intervals, as served by the API and by the pure core:")
            coverage(tmp, days, seed=11)
            print("bench_nowcast.py's pure-core calibration in the same run (its typical station):")
            bench_nowcast.coverage(
                bench_nowcast.typical(1100, tight=1.0),
                40 if args.quick else 150,
                100,
                "typical station, tight desks",
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
