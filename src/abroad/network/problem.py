"""From a scenario to a network plan: station responses by simulation, the planning instance,
the planner, and the true value of any plan.

- Each candidate station's *response* comes from the simulator: its capacity (the largest
  expected load at which the most desks and booths its premises allow still meet the wait
  target) and the staff it needs at each load (``size_station``: fewest desks and booths meeting
  the target at that load). Loads have the station's own arrival curve (its time zone, the
  scenario's surges), scaled.
- The planner's value of a plan counts the voters who come after travel decay, under the demand
  model's behaviour (nearest open station), up to each station's capacity: voters beyond it are
  lost to queues (with a hard wait target, a station may not serve more than it can within it).
- Staff: a mission's station works with the mission's own staff (``staff_available``), so it
  has at most the desks and booths they can run; venues draw on the rest of the budget
  (``policies.staff_budget`` minus the missions' own staff); the total is capped by
  ``staff_budget``. (Mission staff do not travel to venues in this model.)

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from abroad.demand import DemandModel
from abroad.model import Scenario, Site, SiteId
from abroad.network.simulation import Resources, station_spec
from abroad.planning import PlanningInstance, PlanValue, value_plan
from abroad.planning.instance import preferences_from_distance
from abroad.queueing import simulate_station
from abroad.queueing.sizing import size_station
from abroad.queueing.spec import StationSpec

LOAD_STEPS = 6
"""Loads at which each station is sized (fractions of its capacity) for its staff steps."""


@dataclass(frozen=True)
class StationResponse:
    """What a candidate station can do, from simulation."""

    site_id: SiteId
    capacity_voters: float
    """Largest expected load served within the wait target at the site's most resources."""
    break_load_voters: tuple[float, ...]
    """Loads at which staff steps up (ascending)."""
    staff_levels: tuple[float, ...]
    """Staff needed up to each break load, and beyond the last (one more than the breaks)."""
    resources_at_break: tuple[Resources, ...]
    """Desks and booths needed at each break load, and beyond the last."""

    def resources_at(self, load_voters: float) -> Resources:
        j = int(np.searchsorted(np.array(self.break_load_voters), load_voters, side="left"))
        return self.resources_at_break[min(j, len(self.resources_at_break) - 1)]


def _scaled(spec: StationSpec, factor: float) -> StationSpec:
    days = tuple(
        d.model_copy(update={"arrivals_per_hour": tuple(r * factor for r in d.arrivals_per_hour)})
        for d in spec.days
    )
    return spec.model_copy(update={"days": days})


def _staff(scenario: Scenario, res: Resources, security_lanes: int) -> float:
    """Staff a station needs: whole people, rounded up."""
    rules = scenario.policies.staff
    need = (
        rules.fixed_per_station
        + rules.per_desk * (res.desks + security_lanes)
        + rules.per_booths * res.booths
    )
    return float(np.ceil(need - 1e-9))


def affordable_resources(
    scenario: Scenario, site: Site, security_lanes: int, staff_limit: float | None
) -> Resources:
    """The most desks and booths the premises allow within a staff limit (booths go first)."""
    res = Resources(site.max_desks, site.max_booths)
    if staff_limit is None:
        return res
    while _staff(scenario, res, security_lanes) > staff_limit + 1e-9:
        if res.booths > 2 * res.desks and res.booths > 1:
            res = Resources(res.desks, res.booths - 1)
        elif res.desks > 1:
            res = Resources(res.desks - 1, res.booths)
        elif res.booths > 1:
            res = Resources(res.desks, res.booths - 1)
        else:
            break
    return res


def station_response(
    scenario: Scenario,
    model: DemandModel,
    site: Site,
    *,
    staff_limit: float | None = None,
    seed: int = 0,
    replications: int = 6,
) -> StationResponse:
    """Capacity and staff steps of one candidate station, by simulation.

    With ``staff_limit`` (a mission working with its own staff), the station has at most the
    desks and booths that staff can run, and its capacity is what those serve.
    """
    alone = model.expected_demand((site.site_id,))
    security_lanes = (
        scenario.service.security.servers
        if scenario.service.security is not None and site.kind.is_mission
        else 0
    )
    top = affordable_resources(scenario, site, security_lanes, staff_limit)
    unit = station_spec(scenario, model, alone, site.site_id, top)
    expected = max(float(alone.voters_per_site[scenario.site_index[site.site_id]]), 1.0)
    target = scenario.policies.wait_target

    def meets(load: float) -> bool:
        out = simulate_station(
            _scaled(unit, load / expected), replications, seed, target_wait_minutes=target.minutes
        )
        return out.total.service_level.mean >= target.service_level

    lo, hi = 0.0, 1000.0
    while meets(hi) and hi < 1e6:
        lo, hi = hi, hi * 2
    for _ in range(12):
        mid = (lo + hi) / 2
        if meets(mid):
            lo = mid
        else:
            hi = mid
    capacity = lo
    breaks: list[float] = []
    levels: list[float] = []
    resources: list[Resources] = []
    caps = {"checkin": top.desks, "booth": top.booths}
    for k in range(1, LOAD_STEPS + 1):
        load = capacity * k / LOAD_STEPS
        sized = size_station(
            _scaled(unit, max(load, 1.0) / expected),
            target.minutes,
            target.service_level,
            max_servers=caps,
            replications=replications,
            seed=seed,
        ).servers()
        res = Resources(sized.get("checkin", top.desks), sized.get("booth", top.booths))
        breaks.append(load)
        levels.append(_staff(scenario, res, security_lanes))
        resources.append(res)
    levels.append(_staff(scenario, top, security_lanes))
    resources.append(top)
    levels = list(np.maximum.accumulate(levels))
    return StationResponse(site.site_id, capacity, tuple(breaks), tuple(levels), tuple(resources))


