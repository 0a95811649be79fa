"""Monte Carlo over replications, in this process or spread over a Dask cluster.

The unit of work is a block of consecutive replications of one station: replication k of a
station seeded s always draws from ``SeedSequence(s, spawn_key=(k,))`` and station i of a network
run under seed S is seeded ``station_seed(S, i)`` (``abroad.queueing.station``). Blocks are
gathered in replication order and summarised by the simulator's own ``summarise``, so the
result on any number of workers equals ``simulate_station`` / ``simulate_network`` for the same
seed, number for number.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from abroad.network.simulation import StationRunner
from abroad.queueing import StationOutcome, StationSpec, run_replications, station_seed
from abroad.queueing import kernel as K
from abroad.queueing.station import RawRuns, prepare, summarise
from abroad.sweep.engine import Network

if TYPE_CHECKING:
    from distributed import Client

FloatArray = npt.NDArray[np.float64]

METRIC_COLUMNS = (
    "arrivals",
    "votes_cast",
    "turned_away_at_close",
    "turned_away_no_ballots",
    "turned_away_cap",
    "reneged",
    "balked",
    "not_served",
    "wait_minutes_mean",
    "wait_minutes_p95_worst",
    "service_level",
)
"""Per-replication network totals (one row of results.parquet each)."""

_COUNT_COLUMNS = {
    "votes_cast": K.SERVED,
    "turned_away_at_close": K.TURNED_AWAY_CLOSE,
    "turned_away_no_ballots": K.TURNED_AWAY_NO_BALLOTS,
    "turned_away_cap": K.TURNED_AWAY_CAP,
    "reneged": K.RENEGED,
    "balked": K.BALKED,
}


def replication_metrics(raws: Sequence[RawRuns]) -> dict[str, FloatArray]:
    """Network totals per replication from each station's per-replication statistics.

    ``wait_minutes_mean`` is the mean wait of every voter served in the network;
    ``wait_minutes_p95_worst`` the largest station p95 wait; ``service_level`` the share of
    arrivals served within the wait target.
    """
    if not raws:
        return {name: np.zeros(0) for name in METRIC_COLUMNS}
    # (stations, replications, cols); the fixed columns only (stations differ in stages)
    whole = np.stack([r.stats[:, -1, : K.N_FIXED_COLS] for r in raws])
    out: dict[str, FloatArray] = {"arrivals": whole[:, :, K.COL_ARRIVALS].sum(axis=0)}
    for name, code in _COUNT_COLUMNS.items():
        out[name] = whole[:, :, K.COL_COUNTS + code].sum(axis=0)
    out["not_served"] = out["arrivals"] - out["votes_cast"]
    served = whole[:, :, K.COL_COUNTS + K.SERVED]
    waits = np.where(served > 0, whole[:, :, K.COL_WAIT_MEAN], 0.0)
    total_served = served.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["wait_minutes_mean"] = np.where(
            total_served > 0, (waits * served).sum(axis=0) / np.maximum(total_served, 1), np.nan
        )
        out["service_level"] = np.where(
            out["arrivals"] > 0,
            whole[:, :, K.COL_SL_HITS].sum(axis=0) / np.maximum(out["arrivals"], 1),
            np.nan,
        )
    p95 = np.where(served > 0, whole[:, :, K.COL_WAIT_P95], -np.inf)
    worst = p95.max(axis=0)
    out["wait_minutes_p95_worst"] = np.where(np.isfinite(worst), worst, np.nan)
    return out


def network_raw(network: Network, seed: int, replications: int) -> list[RawRuns]:
    """Every station's replications in this process (station i under ``station_seed``)."""
    return [
        run_replications(spec, replications, station_seed(seed, i), network.target_wait_minutes)
        for i, spec in enumerate(network.specs)
    ]


# ---------------------------------------------------------------------------------------------
# On a cluster


def blocks(replications: int, n_blocks: int) -> list[tuple[int, int]]:
    """``(first, count)`` of ``n_blocks`` near-equal consecutive blocks covering the
    replications (fewer when there are fewer replications)."""
    n = max(1, min(n_blocks, replications))
    edges = np.linspace(0, replications, n + 1).round().astype(int)
    return [(int(a), int(b - a)) for a, b in itertools.pairwise(edges) if b > a]


