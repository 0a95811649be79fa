"""Commands: validate, demo (the main job on a scenario)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from abroad.cli.app import app
from abroad.cli.common import (
    EXIT_BAD_INPUT,
    ScenarioArg,
    check_options,
    fail_input,
    load_scenario_or_exit,
    print_json,
    progress,
    stderr,
    stdout,
)
from abroad.io.errors import InputError
from abroad.queueing.outcome import LOSS_CAUSES


@app.command()
def validate(
    scenario: ScenarioArg,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the problems as a JSON list on stdout.")
    ] = False,
) -> None:
    """Check a scenario and all its variants; list every problem with its file and place.

    Exit status 0 when valid, 2 when there are problems.

    Example:  abroad validate examples/us-2024
    """
    from abroad.io.scenario import list_variants, validate_scenario

    try:
        problems = validate_scenario(scenario)
    except InputError as exc:
        problems = exc.problems
    if json_output:
        print_json({"valid": not problems, "problems": [p.as_dict() for p in problems]})
        if problems:
            raise typer.Exit(EXIT_BAD_INPUT)
        return
    if problems:
        fail_input(InputError(problems))
    variants = [v.name for v in list_variants(scenario)]
    extra = f" and its {len(variants)} variants ({', '.join(variants)})" if variants else ""
    stdout.print(f"[green]valid:[/] {scenario}{extra}", highlight=False)


@app.command()
def demo(
    scenario: ScenarioArg = Path("examples/us-2024"),
    out: Annotated[Path, typer.Option(help="Folder for summary.json and report.html.")] = Path(
        "out"
    ),
    variant: Annotated[
        str | None, typer.Option(help="Run one of the scenario's named variants.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random stream.")] = 0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
) -> None:
    """Run the main job on a scenario and write its report.

    Validates the scenario, assigns every voter place to its nearest open station, and writes
    OUT/summary.json and OUT/report.html (open it in any browser; it works offline).

    Example:  abroad demo examples/us-2024 --out out
    """
    from abroad.pipeline import run_demo

    check_options(seed=seed, out=out)
    sc = load_scenario_or_exit(scenario, variant)
    with progress(enabled=not json_output) as bar:
        try:
            result = run_demo(sc, out, seed=seed, progress=bar)
        except InputError as exc:
            fail_input(exc)
    if json_output:
        print_json(result.summary)
        return
    _print_stations(result.summary)
    stderr.print(f"wrote {result.summary_path} and {result.report_path}", highlight=False)


def _print_stations(summary: dict[str, Any]) -> None:
    sims = {s["site_id"]: s["total"] for s in summary.get("simulation", {}).get("stations", [])}
    table = Table(title=str(summary["title"]), title_justify="left")
    columns = [
        "station",
        "citizens",
        "travel p50 km",
        "travel p90 km",
        f"beyond {summary['far_km']:g} km",
    ]
    if sims:
        columns += ["voters", "voted", "could not vote", "wait p95 min"]
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i == 0 else "right")
    for r in summary["stations"]:
        row = [
            r["name"],
            f"{r['citizens']:,.0f}",
            f"{r['distance_km_p50']:,.0f}",
            f"{r['distance_km_p90']:,.0f}",
            f"{r['citizens_beyond_far_km']:,.0f}",
        ]
        t = sims.get(r["site_id"])
        if t is not None:
            lost = sum(t[k]["mean"] for k in LOSS_CAUSES)
            row += [
                f"{t['arrivals']['mean']:,.0f}",
                f"{t['served']['mean']:,.0f}",
                f"{lost:,.0f}",
                f"{t['wait_minutes']['p95']['mean']:,.0f}",
            ]
        table.add_row(*row)
    t = summary["totals"]
    table.add_section()
    totals = [
        "all stations",
        f"{t['citizens']:,.0f}",
        f"{t['distance_km_p50']:,.0f}",
        f"{t['distance_km_p90']:,.0f}",
        f"{t['citizens_beyond_far_km']:,.0f}",
    ]
    if sims:
        totals += [
            f"{sum(v['arrivals']['mean'] for v in sims.values()):,.0f}",
            f"{sum(v['served']['mean'] for v in sims.values()):,.0f}",
            f"{sum(v[k]['mean'] for v in sims.values() for k in LOSS_CAUSES):,.0f}",
            "",
        ]
    table.add_row(*totals)
    stdout.print(table)
