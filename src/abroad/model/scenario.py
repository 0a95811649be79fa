"""The nouns of a scenario: election days, sites, voter places, service model, policies.

Everything here is immutable and carries explicit units in field names. Values are validated
once, when a scenario is read (``abroad.io.scenario``); the numeric core trusts them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from abroad.model import limits as L
from abroad.model.clock import ClockTime, clock_minutes, time_text
from abroad.model.demand_params import DemandParams
from abroad.model.distributions import Distribution
from abroad.model.tours import Tours
from abroad.model.types import (
    ClosePolicyKind,
    CountryCode,
    PlaceId,
    SiteId,
    SiteKind,
    TimeZoneName,
)

FloatArray = npt.NDArray[np.float64]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    """Numbers must be finite: ``inf``, ``nan`` and ``1e309`` are errors wherever a quantity is
    meant; upper limits come from ``abroad.model.limits``."""


# ---------------------------------------------------------------------------------------------
# Election calendar


class VotingDay(_Frozen):
    """One voting day with its default opening hours in each site's local time."""

    date: dt.date
    open: ClockTime = dt.time(8, 0)
    close: ClockTime = dt.time(20, 0)

    @model_validator(mode="after")
    def _close_after_open(self) -> VotingDay:
        if self.close <= self.open:
            raise ValueError(
                f"closing time {time_text(self.close)} must be after opening time "
                f"{time_text(self.open)}"
            )
        return self

    @property
    def open_minutes(self) -> float:
        """Opening time as minutes after local midnight."""
        return clock_minutes(self.open)

    @property
    def close_minutes(self) -> float:
        """Closing time as minutes after local midnight (``24:00`` is 1440)."""
        return clock_minutes(self.close)


class SiteHours(_Frozen):
    """Opening hours of one site on one date, overriding the election default."""

    site_id: SiteId
    date: dt.date
    open: ClockTime
    close: ClockTime

    @model_validator(mode="after")
    def _close_after_open(self) -> SiteHours:
        if self.close <= self.open:
            raise ValueError(
                f"closing time {time_text(self.close)} must be after opening time "
                f"{time_text(self.open)}"
            )
        return self


class Election(_Frozen):
    """The election: its voting days and per-site hour overrides."""

    name: str
    days: tuple[VotingDay, ...] = Field(max_length=L.MAX_VOTING_DAYS)
    site_hours: tuple[SiteHours, ...] = Field(default=(), max_length=L.MAX_SITES * 31)

    @model_validator(mode="after")
    def _has_days(self) -> Election:
        if not self.days:
            raise ValueError("an election needs at least one voting day")
        return self

    def hours(self, site_id: SiteId, day: VotingDay) -> tuple[dt.time, dt.time]:
        """Opening and closing time of a site on a day, after overrides."""
        for override in self.site_hours:
            if override.site_id == site_id and override.date == day.date:
                return override.open, override.close
        return day.open, day.close


# ---------------------------------------------------------------------------------------------
# Places and sites


class Site(_Frozen):
    """A place where a station can open: a mission or another venue."""

    site_id: SiteId
    name: str
    kind: SiteKind
    country: CountryCode
    city: str | None = None
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    timezone: TimeZoneName
    available: bool = True
    host_permits: bool = True
    max_desks: int = Field(default=4, ge=1, le=L.MAX_SERVERS)
    max_booths: int = Field(default=10, ge=1, le=L.MAX_SERVERS)
    max_security_lanes: int | None = Field(default=None, ge=1, le=L.MAX_SERVERS)
    """Most door-screening lanes the premises allow (missions only); ``None``: the scenario's
    ``service.security.servers`` (see :func:`abroad.network.simulation.max_security_lanes`)."""
    max_queue_outside: int | None = Field(default=None, ge=0, le=L.MAX_QUEUE_LENGTH)
    staff_available: int = Field(default=0, ge=0, le=L.MAX_STAFF)
    cost_per_day: float = Field(default=0.0, ge=0, le=L.MAX_MONEY)

    @property
    def can_open(self) -> bool:
        """Available and permitted by the host: a station may open here."""
        return self.available and self.host_permits


