"""A whole diaspora planned at once: decomposed by what does not interact, the staff budget
shared by marginal value, then the planned network simulated many times on the cluster.

1. **Components.** Host countries are joined when a voter place of one is within reach of an
   openable site of the other (travel decay at least ``min_decay``, 10 % of turnout by
   default); each group of joined countries is planned alone. Voters beyond reach of every
   station of their component would send fewer than ``min_decay`` of their voters to it, so
   the split changes the plan's value by at most that share of those voters.
2. **Station responses** (capacity and staff steps by simulation) are computed per component,
   one task each, the largest first.
3. **Budget.** Each component is planned at the staff it would use with the whole budget
   (its *need*) and at fractions of that need: its curve of expected votes against staff.
   The budget is then shared by marginal value over those curves, exactly: the levels that
   give the most votes in all within the budget (a multiple-choice knapsack over whole
   staff, by dynamic programming). A component's travelling staff (for venues) is what
   its share leaves beyond its missions' own staff.
4. **Simulation** of every planned station, ``replications`` times, in blocks over the
   cluster (``abroad.sweep.montecarlo``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from abroad.demand import DemandModel
from abroad.model import Scenario, SiteId
from abroad.sweep.engine import (
    Network,
    NetworkProblem,
    PlanFigures,
    network_from_plan,
    plan_result,
    prepared_problem,
)
from abroad.sweep.montecarlo import NetworkMonteCarlo, simulate_network_on

if TYPE_CHECKING:
    from distributed import Client

LEVELS = (0.25, 0.5, 0.75)
"""Fractions of a component's need at which it is planned again (besides the need itself)."""


@dataclass(frozen=True)
class Component:
    """Host countries whose voters and stations interact with each other only."""

    countries: tuple[str, ...]
    place_index: tuple[int, ...]
    site_ids: tuple[SiteId, ...]
    """Every site in these countries (openable or not)."""
    openable: int


