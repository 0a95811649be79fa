"""Probability distributions of durations (service times, patience), in minutes.

These are plain typed values: the scenario and station specs are validated into them at the
boundary, and the simulator turns them into random variates. Every distribution is tagged by
``dist`` so that YAML/JSON can name it: ``{dist: lognormal, mean_minutes: 4, cv: 0.5}``.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from abroad.model.limits import MAX_CV, MAX_DURATION_MINUTES, MAX_EMPIRICAL_VALUES


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Exponential(_Frozen):
    """Exponential durations with the given mean."""

    dist: Literal["exponential"] = "exponential"
    mean_minutes: float = Field(gt=0, le=MAX_DURATION_MINUTES)

    @property
    def mean(self) -> float:
        return self.mean_minutes


class LogNormal(_Frozen):
    """Log-normal durations given by their mean and coefficient of variation (sd / mean)."""

    dist: Literal["lognormal"] = "lognormal"
    mean_minutes: float = Field(gt=0, le=MAX_DURATION_MINUTES)
    cv: float = Field(gt=0, le=MAX_CV)
    """At most ``MAX_CV`` (100): beyond, the underlying normal's sigma makes draws overflow."""

    @property
    def mean(self) -> float:
        return self.mean_minutes

    def log_params(self) -> tuple[float, float]:
        """(mu, sigma) of the underlying normal distribution."""
        sigma2 = math.log1p(self.cv * self.cv)
        return math.log(self.mean_minutes) - sigma2 / 2.0, math.sqrt(sigma2)


class Deterministic(_Frozen):
    """Every duration is exactly ``minutes``."""

    dist: Literal["deterministic"] = "deterministic"
    minutes: float = Field(ge=0, le=MAX_DURATION_MINUTES)

    @property
    def mean(self) -> float:
        return self.minutes


class Uniform(_Frozen):
    """Durations uniform between ``low_minutes`` and ``high_minutes``."""

    dist: Literal["uniform"] = "uniform"
    low_minutes: float = Field(ge=0, le=MAX_DURATION_MINUTES)
    high_minutes: float = Field(gt=0, le=MAX_DURATION_MINUTES)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high_minutes < self.low_minutes:
            raise ValueError("high_minutes must not be below low_minutes")
        return self

    @property
    def mean(self) -> float:
        return (self.low_minutes + self.high_minutes) / 2.0


class Empirical(_Frozen):
    """Durations resampled (with replacement) from observed values."""

    dist: Literal["empirical"] = "empirical"
    values_minutes: tuple[float, ...] = Field(min_length=1, max_length=MAX_EMPIRICAL_VALUES)

    @model_validator(mode="after")
    def _non_negative(self) -> Empirical:
        if any(v < 0 or not v <= MAX_DURATION_MINUTES for v in self.values_minutes):
            raise ValueError(
                f"values_minutes must be between 0 and {MAX_DURATION_MINUTES:g} (the limit)"
            )
        return self

    @property
    def mean(self) -> float:
        return sum(self.values_minutes) / len(self.values_minutes)


Distribution = Annotated[
    Exponential | LogNormal | Deterministic | Uniform | Empirical,
    Field(discriminator="dist"),
]
"""Any duration distribution, chosen by its ``dist`` tag."""
