"""Tours plans: demand of a visit, dates and every feasibility rule, the bundled example."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from abroad.io.scenario import load_scenario
from abroad.io.tours import read_itinerary
from abroad.model.tours import ConsularService
from abroad.tours.demand import serve_days
from abroad.tours.itinerary import ScheduledVisit, Stop, TripPlan, check, evaluate, schedule
from abroad.tours.network import build_network
from abroad.tours.plan import evaluate_trips, plan_tours

from tests_paths import EXAMPLE


def test_each_further_day_serves_no_more_and_capacity_holds() -> None:
    service = ConsularService()
    pool = np.array([900.0, 300.0, 600.0])
    days = serve_days(pool, 2, 6, service)
    totals = days.sum(axis=1)
    assert np.all(np.diff(totals) <= 1e-9)
    assert np.all(days.sum(axis=0) <= pool + 1e-9)
    rates = np.array([40.0, 120.0, 60.0])
    assert np.all((days / rates).sum(axis=1) <= 2 + 1e-9)  # two diplomats' working days
    small = serve_days(np.array([10.0, 0.0, 0.0]), 2, 1, service)
    assert small[0, 0] == pytest.approx(10.0 * service.daily_draw)  # demand-limited day


def test_plan_keeps_every_rule(tours_folder: Path) -> None:
    sc = load_scenario(tours_folder)
    assert sc.tours is not None
    tours = sc.tours
    plan = plan_tours(sc, tours, tours.spec.teams, seconds=1.0, seed=0)
    o = plan.outcome
    assert o.trips and o.cases_served > 0
    assert check(o, tours.spec.teams, tours) == []
    horizon = tours.spec.horizon
    earliest = horizon.planned_on + dt.timedelta(days=tours.spec.notice_lead_days)
    for trip in o.trips:
        assert trip.start >= earliest
        assert trip.notify_by == trip.start - dt.timedelta(days=30)
        for visit in trip.visits:
            assert all(d not in horizon.blackout and d.weekday() != 6 for d in visit.service_dates)
    assert o.cost <= 40000
    assert o.staff_days <= sum(t.days_available * t.diplomats for t in tours.spec.teams)
    assert sum(v.cases for v in o.visits) == pytest.approx(o.cases_served)
    assert o.served_by_place.sum() == pytest.approx(o.cases_served)
    for v in o.visits:
        assert v.slots_per_day + v.walk_ins_per_day == round(v.cases / v.days)


def test_budget_binds(tours_folder: Path) -> None:
    sc = load_scenario(tours_folder)
    assert sc.tours is not None
    rich = plan_tours(sc, sc.tours, sc.tours.spec.teams, seconds=0.5)
    tight_spec = sc.tours.spec.model_copy(update={"budget": rich.outcome.cost / 2})
    tight = replace(sc.tours, spec=tight_spec)
    poor = plan_tours(sc, tight, tight_spec.teams, seconds=0.5)
    assert poor.outcome.cost <= rich.outcome.cost / 2 + 1e-6
    assert poor.outcome.cases_served < rich.outcome.cases_served
    assert check(poor.outcome, tight_spec.teams, tight) == []


def test_two_teams_never_serve_one_city_on_the_same_day(tours_folder: Path) -> None:
    sc = load_scenario(tours_folder)
    assert sc.tours is not None
    tours = sc.tours
    la = next(i for i, c in enumerate(tours.cities) if c.name == "Los Angeles")
    trips = [TripPlan("a", (Stop(la, 3),)), TripPlan("b", (Stop(la, 3),))]
    network = build_network(sc, tours, tours.spec.teams)
    dated, missing = schedule(trips, tours.spec.teams, network, tours)
    assert missing == []
    a, b = (set(t.visits[0].service_dates) for t in dated)
    assert a and b and not (a & b)
    outcome = evaluate(dated, missing, network, tours)
    assert check(outcome, tours.spec.teams, tours) == []
    # The second visit finds the pool the first one left: it serves less.
    first, second = sorted(outcome.visits, key=lambda v: v.first_date)
    assert second.cases < first.cases


def test_checker_catches_broken_dates(tours_folder: Path) -> None:
    sc = load_scenario(tours_folder)
    assert sc.tours is not None
    tours = sc.tours
    network = build_network(sc, tours, tours.spec.teams)
    dated, missing = schedule([TripPlan("a", (Stop(0, 2),))], tours.spec.teams, network, tours)
    trip = dated[0]
    blackout = tours.spec.horizon.blackout[0]
    bad = replace(
        trip,
        start=blackout - dt.timedelta(days=1),
        end=blackout + dt.timedelta(days=9),
        visits=(ScheduledVisit(0, (blackout,)),),
    )
    early = replace(trip, start=dt.date(2023, 12, 20), notify_by=dt.date(2023, 11, 20))
    problems = check(evaluate([bad, bad, early], missing, network, tours), tours.spec.teams, tours)
    text = "\n".join(problems)
    assert "not a service day" in text
    assert "before notice allows" in text
    assert "outside the horizon" in text
    assert "notify-by" in text
    assert "lasts 11 days > 6" in text
    assert "rest days apart" in text
    assert "days > 16 available" in text


def test_example_plan_beats_the_status_quo_with_the_same_staff_days() -> None:
    sc = load_scenario(EXAMPLE)
    assert sc.tours is not None
    tours = sc.tours
    itinerary, teams, trips = read_itinerary(EXAMPLE / "tours-2023.yaml", tours, tours.spec.teams)
    sq = evaluate_trips(sc, tours, teams, trips, itinerary.name)
    assert sq.outcome.unscheduled == ()
    assert sq.outcome.cases_served > 5000  # "more than five thousand" (README calibration)
    plan = plan_tours(sc, tours, tours.spec.teams, seconds=2.0, seed=0)
    assert plan.outcome.staff_days <= sq.outcome.staff_days
    assert plan.outcome.cases_served > sq.outcome.cases_served
    assert check(plan.outcome, tours.spec.teams, tours) == []
    cut = tours.spec.staffing["staff-cut"].teams
    allowed = sum(t.days_available * t.diplomats for t in cut)
    assert allowed <= 0.6 * sq.outcome.staff_days + 2
