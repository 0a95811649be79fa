"""The plan job: optimise a scenario's network, re-simulate the plan, write its outputs.

``abroad plan`` runs ``run_plan``. The planner values networks under nearest-station choice;
scenarios whose voters behave otherwise (logit choice, pre-registration routing) are refused
with a located error until the planner models them (``check_planner_supports``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from abroad.geo.distance import haversine_km
from abroad.io.errors import InputError, Problem
from abroad.io.outputs import write_result
from abroad.io.plan_files import write_plan_geojson, write_plan_xlsx
from abroad.model import Scenario, SiteId, VoterPlace
from abroad.network.ballots import BallotAllocation, allocate_ballots, expected_shortfall
from abroad.network.catchments import catchments, default_open_sites
from abroad.network.problem import NetworkProblem, build_network_problem, build_option_problem
from abroad.network.simulation import StationRunner, simulate_network
from abroad.network.tiebreak import break_ties
from abroad.planning import PlanValue, plan_network
from abroad.planning.network import Phase, PlanResult, ProgressEvent
from abroad.planning.options import plan_with_options
from abroad.report.plan_report import write_plan_report
from abroad.results import (
    CatchmentsResult,
    DemandResult,
    PhaseResult,
    PlannedStation,
    PlanSummary,
    PlanValueResult,
    SimulationResult,
    StationSettingsResult,
    WaitTargetViolation,
)

Progress = Callable[[str, float], None]
"""progress(label, fraction done in [0, 1])"""

MAX_LISTED = 5
"""Places named one by one in the pre-registration routing error (then a count)."""


def check_planner_supports(scenario: Scenario) -> None:
    """Refuse behaviour the planner does not model: it values plans under nearest-station
    choice and would silently differ from the re-simulation under logit choice or when
    pre-registered voters go to their registered station."""
    problems = []
    if scenario.demand.choice.model != "nearest":
        problems.append(
            Problem(
                "scenario.yaml",
                f"the planner values plans under nearest-station choice; "
                f"{scenario.demand.choice.model!r} choice is not modelled in `plan`, "
                "`evaluate` or `compare` yet (use `demo` to simulate it, or set nearest)",
                path="demand.choice.model",
            )
        )
    candidates = scenario.openable_sites
    lat = np.array([s.lat for s in candidates])
    lon = np.array([s.lon for s in candidates])

    def nearest_candidate(place: VoterPlace) -> SiteId | None:
        if not candidates:
            return None
        d = haversine_km(place.lat, place.lon, lat, lon)
        return candidates[int(np.argmin(d))].site_id

    # Routing to the nearest candidate site changes nothing the planner values: if that site
    # is open, it is also the place's nearest open station.
    routed = [
        p
        for p in scenario.places
        if p.pre_registered_site is not None
        and (p.pre_registrations or 0) > 0
        and p.pre_registered_site != nearest_candidate(p)
    ]
    if routed:
        named = ", ".join(f"{p.place_id} -> {p.pre_registered_site}" for p in routed[:MAX_LISTED])
        more = f" and {len(routed) - MAX_LISTED} more" if len(routed) > MAX_LISTED else ""
        problems.append(
            Problem(
                "places table",
                "the planner does not model pre-registration routing (registered voters "
                f"going to a station other than their nearest): {named}{more}; "
                "leave pre_registered_site empty to plan this scenario",
                column="pre_registered_site",
            )
        )
    if problems:
        raise InputError(problems)


def plan_value_result(problem: NetworkProblem, value: PlanValue) -> PlanValueResult:
    """A network as the planner values it (the ``evaluate`` output).

    Votes cast per station are the planner's value (its concave votes curve at the load); with
    a soft wait target the planner's objective also charges late votes, so the votes cast are
    then read from the simulated curve and the objective is given beside them.
    """
    target = problem.scenario.policies.wait_target
    stations = []
    wait_violations = []
    votes_cast = 0.0
    policies = problem.scenario.policies
    allocation = allocate_ballots(
        [
            (problem.responses[i].votes_cast_at, float(value.load_voters[i]))
            for i in value.open_sites
        ],
        budget=policies.ballot_budget,
        run_out_probability=policies.ballot_run_out_probability,
        forecast_sigma=policies.ballot_forecast_sigma,
        cap=policies.ballot_cap_per_station,
    )
    for i, ballots in zip(value.open_sites, allocation.stations, strict=True):
        sid = problem.site_ids[i]
        response = problem.responses[i]
        load = float(value.load_voters[i])
        res = response.resources_at(load)
        votes = float(value.served_voters[i]) if target.hard else response.votes_cast_at(load)
        p95 = response.wait_minutes_p95_at(load)
        meets = response.meets_target_at(load)
        votes_cast += votes
        stations.append(
            PlannedStation(
                site_id=sid,
                name=problem.scenario.site(sid).name,
                expected_voters=round(load, 1),
                expected_votes_cast=round(votes, 1),
                lost_to_queues=round(load - votes, 1),
                capacity_voters=round(response.capacity_voters, 1),
                desks=res.desks,
                booths=res.booths,
                security_lanes=res.security_lanes or 0,
                staff=float(value.staff[i]),
                ballots_to_send=ballots.ballots,
                ballot_run_out_probability=round(ballots.run_out_probability, 4),
                predicted_wait_minutes_p95=round(p95, 1),
                meets_wait_target=meets,
                settings=(
                    StationSettingsResult.of(problem.scenario, sid, problem.settings_of(sid))
                    if problem.decided
                    else None
                ),
            )
        )
        if not meets:
            wait_violations.append(
                WaitTargetViolation(
                    site_id=sid,
                    predicted_wait_minutes_p95=round(p95, 1),
                    target_minutes=target.minutes,
                    load_voters=round(load, 1),
                    capacity_voters=round(response.capacity_voters, 1),
                )
            )
    violations = list(value.violations)
    if target.hard:
        violations += [
            f"{w.site_id}: wait target missed at the most resources the site allows "
            f"(predicted p95 wait {w.predicted_wait_minutes_p95:.0f} min > {w.target_minutes:g} "
            f"min; load {w.load_voters:,.0f} > {w.capacity_voters:,.0f} within the target)"
            for w in wait_violations
        ]
    half_width = float(
        np.sqrt(
            sum(
                problem.responses[i].votes_cast_half_width_at(float(value.load_voters[i])) ** 2
                for i in value.open_sites
            )
        )
    )
    return PlanValueResult(
        scenario=problem.scenario.name,
        variant=problem.scenario.variant,
        open_sites=tuple(problem.site_ids[i] for i in value.open_sites),
        expected_votes_cast=round(votes_cast, 1),
        expected_voters_after_travel=round(value.demand_voters, 1),
        lost_to_queues=round(value.demand_voters - votes_cast, 1),
        staff=value.total_staff,
        cost=value.cost,
        feasible=value.feasible and not (target.hard and wait_violations),
        within_budgets=value.feasible,
        violations=tuple(violations),
        stations=tuple(stations),
        wait_target_minutes=target.minutes,
        wait_target_hard=target.hard,
        wait_target_violations=tuple(wait_violations),
        expected_votes_cast_ci_half_width=round(half_width, 1),
        planner_objective=None if target.hard else round(value.votes, 1),
        **_ballot_budget_fields(problem, value, allocation),
    )


def _ballot_budget_fields(
    problem: NetworkProblem, value: PlanValue, allocation: BallotAllocation
) -> dict[str, Any]:
    """The plan-level ballot figures, only when the scenario sets a ballot budget."""
    policies = problem.scenario.policies
    if policies.ballot_budget is None:
        return {}
    short = sum(
        expected_shortfall(
            problem.responses[i].votes_cast_at,
            float(value.load_voters[i]),
            advice.ballots,
            policies.ballot_forecast_sigma,
        )
        for i, advice in zip(value.open_sites, allocation.stations, strict=True)
    )
    return {
        "ballot_budget": policies.ballot_budget,
        "ballot_budget_binds": allocation.budget_binds,
        "ballots_reserve": allocation.reserve,
        "expected_votes_short_of_ballots": round(short, 1),
    }


def status_quo_scenario(base: Scenario, variant: Scenario) -> Scenario:
    """The base scenario's network as it is (its sites with their premises and staff, its staff
    rules and budgets), in the variant's world (its voters, demand, service and close policy):
    what a variant's plan is compared with."""
    policies = variant.policies.model_copy(
        update={
            "staff_budget": base.policies.staff_budget,
            "staff": base.policies.staff,
            "cost_budget_per_day": base.policies.cost_budget_per_day,
        }
    )
    return dataclasses.replace(variant, sites=base.sites, policies=policies)


