"""Benchmark of the network planner against greedy, greedy + swap and a plain MILP.

Two synthetic instances, all methods measured in one run, every plan valued under the true
behaviour (each place votes at its nearest open site):

- country: 3,000 places around 200 lognormal cities in a 1,500 x 1,000 km region, 200 candidate
  sites, at most 40 open, 20 missions' staff pools and a total staff budget, exponential decay
  (scale 120 km), stations that saturate (see abroad.planning.synthetic.country_instance);
- world: the 34k gazetteer cities as places (weight proportional to population), 1,500
  candidate sites in the biggest cities of every country (at least one per country), at most 300
  open, one staff pool per country, decay scale 150 km, preferences pruned to the 20 nearest
  candidate sites per place.

Usage::

    .venv/bin/python benchmarks/bench_planner.py --quick          # a few minutes
    .venv/bin/python benchmarks/bench_planner.py                  # 10-minute baselines
    .venv/bin/python benchmarks/bench_planner.py --only country --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass

import numpy as np

from abroad.geo.distance import haversine_km
from abroad.geo.gazetteer import all_cities
from abroad.planning import Kernel, PlanningInstance, plan_network, value_plan
from abroad.planning.bounds import plain_milp_plan
from abroad.planning.search import greedy, iterated_local_search
from abroad.planning.synthetic import country_instance, station_response
from abroad.planning.valuation import value_of_state


@dataclass
class Row:
    instance: str
    method: str
    votes: float
    objective: float
    bound: float
    gap: float
    seconds: float
    note: str = ""


def world_instance(n_sites: int = 1500, k_nearest: int = 20, seed: int = 0) -> PlanningInstance:
    """Places = every gazetteer city; sites = the biggest cities, at least one per country."""
    rng = np.random.default_rng(seed)
    cities = all_cities()
    lat = np.array([c.lat for c in cities])
    lon = np.array([c.lon for c in cities])
    pop = np.array([c.population for c in cities], dtype=np.float64)
    country = np.array([c.country for c in cities])
    first_of_country = {}
    for i, c in enumerate(country):  # cities are sorted largest first
        first_of_country.setdefault(c, i)
    chosen = list(first_of_country.values())
    taken = set(chosen)
    for i in range(len(cities)):
        if len(chosen) >= n_sites:
            break
        if i not in taken:
            chosen.append(i)
            taken.add(i)
    site = np.array(sorted(chosen[:n_sites]))
    weight = pop / pop.sum() * 2_000_000.0  # 2 M citizens abroad x base turnout
    ps = np.empty((len(cities), k_nearest), dtype=np.int64)
    pd = np.empty((len(cities), k_nearest))
    for start in range(0, len(cities), 2000):
        sl = slice(start, start + 2000)
        d = haversine_km(lat[sl, None], lon[sl, None], lat[None, site], lon[None, site])
        part = np.argpartition(d, k_nearest - 1, axis=1)[:, :k_nearest]
        dp = np.take_along_axis(d, part, axis=1)
        order = np.argsort(dp, axis=1, kind="stable")
        ps[sl] = np.take_along_axis(part, order, axis=1)
        pd[sl] = np.exp(-np.take_along_axis(dp, order, axis=1) / 150.0)
    desks = rng.integers(2, 9, site.size)
    si, ss, sb, sl_ = station_response(desks, 600.0, 2.0, 1.0)
    site_country = country[site]
    codes, pool = np.unique(site_country, return_inverse=True)
    return PlanningInstance.build(
        demand_weight=weight,
        pref_site=ps,
        pref_decay=pd,
        served_intercept=si,
        served_slope=ss,
        staff_break_load=sb,
        staff_level=sl_,
        staff_pool=pool,
        pool_staff_budget=np.full(codes.size, 40.0),
        total_staff_budget=2400.0,
        open_cost=rng.uniform(1, 3, site.size),
        cost_weight=50.0,
        max_open=300,
        site_names=tuple(cities[i].name for i in site),
    )


def run_instance(
    name: str, inst: PlanningInstance, planner_s: float, baseline_s: float, seed: int
) -> list[Row]:
    rows: list[Row] = []
    print(
        f"[{name}] {inst.n_places} places, {inst.n_sites} sites, K={inst.n_pref}", file=sys.stderr
    )

    t0 = time.perf_counter()
    res = plan_network(inst, time_limit_seconds=planner_s, seed=seed)
    rows.append(
        Row(
            name,
            f"planner ({planner_s:.0f} s)",
            res.votes,
            res.objective,
            res.bound,
            res.gap,
            res.seconds,
            f"{len(res.open_sites)} open",
        )
    )
    bound = res.bound
    print(f"[{name}] planner done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    for ph in res.phases:
        print(
            f"    {ph.name:<22} {ph.objective:12.1f} bound {ph.bound:12.1f} "
            f"at {ph.seconds:6.1f} s  {ph.detail}",
            file=sys.stderr,
        )

    kernel = Kernel(inst)
    t0 = time.perf_counter()
    g = greedy(kernel)
    gv = value_of_state(g)
    rows.append(
        Row(
            name,
            "greedy",
            gv.votes,
            gv.objective,
            bound,
            (bound - gv.objective) / gv.objective,
            time.perf_counter() - t0,
            f"{len(gv.open_sites)} open",
        )
    )

    t0 = time.perf_counter()
    deadline = t0 + baseline_s
    # The textbook baseline: greedy, swap local search, then kicks of the best plan followed by
    # local search, keeping only improvements (the planner's walk also accepts slightly worse
    # local optima, and it has bounds).
    best, rounds = iterated_local_search(
        kernel,
        greedy(kernel),
        deadline,
        np.random.default_rng(seed),
        accept_worse=0.0,
        restart_probability=1.0,
    )
    bv = value_of_state(best)
    rows.append(
        Row(
            name,
            f"greedy + swap ({baseline_s:.0f} s)",
            bv.votes,
            bv.objective,
            bound,
            (bound - bv.objective) / bv.objective,
            time.perf_counter() - t0,
            f"{rounds} kicks",
        )
    )

    t0 = time.perf_counter()
    milp = plain_milp_plan(kernel, time_limit_seconds=baseline_s, k_bound=min(20, inst.n_pref))
    secs = time.perf_counter() - t0
    if milp.open_mask is not None:
        mv = value_plan(inst, milp.open_mask, kernel)
        rows.append(
            Row(
                name,
                f"plain MILP ({baseline_s:.0f} s)",
                mv.votes,
                mv.objective,
                bound,
                (bound - mv.objective) / mv.objective,
                secs,
                f"claimed {milp.model_objective:.0f}; {milp.status}; "
                f"{'feasible' if mv.feasible else 'INFEASIBLE in truth'}",
            )
        )
    else:
        rows.append(
            Row(
                name,
                f"plain MILP ({baseline_s:.0f} s)",
                float("nan"),
                float("nan"),
                bound,
                float("nan"),
                secs,
                f"no plan; {milp.status}",
            )
        )
    return rows


def pruning_cost(planner_s: float, seed: int) -> list[Row]:
    """Plan on the country instance pruned to k nearest sites; value the plan on the full one."""
    full = country_instance(seed)
    rows = []
    for k in (10, 20):
        pruned = country_instance(seed, k_nearest=k)
        res = plan_network(pruned, time_limit_seconds=planner_s, seed=seed)
        truth = value_plan(full, res.open_sites)
        rows.append(
            Row(
                "country",
                f"planner on k={k} lists",
                truth.votes,
                truth.objective,
                float("nan"),
                float("nan"),
                res.seconds,
                f"pruned model said {res.objective:.0f}",
            )
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short limits for development")
    ap.add_argument("--only", choices=["country", "world"], help="run one instance only")
    ap.add_argument("--planner-seconds", type=float, default=60.0)
    ap.add_argument(
        "--baseline-seconds",
        type=float,
        default=None,
        help="limit of greedy+swap and plain MILP (default 600, 60 with --quick)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pruning", action="store_true", help="also measure k-nearest pruning")
    ap.add_argument("--json", action="store_true", help="print rows as JSON")
    args = ap.parse_args()
    base = args.baseline_seconds or (60.0 if args.quick else 600.0)
    planner_s = min(args.planner_seconds, 30.0) if args.quick else args.planner_seconds
    rows: list[Row] = []
    if args.only in (None, "country"):
        rows += run_instance("country", country_instance(args.seed), planner_s, base, args.seed)
        if args.pruning:
            rows += pruning_cost(planner_s, args.seed)
    if args.only in (None, "world"):
        t0 = time.perf_counter()
        inst = world_instance(seed=args.seed)
        print(f"[world] built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        rows += run_instance("world", inst, planner_s, base, args.seed)
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=1))
        return
    print("| instance | method | true votes | objective | bound | gap | seconds | note |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        if "INFEASIBLE" in r.note:  # an infeasible plan has no meaningful value or gap
            r.votes = r.objective = r.gap = float("nan")
        print(
            f"| {r.instance} | {r.method} | {r.votes:,.0f} | {r.objective:,.0f} | "
            f"{r.bound:,.0f} | {100 * r.gap:.2f} % | {r.seconds:.1f} | {r.note} |"
        )


if __name__ == "__main__":
    main()