def blocks_per_station(expected_voters: Sequence[float], workers: int) -> list[int]:
    """How many blocks each station's replications are cut into: in proportion to its
    expected voters (the simulator's work), about 16 blocks of equal work per worker in all,
    so that one busy station does not leave the other workers idle at the end."""
    work = np.maximum(np.asarray(expected_voters, dtype=np.float64), 1.0)
    target = work.sum() / (16 * max(workers, 1))
    return [max(1, math.ceil(w / target)) for w in work]


def _block(spec: StationSpec, count: int, seed: int, target: float, first: int) -> RawRuns:
    return run_replications(spec, count, seed, target, first_replication=first)


def _concat(parts: Sequence[RawRuns]) -> RawRuns:
    return RawRuns(
        np.concatenate([p.stats for p in parts]), np.concatenate([p.line for p in parts])
    )


def raw_on_cluster(
    client: Client,
    specs: Sequence[StationSpec],
    seeds: Sequence[int],
    replications: int,
    target_wait_minutes: float,
    on_block: Callable[[int], None] | None = None,
) -> list[RawRuns]:
    """Each station's replications, run in blocks on the cluster and put back in order.

    ``on_block(count)`` is called as each block of ``count`` replications comes back.
    """
    from distributed import as_completed

    workers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
    per_station = blocks_per_station([s.expected_arrivals for s in specs], workers)
    remote_specs = client.scatter(list(specs))
    futures = {}
    for i, (spec, seed) in enumerate(zip(remote_specs, seeds, strict=True)):
        for first, count in blocks(replications, per_station[i]):
            fut = client.submit(_block, spec, count, seed, target_wait_minutes, first, pure=False)
            futures[fut] = (i, first, count)
    parts: dict[int, dict[int, RawRuns]] = {i: {} for i in range(len(specs))}
    for fut in as_completed(list(futures)):
        i, first, count = futures[fut]
        parts[i][first] = fut.result()
        fut.release()
        if on_block is not None:
            on_block(count)
    return [_concat([parts[i][k] for k in sorted(parts[i])]) for i in range(len(specs))]


def simulate_station_on(
    client: Client,
    spec: StationSpec,
    replications: int = 40,
    seed: int = 0,
    target_wait_minutes: float = 30.0,
    on_replications: Callable[[int], None] | None = None,
) -> StationOutcome:
    """``simulate_station`` with its replications spread over a Dask cluster: the same
    outcome for the same seed."""
    if replications < 1:
        raise ValueError("replications must be at least 1")
    (raw,) = raw_on_cluster(
        client, [spec], [seed], replications, target_wait_minutes, on_replications
    )
    return summarise(prepare(spec), raw, seed, target_wait_minutes)


def station_runner(client: Client) -> StationRunner:
    """A ``simulate_network`` station runner that spreads each station's replications over
    the cluster (``abroad plan --scheduler``): the same outcomes for the same seeds."""

    def run(spec: StationSpec, replications: int, seed: int, target: float) -> StationOutcome:
        return simulate_station_on(client, spec, replications, seed, target)

    return run


@dataclass(frozen=True)
class NetworkMonteCarlo:
    """A network simulated many times: each station's outcome and the network's totals per
    replication (``METRIC_COLUMNS``)."""

    outcomes: tuple[StationOutcome, ...]
    per_replication: dict[str, FloatArray]
    seed: int
    replications: int


def simulate_network_on(
    client: Client | None,
    network: Network,
    *,
    seed: int,
    replications: int,
    on_replications: Callable[[int], None] | None = None,
) -> NetworkMonteCarlo:
    """Simulate a network's stations (on the cluster, or here with ``client=None``); station
    outcomes equal ``simulate_network``'s for the same seed."""
    seeds = [station_seed(seed, i) for i in range(len(network.specs))]
    target = network.target_wait_minutes
    if client is None:
        raws = network_raw(network, seed, replications)
    else:
        raws = raw_on_cluster(client, network.specs, seeds, replications, target, on_replications)
    outcomes = tuple(
        summarise(prepare(spec), raw, s, target)
        for spec, raw, s in zip(network.specs, raws, seeds, strict=True)
    )
    return NetworkMonteCarlo(outcomes, replication_metrics(raws), seed, replications)
