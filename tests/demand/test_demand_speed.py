"""The planner calls evaluate thousands of times: keep it well under a millisecond."""

from __future__ import annotations

import time

import numpy as np
from demand_factory import random_country

from abroad.demand import DemandModel


def test_nearest_evaluate_is_fast_for_3000_places_200_sites() -> None:
    model = DemandModel.from_scenario(random_country(3000, 200, seed=0))
    rng = np.random.default_rng(0)
    masks = []
    for n_open in (5, 40, 200):
        for _ in range(10):
            mask = np.zeros(200, dtype=bool)
            mask[rng.choice(200, n_open, replace=False)] = True
            masks.append(mask)
    model.expected_demand(masks[0])  # compile
    best_s = []
    for mask in masks:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            model.expected_demand(mask)
            times.append(time.perf_counter() - t0)
        best_s.append(min(times))
    assert max(best_s) < 1e-3, f"slowest evaluate {max(best_s) * 1e6:.0f} µs"
