"""Scale-out benchmark: the world example planned and simulated on 1 and 2 Dask workers, and how
the cost grows with places, sites and replications.

1. The world example (examples/world-2024: 130 host countries, 918 places, 203 sites) is
   planned once over all of it (decomposed by reach, the staff budget shared by marginal
   value; abroad.sweep.diaspora), then the planned network is simulated 1,000 times, on a
   LocalCluster of 1 worker and of 2 workers, and in this process without Dask (the serial
   reference). Speed-up and efficiency of each phase; the Monte Carlo results of 1 and 2
   workers and of the serial run are checked identical.
2. Cost against size on 2 workers: replications (125 ... 1,000) for the Monte Carlo; the number
   of host countries (16 ... 130, so places and sites grow together) for planning. A table and a
   log-log plot go to benchmarks/results/ (slopes: the exponent of time against size).
3. ``--check``: the plan's true value on the whole world as one instance (no decomposition),
   against the sum of the components' values.

Usage::

    .venv/bin/python benchmarks/bench_scale.py            # about 10 minutes on 2 cores
    .venv/bin/python benchmarks/bench_scale.py --quick    # 200 replications, fewer sizes
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from abroad.io.scenario import load_scenario
from abroad.model import Scenario
from abroad.sweep.cluster import dask_client, warm_up_locked
from abroad.sweep.diaspora import DiasporaPlan, plan_diaspora, simulate_diaspora
from abroad.sweep.montecarlo import NetworkMonteCarlo

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "examples" / "world-2024"
RESULTS = ROOT / "benchmarks" / "results"


def _countries(scenario: Scenario, n: int, seed: int = 0) -> Scenario:
    """The scenario restricted to n host countries (a fixed random order)."""
    names = sorted({str(p.country) for p in scenario.places})
    keep = set(np.random.default_rng(seed).permutation(names)[:n].tolist())
    return dataclasses.replace(
        scenario,
        places=tuple(p for p in scenario.places if p.country in keep),
        sites=tuple(s for s in scenario.sites if s.country in keep),
    )


def _same(a: NetworkMonteCarlo, b: NetworkMonteCarlo) -> bool:
    return a.outcomes == b.outcomes and all(
        np.array_equal(a.per_replication[k], b.per_replication[k], equal_nan=True)
        for k in a.per_replication
    )


def _plan_row(plan: DiasporaPlan) -> dict[str, Any]:
    return {
        "components": len(plan.components),
        "stations": len(plan.network.site_ids),
        "expected_votes_cast": round(plan.expected_votes_cast, 1),
        "staff": plan.staff,
        "staff_budget": plan.staff_budget,
        **{f"{k}_seconds": round(v, 2) for k, v in plan.seconds.items()},
    }


def _slope(sizes: list[float], seconds: list[float]) -> float:
    x, y = np.log(np.array(sizes)), np.log(np.array(seconds))
    return float(np.polyfit(x, y, 1)[0]) if len(sizes) > 1 else math.nan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="200 replications, fewer sizes")
    ap.add_argument("--replications", type=int, default=1000)
    ap.add_argument("--time-limit", type=float, default=10.0, help="planner seconds (largest)")
    ap.add_argument("--check", action="store_true", help="value the plan on the whole world")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2, help="Monte Carlo runs per cluster")
    ap.add_argument(
        "--mc-only", action="store_true", help="plan once (no Dask), then only the Monte Carlo"
    )
    args = ap.parse_args()
    reps = 200 if args.quick else args.replications
    RESULTS.mkdir(parents=True, exist_ok=True)
    warm_up_locked()
    world = load_scenario(WORLD)
    print(
        f"world-2024: {len(world.places)} places, {len(world.sites)} sites "
        f"({len(world.openable_sites)} may open), "
        f"{len({p.country for p in world.places})} host countries; {reps} replications",
        flush=True,
    )

    runs: dict[str, dict[str, Any]] = {}
    mcs: dict[str, NetworkMonteCarlo] = {}
    t = time.perf_counter()
    serial_plan = plan_diaspora(world, seed=args.seed, time_limit_seconds=args.time_limit)
    plan_serial_s = time.perf_counter() - t
    t = time.perf_counter()
    mcs["serial"] = simulate_diaspora(None, serial_plan, seed=args.seed, replications=reps)
    runs["serial"] = {
        "plan_seconds": plan_serial_s,
        "mc_seconds": time.perf_counter() - t,
        **_plan_row(serial_plan),
    }
    print(f"serial (no Dask): {runs['serial']}", flush=True)
    # Both clusters stay up; the Monte Carlo runs alternate between them (1, 2, 1, 2) and the
    # faster of each pair counts, so that load from other jobs on a shared machine weighs on
    # both alike.
    with dask_client(workers=1) as c1, dask_client(workers=2) as c2:
        clients = {1: c1, 2: c2}
        for workers, client in clients.items():
            client.wait_for_workers(workers, timeout=300)
            if args.mc_only:
                runs[f"{workers} worker(s)"] = {"plan_seconds": math.nan}
                runs[f"{workers} worker(s)"].update(_plan_row(serial_plan))
                continue
            t = time.perf_counter()
            plan = plan_diaspora(
                world, client=client, seed=args.seed, time_limit_seconds=args.time_limit
            )
            runs[f"{workers} worker(s)"] = {"plan_seconds": time.perf_counter() - t}
            runs[f"{workers} worker(s)"].update(_plan_row(plan))
        for _ in range(args.repeats):
            for workers, client in clients.items():
                t = time.perf_counter()
                # The same network for every run, so that the Monte Carlo parts compare.
                mcs[f"{workers}"] = simulate_diaspora(
                    client, serial_plan, seed=args.seed, replications=reps
                )
                mc_s = time.perf_counter() - t
                row = runs[f"{workers} worker(s)"]
                row["mc_seconds"] = min(row.get("mc_seconds", math.inf), mc_s)
                row.setdefault("mc_seconds_all", []).append(round(mc_s, 2))
        for name in ("1 worker(s)", "2 worker(s)"):
            print(f"{name}: {runs[name]}", flush=True)
        if args.mc_only:
            scaling = {"rows": [], "loglog_slopes": {}}
        else:
            scaling = _scaling(c2, world, serial_plan, args, reps)
    identical = _same(mcs["serial"], mcs["1"]) and _same(mcs["1"], mcs["2"])
    one, two = runs["1 worker(s)"], runs["2 worker(s)"]
    votes = mcs["2"].per_replication["votes_cast"]
    summary = {
        "replications": reps,
        "monte_carlo_identical_serial_1_2_workers": identical,
        "simulated_votes_cast_mean": float(votes.mean()),
        "simulated_votes_cast_ci95": float(1.96 * votes.std(ddof=1) / math.sqrt(votes.size)),
        "plan_speedup_2_workers": one["plan_seconds"] / two["plan_seconds"],
        "mc_speedup_2_workers": one["mc_seconds"] / two["mc_seconds"],
        "mc_speedup_2_workers_vs_serial": runs["serial"]["mc_seconds"] / two["mc_seconds"],
        "runs": runs,
        "scaling": scaling,
    }
    summary["plan_efficiency_2_workers"] = summary["plan_speedup_2_workers"] / 2
    summary["mc_efficiency_2_workers"] = summary["mc_speedup_2_workers"] / 2
    if args.check:
        summary["decomposition_check"] = _check(world, serial_plan, args.seed)
    _report(summary, "scale-mc" if args.mc_only else "scale")


def _scaling(
    client: Any, world: Scenario, plan: DiasporaPlan, args: argparse.Namespace, reps: int
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    steps = [reps // 4, reps // 2, reps] if args.quick else [reps // 8, reps // 4, reps // 2, reps]
    for r in steps:
        t = time.perf_counter()
        simulate_diaspora(client, plan, seed=args.seed, replications=r)
        rows.append({"what": "replications", "size": r, "seconds": time.perf_counter() - t})
        print(f"  replications {r}: {rows[-1]['seconds']:.2f} s", flush=True)
    counts = [16, 65, 130] if args.quick else [16, 32, 65, 130]
    for n in counts:
        sc = _countries(world, n)
        t = time.perf_counter()
        p = plan_diaspora(sc, client=client, seed=args.seed, time_limit_seconds=args.time_limit)
        plan_s = time.perf_counter() - t
        t = time.perf_counter()
        simulate_diaspora(client, p, seed=args.seed, replications=max(reps // 10, 20))
        mc_s = time.perf_counter() - t
        base = {"countries": n, "places": len(sc.places), "sites": len(sc.openable_sites)}
        rows.append({"what": "plan vs places", "size": len(sc.places), "seconds": plan_s, **base})
        responses_s = p.seconds.get("station_responses", math.nan)
        rows.append(
            {
                "what": "station responses vs sites",
                "size": len(sc.openable_sites),
                "seconds": responses_s,
                **base,
            }
        )
        rows.append(
            {"what": "plan vs sites", "size": len(sc.openable_sites), "seconds": plan_s, **base}
        )
        rows.append(
            {
                "what": f"{max(reps // 10, 20)} replications vs stations",
                "size": len(p.network.site_ids),
                "seconds": mc_s,
                **base,
            }
        )
        print(
            f"  {n} countries: {len(sc.places)} places, {len(sc.openable_sites)} sites: plan "
            f"{plan_s:.1f} s ({p.seconds.get('station_responses', 0):.1f} s station responses), "
            f"{len(p.network.site_ids)} stations simulated in {mc_s:.2f} s",
            flush=True,
        )
    slopes = {}
    for what in sorted({r["what"] for r in rows}):
        mine = [r for r in rows if r["what"] == what]
        slopes[what] = _slope([r["size"] for r in mine], [r["seconds"] for r in mine])
    return {"rows": rows, "loglog_slopes": slopes}


def _check(world: Scenario, plan: DiasporaPlan, seed: int) -> dict[str, float]:
    """The decomposed plan valued on the whole world as one instance."""
    from abroad.sweep.engine import prepared_problem

    t = time.perf_counter()
    whole = prepared_problem(world, seed)
    value = whole.value_of(list(plan.network.site_ids))
    return {
        "sum_of_components": plan.expected_votes_cast,
        "whole_world_value": float(value.votes),
        "relative_difference": float(value.votes) / plan.expected_votes_cast - 1.0,
        "seconds": time.perf_counter() - t,
    }


def _report(summary: dict[str, Any], stem: str) -> None:
    (RESULTS / f"{stem}.json").write_text(json.dumps(summary, indent=2, default=float))
    rows = summary["scaling"]["rows"]
    if rows:
        with (RESULTS / f"{stem}.csv").open("w", encoding="utf-8") as fh:
            fh.write("what,size,seconds\n")
            for r in rows:
                fh.write(f"{r['what']},{r['size']},{r['seconds']:.4f}\n")
        _plot(rows, summary["scaling"]["loglog_slopes"], RESULTS / f"{stem}.png")
    print()
    print("| run | plan s | Monte Carlo s | stations | expected votes |")
    print("|---|---|---|---|---|")
    for name, r in summary["runs"].items():
        print(
            f"| {name} | {r['plan_seconds']:.1f} | {r['mc_seconds']:.1f} | {r['stations']} | "
            f"{r['expected_votes_cast']:,.0f} |"
        )
    print(
        f"\nplan: speed-up {summary['plan_speedup_2_workers']:.2f}x on 2 workers "
        f"(efficiency {summary['plan_efficiency_2_workers']:.0%}); Monte Carlo: "
        f"{summary['mc_speedup_2_workers']:.2f}x (efficiency "
        f"{summary['mc_efficiency_2_workers']:.0%}), "
        f"{summary['mc_speedup_2_workers_vs_serial']:.2f}x against the serial run; "
        "identical results: "
        f"{summary['monte_carlo_identical_serial_1_2_workers']}"
    )
    print(
        f"simulated votes cast {summary['simulated_votes_cast_mean']:,.0f} "
        f"± {summary['simulated_votes_cast_ci95']:,.0f} (95 %)"
    )
    print("\n| what | size | seconds |\n|---|---|---|")
    for r in rows:
        print(f"| {r['what']} | {r['size']} | {r['seconds']:.2f} |")
    print("\nlog-log slopes (time ~ size^k):")
    for k, v in summary["scaling"]["loglog_slopes"].items():
        print(f"  {k}: k = {v:.2f}")
    if "decomposition_check" in summary:
        print(f"\ndecomposition check: {summary['decomposition_check']}")
    print(f"\nwrote {RESULTS / stem}.json" + (", .csv, .png" if rows else ""))


def _plot(rows: list[dict[str, Any]], slopes: dict[str, float], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for what in sorted({r["what"] for r in rows}):
        mine = sorted((r for r in rows if r["what"] == what), key=lambda r: r["size"])
        ax.loglog(
            [r["size"] for r in mine],
            [r["seconds"] for r in mine],
            marker="o",
            label=f"{what} (slope {slopes[what]:.2f})",
        )
    ax.set_xlabel("size (replications, places, sites, stations)")
    ax.set_ylabel("seconds on 2 workers")
    ax.set_title("abroad at scale: time against size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    fig.savefig(path, dpi=130)


if __name__ == "__main__":
    sys.exit(main())
