"""Command: sweep (registered on import)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from abroad.cli.app import app
from abroad.cli.common import (
    ScenarioArg,
    fail,
    fail_input,
    print_json,
    progress,
    stderr,
    stdout,
    stdout_to_stderr,
)
from abroad.io.errors import InputError

SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Address of a running Dask scheduler (tcp://host:8786); default: a local cluster.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the outcome as JSON on stdout.")]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="Worker processes of the local cluster (default: CPUs)."),
]


@app.command()
def sweep(
    scenario: ScenarioArg,
    grid: Annotated[
        Path,
        typer.Option(
            "--grid", help="The grid (see docs/reference/sweep-grid.md).", show_default=False
        ),
    ],
    out: Annotated[
        Path, typer.Option(help="Folder for results.parquet, report.html and plots/.")
    ] = Path("out/sweep"),
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    local: Annotated[
        bool, typer.Option("--local", help="Run in this process, without Dask.")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Run a grid of scenario parameters, variants and replications, on Dask.

    Each point is simulated (or planned, then simulated) with streams derived from the sweep
    seed and the point; OUT/results.parquet holds one row per point and replication. Run it
    again with the same OUT to resume: finished points are skipped, failed ones retried.

    Example:  abroad sweep examples/us-2024 --grid examples/us-2024/sweep.yaml --out out/sweep
    """
    from abroad.sweep.runner import SweepProgress, load_sweep, run_sweep

    if local and scheduler is not None:
        fail("--local and --scheduler exclude each other", 2)
    try:
        grid_spec, document = load_sweep(scenario, grid)
    except InputError as exc:
        fail_input(exc)
    n_points = len(grid_spec.points())
    with stdout_to_stderr(), progress(enabled=not json_output) as bar:
        task = bar.add_task("sweep", total=n_points)

        def tell(p: SweepProgress) -> None:
            bar.update(
                task,
                completed=p.done + p.failed,
                description=f"done {p.done}, failed {p.failed}, remaining {p.remaining}",
            )

        try:
            if local:
                outcome = run_sweep(scenario, grid_spec, document, out, progress=tell)
            else:
                from abroad.sweep.cluster import dask_client

                with dask_client(scheduler, workers) as client:
                    outcome = run_sweep(
                        scenario, grid_spec, document, out, client=client, progress=tell
                    )
        except InputError as exc:
            fail_input(exc)
        except OSError as exc:
            fail(f"cannot reach the cluster or write the results: {exc}", 1)
        paths = _report(grid_spec, document, outcome)
    payload: dict[str, Any] = {
        "results": str(outcome.results_path),
        "points": outcome.points,
        "done": outcome.done,
        "failed": outcome.failed,
        "resumed_points": outcome.skipped,
        "seconds": round(outcome.seconds, 3),
        "failures": [
            {k: f[k] for k in ("point", "error_type", "message")} for f in outcome.failures
        ],
        "files": {k: str(v) for k, v in paths.items()},
    }
    if json_output:
        print_json(payload)
    else:
        _print(outcome, paths)
    if outcome.failed:
        raise typer.Exit(1)


def _report(grid: Any, document: dict[str, Any], outcome: Any) -> dict[str, Path]:
    import pyarrow.parquet as pq

    from abroad.report.sweep import write_sweep_report
    from abroad.sweep.summary import summarise_sweep

    summary = summarise_sweep(pq.read_table(outcome.results_path), grid)
    name = str(document.get("name", "scenario"))
    paths = write_sweep_report(summary, name, outcome.failures, outcome.out_dir)
    return {"results": outcome.results_path, **paths}


