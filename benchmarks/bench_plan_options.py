"""The planner with alternatives per site (hours, days, close policy) against enumeration.

    .venv/bin/python benchmarks/bench_plan_options.py            # 5 instances, 14 sites
    .venv/bin/python benchmarks/bench_plan_options.py --sites 16 --instances 3

On seeded synthetic instances (abroad.planning.synthetic: clustered places, staff pools, a
cost budget, 3 alternatives per site whose capacity and cost scale together), the peer is the
enumeration of every open set with its best alternatives (optimal), measured in the same run.
Prints, per instance, both values, the relaxed bound, the gap of the plan to the optimum and
the time ratio.
"""

from __future__ import annotations

import argparse
import time

from abroad.planning.options import exhaustive_with_options, plan_with_options
from abroad.planning.synthetic import random_instance, random_options


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sites", type=int, default=14)
    ap.add_argument("--places", type=int, default=300)
    ap.add_argument("--alternatives", type=int, default=3)
    ap.add_argument("--instances", type=int, default=5)
    ap.add_argument("--time-limit", type=float, default=5.0)
    args = ap.parse_args()
    # Compile the kernels outside the timings.
    warm = random_instance(0, 30, 5)
    plan_with_options(warm, random_options(warm, 0, 2), 1.0, exhaustive_max_plans=0)
    print(
        f"{'seed':>4} {'optimum':>10} {'plan':>10} {'bound':>10} {'plan gap':>9} "
        f"{'enum s':>8} {'plan s':>7} {'ratio':>6}"
    )
    gaps = []
    for seed in range(1, args.instances + 1):
        base = random_instance(seed, args.places, args.sites, max_open=args.sites)
        options = random_options(base, seed, args.alternatives)
        t0 = time.perf_counter()
        best = exhaustive_with_options(base, options, max_plans=2**args.sites)
        t_enum = time.perf_counter() - t0
        t0 = time.perf_counter()
        got = plan_with_options(base, options, args.time_limit, seed=seed, exhaustive_max_plans=0)
        t_plan = time.perf_counter() - t0
        gap = (best.objective - got.objective) / max(abs(best.objective), 1e-9)
        gaps.append(gap)
        print(
            f"{seed:>4} {best.objective:>10.1f} {got.objective:>10.1f} {got.bound:>10.1f} "
            f"{gap:>9.2%} {t_enum:>8.1f} {t_plan:>7.1f} {t_enum / t_plan:>6.1f}"
        )
    print(f"mean gap to the optimum {sum(gaps) / len(gaps):.2%}, worst {max(gaps):.2%}")


if __name__ == "__main__":
    main()
