"""The demo job: the status-quo network's catchments, demand and simulated queues, written as
summary.json and report.html. ``abroad demo`` runs ``run_demo``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.progress import Progress

from abroad.demand import DemandModel
from abroad.io.outputs import write_result
from abroad.model import Scenario
from abroad.network.catchments import catchments, default_open_sites
from abroad.network.simulation import simulate_network, status_quo_resources
from abroad.report.demo_report import write_demo_report
from abroad.results import (
    CatchmentsResult,
    DemandResult,
    DemoSummary,
    SimulationResult,
)


@dataclass(frozen=True)
class DemoRun:
    """What ``run_demo`` produced: the summary (as written to summary.json) and file paths."""

    summary: DemoSummary
    summary_path: Path
    report_path: Path


def run_demo(
    scenario: Scenario,
    out_dir: Path,
    *,
    seed: int = 0,
    replications: int = 20,
    progress: Progress | None = None,
) -> DemoRun:
    """The main job on the status-quo network: catchments, demand, queues, summary, report."""
    n_open = len(default_open_sites(scenario))
    task = progress.add_task("demo", total=3 + n_open) if progress is not None else None

    def advance(label: str) -> None:
        if progress is not None and task is not None:
            progress.update(task, advance=1, description=label)

    cs = catchments(scenario)
    advance("catchments")
    demand_model = DemandModel.from_scenario(scenario)
    demand = demand_model.expected_demand(cs.open_site_ids)
    advance("demand")
    sims = simulate_network(
        scenario,
        demand_model,
        demand,
        status_quo_resources(scenario, cs.open_site_ids),
        replications=replications,
        seed=seed,
        on_station=lambda sid: advance(f"queues: {sid}"),
    )
    summary = DemoSummary(
        **dict(CatchmentsResult.of(scenario, cs)),
        seed=seed,
        wait_target_minutes=scenario.policies.wait_target.minutes,
        demand=DemandResult.of(demand_model, demand),
        simulation=SimulationResult.of(sims),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = out_dir / "summary.json"
    report_path = out_dir / "report.html"
    write_result(summary_path, summary)
    write_demo_report(scenario, cs, summary, report_path)
    advance("report")
    return DemoRun(summary=summary, summary_path=summary_path, report_path=report_path)
