"""Typed outcomes of the station simulator: means with 95 % confidence intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

LOSS_CAUSES = (
    "turned_away_at_close",
    "turned_away_no_ballots",
    "reneged",
    "balked",
    "turned_away_cap",
)
"""Outcome fields counting arrivals who did not vote, one per cause (see ``PeriodOutcome``)."""


@dataclass(frozen=True)
class Estimate:
    """Mean over replications with a 95 % Student-t confidence interval (NaN if n < 2)."""

    mean: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict[str, float]:
        """``{mean, ci_low, ci_high}``, the JSON form used by ``--json`` outputs."""
        return {"mean": self.mean, "ci_low": self.ci_low, "ci_high": self.ci_high}


@lru_cache(maxsize=256)
def _t975(dof: int) -> float:
    from scipy.special import stdtrit

    return float(stdtrit(dof, 0.975))


def estimate(values: FloatArray) -> Estimate:
    """Estimate from one value per replication; NaN values (nothing to measure) are skipped."""
    v = values[~np.isnan(values)]
    n = v.shape[0]
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan)
    mean = float(v.mean())
    if n < 2:
        return Estimate(mean, math.nan, math.nan)
    half = _t975(n - 1) * float(v.std(ddof=1)) / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half)


@dataclass(frozen=True)
class WaitSummary:
    """Wait in minutes of served voters (time in queues, all stages, service excluded)."""

    mean: Estimate
    p50: Estimate
    p90: Estimate
    p95: Estimate
    p99: Estimate
    max: Estimate


@dataclass(frozen=True)
class LinePoint:
    """Length of the line (people waiting for the first stage) at a clock minute."""

    minute: float
    mean: float
    p95: float


@dataclass(frozen=True)
class PeriodOutcome:
    """Outcome of one voting day, or of the whole run (``day`` is None)."""

    day: int | None
    arrivals: Estimate
    served: Estimate
    turned_away_at_close: Estimate
    turned_away_no_ballots: Estimate
    reneged: Estimate
    balked: Estimate
    turned_away_cap: Estimate
    wait_minutes: WaitSummary
    service_level: Estimate
    """Share of arrivals served with a wait at most the target (the unserved count as misses)."""
    max_line: Estimate
    line_over_time: tuple[LinePoint, ...]
    utilisation: dict[str, Estimate]
    last_leave_minute: Estimate
    """Clock minute at which the last voter left (served or not); whole run: last day's."""


@dataclass(frozen=True)
class StationOutcome:
    """What happened at one station: per day and in total, over ``replications`` runs (its
    JSON shape, ``abroad simulate --json``, is ``abroad.results.StationOutcomeResult``)."""

    name: str
    replications: int
    seed: int
    target_wait_minutes: float
    total: PeriodOutcome
    days: tuple[PeriodOutcome, ...]