@dataclass(frozen=True)
class NetworkProblem:
    """A scenario made ready for the planner."""

    scenario: Scenario
    model: DemandModel
    site_ids: tuple[SiteId, ...]
    """Candidate sites, in the instance's order."""
    responses: tuple[StationResponse, ...]
    instance: PlanningInstance

    def indices(self, open_site_ids: Sequence[SiteId]) -> list[int]:
        pos = {sid: i for i, sid in enumerate(self.site_ids)}
        bad = [sid for sid in open_site_ids if sid not in pos]
        if bad:
            raise ValueError(
                f"not a site where a station may open: {', '.join(bad)} "
                f"(candidates: {', '.join(self.site_ids)})"
            )
        return [pos[sid] for sid in open_site_ids]

    def value_of(self, open_site_ids: Sequence[SiteId]) -> PlanValue:
        """The true value of a plan (what the planner maximises)."""
        return value_plan(self.instance, self.indices(open_site_ids))


def build_network_problem(
    scenario: Scenario,
    *,
    seed: int = 0,
    max_open: int | None = None,
    on_site: Callable[[SiteId], None] | None = None,
) -> NetworkProblem:
    """Station responses for every openable site and the planning instance built on them."""
    model = DemandModel.from_scenario(scenario)
    sites = scenario.openable_sites
    responses = []
    for site in sites:
        own = float(site.staff_available) if site.kind.is_mission and site.staff_available else None
        responses.append(station_response(scenario, model, site, staff_limit=own, seed=seed))
        if on_site is not None:
            on_site(site.site_id)
    cols = np.array([scenario.site_index[s.site_id] for s in sites], dtype=np.int64)
    pref_site, pref_decay = preferences_from_distance(
        model.distance_km[:, cols], model.decay[:, cols]
    )
    capacity = np.array([r.capacity_voters for r in responses])
    intercept = np.stack([np.zeros_like(capacity), capacity], axis=1)
    slope = np.stack([np.ones_like(capacity), np.zeros_like(capacity)], axis=1)
    n_breaks = max(len(r.break_load_voters) for r in responses)
    break_load = np.full((len(sites), n_breaks), np.inf)
    staff_level = np.zeros((len(sites), n_breaks + 1))
    for i, r in enumerate(responses):
        break_load[i, : len(r.break_load_voters)] = r.break_load_voters
        staff_level[i, : len(r.staff_levels)] = r.staff_levels
        staff_level[i, len(r.staff_levels) :] = r.staff_levels[-1]
    missions = [i for i, s in enumerate(sites) if s.kind.is_mission and s.staff_available > 0]
    pool = np.zeros(len(sites), dtype=np.int64)  # pool 0: deployable staff for venues
    pool_budget = [0.0]
    for j, i in enumerate(missions, start=1):
        pool[i] = j
        pool_budget.append(float(sites[i].staff_available))
    budget = scenario.policies.staff_budget
    total = float("inf") if budget is None else float(budget)
    pool_budget[0] = max(total - sum(pool_budget[1:]), 0.0) if budget is not None else np.inf
    cost_budget = scenario.policies.cost_budget_per_day
    days = len(scenario.election.days)
    instance = PlanningInstance.build(
        demand_weight=model.place_potential,
        pref_site=pref_site,
        pref_decay=pref_decay,
        served_intercept=intercept,
        served_slope=slope,
        staff_break_load=break_load,
        staff_level=staff_level,
        staff_pool=pool,
        pool_staff_budget=np.array(pool_budget),
        total_staff_budget=total,
        open_cost=np.array([s.cost_per_day * days for s in sites]),
        cost_budget=float("inf") if cost_budget is None else float(cost_budget) * days,
        max_open=max_open,
        site_ids=tuple(s.site_id for s in sites),
        pool_ids=("venue staff", *(f"{sites[i].site_id} staff" for i in missions)),
    )
    return NetworkProblem(
        scenario, model, tuple(s.site_id for s in sites), tuple(responses), instance
    )
