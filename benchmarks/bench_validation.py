"""Validation time and peak memory of `abroad validate` on large voter-place tables.

Writes the bundled example (examples/us-2024: its sites, its three variants) with a places table
of 10^4, 10^5 and 10^6 rows (coordinates and time zones given, as a census extract would have
them) into a temporary folder, then runs ``abroad validate`` on it in a fresh process and
reports the wall time and the peak resident memory of that process (``os.wait4``'s rusage).

``--src DIR`` runs another checkout's ``src`` folder with the same interpreter (e.g. the base
commit in a temporary worktree: ``git worktree add /tmp/base 39d3171``), to compare before and
after in the same run:

    .venv/bin/python benchmarks/bench_validation.py
    .venv/bin/python benchmarks/bench_validation.py --src /tmp/base/src --sizes 10000,100000
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "us-2024"
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")


def write_scenario(folder: Path, n_places: int, seed: int = 0) -> None:
    """The example's scenario.yaml (without its ``tours:`` file, which locates cities among
    the places and so makes the reader keep them) and sites.csv, with ``n_places`` synthetic
    places."""
    folder.mkdir(parents=True)
    text = (EXAMPLE / "scenario.yaml").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith("tours:")]
    (folder / "scenario.yaml").write_text("".join(lines), encoding="utf-8")
    shutil.copy(EXAMPLE / "sites.csv", folder / "sites.csv")
    rng = random.Random(seed)
    with (folder / "places.csv").open("w", encoding="utf-8") as fh:
        fh.write("place_id,name,country,admin1,lat,lon,timezone,eligible_citizens\n")
        for i in range(n_places):
            lat = rng.uniform(25.0, 49.0)
            lon = rng.uniform(-124.0, -67.0)
            zone = ZONES[min(3, int((lon + 124.0) / 14.25))]
            fh.write(f"p{i},Place {i},US,NY,{lat:.5f},{lon:.5f},{zone},{rng.uniform(1, 80):.1f}\n")


def run_validate(folder: Path, src: Path | None) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak resident MB, exit status) of ``abroad validate FOLDER``
    in a new process. CPU time (user + system) is steadier than wall time on a shared machine."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    code = "import sys; from abroad.cli import app; sys.argv[0] = 'abroad'; app()"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "validate", str(folder)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if proc.stderr is not None:
        err = proc.stderr.read().decode(errors="replace")
        if os.waitstatus_to_exitcode(status) != 0:
            print(err[-2000:], file=sys.stderr)
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024.0, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--src", type=Path, default=None, help="another checkout's src folder")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    label = str(args.src) if args.src else "this checkout"
    print(f"abroad validate on the example with N places ({label})")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'places':>10} {'seconds':>9} {'CPU s':>9} {'peak MB':>9} {'exit':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            folder = Path(tmp) / f"s{n}"
            write_scenario(folder, n)
            seconds, cpu, peak_mb, status = run_validate(folder, args.src)
            print(f"{n:>10,} {seconds:>9.1f} {cpu:>9.1f} {peak_mb:>9.0f} {status:>5}")
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