def status_quo_value(
    problem: NetworkProblem, base: Scenario | None, seed: int
) -> tuple[PlanValueResult, str]:
    """The status quo's value and what it is called. Without a base (or for the base itself):
    the scenario's own missions. For a variant: the base scenario's network as it is."""
    sc = problem.scenario
    if (base is None or sc.variant is None) and problem.decided:
        # The network as it is: today's stations with the scenario's own hours, days, close
        # policy (the problem at hand has the planner's choice of them).
        sites = status_quo_sites(problem)
        fixed = build_network_problem(sc, seed=seed, candidates=sites)
        return plan_value_result(fixed, fixed.value_of(sites)), (
            "status quo (the scenario's own hours, days and close policy)"
        )
    if base is None or sc.variant is None:
        return plan_value_result(problem, problem.value_of(status_quo_sites(problem))), (
            "status quo"
        )
    sq_scenario = status_quo_scenario(base, sc)
    missions = [
        sid for sid in default_open_sites(sq_scenario) if sq_scenario.site(sid).kind.is_mission
    ]
    sites = missions or list(default_open_sites(sq_scenario))
    sq_problem = build_network_problem(sq_scenario, seed=seed, candidates=sites)
    value = plan_value_result(sq_problem, sq_problem.value_of(sites))
    return value, "status quo (the base scenario's network as it is)"