class VoterPlace(_Frozen):
    """Where citizens live: a city or district with its estimated eligible citizens."""

    place_id: PlaceId
    name: str
    country: CountryCode
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    timezone: TimeZoneName
    eligible_citizens: float = Field(ge=0, le=L.MAX_CITIZENS_PER_PLACE)
    pre_registrations: int | None = Field(default=None, ge=0, le=L.MAX_CITIZENS_PER_PLACE)
    pre_registered_site: SiteId | None = None
    previous_votes: int | None = Field(default=None, ge=0, le=L.MAX_CITIZENS_PER_PLACE)
    consular_estimate: float | None = Field(default=None, ge=0, le=L.MAX_CITIZENS_PER_PLACE)


# ---------------------------------------------------------------------------------------------
# Service model and policies


DEFAULT_SECURITY_LANES = 2
"""Door-screening lanes at a mission when neither the sites table nor the scenario says
(calibrated on Berlin 2024: two lanes at ~27 s a person pass ~270 voters an hour)."""


class SecurityScreening(_Frozen):
    """Door security screening before the desks (embassies)."""

    service: Distribution
    servers: int = Field(default=DEFAULT_SECURITY_LANES, ge=1, le=L.MAX_SERVERS)
    """Lanes at a mission whose row in the sites table leaves ``max_security_lanes`` empty.
    The default changed from 1 to 2 (docs/background/capacity.md): one lane at 27 s a person
    passes about 133 voters an hour, half of what Berlin processed in 2024."""


class ServiceModel(_Frozen):
    """How long each step takes in a station, and how long voters are prepared to wait."""

    checkin: Distribution
    booth: Distribution
    security: SecurityScreening | None = None
    patience: Distribution | None = None
    balk_queue_length: int | None = Field(default=None, ge=0, le=L.MAX_QUEUE_LENGTH)


class ClosePolicy(_Frozen):
    """What happens to people in line at closing time.

    Written in files as ``serve_all``, ``hard_close`` or ``{extend_minutes: 60}`` (the full form
    ``{kind: extend, extend_minutes: 60}`` is accepted too).
    """

    kind: ClosePolicyKind = ClosePolicyKind.HARD_CLOSE
    extend_minutes: float = Field(default=0.0, ge=0, le=L.MAX_EXTEND_MINUTES)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        if isinstance(value, str):
            return {"kind": value}
        if isinstance(value, dict) and "kind" not in value and "extend_minutes" in value:
            return {"kind": ClosePolicyKind.EXTEND.value, **value}
        return value

    @model_validator(mode="after")
    def _extend_needs_minutes(self) -> ClosePolicy:
        if self.kind is ClosePolicyKind.EXTEND and self.extend_minutes <= 0:
            raise ValueError("an extension needs extend_minutes > 0")
        return self


class WaitTarget(_Frozen):
    """A service level: ``service_level`` of voters wait less than ``minutes``."""

    minutes: float = Field(default=30.0, gt=0, le=L.MAX_WAIT_TARGET_MINUTES)
    service_level: float = Field(default=0.95, gt=0, le=1)
    hard: bool = True
    late_penalty: float = Field(default=0.5, ge=0, le=1)
    """Soft target only: votes given up in the planner's objective per voter who votes after
    waiting longer than ``minutes`` (0.5: two late votes are worth one on time)."""


class StaffRules(_Frozen):
    """How many staff a station needs for its resources."""

    per_desk: float = Field(default=1.0, ge=0, le=L.MAX_STAFF)
    per_booths: float = Field(default=0.0, ge=0, le=L.MAX_STAFF)
    """Staff per booth (supervision), may be fractional: 0.2 = one per five booths."""
    fixed_per_station: float = Field(default=1.0, ge=0, le=L.MAX_STAFF)
    """Chair of the station, security liaison: staff a station needs whatever its size."""
    per_security_lane: float | None = Field(default=None, ge=0, le=L.MAX_STAFF)
    """Staff per door-screening lane; ``None``: as ``per_desk`` (the format-1 rule)."""

    @property
    def per_lane(self) -> float:
        """Staff per screening lane, after the default."""
        return self.per_desk if self.per_security_lane is None else self.per_security_lane


