"""Commands: plan, evaluate, compare (the network planner)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from abroad.cli.app import app
from abroad.cli.common import (
    ScenarioArg,
    check_options,
    fail,
    load_scenario_or_exit,
    load_scenarios_or_exit,
    print_json,
    progress,
    stderr,
    stdout,
    stdout_to_stderr,
    variant_names_or_exit,
)
from abroad.model import SiteId

VariantOpt = Annotated[str | None, typer.Option(help="Use one of the scenario's named variants.")]
SeedOpt = Annotated[int, typer.Option(help="Seed of every random stream.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


def _sites(text: str) -> list[SiteId]:
    return [SiteId(s.strip()) for s in text.split(",") if s.strip()]


@app.command()
def plan(
    scenario: ScenarioArg,
    out: Annotated[
        Path, typer.Option(help="Folder for summary.json, plan.xlsx, plan.geojson and report.html.")
    ] = Path("out/plan"),
    variant: VariantOpt = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds the optimiser may use.")
    ] = 30.0,
    replications: Annotated[
        int, typer.Option(help="Replications when re-simulating the chosen plan.")
    ] = 20,
    seed: SeedOpt = 0,
    json_output: JsonOpt = False,
) -> None:
    """Choose which sites open, with desks, booths and staff, to maximise votes cast.

    Sizes every candidate station by simulation, searches under the voters' true behaviour
    (nearest open station), proves a bound, re-simulates the plan and writes OUT/summary.json,
    OUT/plan.xlsx, OUT/plan.geojson and OUT/report.html.

    Example:  abroad plan examples/us-2024 --variant permissive-host --out out/plan
    """
    from abroad.plan_job import run_plan

    check_options(seed=seed, replications=replications, time_limit=time_limit, out=out)
    sc = load_scenario_or_exit(scenario, variant)
    with stdout_to_stderr(), progress(enabled=not json_output) as bar:
        task = bar.add_task("planning", total=100)

        def tell(label: str, fraction: float) -> None:
            bar.update(task, completed=round(100 * fraction), description=label)

        run = run_plan(
            sc,
            out,
            time_limit_seconds=time_limit,
            seed=seed,
            replications=replications,
            progress=tell,
        )
    if json_output:
        print_json(run.summary)
        return
    _print_plan(run.summary)
    stderr.print("wrote " + ", ".join(str(p) for p in run.paths.values()), highlight=False)


def _print_plan(s: dict[str, Any]) -> None:
    table = Table(
        title=f"{s['scenario']}{' / ' + s['variant'] if s['variant'] else ''}: plan",
        title_justify="left",
    )
    for i, c in enumerate(
        ["station", "desks", "booths", "staff", "voters", "votes cast", "wait p95 min"]
    ):
        table.add_column(c, justify="left" if i == 0 else "right")
    for st in s["stations"]:
        wait = st.get("wait_minutes_p95")
        table.add_row(
            st["name"],
            str(st["desks"]),
            str(st["booths"]),
            f"{st['staff']:g}",
            f"{st['expected_voters']:,.0f}",
            f"{st['expected_votes_cast']:,.0f}",
            "" if wait is None else f"{wait:,.0f}",
        )
    stdout.print(table)
    sq = s["status_quo"]
    gap = s["gap"]
    sq_note = "" if sq["feasible"] else ", not staffable: " + "; ".join(sq["violations"])
    stdout.print(
        f"expected votes cast {s['expected_votes_cast']:,.0f} (status quo "
        f"{sq['expected_votes_cast']:,.0f}{sq_note}); proven bound {s['bound']:,.0f}"
        + (f", gap {gap:.2%}" if gap is not None else "")
        + f"; solved in {s['solve_seconds']:.1f} s",
        highlight=False,
    )


@app.command()
def evaluate(
    scenario: ScenarioArg,
    open_sites: Annotated[
        str, typer.Option("--open", help="Comma-separated site ids of the plan to evaluate.")
    ],
    variant: VariantOpt = None,
    seed: SeedOpt = 0,
    json_output: JsonOpt = False,
) -> None:
    """The true value of a fixed plan: what the planner maximises, for anyone to check.

    Example:  abroad evaluate examples/us-2024 --open us-washington-embassy,us-new-york-cg --json
    """
    from abroad.plan_job import evaluate_plan

    check_options(seed=seed)
    sc = load_scenario_or_exit(scenario, variant)
    ids = _sites(open_sites)
    if not ids:
        fail("--open needs at least one site id", 2)
    try:
        result = evaluate_plan(sc, ids, seed=seed)
    except ValueError as exc:
        fail(str(exc), 2)
    if json_output:
        print_json(result)
        return
    stdout.print(
        f"expected votes cast {result['expected_votes_cast']:,.0f} of "
        f"{result['expected_voters_after_travel']:,.0f} voters after travel; staff "
        f"{result['staff']:g}; feasible: {result['feasible']}"
        + ("" if result["feasible"] else f" ({'; '.join(result['violations'])})"),
        highlight=False,
    )


@app.command()
def compare(
    scenario: ScenarioArg,
    variants: Annotated[
        str | None,
        typer.Option(help="Comma-separated variants to compare (default: all of them)."),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Optimiser seconds per variant.")
    ] = 10.0,
    seed: SeedOpt = 0,
    json_output: JsonOpt = False,
) -> None:
    """Plan the scenario and each variant; show votes cast, losses, waits, staff side by side.

    Example:  abroad compare examples/us-2024 --variants permissive-host,staff-cut
    """
    from abroad.plan_job import compare_variants

    check_options(seed=seed, time_limit=time_limit)
    names = (
        [v.strip() for v in variants.split(",") if v.strip()]
        if variants
        else variant_names_or_exit(scenario)
    )
    base, *others = load_scenarios_or_exit(scenario, [None, *names])
    with stdout_to_stderr(), progress(enabled=not json_output) as bar:
        task = bar.add_task("comparing", total=100)
        rows = compare_variants(
            base,
            others,
            time_limit_seconds=time_limit,
            seed=seed,
            progress=lambda label, f: bar.update(task, completed=round(100 * f), description=label),
        )
    if json_output:
        print_json({"scenario": base.name, "rows": rows})
        return
    table = Table(title=f"{base.name}: variants", title_justify="left")
    cols = [
        "variant",
        "status quo votes",
        "planned votes",
        "bound",
        "lost to queues",
        "simulated votes",
        "worst wait p95",
        "staff",
        "stations",
    ]
    for i, c in enumerate(cols):
        table.add_column(c, justify="left" if i in (0, 8) else "right")
    unstaffable = False
    for r in rows:
        wait = r["worst_wait_minutes_p95"]
        mark = "" if r["status_quo_feasible"] else " *"
        unstaffable |= not r["status_quo_feasible"]
        table.add_row(
            r["variant"],
            f"{r['status_quo_votes_cast']:,.0f}{mark}",
            f"{r['planned_votes_cast']:,.0f}",
            f"{r['bound']:,.0f}",
            f"{r['planned_lost_to_queues']:,.0f}",
            f"{r['simulated_votes_cast']:,.0f}",
            "" if wait is None else f"{wait:,.0f} min",
            f"{r['staff']:g}",
            ", ".join(r["planned_open_sites"]),
        )
    stdout.print(table)
    if unstaffable:
        stdout.print(
            "* the status quo needs more staff than this variant has "
            "(its value assumes it could be staffed; the plan respects the staff limits)",
            highlight=False,
        )
