"""Parameters of the demand model (who votes, where, when), as given in ``scenario.yaml``.

The demand model itself lives in ``abroad.demand``; this module only holds the typed values.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from abroad.model import limits as L
from abroad.model.clock import ClockTime


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class DistanceDecay(_Frozen):
    """Share of the base turnout left after travelling ``d`` km (or ``t`` hours) to the station.

    - ``exponential``: ``exp(-d / scale_km)``
    - ``logistic``: ``1 / (1 + exp((d - midpoint_km) / scale_km))``, normalised to 1 at d = 0
    - ``none``: 1 everywhere (distance does not matter)

    With ``decay_on: travel_time`` the same families use ``scale_hours`` and ``midpoint_hours``.
    Defaults: an exponential with 150 km scale keeps 51 % of turnout at 100 km and 14 % at 300 km,
    in line with Finnish expatriates switching to postal votes beyond ~100 km (domain.md §4).
    """

    family: Literal["exponential", "logistic", "none"] = "exponential"
    scale_km: float = Field(default=150.0, gt=0, le=L.MAX_DISTANCE_KM)
    midpoint_km: float = Field(default=150.0, ge=0, le=L.MAX_DISTANCE_KM)
    scale_hours: float = Field(default=2.0, gt=0, le=L.MAX_HOURS)
    midpoint_hours: float = Field(default=2.0, ge=0, le=L.MAX_HOURS)


class StationChoice(_Frozen):
    """How voters pick a station: the nearest open one, or a logit choice among the k nearest."""

    model: Literal["nearest", "logit"] = "nearest"
    k_nearest: int = Field(default=3, ge=1, le=L.MAX_CHOICE_K)
    beta_per_km: float = Field(default=0.02, ge=0, le=L.MAX_COEFFICIENT)
    """Logit utility lost per km of travel (0.02: 50 km costs as much as 50 minutes' wait)."""
    beta_per_wait_minute: float = Field(default=0.02, ge=0, le=L.MAX_COEFFICIENT)
    """Logit utility lost per minute of expected wait at the station."""


class SignalWeights(_Frozen):
    """Weights of the separate signals that set a place's expected voters.

    The model-based estimate (eligible citizens x base turnout x decay) always carries weight;
    pre-registration alone never sets demand (it is biased: Moldova 2024, Montreuil had 67
    registrations and 1,569 voters).
    """

    model: float = Field(default=1.0, gt=0, le=L.MAX_COEFFICIENT)
    previous_votes: float = Field(default=1.0, ge=0, le=L.MAX_COEFFICIENT)
    pre_registrations: float = Field(default=0.5, ge=0, le=L.MAX_COEFFICIENT)
    consular_estimate: float = Field(default=0.5, ge=0, le=L.MAX_COEFFICIENT)
    """Weight of eligible citizens re-estimated from the consular count (x base turnout)."""
    pre_registration_uplift: float = Field(default=1.5, gt=0, le=L.MAX_COEFFICIENT)
    """Registered people are a lower bound: voters ≈ uplift x registrations, as a signal."""
    pre_registered_turnout: float = Field(default=0.8, ge=0, le=1)
    """Share of pre-registered people who vote; they go to the station they registered for."""


class Surge(_Frozen):
    """Extra arrivals concentrated around a local clock time on one voting day."""

    day: int = Field(default=-1, ge=-L.MAX_VOTING_DAYS, lt=L.MAX_VOTING_DAYS)
    """Index into the election's days (0 = first, -1 = last)."""
    at: ClockTime = dt.time(12, 0)
    share: float = Field(default=0.3, gt=0, lt=1)
    """Share of that day's voters who come in the surge."""
    width_minutes: float = Field(default=60.0, gt=0, le=L.MAX_DURATION_MINUTES)
    """Standard deviation of the surge around ``at``."""


class DemandParams(_Frozen):
    """All demand-model parameters of a scenario, with documented defaults."""

    base_turnout: float = Field(default=0.2, gt=0, le=1)
    """Share of eligible citizens who vote when the station is next door (Russia 2024 abroad:
    383,553 of 1.89 M registered ≈ 0.20)."""
    decay: DistanceDecay = DistanceDecay()
    decay_on: Literal["distance", "travel_time"] = "distance"
    choice: StationChoice = StationChoice()
    signals: SignalWeights = SignalWeights()
    day_shares: tuple[float, ...] | None = Field(default=None, max_length=L.MAX_VOTING_DAYS)
    """Share of voters per voting day; default: the last day busiest (see abroad.demand)."""
    hourly_curve_country: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,3}$")
    """ISO3 code of the calibrated daily curve to use; default: the host country's, else pooled."""
    surges: tuple[Surge, ...] = Field(default=(), max_length=L.MAX_SURGES)

    @model_validator(mode="after")
    def _shares(self) -> DemandParams:
        if self.day_shares is not None:
            if any(s < 0 for s in self.day_shares):
                raise ValueError("day_shares must be non-negative")
            if abs(sum(self.day_shares) - 1.0) > 1e-6:
                raise ValueError(f"day_shares must sum to 1, not {sum(self.day_shares):g}")
        return self
