"""Sustained station-report ingest: p50/p99 latency by offered rate, and where it falls behind.

Starts a real ``abroad serve`` (one worker) on the bundled us-2024 example, on SQLite and on
PostgreSQL (Debian's 15 in a temporary directory, as the tests start it), and drives it from an
open-loop load generator on 127.0.0.1: one asyncio process that sends each report at its
scheduled time over a pool of keep-alive HTTP/1.1 connections (a new connection when none is
free), one report per request, reports spread over every station and over the day, with a
``processed`` count that rises with the time taken (so the consistency check compares each
report with its neighbours in time, and out-of-order arrivals are consistent). Latency is
measured from each report's scheduled send time, so a server that falls behind shows it in
the latency (no coordinated omission).

A rate "falls behind" when the reports acknowledged per second are under 95 % of the offered
rate or its p99 is over 100 ms; each configuration steps up until under 80 %. The server is
measured with group commit (the default) and, with ``--compare``, without it (one write
transaction per report: the path before group commit) in the same run, on the same machine.
The nowcaster process is off by default (``--nowcaster`` adds a run with it: it recomputes
every stale station every 2 s and competes for the same cores).

Besides latency it prints the server's CPU time per report (from /proc: user + system of the
server process) and the load generator's, since the load generator shares the machine's
cores with the server and, on a shared machine, other work does too (the load average is
printed with each configuration).

    python benchmarks/bench_ingest.py [--rates 50,100,200,500,800] [--seconds 8] [--compare]
        [--backends sqlite,postgresql] [--nowcaster] [--bulk N]

``--bulk N`` sends the same reports as bulk filings (``…/reports/bulk``, up to N reports of
one station per request, as an offline device flushes its queue); the offered rate stays in
reports a second and each report's latency is its request's.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from sqlalchemy import select  # noqa: E402

from abroad.server.db import Database  # noqa: E402
from abroad.server.models import Election, Station  # noqa: E402
from bench_api import PASSWORD, prepare, serve  # noqa: E402

from server.pg import Cluster, unavailable_reason  # noqa: E402

P99_LIMIT_MS = 100.0
ELECTION = "us-2024"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def stations(url: str) -> list[tuple[str, str, str]]:
    """(station key, time zone, last voting day's date) of every station."""
    db = Database.open(url)
    try:
        with db.read() as s:
            e = s.scalar(select(Election).where(Election.election_key == ELECTION))
            assert e is not None
            rows = s.scalars(select(Station).where(Station.election_id == e.id))
            return [(r.station_key, r.timezone, r.days[-1]["date"]) for r in rows]
    finally:
        db.dispose()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def login(base: str) -> tuple[str, str]:
    """(session cookie header, CSRF token) of the admin."""
    import httpx2

    with httpx2.Client(base_url=base, timeout=60) as c:
        r = c.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        assert r.status_code == 200, r.text
        cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
        return cookie, r.json()["csrf_token"]


def bodies(sts: list[tuple[str, str, str]], n: int, run: int) -> list[tuple[str, bytes]]:
    """n (path, JSON body) reports: station by station in turn, times spread over the day
    in a scrambled order, processed rising with the time taken."""
    out = []
    for k in range(n):
        key, zone, date = sts[k % len(sts)]
        minute = 8 * 60 + (k * 7919 + run * 104_729) % (12 * 60)
        taken = dt.datetime.combine(
            dt.date.fromisoformat(date), dt.time(0), ZoneInfo(zone)
        ) + dt.timedelta(minutes=minute)
        body = {
            "client_id": f"bench-{run}-{k:07d}",
            "taken_at": taken.isoformat(),
            "people_in_line": 40 + k % 200,
            "processed": 3 * (minute - 8 * 60),
        }
        out.append((f"/api/elections/{ELECTION}/stations/{key}/reports", json.dumps(body).encode()))
    return out


async def _drive(
    port: int, cookie: str, csrf: str, reports: list[tuple[str, bytes]], rate: float
) -> list[float]:
    """Send each report at its scheduled time; latencies from the schedule (NaN: failed)."""
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    head = (
        f"Host: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n"
    )
    lat = [float("nan")] * len(reports)
    failures: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2

    async def exchange(
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> int:
        reader, writer = conn
        writer.write(request)
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("closed by the server")
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return int(status_line.split()[1])

    async def one(i: int, due: float) -> None:
        path, body = reports[i]
        request = (
            f"POST {path} HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        reused = bool(idle)
        conn = idle.pop() if idle else await asyncio.open_connection("127.0.0.1", port)
        try:
            status = await exchange(conn, request)
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError) as exc:
            conn[1].close()
            if not reused:
                failures[type(exc).__name__] += 1
                return
            # a kept-alive connection the server closed while idle (its keep-alive timeout):
            # send again on a new one, as HTTP clients do (the client id makes it idempotent)
            conn = await asyncio.open_connection("127.0.0.1", port)
            try:
                status = await exchange(conn, request)
            except (OSError, asyncio.IncompleteReadError, IndexError, ValueError) as again:
                conn[1].close()
                failures[type(again).__name__] += 1
                return
        idle.append(conn)
        if status in (200, 201):
            lat[i] = loop.time() - due
        else:
            failures[f"HTTP {status}"] += 1

    tasks = []
    for i in range(len(reports)):
        due = start + i / rate
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    if failures:
        print(f"    failed requests: {dict(failures)}", flush=True)
    return lat


def _generator(
    args: tuple[int, str, str, list[tuple[str, bytes]], float],
) -> tuple[list[float], float]:
    """The load generator process: latencies and its own CPU seconds."""
    port, cookie, csrf, reports, rate = args
    t = time.process_time()
    lat = asyncio.run(_drive(port, cookie, csrf, reports, rate))
    return lat, time.process_time() - t


def bulked(reports: list[tuple[str, bytes]], n: int) -> list[tuple[str, bytes, int]]:
    """The reports as bulk filings of up to n reports of one station each (path, body, count),
    in the order their last report comes."""
    pending: dict[str, list[bytes]] = {}
    out: list[tuple[str, bytes, int]] = []

    def flush(path: str) -> None:
        group = pending.pop(path)
        out.append((path + "/bulk", b'{"reports":[' + b",".join(group) + b"]}", len(group)))

    for path, body in reports:
        pending.setdefault(path, []).append(body)
        if len(pending[path]) == n:
            flush(path)
    for path in list(pending):
        flush(path)
    return out


def step(
    proc_pid: int,
    base: str,
    sts: list[tuple[str, str, str]],
    rate: float,
    seconds: float,
    run: int,
    bulk: int = 1,
) -> dict[str, float]:
    """One offered rate (reports a second); with ``bulk`` > 1 the reports go as bulk filings
    of up to that many reports of a station, each report's latency its request's."""
    cookie, csrf = login(base)
    port = int(base.rsplit(":", 1)[1])
    reports = bodies(sts, max(1, int(rate * seconds)), run)
    if bulk > 1:
        requests = bulked(reports, bulk)
        counts = [c for _, _, c in requests]
        sent = [(path, body) for path, body, _ in requests]
    else:
        counts, sent = [1] * len(reports), reports
    request_rate = rate * len(sent) / len(reports)
    cpu0 = cpu_seconds(proc_pid)
    with mp.get_context("spawn").Pool(1) as pool:
        lat, gen_cpu = pool.apply(_generator, ((port, cookie, csrf, sent, request_rate),))
    server_cpu = cpu_seconds(proc_pid) - cpu0
    good = sorted(x for x, c in zip(lat, counts, strict=True) if x == x for _ in range(c))
    # acknowledged per second: from the first scheduled send to the last acknowledgement
    span = max((i / request_rate + x for i, x in enumerate(lat) if x == x), default=seconds)
    return {
        "offered": rate,
        "achieved": len(good) / span,
        "p50_ms": 1000 * statistics.median(good) if good else float("nan"),
        "p99_ms": 1000 * good[min(len(good) - 1, int(0.99 * len(good)))] if good else float("nan"),
        "failed": len(reports) - len(good),
        "server_cpu_ms": 1000 * server_cpu / max(1, len(good)),
        "generator_cpu_ms": 1000 * gen_cpu / max(1, len(reports)),
        "load_average": os.getloadavg()[0],
    }


def kept_up(r: dict[str, float]) -> bool:
    return r["achieved"] >= 0.95 * r["offered"] and r["p99_ms"] <= P99_LIMIT_MS


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rates", default="50,100,200,500,800")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--compare", action="store_true", help="also without group commit")
    ap.add_argument("--nowcaster", action="store_true", help="also with the nowcaster process")
    ap.add_argument(
        "--bulk",
        type=int,
        default=1,
        help="send the reports as bulk filings of up to N reports of a station (default 1: "
        "one report per request, the headline figure)",
    )
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="abroad-ingest-"))
    cluster = None
    results: dict[str, list[dict[str, float]]] = {}
    try:
        backends: dict[str, str] = {}
        for name in args.backends.split(","):
            if name == "sqlite":
                backends["sqlite"] = f"sqlite:///{tmp / 'ingest.db'}"
            elif name == "postgresql":
                reason = unavailable_reason()
                if reason is None:
                    cluster = Cluster.start()
                    backends["postgresql"] = cluster.create_database("abroad_ingest")
                else:
                    print(f"PostgreSQL skipped: {reason}")
        configs: list[tuple[str, str, bool, bool]] = []
        for name, url in backends.items():
            configs.append((name, url, True, False))
            if args.compare:
                configs.append((name, url, False, False))
            if args.nowcaster:
                configs.append((name, url, True, True))
        for url in backends.values():
            prepare(url)
        run = 0
        for name, url, group, nowcaster in configs:
            sts = stations(url)
            os.environ["ABROAD_NOWCASTER"] = "1" if nowcaster else "0"
            os.environ["ABROAD_GROUP_COMMIT"] = "1" if group else "0"
            label = f"{name}, " + ("group commit" if group else "commit per report")
            label += ", nowcaster" if nowcaster else ""
            label += f", bulk filings of {args.bulk}" if args.bulk > 1 else ""
            proc, base = serve(url, 1)
            results[label] = []
            print(f"{label} (load average {os.getloadavg()[0]:.1f})", flush=True)
            try:
                run += 1
                step(proc.pid, base, sts, 100, 3, 1000 + run)  # warm-up (caches, pools)
                for rate in rates:
                    run += 1
                    r = step(proc.pid, base, sts, rate, args.seconds, run, args.bulk)
                    results[label].append(r)
                    print(
                        f"  offered {rate:5.0f}/s: acknowledged {r['achieved']:6.1f}/s, "
                        f"p50 {r['p50_ms']:7.1f} ms, p99 {r['p99_ms']:8.1f} ms, "
                        f"failed {r['failed']:.0f}; CPU per report: server "
                        f"{r['server_cpu_ms']:.2f} ms, load generator "
                        f"{r['generator_cpu_ms']:.2f} ms; load average {r['load_average']:.1f}"
                        + ("" if kept_up(r) else "  <- falls behind"),
                        flush=True,
                    )
                    if r["achieved"] < 0.8 * rate:
                        break  # saturated: higher rates only queue up
            finally:
                proc.terminate()
                proc.wait(timeout=60)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\nReport ingest, one server worker, one asyncio load-generator process, on the same "
        f"{os.cpu_count()} CPU(s) (shared machine, load average now "
        f"{os.getloadavg()[0]:.1f}); goal >= 500/s with p99 < {P99_LIMIT_MS:.0f} ms on SQLite"
    )
    best: dict[str, float] = {}
    for label, rows in results.items():
        best[label] = max((r["offered"] for r in rows if kept_up(r)), default=0.0)
        behind = next(
            (r["offered"] for r in rows if r["offered"] > best[label] and not kept_up(r)), None
        )
        pace = max((r["offered"] for r in rows if r["achieved"] >= 0.95 * r["offered"]), default=0)
        peak = max((r["achieved"] for r in rows), default=0.0)
        cpu = min((r["server_cpu_ms"] for r in rows), default=float("nan"))
        print(
            f"  {label:40s} kept up (p99 < {P99_LIMIT_MS:.0f} ms) with {best[label]:4.0f}/s"
            + (f", behind at {behind:.0f}/s" if behind else ", kept up with every rate")
            + f"; acknowledged >= 95 % up to {pace:.0f}/s, at most {peak:.0f}/s; server CPU "
            f"{cpu:.2f} ms per report at its busiest (one core: about {1000 / cpu:.0f}/s)"
        )
    for name in backends:
        on, off = f"{name}, group commit", f"{name}, commit per report"
        if on in results and off in results and results[on] and results[off]:
            a, b = results[on][0], results[off][0]
            peak_on = max(r["achieved"] for r in results[on])
            peak_off = max(r["achieved"] for r in results[off])
            print(
                f"  {name}: group commit / commit per report at {a['offered']:.0f}/s: "
                f"p50 {a['p50_ms'] / b['p50_ms']:.2f}x, server CPU per report "
                f"{a['server_cpu_ms'] / b['server_cpu_ms']:.2f}x; most acknowledged per second "
                f"{peak_on:.0f} vs {peak_off:.0f} ({peak_on / peak_off:.1f}x)"
            )


if __name__ == "__main__":
    main()