def components(scenario: Scenario, min_decay: float = 0.1) -> tuple[Component, ...]:
    """Groups of host countries joined by reach (largest first, by citizens)."""
    model = DemandModel.from_scenario(scenario)
    countries = sorted(
        {str(p.country) for p in scenario.places} | {str(s.country) for s in scenario.sites}
    )
    parent: dict[str, str] = {c: c for c in countries}

    def find(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    place_country = np.array([p.country for p in scenario.places])
    for j, site in enumerate(scenario.sites):
        if not site.can_open:
            continue
        reach = np.flatnonzero(model.decay[:, j] >= min_decay)
        for c in set(place_country[reach].tolist()):
            a, b = find(str(c)), find(str(site.country))
            if a != b:
                parent[a] = b
    groups: dict[str, list[str]] = {}
    for c in countries:
        groups.setdefault(find(c), []).append(c)
    citizens = scenario.place_arrays.eligible_citizens
    out = []
    for members in groups.values():
        mine = set(members)
        places = tuple(i for i, p in enumerate(scenario.places) if p.country in mine)
        sites = tuple(s for s in scenario.sites if s.country in mine)
        out.append(
            Component(
                tuple(sorted(members)),
                places,
                tuple(s.site_id for s in sites),
                sum(s.can_open for s in sites),
            )
        )
    weight = {c.countries: float(citizens[list(c.place_index)].sum()) for c in out}
    return tuple(sorted(out, key=lambda c: (-weight[c.countries], c.countries)))


def component_scenario(scenario: Scenario, component: Component, staff_budget: float) -> Scenario:
    """The scenario restricted to a component's places and sites, with its own staff budget."""
    keep = set(component.site_ids)
    return dataclasses.replace(
        scenario,
        name=f"{scenario.name}:{'+'.join(component.countries[:3])}",
        places=tuple(scenario.places[i] for i in component.place_index),
        sites=tuple(s for s in scenario.sites if s.site_id in keep),
        policies=scenario.policies.model_copy(update={"staff_budget": staff_budget}),
    )


def with_budget(problem: NetworkProblem, staff_budget: float) -> NetworkProblem:
    """The same problem under another total staff budget (travelling staff: what the budget
    leaves beyond the missions' own)."""
    inst = problem.instance
    pools = inst.pool_staff_budget.copy()
    pools[0] = max(staff_budget - float(pools[1:].sum()), 0.0)
    pools.setflags(write=False)
    inst = dataclasses.replace(
        inst, total_staff_budget=float(staff_budget), pool_staff_budget=pools
    )
    return dataclasses.replace(problem, instance=inst)


@dataclass(frozen=True)
class LevelPlan:
    """A component planned under one staff budget."""

    staff_budget: float
    open_sites: tuple[int, ...]
    votes: float
    staff: float
    figures: PlanFigures


def plan_level(problem: NetworkProblem, staff_budget: float, seed: int, limit: float) -> LevelPlan:
    """Plan one component under a staff budget (a cluster task)."""
    budgeted = with_budget(problem, staff_budget)
    result, figures = plan_result(budgeted, seed=seed, time_limit_seconds=limit)
    return LevelPlan(
        staff_budget,
        result.open_sites,
        float(result.votes),
        float(result.plan.total_staff),
        figures,
    )


def share_budget(curves: Sequence[Sequence[LevelPlan]], budget: float) -> tuple[list[int], float]:
    """Pick one level per component (``curves[c]``, level 0 = nothing open) to maximise the
    expected votes with the staff used within ``budget``; returns the chosen level of each
    component and the staff left.

    Staff are whole people, so this is a multiple-choice knapsack solved exactly by dynamic
    programming over the staff used (components x budget x levels steps). Handing the budget
    out by marginal votes per staff member alone can strand staff between uneven steps.
    """
    staff = [[math.ceil(lp.staff - 1e-9) for lp in curve] for curve in curves]
    if not math.isfinite(budget) or sum(max(s) for s in staff) <= budget:
        chosen = [_most_votes(curve) for curve in curves]
    else:
        cap = max(math.floor(budget + 1e-9), 0)
        best = np.full(cap + 1, -np.inf)
        best[0] = 0.0
        picks = []
        for curve, cost in zip(curves, staff, strict=True):
            nxt = np.full(cap + 1, -np.inf)
            pick = np.full(cap + 1, -1, dtype=np.int64)
            for j, lp in enumerate(curve):
                w = cost[j]
                if w > cap:
                    continue
                cand = np.full(cap + 1, -np.inf)
                cand[w:] = best[: cap + 1 - w] + lp.votes
                better = cand > nxt + 1e-9
                nxt = np.where(better, cand, nxt)
                pick = np.where(better, j, pick)
            best = nxt
            picks.append(pick)
        used = int(np.argmax(best))
        chosen = [0] * len(curves)
        for c in range(len(curves) - 1, -1, -1):
            j = int(picks[c][used])
            chosen[c] = j
            used -= staff[c][j]
    spent = sum(curves[c][j].staff for c, j in enumerate(chosen))
    return chosen, budget - spent


def _most_votes(curve: Sequence[LevelPlan]) -> int:
    return max(range(len(curve)), key=lambda j: (curve[j].votes, -curve[j].staff))


@dataclass(frozen=True)
class ComponentPlan:
    """What one component got: its share of the budget and its plan."""

    component: Component
    need_staff: float
    staff_budget: float
    plan: LevelPlan | None
    open_site_ids: tuple[SiteId, ...] = ()


@dataclass(frozen=True)
class DiasporaPlan:
    """The whole diaspora's plan, its network and the time each phase took."""

    components: tuple[ComponentPlan, ...]
    network: Network
    expected_votes_cast: float
    staff: float
    staff_budget: float
    seconds: dict[str, float]


def _run(
    client: Client | None, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]]
) -> list[Any]:
    """``fn(*job)`` for each job, here or on the cluster (results in job order)."""
    if client is None:
        return [fn(*job) for job in jobs]
    futures = [client.submit(fn, *job, pure=False) for job in jobs]
    return list(client.gather(futures))


