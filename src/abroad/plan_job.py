"""The planning job: optimise a scenario's network, re-simulate the plan, write its outputs.

``abroad plan`` runs ``run_plan``; ``abroad evaluate`` runs ``evaluate_plan``; ``abroad
compare`` runs ``compare_variants``. Steps are the same typed functions as the demo's.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abroad.demand import demand_summary
from abroad.io.outputs import write_json
from abroad.model import Scenario, SiteId
from abroad.network_plan import NetworkProblem, network_problem, plan
from abroad.network_sim import simulate_network
from abroad.pipeline import (
    catchment_summary_dict,
    catchments,
    default_open_sites,
    simulation_summary_dict,
)
from abroad.planning.evaluate import PlanValue
from abroad.planning.network import ProgressEvent
from abroad.queueing.outcome import LOSS_CAUSES

Progress = Callable[[str, float], None]
"""progress(label, fraction done in [0, 1])"""


def plan_value_dict(problem: NetworkProblem, value: PlanValue) -> dict[str, Any]:
    """A plan's true value as JSON-ready data (the ``evaluate`` output)."""
    stations = []
    for i in value.open_sites:
        sid = problem.site_ids[i]
        load = float(value.load_voters[i])
        res = problem.responses[i].resources_at(load)
        stations.append(
            {
                "site_id": sid,
                "name": problem.scenario.site(sid).name,
                "expected_voters": round(load, 1),
                "expected_votes_cast": round(float(value.served_voters[i]), 1),
                "lost_to_queues": round(float(value.lost_voters[i]), 1),
                "capacity_voters": round(problem.responses[i].capacity_voters, 1),
                "desks": res.desks,
                "booths": res.booths,
                "staff": float(value.staff[i]),
            }
        )
    return {
        "scenario": problem.scenario.name,
        "variant": problem.scenario.variant,
        "open_sites": [problem.site_ids[i] for i in value.open_sites],
        "expected_votes_cast": round(value.votes, 1),
        "expected_voters_after_travel": round(value.demand_voters, 1),
        "lost_to_queues": round(float(value.lost_voters.sum()), 1),
        "staff": value.total_staff,
        "cost": value.cost,
        "feasible": value.feasible,
        "violations": list(value.violations),
        "stations": stations,
    }


def evaluate_plan(
    scenario: Scenario, open_site_ids: Sequence[SiteId], *, seed: int = 0
) -> dict[str, Any]:
    """The true value of a fixed plan, as the planner computes it."""
    problem = network_problem(scenario, seed=seed)
    return plan_value_dict(problem, problem.evaluate(list(open_site_ids)))


@dataclass(frozen=True)
class PlanRun:
    """What ``run_plan`` produced."""

    summary: dict[str, Any]
    paths: dict[str, Path]


def _status_quo(problem: NetworkProblem) -> list[SiteId]:
    """Today's network: the missions that may open (the demo's default network)."""
    missions = [
        sid
        for sid in default_open_sites(problem.scenario)
        if problem.scenario.site(sid).kind.is_mission
    ]
    return missions or list(default_open_sites(problem.scenario))


