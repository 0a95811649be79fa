"""The one place where the sweep calls the orchestration modules (demand -> network -> plan).

Everything the sweep needs from ``abroad.network`` (catchments, simulation, the planning
problem) and the planner goes through this adapter, so that a move of those modules changes imports
here only. What comes out is typed: a ``Network`` of station specs, their resources and staff,
in the order the network simulator seeds them (station i runs under ``station_seed(seed, i)``,
as ``simulate_network`` and ``run_plan`` do).
"""

from __future__ import annotations

from dataclasses import dataclass

from abroad.demand import DemandModel
from abroad.model import Scenario, SiteId
from abroad.network.catchments import default_open_sites
from abroad.network.problem import NetworkProblem, build_network_problem, station_staff
from abroad.network.simulation import Resources, station_spec, status_quo_resources
from abroad.planning import PlanResult, plan_network
from abroad.queueing.spec import StationSpec

__all__ = [
    "Network",
    "NetworkProblem",
    "PlanFigures",
    "network_from_plan",
    "plan_result",
    "planned_network",
    "prepared_problem",
    "search_completed",
    "status_quo_network",
]


@dataclass(frozen=True)
class PlanFigures:
    """What the planner said about the plan a network comes from."""

    expected_votes_cast: float
    bound: float
    gap: float
    method: str
    solve_seconds: float


@dataclass(frozen=True)
class Network:
    """Open stations ready to simulate, in seeding order."""

    site_ids: tuple[SiteId, ...]
    specs: tuple[StationSpec, ...]
    resources: tuple[Resources, ...]
    staff: tuple[float, ...]
    target_wait_minutes: float
    plan: PlanFigures | None = None

    @property
    def total_staff(self) -> float:
        return float(sum(self.staff))


def network_of(
    scenario: Scenario,
    model: DemandModel,
    open_ids: tuple[SiteId, ...],
    resources: dict[SiteId, Resources],
    plan_figures: PlanFigures | None = None,
    staff: dict[SiteId, float] | None = None,
) -> Network:
    """The stations of an open set under its demand (the network simulator's inputs)."""
    demand = model.expected_demand(open_ids)
    specs = tuple(station_spec(scenario, model, demand, sid, resources[sid]) for sid in open_ids)
    staff_by_site = staff or {sid: station_staff(scenario, resources[sid]) for sid in open_ids}
    return Network(
        site_ids=open_ids,
        specs=specs,
        resources=tuple(resources[sid] for sid in open_ids),
        staff=tuple(float(staff_by_site[sid]) for sid in open_ids),
        target_wait_minutes=scenario.policies.wait_target.minutes,
        plan=plan_figures,
    )


def status_quo_network(scenario: Scenario) -> Network:
    """Every site that may open, at the most desks and booths its premises allow (the demo's
    network)."""
    open_ids = default_open_sites(scenario)
    model = DemandModel.from_scenario(scenario)
    return network_of(scenario, model, open_ids, status_quo_resources(scenario, open_ids))


def prepared_problem(scenario: Scenario, seed: int) -> NetworkProblem:
    """Station responses by simulation and the planning instance (``build_network_problem``)."""
    return build_network_problem(scenario, seed=seed)


def plan_result(
    problem: NetworkProblem, *, seed: int, time_limit_seconds: float, max_doublings: int = 3
) -> tuple[PlanResult, PlanFigures]:
    """Run the planner on a prepared problem; the result and its headline figures.

    The planner stops at its time limit wherever it is. On a busy machine (many processes on
    few cores) the limit can fall inside the first greedy or local-search pass, which leaves
    a plan far from what the same limit gives on a quiet machine; such a run is repeated with
    twice the time, at most ``max_doublings`` times.
    """
    limit = float(time_limit_seconds)
    for _ in range(max_doublings + 1):
        result = plan_network(problem.instance, time_limit_seconds=limit, seed=seed)
        if search_completed(result, limit):
            break
        limit *= 2
    figures = PlanFigures(
        expected_votes_cast=float(result.votes),
        bound=float(result.bound),
        gap=float(result.gap),
        method=result.method,
        solve_seconds=float(result.seconds),
    )
    return result, figures


def search_completed(result: PlanResult, time_limit_seconds: float) -> bool:
    """Whether greedy and the first local search ended before the time limit (or every plan
    was enumerated)."""
    if result.method == "exhaustive":
        return True
    done = [p.seconds for p in result.phases if p.name == "local search"]
    return bool(done) and done[0] < 0.98 * time_limit_seconds


def planned_network(scenario: Scenario, *, seed: int, time_limit_seconds: float) -> Network:
    """Plan the network (as ``abroad plan`` does) and return the plan's stations, each with the
    desks and booths its expected load needs."""
    problem = prepared_problem(scenario, seed)
    result, figures = plan_result(problem, seed=seed, time_limit_seconds=time_limit_seconds)
    return network_from_plan(problem, result.open_sites, figures)


def network_from_plan(
    problem: NetworkProblem, open_sites: tuple[int, ...], figures: PlanFigures | None
) -> Network:
    """The stations of a plan (site indices of the problem), sized for their expected loads."""
    scenario = problem.scenario
    open_ids = tuple(problem.site_ids[i] for i in open_sites)
    value = problem.value_of(open_ids)
    demand = problem.model.expected_demand(open_ids)  # loads as run_plan sizes the stations
    resources = {
        problem.site_ids[i]: problem.responses[i].resources_at(
            float(demand.voters_per_site[scenario.site_index[problem.site_ids[i]]])
        )
        for i in open_sites
    }
    staff = {problem.site_ids[i]: float(value.staff[i]) for i in open_sites}
    return network_of(scenario, problem.model, open_ids, resources, figures, staff)
