"""Planning tests run the planner under short time limits: compile its kernels first."""

from __future__ import annotations

import time

import numpy as np
import pytest

from abroad.planning import Kernel
from abroad.planning.bounds import resource_bound
from abroad.planning.lagrangian import lagrangian_bound
from abroad.planning.search import exhaustive, greedy, iterated_local_search, local_search
from abroad.planning.synthetic import random_instance


@pytest.fixture(scope="session", autouse=True)
def compiled_planner_kernels() -> None:
    """Call every compiled kernel once, without time limits, so that numba compilation
    (seconds each on a cold cache) is not charged to the first test that plans."""
    inst = random_instance(0, 80, 12, max_open=5)
    kernel = Kernel(inst)
    rng = np.random.default_rng(0)
    state = local_search(greedy(kernel), np.inf, rng)
    iterated_local_search(kernel, state, time.perf_counter() + 0.2, rng)
    lagrangian_bound(kernel, time_limit_seconds=120.0, max_iterations=3)
    resource_bound(kernel, time_limit_seconds=60.0)
    exhaustive(kernel)