def run_plan(
    scenario: Scenario,
    out_dir: Path | None,
    *,
    time_limit_seconds: float = 30.0,
    seed: int = 0,
    replications: int = 20,
    progress: Progress | None = None,
) -> PlanRun:
    """Optimise, re-simulate the chosen plan, and (with ``out_dir``) write every output."""

    def tell(label: str, fraction: float) -> None:
        if progress is not None:
            progress(label, min(max(fraction, 0.0), 1.0))

    t0 = time.perf_counter()
    n = max(len(scenario.openable_sites), 1)
    done = [0]

    def on_site(sid: SiteId) -> None:
        done[0] += 1
        tell(f"sizing {sid}", 0.3 * done[0] / n)

    problem = network_problem(scenario, seed=seed, on_site=on_site)

    def on_event(event: ProgressEvent) -> None:
        tell(f"planning: {event.phase}", 0.3 + 0.5 * event.elapsed_seconds / time_limit_seconds)

    result = plan(problem, time_limit_seconds=time_limit_seconds, seed=seed, progress=on_event)
    status_quo_ids = _status_quo(problem)
    status_quo = problem.evaluate(status_quo_ids)
    open_ids = tuple(problem.site_ids[i] for i in result.open_sites)
    summary = plan_value_dict(problem, result.plan)
    summary["bound"] = round(result.bound, 1)
    summary["gap"] = result.gap
    summary["proven_optimal"] = result.proven_optimal
    summary["method"] = result.method
    summary["solve_seconds"] = round(result.seconds, 3)
    summary["seed"] = seed
    summary["phases"] = [dataclasses.asdict(p) for p in result.phases]
    summary["status_quo"] = plan_value_dict(problem, status_quo)

    tell("re-simulating the plan", 0.85)
    if open_ids:
        demand = problem.model.evaluate(open_ids)
        summary["demand"] = demand_summary(problem.model, demand)
        loads = {sid: float(demand.voters_per_site[scenario.site_index[sid]]) for sid in open_ids}
        resources = {
            sid: problem.responses[problem.indices([sid])[0]].resources_at(loads[sid])
            for sid in open_ids
        }
        sims = simulate_network(
            scenario, problem.model, demand, resources, replications=replications, seed=seed
        )
    else:
        sims = ()
    sim_summary = simulation_summary_dict(sims)
    summary["simulation"] = sim_summary
    by_site = {s["site_id"]: s for s in sim_summary["stations"]}
    for st in summary["stations"]:
        sim = by_site.get(st["site_id"])
        if sim is not None:
            t = sim["total"]
            st["wait_minutes_p95"] = t["wait_minutes"]["p95"]["mean"]
            st["simulated_served"] = t["served"]["mean"]
            st["simulated_lost"] = sum(t[k]["mean"] for k in LOSS_CAUSES)
    summary["voters_lost_by_cause"] = {
        k: sum(s["total"][k]["mean"] for s in sim_summary["stations"]) for k in LOSS_CAUSES
    }
    summary["total_seconds"] = round(time.perf_counter() - t0, 3)
    paths: dict[str, Path] = {}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        cs = catchments(scenario, open_ids) if open_ids else None
        if cs is not None:
            summary["catchments"] = catchment_summary_dict(scenario, cs)
        paths["summary"] = out_dir / "summary.json"
        write_json(paths["summary"], summary)
        from abroad.io.plan_outputs import write_plan_geojson, write_plan_xlsx

        paths["xlsx"] = out_dir / "plan.xlsx"
        write_plan_xlsx(paths["xlsx"], summary)
        if cs is not None:
            paths["geojson"] = out_dir / "plan.geojson"
            write_plan_geojson(paths["geojson"], scenario, cs, summary)
            from abroad.report.plan import write_plan_report

            paths["report"] = out_dir / "report.html"
            write_plan_report(scenario, cs, summary, paths["report"])
    tell("done", 1.0)
    return PlanRun(summary=summary, paths=paths)


def compare_variants(
    base: Scenario,
    variants: Sequence[Scenario],
    *,
    time_limit_seconds: float = 10.0,
    seed: int = 0,
    replications: int = 10,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Plan each scenario (base first) and return one comparison row per scenario."""
    rows = []
    scenarios = [base, *variants]
    for k, sc in enumerate(scenarios):
        if progress is not None:
            progress(f"planning {sc.variant or 'base'}", k / len(scenarios))
        run = run_plan(
            sc, None, time_limit_seconds=time_limit_seconds, seed=seed, replications=replications
        )
        s = run.summary
        sq = s["status_quo"]
        sims = s["simulation"]["stations"]
        waits = [st["total"]["wait_minutes"]["p95"]["mean"] for st in sims]
        rows.append(
            {
                "variant": sc.variant or "base",
                "status_quo_votes_cast": sq["expected_votes_cast"],
                "status_quo_feasible": sq["feasible"],
                "status_quo_violations": sq["violations"],
                "planned_open_sites": s["open_sites"],
                "planned_votes_cast": s["expected_votes_cast"],
                "bound": s["bound"],
                "gap": s["gap"],
                "planned_lost_to_queues": s["lost_to_queues"],
                "simulated_votes_cast": sum(st["total"]["served"]["mean"] for st in sims),
                "simulated_lost": sum(s["voters_lost_by_cause"].values()),
                "worst_wait_minutes_p95": max(waits) if waits else None,
                "staff": s["staff"],
                "cost": s["cost"],
            }
        )
    if progress is not None:
        progress("done", 1.0)
    return rows
