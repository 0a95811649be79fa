"""Planning tests run the planner under short time limits: compile its kernels first."""

from __future__ import annotations

import pytest

from abroad.planning import plan_network
from abroad.planning.synthetic import random_instance


@pytest.fixture(scope="session", autouse=True)
def compiled_planner_kernels() -> None:
    """One small run through every phase, so that numba compilation (seconds on a cold cache)
    is not charged to the time limit of the first test that plans."""
    plan_network(
        random_instance(0, 80, 12, max_open=5),
        time_limit_seconds=3.0,
        exhaustive_max_free_sites=0,
    )
