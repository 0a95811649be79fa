"""Speed of the demand model's hot call, ``DemandModel.expected_demand``, which the planner's
station sizing and the jobs call for every network they look at.

3,000 places and 200 candidate sites (``tests/demand/demand_factory.random_country``); 30 open
sets of 5, 40 and 200 sites, best of 3 per set. Prints microseconds per call and, as a peer
measured in the same run, the time numpy takes for one dense (places x sites) distance matrix
(``abroad.geo.distance_matrix_km``) over the same points.

    .venv/bin/python benchmarks/bench_demand.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "demand"))

from demand_factory import random_country

from abroad.demand import DemandModel
from abroad.geo import distance_matrix_km


def best_of(fn: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    sc = random_country(3000, 200, seed=0)
    model = DemandModel.from_scenario(sc)
    rng = np.random.default_rng(0)
    masks = []
    for n_open in (5, 40, 200):
        for _ in range(10):
            mask = np.zeros(200, dtype=bool)
            mask[rng.choice(200, n_open, replace=False)] = True
            masks.append(mask)
    model.expected_demand(masks[0])  # compile
    per_call = [best_of(lambda m=m: model.expected_demand(m)) for m in masks]
    pa = sc.place_arrays
    matrix = best_of(
        lambda: distance_matrix_km(pa.lat_deg, pa.lon_deg, sc.site_lat_deg, sc.site_lon_deg)
    )
    print("demand model, 3,000 places x 200 sites (best of 3 per open set)")
    print(
        f"expected_demand: median {1e6 * float(np.median(per_call)):,.0f} µs, "
        f"slowest {1e6 * max(per_call):,.0f} µs per call"
    )
    print(
        f"peer: one dense distance matrix {1e6 * matrix:,.0f} µs; "
        f"one expected_demand call is {matrix / float(np.median(per_call)):,.0f}x faster"
    )


if __name__ == "__main__":
    main()
