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
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the outcome as JSON on stdout.")
    ] = False,
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