def status_quo_sites(problem: NetworkProblem) -> list[SiteId]:
    """Today's network for the planner: the missions that may open (else every openable site)."""
    missions = [
        sid
        for sid in default_open_sites(problem.scenario)
        if problem.scenario.site(sid).kind.is_mission
    ]
    return missions or list(default_open_sites(problem.scenario))


def _plan_with_decisions(
    scenario: Scenario,
    time_limit_seconds: float,
    seed: int,
    on_site: Callable[[SiteId], None],
) -> tuple[NetworkProblem, PlanResult]:
    """Open sites and choose each open station's hours, days and close policy among the
    alternatives ``policies.planner_decides`` allows (abroad.planning.options); the problem
    returned has every site at its chosen alternative."""
    options = build_option_problem(scenario, seed=seed, on_site=on_site)
    chosen = plan_with_options(
        options.base.instance, options.options, time_limit_seconds=time_limit_seconds, seed=seed
    )
    problem = options.problem_at(chosen.choice)
    phase = Phase(chosen.method, chosen.objective, chosen.bound, chosen.seconds)
    return problem, PlanResult(chosen.plan, chosen.bound, chosen.seconds, (phase,), chosen.method)


@dataclass(frozen=True)
class PlanRun:
    """What ``run_plan`` produced."""

    summary: PlanSummary
    paths: dict[str, Path]


