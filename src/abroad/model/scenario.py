"""The nouns of a scenario: election days, sites, voter places, service model, policies.

Everything here is immutable and carries explicit units in field names. Values are validated
once, when a scenario is read (``abroad.io.scenario``); the numeric core trusts them.
"""

from __future__ import annotations

import datetime as dt
import itertools
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


class HoursChoice(_Frozen):
    """Opening hours the planner may choose: one opening and one closing time (the same on
    every day the station opens) on a ``step_minutes`` grid within the window, open at least
    ``min_hours``."""

    earliest_open: ClockTime
    latest_close: ClockTime
    step_minutes: int = Field(default=60, ge=15, le=12 * 60)
    min_hours: float = Field(default=1.0, gt=0, le=24)

    @model_validator(mode="after")
    def _window(self) -> HoursChoice:
        span = clock_minutes(self.latest_close) - clock_minutes(self.earliest_open)
        if span <= 0:
            raise ValueError(
                f"latest_close {time_text(self.latest_close)} must be after earliest_open "
                f"{time_text(self.earliest_open)}"
            )
        if span + 1e-9 < self.min_hours * 60:
            raise ValueError(
                f"the window {time_text(self.earliest_open)}-{time_text(self.latest_close)} is "
                f"shorter than min_hours {self.min_hours:g}"
            )
        return self

    def windows_minutes(self) -> tuple[tuple[float, float], ...]:
        """Every (open, close) in minutes after local midnight the planner may choose."""
        lo = clock_minutes(self.earliest_open)
        hi = clock_minutes(self.latest_close)
        step = float(self.step_minutes)
        need = self.min_hours * 60 - 1e-9
        opens = [lo + k * step for k in range(int((hi - lo) // step) + 1)]
        closes = sorted({hi - k * step for k in range(int((hi - lo) // step) + 1)})
        return tuple((o, c) for o in opens for c in closes if c - o >= need)


class DecisionGroup(_Frozen):
    """What the planner decides for each station of a group of sites, beyond its resources:
    opening hours within a window, which of the allowed days it opens, the close policy.

    A field left out is not decided: the election's hours, every voting day, the scenario's
    close policy (so a scenario without ``planner_decides`` plans exactly as before).
    """

    sites: tuple[SiteId, ...] | None = Field(default=None, max_length=L.MAX_SITES)
    """The sites this group applies to; ``None``: every site no other group names."""
    hours: HoursChoice | None = None
    may_open_days: tuple[dt.date, ...] | None = Field(default=None, max_length=L.MAX_VOTING_DAYS)
    """Voting days a station may open on (it opens on at least one, and on every
    ``must_open_days``); the other days it stays closed. ``None``: every day, all required."""
    must_open_days: tuple[dt.date, ...] = Field(default=(), max_length=L.MAX_VOTING_DAYS)
    close_policies: tuple[ClosePolicy, ...] = Field(default=(), max_length=8)
    """Close policies the planner may choose among (``hard_close`` or ``{extend_minutes: N}``;
    ``serve_all`` has no stated end, so its hours cannot be costed). Empty: the scenario's
    ``close_policy``."""

    @model_validator(mode="after")
    def _consistent(self) -> DecisionGroup:
        if self.may_open_days is not None:
            if not self.may_open_days:
                raise ValueError("may_open_days needs at least one voting day")
            extra = [d for d in self.must_open_days if d not in self.may_open_days]
            if extra:
                raise ValueError(
                    f"must_open_days {', '.join(str(d) for d in extra)} not in may_open_days"
                )
        elif self.must_open_days:
            raise ValueError("must_open_days needs may_open_days (the days a station may open)")
        if any(p.kind is ClosePolicyKind.SERVE_ALL for p in self.close_policies):
            raise ValueError(
                "serve_all has no stated end, so the planner cannot weigh its hours: list "
                "hard_close or {extend_minutes: N} instead"
            )
        return self

    def day_sets(self, dates: tuple[dt.date, ...]) -> tuple[tuple[bool, ...], ...]:
        """Every set of voting days (a flag per day) a station of this group may open on."""
        if self.may_open_days is None:
            return (tuple(True for _ in dates),)
        free = [d for d in dates if d in self.may_open_days and d not in self.must_open_days]
        out = []
        for pick in itertools.product((False, True), repeat=len(free)):
            chosen = {d for d, on in zip(free, pick, strict=True) if on}
            flags = tuple(d in self.must_open_days or d in chosen for d in dates)
            if any(flags):
                out.append(flags)
        return tuple(out)

    def alternatives_count(self, n_days: int) -> int:
        """Alternatives one station gets: hour windows x day sets x close policies."""
        hours = len(self.hours.windows_minutes()) if self.hours is not None else 1
        if self.may_open_days is None:
            days = 1
        else:
            free = len(set(self.may_open_days) - set(self.must_open_days))
            days = 2**free - (0 if self.must_open_days else 1)
        return hours * days * max(len(self.close_policies), 1)


@dataclass(frozen=True)
class StationSettings:
    """One alternative for a station besides its resources: its hours, the days it opens and
    its close policy (what ``policies.planner_decides`` leaves to the planner)."""

    hours_minutes: tuple[float, float] | None
    """Opening and closing time (minutes after local midnight) on every day it opens;
    ``None``: the election's hours (after ``site_hours`` overrides)."""
    open_days: tuple[bool, ...]
    """Per voting day: whether the station opens."""
    close_policy: ClosePolicy

    def describe(self, dates: tuple[dt.date, ...]) -> str:
        """Short text such as ``08:00-21:00, 2024-03-16 + 2024-03-17, extend 60 min``."""
        parts = []
        if self.hours_minutes is not None:
            o, c = self.hours_minutes
            parts.append(f"{_hhmm(o)}-{_hhmm(c)}")
        parts.append(" + ".join(str(d) for d, on in zip(dates, self.open_days, strict=True) if on))
        parts.append(close_policy_text(self.close_policy))
        return ", ".join(parts)


def _hhmm(minutes: float) -> str:
    m = round(minutes)
    return f"{m // 60:02d}:{m % 60:02d}"


def close_policy_text(policy: ClosePolicy) -> str:
    """``hard close``, ``serve all`` or ``extend 60 min``."""
    if policy.kind is ClosePolicyKind.EXTEND:
        return f"extend {policy.extend_minutes:g} min"
    return policy.kind.value.replace("_", " ")


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
    ballot_budget: int | None = Field(default=None, ge=0, le=L.MAX_BALLOTS * L.MAX_SITES)
    """Ballots the commission can send to the whole network (optional): when the stations'
    own ballots do not fit, every station runs out with the same, higher probability
    (abroad.network.ballots.allocate_ballots)."""
    ballot_forecast_sigma: float = Field(default=0.32, ge=0, le=10)
    """Uncertainty of a station's load before the vote: sd of its logarithm (calibrated on
    Russia 2018, abroad.network.ballots)."""
    cost_per_station_hour: float = Field(default=0.0, ge=0, le=L.MAX_MONEY)
    """Cost of keeping one station open one hour (staff time, premises), on top of the site's
    ``cost_per_day``; an extension counts its minutes. Counts against ``cost_budget_per_day``
    (over the election: times the voting days)."""
    planner_decides: tuple[DecisionGroup, ...] = Field(default=(), max_length=L.MAX_SITES)
    """Groups of sites whose hours, days or close policy the planner decides
    (docs/reference/scenario-format.md); empty: all fixed by the election and ``close_policy``."""


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

    def decision_group(self, site_id: SiteId) -> DecisionGroup | None:
        """The ``policies.planner_decides`` group a site belongs to (``None``: all fixed)."""
        catch_all = None
        for group in self.policies.planner_decides:
            if group.sites is None:
                catch_all = group
            elif site_id in group.sites:
                return group
        return catch_all

    def fixed_settings(self, site_id: SiteId) -> StationSettings:
        """A station's hours, days and close policy as the scenario fixes them (every day, the
        election's hours, ``close_policy``): what a network 'as it is' works with."""
        del site_id
        return StationSettings(
            None, tuple(True for _ in self.election.days), self.policies.close_policy
        )

    def station_alternatives(self, site_id: SiteId) -> tuple[StationSettings, ...]:
        """Every alternative the planner may choose for a station at this site (one, the fixed
        settings, when no ``planner_decides`` group names it), nearest the scenario's own
        settings first (the planner prefers the first of equally good alternatives)."""
        group = self.decision_group(site_id)
        if group is None:
            return (self.fixed_settings(site_id),)
        dates = tuple(d.date for d in self.election.days)
        hours: tuple[tuple[float, float] | None, ...] = (
            (None,) if group.hours is None else group.hours.windows_minutes()
        )
        policies = group.close_policies or (self.policies.close_policy,)
        every = [
            StationSettings(h, days, policy)
            for h in hours
            for days in group.day_sets(dates)
            for policy in policies
        ]
        return tuple(sorted(every, key=lambda a: self._distance(site_id, a)))

    def _distance(self, site_id: SiteId, settings: StationSettings) -> tuple[int, float, float]:
        """How far settings are from the scenario's own: days changed, minutes of opening and
        closing moved (summed over the days), minutes of extension changed."""
        own = self.fixed_settings(site_id)
        days = sum(a != b for a, b in zip(settings.open_days, own.open_days, strict=True))
        moved = 0.0
        if settings.hours_minutes is not None:
            o, c = settings.hours_minutes
            for day in self.election.days:
                fo, fc = self.election.hours(site_id, day)
                moved += abs(o - clock_minutes(fo)) + abs(c - clock_minutes(fc))
        extension = abs(
            settings.close_policy.extend_minutes - own.close_policy.extend_minutes
        ) + 1440 * (settings.close_policy.kind is not own.close_policy.kind)
        return days, moved, extension

    def open_hours(self, site_id: SiteId, settings: StationSettings) -> float:
        """Hours a station with these settings is open over the election, an extension's
        minutes included (what ``cost_per_station_hour`` charges)."""
        total = 0.0
        for day, on in zip(self.election.days, settings.open_days, strict=True):
            if not on:
                continue
            if settings.hours_minutes is None:
                o, c = self.election.hours(site_id, day)
                total += (clock_minutes(c) - clock_minutes(o)) / 60
            else:
                total += (settings.hours_minutes[1] - settings.hours_minutes[0]) / 60
            if settings.close_policy.kind is ClosePolicyKind.EXTEND:
                total += settings.close_policy.extend_minutes / 60
        return total

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
