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


# Kinds of standard variates and their transforms (see ``fill_durations``).
KIND_INF = 0  # no variate: +inf (unlimited patience)
KIND_EXP = 1  # standard exponential x: scale * x
KIND_LOGNORMAL = 2  # standard normal z: exp(mu + sigma z)
KIND_CONST = 3  # no variate: the constant
KIND_UNIFORM = 4  # uniform u: low + (high - low) u
KIND_EMPIRICAL = 5  # uniform u: values[floor(u * len)]


def dist_code(dist: Distribution | None) -> tuple[int, float, float, tuple[float, ...]]:
    """(kind, p1, p2, table) of a distribution for the compiled transform."""
    if dist is None:
        return KIND_INF, 0.0, 0.0, ()
    if isinstance(dist, Exponential):
        return KIND_EXP, dist.mean_minutes, 0.0, ()
    if isinstance(dist, LogNormal):
        mu, sigma = dist.log_params()
        return KIND_LOGNORMAL, mu, sigma, ()
    if isinstance(dist, Deterministic):
        return KIND_CONST, dist.minutes, 0.0, ()
    if isinstance(dist, Uniform):
        return KIND_UNIFORM, dist.low_minutes, dist.high_minutes - dist.low_minutes, ()
    if isinstance(dist, Empirical):
        return KIND_EMPIRICAL, 0.0, 0.0, tuple(dist.values_minutes)
    raise TypeError(f"unknown distribution {dist!r}")


def fill_standard(rng: np.random.Generator, kind: int, out: FloatArray) -> None:
    """Draw the standard variates a kind needs into ``out`` (in place, one bulk call)."""
    if kind == KIND_EXP:
        rng.standard_exponential(out=out)
    elif kind == KIND_LOGNORMAL:
        rng.standard_normal(out=out)
    elif kind in (KIND_UNIFORM, KIND_EMPIRICAL):
        rng.random(out=out)
