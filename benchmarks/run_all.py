"""Run every benchmark, one after the other (what `make bench` does).

    .venv/bin/python benchmarks/run_all.py           # quick runs (a few minutes in all)
    .venv/bin/python benchmarks/run_all.py --full    # the published runs (about 30 minutes)

Each script prints its own figures: ratios against a peer measured in the same run, and
absolute numbers (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

QUICK: dict[str, list[str]] = {
    "bench_simulator.py": ["--quick"],
    "bench_planner.py": ["--quick", "--only", "country"],
    "bench_demand.py": [],
    "bench_nowcast_server.py": ["--quick"],
}
FULL: dict[str, list[str]] = {
    "bench_simulator.py": [],
    "bench_planner.py": [],
    "bench_demand.py": [],
    "bench_nowcast_server.py": [],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--full", action="store_true", help="the published (long) runs")
    args = ap.parse_args()
    failed = []
    for script, extra in (FULL if args.full else QUICK).items():
        print(f"\n== {script} {' '.join(extra)}", flush=True)
        code = subprocess.run([sys.executable, str(HERE / script), *extra], check=False).returncode
        if code != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
