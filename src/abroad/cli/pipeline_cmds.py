"""Commands: validate, demo (the main job on a scenario)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from abroad.results import DemoSummary


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
    from abroad.cli.common import print_default_notices
    from abroad.io.scenario import load_service_and_sites

    print_default_notices(load_service_and_sites(scenario))  # the places are not kept
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
    from abroad.jobs.demo import run_demo

    check_options(seed=seed, out=out)
    sc = load_scenario_or_exit(scenario, variant)
    with progress(enabled=not json_output) as bar:
        try:
            result = run_demo(sc, out, seed=seed, progress=bar)
        except InputError as exc:
            fail_input(exc)
    if json_output:
        print_json(result.summary.to_json_dict())
        return
    _print_stations(result.summary)
    stderr.print(f"wrote {result.summary_path} and {result.report_path}", highlight=False)


def _print_stations(summary: DemoSummary) -> None:
    from abroad.cli.plan import bottleneck_text

    sims = summary.simulation.by_site()
    table = Table(title=summary.title, title_justify="left")
    columns = [
        "station",
        "citizens",
        "travel p50 km",
        "travel p90 km",
        f"beyond {summary.far_km:g} km",
    ]
    if sims:
        columns += [
            "arrivals\n(simulated)",
            "votes cast\n(simulated)",
            "could not vote\n(simulated)",
            "wait p95 min\n(simulated)",
            "lanes/desks/booths",
            "bottleneck\n(utilisation)",
        ]
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for r in summary.stations:
        row = [
            r.name,
            f"{r.citizens:,.0f}",
            _km(r.distance_km_p50),
            _km(r.distance_km_p90),
            f"{r.citizens_beyond_far_km:,.0f}",
        ]
        sim = sims.get(r.site_id)
        if sim is not None:
            wait = sim.wait_minutes_p95
            row += [
                f"{sim.simulated_arrivals:,.0f}",
                f"{sim.simulated_votes_cast:,.0f}",
                f"{sim.total.lost:,.0f}",
                "-" if wait is None else f"{wait:,.0f}",
                f"{sim.security_lanes or '-'}/{sim.desks}/{sim.booths}",
                bottleneck_text(sim),
            ]
        table.add_row(*row)
    t = summary.totals
    table.add_section()
    totals = [
        "all stations",
        f"{t.citizens:,.0f}",
        _km(t.distance_km_p50),
        _km(t.distance_km_p90),
        f"{t.citizens_beyond_far_km:,.0f}",
    ]
    if sims:
        totals += [
            f"{summary.simulation.simulated_arrivals:,.0f}",
            f"{summary.simulation.simulated_votes_cast:,.0f}",
            f"{summary.simulation.simulated_lost:,.0f}",
            "",
            "",
            "",
        ]
    table.add_row(*totals)
    stdout.print(table)


def _km(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


@app.command()
def upgrade(scenario: ScenarioArg) -> None:
    """Write into scenario.yaml the old value of every changed default it relies on, so that
    it keeps its meaning and loads without notices (comments and layout kept).

    Example:  abroad upgrade my-scenario
    """
    from abroad.io.upgrade import upgrade_scenario

    try:
        result = upgrade_scenario(scenario)
    except InputError as exc:
        fail_input(exc)
    if not result.written:
        stdout.print(f"{result.path}: up to date, nothing to write", highlight=False)
        return
    for line in result.written:
        stdout.print(f"{result.path}: wrote {line}", highlight=False)
