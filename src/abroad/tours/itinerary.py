"""Itineraries: trips on dates, what they serve, and every rule they must keep.

A trip is a team's sequence of stops (city, days of service) from and back to its home
mission. ``schedule`` puts trips on dates: a trip starts no earlier than the plan date plus the
host's notice lead time and the team's previous trip's end plus its rest days; travel legs take
whole days; a service day must be a working weekday, not a blackout date, and not a day another
team serves the same city (the team waits otherwise). Among start dates it takes the first with
no waiting (looking four weeks ahead), else the one with the least. ``evaluate`` serves every
city's pool day by day in date order (``abroad.tours.demand``); ``check`` lists every broken
rule.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import numpy as np

from abroad.model.tours import Team, Tours
from abroad.tours.demand import KINDS, CityDemand, FloatArray, serve_day, weighted
from abroad.tours.network import TourNetwork

LOOKAHEAD_DAYS = 28
"""How far past the earliest start the scheduler looks for a start date without waiting."""


@dataclass(frozen=True)
class Stop:
    """Serve ``days`` days at candidate city ``city`` (index into the network's cities)."""

    city: int
    days: int


@dataclass(frozen=True)
class TripPlan:
    """A trip before dates: team, stops in order, optionally a fixed start date."""

    team_id: str
    stops: tuple[Stop, ...]
    start: dt.date | None = None


@dataclass(frozen=True)
class ScheduledVisit:
    city: int
    service_dates: tuple[dt.date, ...]


@dataclass(frozen=True)
class ScheduledTrip:
    trip_id: str
    team_id: str
    diplomats: int
    start: dt.date
    end: dt.date
    notify_by: dt.date
    visits: tuple[ScheduledVisit, ...]
    travel_cost: float
    venue_cost: float

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def staff_days(self) -> int:
        return self.days * self.diplomats


@dataclass(frozen=True)
class Unscheduled:
    """A trip the calendar could not take, and why (never dropped silently)."""

    trip: TripPlan
    reason: str


@dataclass(frozen=True)
class VisitResult:
    trip_id: str
    team_id: str
    city: int
    first_date: dt.date
    last_date: dt.date
    days: int
    cases_by_kind: tuple[float, ...]
    """Cases served, in the order of ``abroad.tours.demand.KINDS``."""
    slots_per_day: int
    """Appointments to offer each day (the booked share of the expected cases)."""
    walk_ins_per_day: int
    """Walk-ins the team can take each day on top of the appointments."""

    @property
    def cases(self) -> float:
        return float(sum(self.cases_by_kind))


@dataclass(frozen=True)
class TourOutcome:
    """An itinerary on dates and what it serves."""

    trips: tuple[ScheduledTrip, ...]
    visits: tuple[VisitResult, ...]
    unscheduled: tuple[Unscheduled, ...]
    served_by_kind: tuple[float, ...]
    served_weighted: float
    served_by_place: FloatArray = field(repr=False)
    """(places, kinds): the cases served, traced back to the places they came from."""
    demand: CityDemand = field(repr=False)
    """Where the cases went with the cities this itinerary visits."""

    @property
    def cases_served(self) -> float:
        return float(sum(self.served_by_kind))

    @property
    def staff_days(self) -> int:
        return sum(t.staff_days for t in self.trips)

    @property
    def cost(self) -> float:
        return float(sum(t.travel_cost + t.venue_cost for t in self.trips))


# ---------------------------------------------------------------------------------------------


def _layout(
    trip: TripPlan,
    start: dt.date,
    home: int,
    network: TourNetwork,
    tours: Tours,
    busy: dict[int, set[dt.date]],
) -> tuple[dt.date, tuple[ScheduledVisit, ...], int]:
    """Dates of a trip that starts on ``start``: its end, its visits, and the days waited."""
    horizon = tours.spec.horizon
    day = start
    waits = 0
    prev = home
    visits = []
    for stop in trip.stops:
        loc = network.city_location(stop.city)
        day += dt.timedelta(days=int(network.leg_days[prev, loc]))
        dates = []
        for _ in range(stop.days):
            while not horizon.is_service_day(day) or day in busy.get(stop.city, set()):
                day += dt.timedelta(days=1)
                waits += 1
                if waits > 60:
                    break
            dates.append(day)
            day += dt.timedelta(days=1)
        visits.append(ScheduledVisit(stop.city, tuple(dates)))
        prev = loc
    day += dt.timedelta(days=int(network.leg_days[prev, home]))
    end = max(start, day - dt.timedelta(days=1))
    return end, tuple(visits), waits


def trip_costs(trip: TripPlan, team: Team, network: TourNetwork) -> tuple[float, float]:
    """Travel cost (all the team's diplomats) and venue cost of a trip."""
    home = network.home_location(team.home)
    locs = [home, *(network.city_location(s.city) for s in trip.stops), home]
    per_person = sum(float(network.leg_cost_per_person[a, b]) for a, b in itertools.pairwise(locs))
    venue = sum(network.cities[s.city].venue_cost_per_day * s.days for s in trip.stops)
    return per_person * team.diplomats, float(venue)


def _place(
    trip: TripPlan,
    first: dt.date,
    home: int,
    network: TourNetwork,
    tours: Tours,
    busy: dict[int, set[dt.date]],
) -> tuple[dt.date, dt.date, int, tuple[ScheduledVisit, ...]] | None:
    """Start, end, length and visits of the best start from ``first`` (None: no room left)."""
    best: tuple[int, dt.date, dt.date, tuple[ScheduledVisit, ...]] | None = None
    for offset in range(LOOKAHEAD_DAYS + 1):
        start = first + dt.timedelta(days=offset)
        end, visits, waits = _layout(trip, start, home, network, tours, busy)
        if end > tours.spec.horizon.end:
            break
        if best is None or waits < best[0]:
            best = (waits, start, end, visits)
        if waits == 0 or trip.start is not None:
            break
    if best is None:
        return None
    _, start, end, visits = best
    return start, end, (end - start).days + 1, visits


def _one_day_less(trip: TripPlan) -> TripPlan:
    """The trip with one service day less at its longest stop (its last stop if all are 1)."""
    stops = list(trip.stops)
    k = max(range(len(stops)), key=lambda i: (stops[i].days, i))
    if stops[k].days > 1:
        stops[k] = Stop(stops[k].city, stops[k].days - 1)
    else:
        stops.pop()
    return TripPlan(trip.team_id, tuple(stops), trip.start)


def _removed(before: TripPlan, after: TripPlan) -> Stop:
    """The day ``_one_day_less`` took away, as a one-day stop."""
    for i, stop in enumerate(before.stops):
        if i >= len(after.stops) or after.stops[i].days != stop.days:
            return Stop(stop.city, 1)
    return before.stops[-1]


def schedule(
    trips: list[TripPlan], teams: tuple[Team, ...], network: TourNetwork, tours: Tours
) -> tuple[list[ScheduledTrip], list[Unscheduled]]:
    """Put trips on dates, team by team in the given order (see the module docstring)."""
    spec = tours.spec
    horizon = spec.horizon
    by_id = {t.team_id: t for t in teams}
    earliest = max(horizon.start, horizon.planned_on + dt.timedelta(days=spec.notice_lead_days))
    busy: dict[int, set[dt.date]] = {}
    next_free = {t.team_id: earliest for t in teams}
    used_days = {t.team_id: 0 for t in teams}
    out: list[ScheduledTrip] = []
    missing: list[Unscheduled] = []
    for trip in trips:
        team = by_id.get(trip.team_id)
        if team is None:
            missing.append(Unscheduled(trip, f"no team {trip.team_id!r}"))
            continue
        home = network.home_location(team.home)
        first = max(next_free[team.team_id], trip.start or earliest)
        best = _place(trip, first, home, network, tours, busy)
        while (
            best is not None
            and best[2] > team.max_trip_days
            and sum(s.days for s in trip.stops) > 1
        ):
            # Waiting for service days made the trip too long: serve one day less.
            trimmed = _one_day_less(trip)
            missing.append(
                Unscheduled(
                    TripPlan(trip.team_id, (_removed(trip, trimmed),), trip.start),
                    "one day dropped: on the calendar the trip was longer than max_trip_days",
                )
            )
            trip = trimmed
            best = _place(trip, first, home, network, tours, busy)
        if best is None:
            missing.append(Unscheduled(trip, "does not fit in the horizon"))
            continue
        start, end, span, visits = best
        if span > team.max_trip_days:
            missing.append(Unscheduled(trip, f"lasts {span} days > {team.max_trip_days}"))
            continue
        if used_days[team.team_id] + span > team.days_available:
            missing.append(Unscheduled(trip, f"team {team.team_id} has no days left"))
            continue
        travel, venue = trip_costs(trip, team, network)
        if spec.budget is not None:
            spent = sum(t.travel_cost + t.venue_cost for t in out)
            if spent + travel + venue > spec.budget + 1e-6:
                missing.append(Unscheduled(trip, "over the budget"))
                continue
        for v in visits:
            busy.setdefault(v.city, set()).update(v.service_dates)
        used_days[team.team_id] += span
        next_free[team.team_id] = end + dt.timedelta(days=team.rest_days + 1)
        out.append(
            ScheduledTrip(
                trip_id=f"{team.team_id}-{sum(t.team_id == team.team_id for t in out) + 1}",
                team_id=team.team_id,
                diplomats=team.diplomats,
                start=start,
                end=end,
                notify_by=start - dt.timedelta(days=spec.notice_lead_days),
                visits=visits,
                travel_cost=travel,
                venue_cost=venue,
            )
        )
    return out, missing


def evaluate(
    trips: list[ScheduledTrip],
    unscheduled: list[Unscheduled],
    network: TourNetwork,
    tours: Tours,
) -> TourOutcome:
    """Serve every city's pool day by day in date order; trace cases back to places.

    Only the cities the itinerary visits draw: each place goes to its nearest visited city
    (or its mission), so a visit draws its whole region.
    """
    service = tours.spec.service
    open_cities = np.zeros(len(network.cities), dtype=bool)
    for trip in trips:
        for visit in trip.visits:
            open_cities[visit.city] = True
    demand = network.demand_if_open(open_cities)
    pool = demand.pool
    remaining = pool.copy()
    days: list[tuple[dt.date, int, int, int]] = []  # date, trip, visit, diplomats
    for ti, trip in enumerate(trips):
        for vi, visit in enumerate(trip.visits):
            for d in visit.service_dates:
                days.append((d, ti, vi, trip.diplomats))
    days.sort()
    served = {
        (ti, vi): np.zeros(len(KINDS)) for ti, t in enumerate(trips) for vi in range(len(t.visits))
    }
    for _d, ti, vi, diplomats in days:
        city = trips[ti].visits[vi].city
        cases = serve_day(remaining[city], diplomats, service)
        remaining[city] = remaining[city] - cases
        served[(ti, vi)] += cases
    results = []
    booked = service.booked_share
    for ti, trip in enumerate(trips):
        for vi, visit in enumerate(trip.visits):
            cases = served[(ti, vi)]
            per_day = float(cases.sum()) / max(1, len(visit.service_dates))
            slots = round(per_day * booked)
            results.append(
                VisitResult(
                    trip_id=trip.trip_id,
                    team_id=trip.team_id,
                    city=visit.city,
                    first_date=min(visit.service_dates),
                    last_date=max(visit.service_dates),
                    days=len(visit.service_dates),
                    cases_by_kind=tuple(float(c) for c in cases),
                    slots_per_day=slots,
                    walk_ins_per_day=max(0, round(per_day) - slots),
                )
            )
    city_served = pool - remaining
    share = np.divide(city_served, pool, out=np.zeros_like(pool), where=pool > 0)
    dem = demand
    by_place = np.zeros_like(dem.need)
    mask = dem.place_city >= 0
    by_place[mask] = dem.reach[mask] * share[dem.place_city[mask]]
    total = city_served.sum(axis=0)
    return TourOutcome(
        trips=tuple(trips),
        visits=tuple(results),
        unscheduled=tuple(unscheduled),
        served_by_kind=tuple(float(x) for x in total),
        served_weighted=float(weighted(total, service)),
        served_by_place=by_place,
        demand=demand,
    )


def check(outcome: TourOutcome, teams: tuple[Team, ...], tours: Tours) -> list[str]:
    """Every rule the dated itinerary breaks (empty when it keeps them all)."""
    spec = tours.spec
    horizon = spec.horizon
    by_id = {t.team_id: t for t in teams}
    problems: list[str] = []
    earliest = horizon.planned_on + dt.timedelta(days=spec.notice_lead_days)
    for trip in outcome.trips:
        team = by_id.get(trip.team_id)
        if team is None:
            problems.append(f"{trip.trip_id}: unknown team {trip.team_id}")
            continue
        if trip.diplomats != team.diplomats:
            problems.append(
                f"{trip.trip_id}: {trip.diplomats} diplomats, team has {team.diplomats}"
            )
        if trip.start < horizon.start or trip.end > horizon.end:
            problems.append(f"{trip.trip_id}: {trip.start}..{trip.end} outside the horizon")
        if trip.start < earliest:
            problems.append(
                f"{trip.trip_id}: starts {trip.start}, before notice allows ({earliest})"
            )
        if trip.notify_by != trip.start - dt.timedelta(days=spec.notice_lead_days):
            problems.append(f"{trip.trip_id}: notify-by date is not start - lead time")
        if trip.days > team.max_trip_days:
            problems.append(f"{trip.trip_id}: lasts {trip.days} days > {team.max_trip_days}")
        for visit in trip.visits:
            for d in visit.service_dates:
                if not horizon.is_service_day(d):
                    problems.append(f"{trip.trip_id}: service on {d}, not a service day")
                if not trip.start <= d <= trip.end:
                    problems.append(f"{trip.trip_id}: service on {d} outside the trip")
    for team in teams:
        mine = sorted(
            (t for t in outcome.trips if t.team_id == team.team_id), key=lambda t: t.start
        )
        used = sum(t.days for t in mine)
        if used > team.days_available:
            problems.append(f"team {team.team_id}: {used} days > {team.days_available} available")
        for a, b in itertools.pairwise(mine):
            if (b.start - a.end).days - 1 < team.rest_days:
                problems.append(
                    f"team {team.team_id}: {a.trip_id} and {b.trip_id} are less than "
                    f"{team.rest_days} rest days apart"
                )
    staff_days = outcome.staff_days
    allowed = sum(t.days_available * t.diplomats for t in teams)
    if staff_days > allowed:
        problems.append(f"{staff_days} staff-days > {allowed} available")
    if spec.budget is not None and outcome.cost > spec.budget + 1e-6:
        problems.append(f"cost {outcome.cost:.0f} > budget {spec.budget:.0f}")
    served_on: dict[tuple[int, dt.date], str] = {}
    for trip in outcome.trips:
        for visit in trip.visits:
            for d in visit.service_dates:
                other = served_on.get((visit.city, d))
                if other is not None and other != trip.team_id:
                    name = tours.cities[visit.city].name
                    problems.append(f"{name} on {d}: served by {other} and {trip.team_id}")
                served_on[(visit.city, d)] = trip.team_id
    return problems
