"""Random streams: one seed gives every replication its own independent, reproducible stream.

Replication ``k`` of seed ``s`` always uses ``SeedSequence(s, spawn_key=(k,))``, so it is the
same whether run alone, in a batch, or in another process.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from abroad.model import Deterministic, Distribution, Empirical, Exponential, LogNormal, Uniform

FloatArray = npt.NDArray[np.float64]


def replication_rng(seed: int, replication: int) -> np.random.Generator:
    """The generator of replication ``replication`` under ``seed``."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(replication,)))
    )


def draw(rng: np.random.Generator, dist: Distribution | None, n: int) -> FloatArray:
    """``n`` durations in minutes; ``None`` (no limit) gives infinities without drawing."""
    if dist is None:
        return np.full(n, np.inf)
    if isinstance(dist, Exponential):
        return rng.standard_exponential(n) * dist.mean_minutes
    if isinstance(dist, LogNormal):
        mu, sigma = dist.log_params()
        return np.exp(rng.standard_normal(n) * sigma + mu)
    if isinstance(dist, Deterministic):
        return np.full(n, dist.minutes)
    if isinstance(dist, Uniform):
        return rng.uniform(dist.low_minutes, dist.high_minutes, n)
    if isinstance(dist, Empirical):
        values = np.asarray(dist.values_minutes, dtype=np.float64)
        return values[rng.integers(0, values.shape[0], n)]
    raise TypeError(f"unknown distribution {dist!r}")