class Policies(_Frozen):
    """Rules the election commission sets."""

    close_policy: ClosePolicy = ClosePolicy()
    ballot_cap_per_station: int | None = Field(default=None, ge=0, le=L.MAX_BALLOTS)
    wait_target: WaitTarget = WaitTarget()
    staff_budget: int | None = Field(default=None, ge=0, le=L.MAX_STAFF)
    staff: StaffRules = StaffRules()
    cost_budget_per_day: float | None = Field(default=None, ge=0, le=L.MAX_MONEY)
    ballot_run_out_probability: float = Field(default=0.01, gt=0, lt=1)
    """Stated probability that a station runs out of the ballots the plan sends it."""
    ballot_forecast_sigma: float = Field(default=0.32, ge=0, le=10)
    """Uncertainty of a station's load before the vote: sd of its logarithm (calibrated on
    Russia 2018, abroad.network.ballots)."""


class TravelModel(_Frozen):
    """Travel time from great-circle distance (see abroad.geo.travel)."""

    road_detour_factor: float = Field(default=1.3, ge=1.0, le=10.0)
    road_speed_kmh: float = Field(default=80.0, gt=0, le=L.MAX_SPEED_KMH)
    flight_threshold_km: float = Field(default=800.0, gt=0, le=L.MAX_DISTANCE_KM)
    flight_speed_kmh: float = Field(default=700.0, gt=0, le=L.MAX_SPEED_KMH)
    flight_overhead_hours: float = Field(default=3.0, ge=0, le=L.MAX_HOURS)


# ---------------------------------------------------------------------------------------------
# The scenario


@dataclass(frozen=True)
class PlaceArrays:
    """Voter places as parallel arrays for vectorised computation (same order as places)."""

    lat_deg: FloatArray
    lon_deg: FloatArray
    eligible_citizens: FloatArray
    pre_registrations: FloatArray
    """NaN where unknown."""
    previous_votes: FloatArray
    """NaN where unknown."""
    consular_estimate: FloatArray
    """NaN where unknown."""


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: everything the pipeline needs, nothing read from disk later."""

    name: str
    description: str
    citizen_country: CountryCode
    election: Election
    sites: tuple[Site, ...]
    places: tuple[VoterPlace, ...]
    service: ServiceModel
    policies: Policies = field(default_factory=Policies)
    demand: DemandParams = field(default_factory=DemandParams)
    travel: TravelModel = field(default_factory=TravelModel)
    variant: str | None = None
    variants: tuple[str, ...] = field(default=())
    """Names of the variants the scenario file defines (see abroad.io.scenario)."""
    tours: Tours | None = None
    """Consular outreach tours (the optional ``tours:`` section; see abroad.io.tours)."""

    def site(self, site_id: SiteId) -> Site:
        """The site with this id; KeyError if there is none."""
        return self._sites_by_id[site_id]

    @cached_property
    def _sites_by_id(self) -> dict[SiteId, Site]:
        return {s.site_id: s for s in self.sites}

    @cached_property
    def site_index(self) -> dict[SiteId, int]:
        """Position of each site in ``sites``."""
        return {s.site_id: i for i, s in enumerate(self.sites)}

    @cached_property
    def openable_sites(self) -> tuple[Site, ...]:
        """Sites where a station may open (available and permitted by the host)."""
        return tuple(s for s in self.sites if s.can_open)

    @cached_property
    def place_arrays(self) -> PlaceArrays:
        def opt(values: list[float | int | None]) -> FloatArray:
            return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)

        return PlaceArrays(
            lat_deg=np.array([p.lat for p in self.places], dtype=np.float64),
            lon_deg=np.array([p.lon for p in self.places], dtype=np.float64),
            eligible_citizens=np.array([p.eligible_citizens for p in self.places], np.float64),
            pre_registrations=opt([p.pre_registrations for p in self.places]),
            previous_votes=opt([p.previous_votes for p in self.places]),
            consular_estimate=opt([p.consular_estimate for p in self.places]),
        )

    @cached_property
    def site_lat_deg(self) -> FloatArray:
        return np.array([s.lat for s in self.sites], dtype=np.float64)

    @cached_property
    def site_lon_deg(self) -> FloatArray:
        return np.array([s.lon for s in self.sites], dtype=np.float64)

    @property
    def total_eligible_citizens(self) -> float:
        return float(sum(p.eligible_citizens for p in self.places))