def plan_diaspora(
    scenario: Scenario,
    *,
    client: Client | None = None,
    seed: int = 0,
    time_limit_seconds: float = 10.0,
    min_decay: float = 0.1,
) -> DiasporaPlan:
    """Plan every component and share the staff budget (see the module's description)."""
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    comps = [c for c in components(scenario, min_decay) if c.openable > 0]
    budget = scenario.policies.staff_budget
    total = float("inf") if budget is None else float(budget)
    seconds["components"] = time.perf_counter() - t0

    t = time.perf_counter()
    subs = [component_scenario(scenario, c, total) for c in comps]
    order = sorted(range(len(subs)), key=lambda i: -comps[i].openable)  # largest first
    problems_sorted = _run(client, prepared_problem, [(subs[i], seed) for i in order])
    problems: list[NetworkProblem] = [None] * len(subs)  # type: ignore[list-item]
    for i, p in zip(order, problems_sorted, strict=True):
        problems[i] = p
    seconds["station_responses"] = time.perf_counter() - t

    t = time.perf_counter()
    # Small components finish (exhaustive or gap closed) long before their limit; large ones
    # get more time, so that greedy and local search complete on a busy machine.
    limits = [min(time_limit_seconds, 2.0 + 0.1 * c.openable) for c in comps]
    remote = client.scatter(problems) if client is not None else problems
    full_cap = [
        total if np.isfinite(total) else float(p.instance.staff_level.max(axis=1).sum())
        for p in problems
    ]
    needs: list[LevelPlan] = _run(
        client,
        plan_level,
        [(remote[i], full_cap[i], seed, limits[i]) for i in order],
    )
    need_of = dict(zip(order, needs, strict=True))
    jobs = [
        (remote[i], need_of[i].staff * f, seed, limits[i])
        for i in order
        for f in LEVELS
        if need_of[i].staff > 0
    ]
    levels: list[LevelPlan] = _run(client, plan_level, jobs)
    seconds["planning"] = time.perf_counter() - t

    curves: list[list[LevelPlan]] = []
    k = 0
    by_comp: dict[int, list[LevelPlan]] = {}
    for i in order:
        extra = []
        if need_of[i].staff > 0:
            extra = levels[k : k + len(LEVELS)]
            k += len(LEVELS)
        by_comp[i] = extra
    for i in range(len(comps)):
        nothing = LevelPlan(0.0, (), 0.0, 0.0, PlanFigures(0.0, 0.0, 0.0, "none", 0.0))
        curve = sorted([nothing, *by_comp[i], need_of[i]], key=lambda lp: (lp.staff, -lp.votes))
        curves.append(curve)
    chosen, _left = share_budget(curves, total)

    plans = []
    networks = []
    for i, comp in enumerate(comps):
        level = curves[i][chosen[i]]
        ids = tuple(problems[i].site_ids[j] for j in level.open_sites)
        plans.append(
            ComponentPlan(
                comp, need_of[i].staff, level.staff, level if level.open_sites else None, ids
            )
        )
        if level.open_sites:
            networks.append(network_from_plan(problems[i], level.open_sites, level.figures))
    network = _join(networks, scenario.policies.wait_target.minutes)
    seconds["total"] = time.perf_counter() - t0
    return DiasporaPlan(
        components=tuple(plans),
        network=network,
        expected_votes_cast=float(sum(curves[i][chosen[i]].votes for i in range(len(comps)))),
        staff=float(sum(curves[i][chosen[i]].staff for i in range(len(comps)))),
        staff_budget=total,
        seconds=seconds,
    )


def _join(networks: Sequence[Network], target_wait_minutes: float) -> Network:
    """One network of every component's stations, in component order."""
    return Network(
        site_ids=tuple(s for n in networks for s in n.site_ids),
        specs=tuple(s for n in networks for s in n.specs),
        resources=tuple(r for n in networks for r in n.resources),
        staff=tuple(x for n in networks for x in n.staff),
        target_wait_minutes=target_wait_minutes,
    )


def simulate_diaspora(
    client: Client | None,
    plan: DiasporaPlan,
    *,
    seed: int = 0,
    replications: int = 1000,
    on_replications: Callable[[int], None] | None = None,
) -> NetworkMonteCarlo:
    """Simulate the planned network ``replications`` times (on the cluster when given)."""
    return simulate_network_on(
        client,
        plan.network,
        seed=seed,
        replications=replications,
        on_replications=on_replications,
    )