def run_plan(
    scenario: Scenario,
    out_dir: Path | None,
    *,
    time_limit_seconds: float = 30.0,
    seed: int = 0,
    replications: int = 20,
    progress: Progress | None = None,
    base: Scenario | None = None,
    run_station: StationRunner | None = None,
) -> PlanRun:
    """Optimise, re-simulate the chosen plan, and (with ``out_dir``) write every output.

    For a variant, pass the ``base`` scenario: the plan is then compared with the base's
    network as it is (:func:`status_quo_scenario`), not with the variant's own sites.
    """
    check_planner_supports(scenario)

    def tell(label: str, fraction: float) -> None:
        if progress is not None:
            progress(label, min(max(fraction, 0.0), 1.0))

    t0 = time.perf_counter()
    n = max(len(scenario.openable_sites), 1)
    done = [0]

    def on_site(sid: SiteId) -> None:
        done[0] += 1
        tell(f"sizing {sid}", 0.3 * done[0] / n)

    def on_event(event: ProgressEvent) -> None:
        tell(f"planning: {event.phase}", 0.3 + 0.5 * event.elapsed_seconds / time_limit_seconds)

    if scenario.policies.planner_decides:
        problem, result = _plan_with_decisions(scenario, time_limit_seconds, seed, on_site)
        tell("planning: sites and their hours, days, close policies", 0.8)
    else:
        problem = build_network_problem(scenario, seed=seed, on_site=on_site)
        result = plan_network(
            problem.instance, time_limit_seconds=time_limit_seconds, seed=seed, progress=on_event
        )
    tie = break_ties(problem.instance, result.plan)
    open_ids = tuple(problem.site_ids[i] for i in tie.plan.open_sites)
    planned = plan_value_result(problem, tie.plan)

    tell("re-simulating the plan", 0.85)
    demand_result = None
    if open_ids:
        demand = problem.model.expected_demand(open_ids)
        demand_result = DemandResult.of(problem.model, demand)
        resources = {
            sid: problem.responses[problem.indices([sid])[0]].resources_at(
                float(demand.voters_per_site[scenario.site_index[sid]])
            )
            for sid in open_ids
        }
        sims = simulate_network(
            scenario,
            problem.model,
            demand,
            resources,
            replications=replications,
            seed=seed,
            run_station=run_station,
            settings={sid: problem.settings_of(sid) for sid in open_ids}
            if problem.decided
            else None,
        )
    else:
        sims = ()
    simulation = SimulationResult.of(sims)
    by_site = simulation.by_site()
    stations = []
    for st in planned.stations:
        sim = by_site.get(st.site_id)
        stations.append(
            st
            if sim is None
            else st.model_copy(
                update={
                    "wait_minutes_p95": sim.wait_minutes_p95,
                    "simulated_votes_cast": sim.simulated_votes_cast,
                    "simulated_lost": sim.total.lost,
                }
            )
        )
    cs = catchments(scenario, open_ids) if open_ids and out_dir is not None else None
    status_quo, status_quo_label = status_quo_value(problem, base, seed)
    summary = PlanSummary(
        **{**dict(planned), "stations": tuple(stations)},
        bound=round(result.bound, 1),
        gap=result.gap,
        proven_optimal=result.proven_optimal,
        method=result.method,
        solve_seconds=round(result.seconds, 3),
        seed=seed,
        phases=tuple(
            PhaseResult(
                name=p.name,
                objective=p.objective,
                bound=p.bound,
                seconds=p.seconds,
                detail=p.detail,
            )
            for p in result.phases
        ),
        status_quo=status_quo,
        status_quo_label=status_quo_label,
        tie_break=tie.decided_by,
        demand=demand_result,
        simulation=simulation,
        simulated_votes_cast=simulation.simulated_votes_cast,
        simulated_votes_cast_interval=simulation.simulated_votes_cast_interval if sims else None,
        voters_lost_by_cause=simulation.lost_by_cause(),
        total_seconds=round(time.perf_counter() - t0, 3),
        catchments=None if cs is None else CatchmentsResult.of(scenario, cs),
    )
    paths: dict[str, Path] = {}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths["summary"] = out_dir / "summary.json"
        write_result(paths["summary"], summary)
        paths["xlsx"] = out_dir / "plan.xlsx"
        write_plan_xlsx(paths["xlsx"], summary)
        if cs is not None:
            paths["geojson"] = out_dir / "plan.geojson"
            write_plan_geojson(paths["geojson"], scenario, cs, summary)
            paths["report"] = out_dir / "report.html"
            write_plan_report(scenario, cs, summary, paths["report"])
    tell("done", 1.0)
    return PlanRun(summary=summary, paths=paths)
