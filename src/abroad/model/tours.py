"""The ``tours:`` section of a scenario: consular outreach tours (see
docs/reference/scenario-format.md, "tours").

Teams of diplomats leave their home mission on trips to candidate cities, serve consular cases
there for some days and come back. Everything here is immutable and validated once when the
scenario is read (``abroad.io.tours``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from abroad.model.types import CountryCode, PlaceId, SiteId, TimeZoneName


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseKind(StrEnum):
    """Kinds of consular case a visiting team handles."""

    PASSPORT = "passport"
    PENSION_CERTIFICATE = "pension_certificate"
    OTHER = "other"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Team(_Frozen):
    """A travelling team: its home mission, size and the days it can spend on trips."""

    team_id: str = Field(min_length=1)
    home: SiteId
    """site_id of the mission the team leaves from and returns to (a row of the sites table)."""
    diplomats: int = Field(ge=1)
    days_available: int = Field(ge=0)
    """Days the team can spend away on trips in the horizon (travel and service days)."""
    max_trip_days: int = Field(default=7, ge=1)
    """Longest trip, door to door, in days."""
    rest_days: int = Field(default=2, ge=0)
    """Days at home between two trips."""


class Horizon(_Frozen):
    """The planning period, the days a team cannot serve, and the days of the week it can."""

    start: dt.date
    end: dt.date
    plan_date: dt.date | None = None
    """When the plan is made (notices can go out from then); default: ``start``."""
    blackout: tuple[dt.date, ...] = ()
    """Dates without service (host holidays, events); travel on them is allowed."""
    working_weekdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat")

    @model_validator(mode="after")
    def _check(self) -> Horizon:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        bad = [d for d in self.working_weekdays if d not in WEEKDAYS]
        if bad:
            raise ValueError(f"unknown weekday(s) {bad}; use {', '.join(WEEKDAYS)}")
        if not self.working_weekdays:
            raise ValueError("at least one working weekday is needed")
        if self.plan_date is not None and self.plan_date > self.end:
            raise ValueError(f"plan_date {self.plan_date} is after the end {self.end}")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def planned_on(self) -> dt.date:
        return self.plan_date or self.start

    def is_service_day(self, day: dt.date) -> bool:
        return WEEKDAYS[day.weekday()] in self.working_weekdays and day not in self.blackout


class CandidateCity(_Frozen):
    """A city a team may visit: a voter place (``place_id``) or a gazetteer city (``city``)."""

    city: str | None = None
    place_id: PlaceId | None = None
    country: CountryCode | None = None
    admin1: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    venue_cost_per_day: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _named(self) -> CandidateCity:
        if (self.city is None) == (self.place_id is None):
            raise ValueError("give exactly one of city or place_id")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


def _default_rates() -> dict[CaseKind, float]:
    return {CaseKind.PASSPORT: 40.0, CaseKind.PENSION_CERTIFICATE: 120.0, CaseKind.OTHER: 60.0}


def _default_demand() -> dict[CaseKind, float]:
    return {CaseKind.PASSPORT: 0.06, CaseKind.PENSION_CERTIFICATE: 0.03, CaseKind.OTHER: 0.04}


class ConsularService(_Frozen):
    """How fast a diplomat works and how people come to a visit."""

    cases_per_diplomat_day: dict[CaseKind, float] = Field(default_factory=_default_rates)
    """Cases of each kind one diplomat completes in a working day doing only that kind."""
    booked_share: float = Field(default=0.8, ge=0, le=1)
    """Share of a day's cases booked in advance; the rest is the walk-in allowance."""
    daily_draw: float = Field(default=0.5, gt=0, le=1)
    """Share of the visit city's remaining cases that come on each day of service."""
    weights: dict[CaseKind, float] = Field(default_factory=dict)
    """Weight of each kind in the objective (missing kinds weigh 1)."""

    @model_validator(mode="after")
    def _rates(self) -> ConsularService:
        for kind in CaseKind:
            if self.cases_per_diplomat_day.get(kind, 0.0) <= 0:
                raise ValueError(f"cases_per_diplomat_day.{kind.value} must be > 0")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("weights must be >= 0")
        return self

    def weight(self, kind: CaseKind) -> float:
        return self.weights.get(kind, 1.0)


