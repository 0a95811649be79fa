"""The Dask cluster a sweep runs on: an embedded ``LocalCluster`` (processes) or an existing
scheduler, with every worker's numba kernels compiled once when the worker starts.

numba compiles a jitted function in each process on its first call, and the kernels here keep
an on-disk cache (``cache=True``). Several processes building that cache at once can crash
(numba #4807), so warm-up runs once in this process before a local cluster starts (the cache is
then written), and each worker warms up on start under a file lock, one worker per machine at a
time (they then load from the cache). Workers restarted after a crash warm up again.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distributed.diagnostics.plugin import WorkerPlugin

if TYPE_CHECKING:
    from distributed import Client

WARM_LOCK = Path(tempfile.gettempdir()) / "abroad-numba-warmup.lock"


def warm_up() -> None:
    """Call every compiled kernel once on tiny inputs: the station simulator, the demand
    model's nearest-station kernels and the planner's (search, bounds, Lagrangian)."""
    import numpy as np

    from abroad.demand._kernels import k_nearest_open, nearest_among, nearest_open
    from abroad.model import Exponential
    from abroad.planning import plan_network
    from abroad.planning.synthetic import random_instance
    from abroad.queueing import DaySpec, StageSpec, StationSpec, simulate_station

    spec = StationSpec(
        name="warm-up",
        days=(DaySpec(open_minutes=480, close_minutes=600, arrivals_per_hour=(20.0, 30.0)),),
        stages=(
            StageSpec(name="checkin", servers=1, service=Exponential(mean_minutes=2.0)),
            StageSpec(name="booth", servers=2, service=Exponential(mean_minutes=3.0)),
        ),
    )
    simulate_station(spec, replications=2, seed=0)
    dist = np.random.default_rng(0).random((4, 3))
    order = np.argsort(dist, axis=1).astype(np.int32)
    mask = np.array([True, False, True])
    nearest_open(order, mask, dist, dist)
    nearest_among(np.flatnonzero(mask), dist, dist)
    k_nearest_open(order, mask, 2)
    plan_network(random_instance(0, n_places=30, n_sites=8), time_limit_seconds=0.5, seed=0)


def warm_up_locked() -> None:
    """``warm_up`` while holding the machine-wide warm-up lock."""
    with WARM_LOCK.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            warm_up()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class WarmUp(WorkerPlugin):
    """Worker plugin: compile (or load) the numba kernels when a worker starts."""

    name = "abroad-warm-up"

    def setup(self, worker: Any) -> None:
        warm_up_locked()


def default_workers() -> int:
    """One worker per CPU this process may use."""
    return max(1, len(os.sched_getaffinity(0)))


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A client on an existing scheduler (``scheduler`` address) or on an embedded
    ``LocalCluster`` of ``workers`` single-threaded worker processes on 127.0.0.1.

    Every worker, present and future (restarted ones too), runs the warm-up plugin.
    """
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler is None:
        warm_up_locked()  # writes numba's cache once, before the workers start
        cluster = LocalCluster(
            n_workers=workers or default_workers(),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # The scheduler's metrics endpoint: this machine only, on a free port.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=40,
        )
    client = Client(scheduler if cluster is None else cluster)
    try:
        client.register_plugin(WarmUp())
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