def _print(outcome: Any, paths: dict[str, Path]) -> None:
    table = Table(title="sweep", title_justify="left")
    table.add_column("points", justify="right")
    table.add_column("done", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("resumed", justify="right")
    table.add_column("seconds", justify="right")
    table.add_row(
        str(outcome.points),
        str(outcome.done),
        str(outcome.failed),
        str(outcome.skipped),
        f"{outcome.seconds:.1f}",
    )
    stdout.print(table)
    for f in outcome.failures:
        stderr.print(
            f"failed: {f['point']}: {f['error_type']}: {str(f['message']).splitlines()[0]}",
            highlight=False,
            markup=False,
        )
    stderr.print("wrote " + ", ".join(str(p) for p in paths.values()), highlight=False)


@app.command(name="plan-diaspora")
def plan_diaspora_command(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option(help="Folder for diaspora.json.")] = Path("out/diaspora"),
    variant: Annotated[
        str | None, typer.Option(help="Use one of the scenario's named variants.")
    ] = None,
    replications: Annotated[
        int, typer.Option("--replications", "-n", min=1, help="Replications of the plan.")
    ] = 1000,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Optimiser seconds for the largest group.")
    ] = 10.0,
    seed: Annotated[int, typer.Option(help="Seed of every random stream.")] = 0,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Plan a whole diaspora at once on Dask, then simulate the plan many times.

    Host countries whose voters cannot reach each other's stations are planned apart (in
    parallel), the staff budget is shared between them by marginal value, and the planned
    network is simulated REPLICATIONS times over the cluster.

    Example:  abroad plan-diaspora examples/world-2024 --replications 1000 --workers 2
    """
    from abroad.cli.common import load_scenario_or_exit
    from abroad.io.outputs import write_json
    from abroad.sweep.cluster import dask_client
    from abroad.sweep.diaspora import plan_diaspora, simulate_diaspora

    sc = load_scenario_or_exit(scenario, variant)
    with stdout_to_stderr(), progress(enabled=not json_output) as bar:
        task = bar.add_task("planning every group", total=None)
        with dask_client(scheduler, workers) as client:
            plan = plan_diaspora(sc, client=client, seed=seed, time_limit_seconds=time_limit)
            bar.update(task, total=replications, completed=0, description="simulating the plan")
            mc = simulate_diaspora(
                client,
                plan,
                seed=seed,
                replications=replications,
                on_replications=lambda n: bar.advance(task, n / max(len(plan.network.specs), 1)),
            )
    payload = _diaspora_payload(sc.name, plan, mc)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "diaspora.json", payload)
    if json_output:
        print_json(payload)
        return
    table = Table(title=f"{sc.name}: groups of host countries", title_justify="left")
    for i, c in enumerate(["countries", "stations", "staff (need)", "expected votes"]):
        table.add_column(c, justify="left" if i == 0 else "right")
    for g in payload["groups"][:25]:
        table.add_row(
            ", ".join(g["countries"][:6]) + (" ..." if len(g["countries"]) > 6 else ""),
            str(len(g["open_sites"])),
            f"{g['staff']:g} ({g['need_staff']:g})",
            f"{g['expected_votes_cast']:,.0f}",
        )
    stdout.print(table)
    sim = payload["simulation"]
    stdout.print(
        f"{len(payload['groups'])} groups, {payload['stations']} stations, staff "
        f"{payload['staff']:g} of {payload['staff_budget']:g}; expected votes "
        f"{payload['expected_votes_cast']:,.0f}; simulated over {replications} replications: "
        f"{sim['votes_cast']['mean']:,.0f} [{sim['votes_cast']['ci_low']:,.0f}, "
        f"{sim['votes_cast']['ci_high']:,.0f}]",
        highlight=False,
    )
    stderr.print(f"wrote {out / 'diaspora.json'}", highlight=False)


def _diaspora_payload(name: str, plan: Any, mc: Any) -> dict[str, Any]:
    from abroad.queueing.outcome import estimate

    groups = []
    for cp in plan.components:
        lp = cp.plan
        groups.append(
            {
                "countries": list(cp.component.countries),
                "candidate_sites": cp.component.openable,
                "need_staff": cp.need_staff,
                "staff": 0.0 if lp is None else lp.staff,
                "expected_votes_cast": 0.0 if lp is None else round(lp.votes, 1),
                "open_sites": list(cp.open_site_ids),
            }
        )
    return {
        "scenario": name,
        "groups": groups,
        "stations": len(plan.network.site_ids),
        "open_sites": list(plan.network.site_ids),
        "staff": plan.staff,
        "staff_budget": plan.staff_budget,
        "expected_votes_cast": round(plan.expected_votes_cast, 1),
        "seconds": {k: round(v, 3) for k, v in plan.seconds.items()},
        "simulation": {
            "replications": mc.replications,
            "seed": mc.seed,
            **{k: estimate(v).as_dict() for k, v in mc.per_replication.items()},
        },
    }