class TourDemand(_Frozen):
    """Cases per citizen and year, and how travel distance thins who comes to a visit."""

    cases_per_citizen_year: dict[CaseKind, float] = Field(default_factory=_default_demand)
    decay_scale_km: float = Field(default=250.0, gt=0)
    """A place d km from the visit city sends exp(-d / scale) of its cases."""
    mission_reach_km: float = Field(default=150.0, ge=0)
    """Places this close to a working mission go there (as do places nearer to a mission than
    to any visited city)."""
    max_days_per_city: int = Field(default=6, ge=1)
    """Longest total stay at one city in the horizon that the planner considers."""

    @model_validator(mode="after")
    def _rates(self) -> TourDemand:
        if any(v < 0 for v in self.cases_per_citizen_year.values()):
            raise ValueError("cases_per_citizen_year must be >= 0")
        return self


class TourTravel(_Frozen):
    """How travel legs turn into days and money (times come from the scenario's travel model)."""

    hours_per_travel_day: float = Field(default=14.0, gt=0)
    """Travel hours that fill one day (14: a coast-to-coast flight, door to door, is one day)."""
    same_day_hours: float = Field(default=4.0, ge=0)
    """Legs up to this long are made before or after a service day (no travel day)."""
    flight_cost_per_person: float = Field(default=600.0, ge=0)
    road_cost_per_km_per_person: float = Field(default=0.3, ge=0)


class Staffing(_Frozen):
    """An alternative set of teams, planned next to the main one (e.g. a staff cut)."""

    description: str = ""
    teams: tuple[Team, ...]


class ToursSpec(_Frozen):
    """The ``tours:`` section."""

    teams: tuple[Team, ...] = Field(min_length=1)
    horizon: Horizon
    candidates: tuple[CandidateCity, ...] = ()
    candidate_places_min_citizens: float | None = Field(default=None, ge=0)
    """Also make every voter place with at least this many citizens a candidate."""
    default_venue_cost_per_day: float = Field(default=0.0, ge=0)
    """Venue cost of candidates added by ``candidate_places_min_citizens``."""
    service: ConsularService = ConsularService()
    demand: TourDemand = TourDemand()
    travel: TourTravel = TourTravel()
    notice_lead_days: int = Field(default=30, ge=0)
    """Days before a trip starts by which the host must be notified."""
    budget: float | None = Field(default=None, ge=0)
    """Travel and venue spending allowed over the horizon (None: no limit)."""
    staffing: dict[str, Staffing] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> ToursSpec:
        for label, teams in [("teams", self.teams)] + [
            (f"staffing.{k}.teams", s.teams) for k, s in self.staffing.items()
        ]:
            ids = [t.team_id for t in teams]
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ValueError(f"{label}: duplicate team_id {dup}")
        return self


class ItineraryVisit(_Frozen):
    """One stop of a given itinerary (``--compare``)."""

    city: str
    days: int = Field(ge=1)
    country: CountryCode | None = None
    admin1: str | None = None


class ItineraryTrip(_Frozen):
    """One trip of a given itinerary: team, optional start date, stops in order."""

    team: str
    start: dt.date | None = None
    visits: tuple[ItineraryVisit, ...] = Field(min_length=1)


class Itinerary(_Frozen):
    """A hand-made itinerary to compare against (e.g. the status quo)."""

    name: str = "given itinerary"
    description: str = ""
    teams: tuple[Team, ...] = ()
    """Teams of the itinerary when they differ from the scenario's."""
    trips: tuple[ItineraryTrip, ...] = Field(min_length=1)


@dataclass(frozen=True)
class TourCity:
    """A candidate city after validation: located, with its venue cost."""

    city_id: str
    name: str
    lat: float
    lon: float
    timezone: TimeZoneName
    venue_cost_per_day: float


@dataclass(frozen=True)
class Tours:
    """The validated ``tours:`` section: the spec and its located candidate cities."""

    spec: ToursSpec
    cities: tuple[TourCity, ...]
    file: str = "scenario.yaml"
    """File the section was read from (for messages)."""
