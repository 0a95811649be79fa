"""API read latency and write throughput: SQLite vs PostgreSQL, one worker vs several.

Starts real servers (``abroad serve``) on the bundled example, then drives them from several
client processes:

- reads: a device token reads its station (token check, scope check, one query, ETag);
- writes: an admin issues API tokens (an insert plus a hash-chained audit entry each).

PostgreSQL is Debian's 15, started in a temporary directory as the tests do. Prints p50/p99
read latency, reads/s and writes/s side by side, and each configuration's ratio to SQLite with
one worker measured in the same run.

    python benchmarks/bench_api.py [--reads 300] [--writes 60] [--clients 4] [--workers 1,4]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from abroad.server.db import Database, upgrade  # noqa: E402
from abroad.server.schemas import TokenIn, UserIn  # noqa: E402
from abroad.server.services.accounts import create_user, issue_token  # noqa: E402
from abroad.server.services.importer import import_scenario  # noqa: E402

from server.pg import Cluster, unavailable_reason  # noqa: E402

EXAMPLE = REPO / "examples" / "us-2024"
STATION = "us-washington-embassy"
PASSWORD = "benchmark password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str) -> str:
    """Schema, the example, an admin; returns a device token for one station."""
    db = Database.open(url)
    try:
        upgrade(db)
        with db.write() as s:
            import_scenario(s, EXAMPLE, "bench")
            create_user(s, UserIn(username="admin", password=PASSWORD, role="admin"), "bench")
            return issue_token(
                s, TokenIn(name="bench", scope_kind="station", scope_key=STATION), "bench"
            ).token
    finally:
        db.dispose()


def serve(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    abroad = shutil.which("abroad", path=str(Path(sys.executable).parent)) or "abroad"
    proc = subprocess.Popen(
        [abroad, "serve", "--db", url, "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    import httpx2

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx2.get(base + "/healthz", timeout=2).status_code == 200:
                # every worker up: a few more probes land on all of them
                for _ in range(4 * workers):
                    httpx2.get(base + "/healthz", timeout=5)
                return proc, base
        except httpx2.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def _reader(args: tuple[str, str, int]) -> tuple[list[float], float]:
    """Latencies of n reads, and the seconds the loop took (after one warm-up request)."""
    import httpx2

    base, token, n = args
    url = f"{base}/api/elections/us-2024/stations/{STATION}"
    out = []
    with httpx2.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        c.get(url)
        start = time.perf_counter()
        for _ in range(n):
            t = time.perf_counter()
            r = c.get(url)
            out.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
        return out, time.perf_counter() - start


def _writer(args: tuple[str, int]) -> tuple[int, float]:
    """n audited writes after logging in (the login, argon2, is not timed)."""
    import httpx2

    base, n = args
    with httpx2.Client(base_url=base, timeout=120) as c:
        r = c.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        start = time.perf_counter()
        for i in range(n):
            r = c.post(
                "/api/tokens",
                json={"name": f"w{i}", "scope_kind": "station", "scope_key": STATION},
            )
            assert r.status_code == 201, r.text
        return n, time.perf_counter() - start


def measure(base: str, token: str, reads: int, writes: int, clients: int) -> dict[str, float]:
    """Clients run concurrently; throughput = requests / the slowest client's loop time."""
    with mp.get_context("spawn").Pool(clients) as pool:
        read_parts = pool.map(_reader, [(base, token, reads // clients)] * clients)
        write_parts = pool.map(_writer, [(base, writes // clients)] * clients)
    lat = sorted(x for part, _ in read_parts for x in part)
    read_s = max(sec for _, sec in read_parts)
    done = sum(n for n, _ in write_parts)
    write_s = max(sec for _, sec in write_parts)
    return {
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "reads_per_s": len(lat) / read_s,
        "writes_per_s": done / write_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=400)
    ap.add_argument("--writes", type=int, default=80)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--workers", default="1,4")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]

    results: dict[tuple[str, int], dict[str, float]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="abroad-bench-"))
    cluster = None
    try:
        backends = {"sqlite": f"sqlite:///{tmp / 'bench.db'}"}
        reason = unavailable_reason()
        if reason is None:
            cluster = Cluster.start()
            backends["postgresql"] = cluster.create_database("abroad_bench")
        else:
            print(f"PostgreSQL skipped: {reason}")
        for name, url in backends.items():
            token = prepare(url)
            for w in workers:
                proc, base = serve(url, w)
                try:
                    results[(name, w)] = measure(base, token, args.reads, args.writes, args.clients)
                finally:
                    proc.terminate()
                    proc.wait(timeout=60)
                r = results[(name, w)]
                print(
                    f"  {name:10s} workers={w}: p50 {r['p50_ms']:.1f} ms, "
                    f"p99 {r['p99_ms']:.1f} ms, "
                    f"{r['reads_per_s']:.0f} reads/s, {r['writes_per_s']:.0f} writes/s",
                    flush=True,
                )
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    base = results[("sqlite", workers[0])]
    print(
        f"\nAPI on the bundled example, {args.clients} client processes, {os.cpu_count()} CPU(s); "
        f"ratios against SQLite with {workers[0]} worker(s)\n"
    )
    head = f"{'backend':10s} {'workers':>7s} {'read p50 ms':>11s} {'read p99 ms':>11s} "
    head += f"{'reads/s':>8s} {'writes/s':>8s} {'reads x':>7s} {'writes x':>8s}"
    print(head)
    for (name, w), r in results.items():
        print(
            f"{name:10s} {w:7d} {r['p50_ms']:11.1f} {r['p99_ms']:11.1f} {r['reads_per_s']:8.0f} "
            f"{r['writes_per_s']:8.0f} {r['reads_per_s'] / base['reads_per_s']:7.2f} "
            f"{r['writes_per_s'] / base['writes_per_s']:8.2f}"
        )


if __name__ == "__main__":
    main()
