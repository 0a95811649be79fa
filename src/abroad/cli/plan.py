"""Commands: plan, evaluate, compare (the network planner)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from abroad.cli.app import app
from abroad.cli.common import (
    ScenarioArg,
    check_options,
    fail,
    fail_input,
    load_scenario_or_exit,
    load_scenarios_or_exit,
    print_json,
    progress,
    stderr,
    stdout,
    stdout_to_stderr,
    variant_names_or_exit,
)
from abroad.io.errors import InputError
from abroad.model import SiteId

if TYPE_CHECKING:
    from abroad.results import PlannedStation, PlanSummary, StationSimulationResult

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
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Spread the plan's re-simulation over a Dask cluster: a scheduler address "
            "(tcp://host:8786) or 'local' (a cluster on this machine). Same results.",
        ),
    ] = None,
) -> None:
    """Choose which sites open, with desks, booths and staff, to maximise votes cast.

    Sizes every candidate station by simulation, searches under the voters' true behaviour
    (nearest open station), proves a bound, re-simulates the plan and writes OUT/summary.json,
    OUT/plan.xlsx, OUT/plan.geojson and OUT/report.html.

    Example:  abroad plan examples/us-2024 --variant permissive-host --out out/plan
    """
    from abroad.jobs.plan import run_plan

    check_options(seed=seed, replications=replications, time_limit=time_limit, out=out)
    sc = load_scenario_or_exit(scenario, variant)
    base = load_scenario_or_exit(scenario) if variant is not None else None
    with stdout_to_stderr(), progress(enabled=not json_output) as bar:
        task = bar.add_task("planning", total=100)

        def tell(label: str, fraction: float) -> None:
            bar.update(task, completed=round(100 * fraction), description=label)

        with ExitStack() as stack:
            run_station = None
            if scheduler is not None:
                from abroad.sweep.cluster import dask_client
                from abroad.sweep.montecarlo import station_runner

                client = stack.enter_context(
                    dask_client(None if scheduler == "local" else scheduler)
                )
                run_station = station_runner(client)
            try:
                run = run_plan(
                    sc,
                    out,
                    time_limit_seconds=time_limit,
                    seed=seed,
                    replications=replications,
                    progress=tell,
                    base=base,
                    run_station=run_station,
                )
            except InputError as exc:
                fail_input(exc)
    if json_output:
        print_json(run.summary.to_json_dict())
        return
    _print_plan(run.summary)
    stderr.print("wrote " + ", ".join(str(p) for p in run.paths.values()), highlight=False)


def _print_plan(s: PlanSummary) -> None:
    sims = s.simulation.by_site()
    table = Table(
        title=f"{s.scenario}{' / ' + s.variant if s.variant else ''}: plan",
        title_justify="left",
    )
    for i, c in enumerate(
        [
            "station",
            "lanes",
            "desks",
            "booths",
            "staff",
            "expected voters",
            "votes cast",
            "bottleneck\n(utilisation)",
            "wait p95 min\n(simulated)",
            f"within {s.wait_target_minutes:g} min",
        ]
    ):
        table.add_column(c, justify="left" if i in (0, 7) else "right")
    decided = any(st.settings is not None for st in s.stations)
    if decided:
        table.add_column("hours, days, close policy\n(chosen)", justify="left")
    for st in s.stations:
        wait = st.wait_minutes_p95
        sim = sims.get(st.site_id)
        table.add_row(
            *_station_cells(st),
            "" if sim is None else bottleneck_text(sim),
            "" if wait is None else f"{wait:,.0f}",
            "yes" if st.meets_wait_target else "NO",
            *([st.settings.text if st.settings is not None else ""] if decided else []),
        )
    stdout.print(table)
    sq = s.status_quo
    sq_note = (
        ""
        if sq.within_budgets
        else ", not staffable: " + "; ".join(v for v in sq.violations if "wait target" not in v)
    )
    bound = "none" if s.bound is None else f"{s.bound:,.0f}"
    low, high = s.simulated_votes_cast_interval or (None, None)
    check = (
        ""
        if low is None or high is None
        else f" (re-simulated: {s.simulated_votes_cast:,.0f}, 95 % interval {low:,.0f}-{high:,.0f})"
    )
    stdout.print(
        f"votes cast {s.expected_votes_cast:,.0f} \u00b1 {s.expected_votes_cast_ci_half_width:,.0f}"
        f"{check}; {s.status_quo_label} {sq.expected_votes_cast:,.0f}{sq_note}; "
        f"proven bound {bound}"
        + (f", gap {s.gap:.2%}" if s.gap is not None else "")
        + f"; {s.method}, solved in {s.solve_seconds:.1f} s",
        highlight=False,
    )
    if s.planner_objective is not None:
        stdout.print(
            f"planner objective (soft wait target, late votes at a penalty) "
            f"{s.planner_objective:,.0f}",
            highlight=False,
        )
    if s.tie_break:
        stdout.print(f"tie-break: {s.tie_break}", highlight=False)
    if s.ballot_budget is not None:
        sent = sum(st.ballots_to_send or 0 for st in s.stations)
        worst = max((st.ballot_run_out_probability or 0.0 for st in s.stations), default=0.0)
        stdout.print(
            (
                f"[yellow]ballot budget binds[/]: {sent:,} of {s.ballot_budget:,} ballots sent, "
                f"each station runs out with probability up to {worst:.1%}"
                if s.ballot_budget_binds
                else f"ballot budget: {sent:,} of {s.ballot_budget:,} ballots sent"
            )
            + f", {s.ballots_reserve or 0:,} in reserve; expected votes short of ballots "
            f"{s.expected_votes_short_of_ballots or 0.0:,.1f}",
            highlight=False,
        )
    for w in s.wait_target_violations:
        stdout.print(
            f"[yellow]wait target missed[/] at {w.site_id}: predicted p95 wait "
            f"{w.predicted_wait_minutes_p95:,.0f} min (target {w.target_minutes:g} min; load "
            f"{w.load_voters:,.0f}, {w.capacity_voters:,.0f} within the target at the most "
            "resources the site allows)",
            highlight=False,
        )


def _station_cells(st: PlannedStation) -> list[str]:
    """A planned station's name, resources, expected voters and votes cast, as table cells."""
    return [
        st.name,
        str(st.security_lanes) if st.security_lanes else "-",
        str(st.desks),
        str(st.booths),
        f"{st.staff:g}",
        f"{st.expected_voters:,.0f}",
        f"{st.expected_votes_cast:,.0f}",
    ]


def bottleneck_text(sim: StationSimulationResult) -> str:
    """``checkin (97 %)``: the most utilised stage of a simulated station."""
    util = sim.bottleneck_utilisation
    if not sim.bottleneck_stage:
        return "-"
    return sim.bottleneck_stage + ("" if util is None else f" ({util:.0%})")


@app.command("evaluate")
def evaluate_command(
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
    from abroad.jobs.evaluate import evaluate_plan

    check_options(seed=seed)
    sc = load_scenario_or_exit(scenario, variant)
    ids = _sites(open_sites)
    if not ids:
        fail("--open needs at least one site id", 2)
    with stdout_to_stderr():
        try:
            result = evaluate_plan(sc, ids, seed=seed)
        except InputError as exc:
            fail_input(exc)
        except ValueError as exc:
            fail(f"--open: {exc}", 2)
    if json_output:
        print_json(result.to_json_dict())
        return
    table = Table(
        title=f"{sc.name}{' / ' + sc.variant if sc.variant else ''}: the planner's value",
        title_justify="left",
    )
    columns = ["station", "lanes", "desks", "booths", "staff", "expected voters", "votes cast"]
    for i, c in enumerate([*columns, "p95 wait min", "ballots"]):
        table.add_column(c, justify="left" if i == 0 else "right")
    for st in result.stations:
        table.add_row(
            *_station_cells(st),
            f"{st.predicted_wait_minutes_p95:,.0f}" + ("" if st.meets_wait_target else " (missed)"),
            "" if st.ballots_to_send is None else f"{st.ballots_to_send:,d}",
        )
    stdout.print(table)
    stdout.print(
        f"votes cast {result.expected_votes_cast:,.0f} "
        f"\u00b1 {result.expected_votes_cast_ci_half_width:,.0f} of "
        f"{result.expected_voters_after_travel:,.0f} expected voters after travel; staff "
        f"{result.staff:g}; feasible: {result.feasible}"
        + ("" if result.feasible else f" ({'; '.join(result.violations)})"),
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
    from abroad.jobs.compare import compare_variants

    check_options(seed=seed, time_limit=time_limit)
    names = (
        [v.strip() for v in variants.split(",") if v.strip()]
        if variants
        else variant_names_or_exit(scenario)
    )
    base, *others = load_scenarios_or_exit(scenario, [None, *names])
    with stdout_to_stderr(), progress(enabled=not json_output) as bar:
        task = bar.add_task("comparing", total=100)
        try:
            result = compare_variants(
                base,
                others,
                time_limit_seconds=time_limit,
                seed=seed,
                progress=lambda label, f: bar.update(
                    task, completed=round(100 * f), description=label
                ),
            )
        except InputError as exc:
            fail_input(exc)
    if json_output:
        print_json(result.to_json_dict())
        return
    table = Table(title=f"{base.name}: variants", title_justify="left")
    cols = [
        "variant",
        "status quo\n(base network):\nvotes cast",
        "plan:\nvotes cast",
        "bound",
        "plan: could\nnot vote",
        "plan: votes\ncast, re-\nsimulated",
        "plan: worst\nwait p95\n(simulated)",
        "staff",
        "stations",
        "missing the\nwait target",
    ]
    for i, c in enumerate(cols):
        table.add_column(c, justify="left" if i in (0, 8, 9) else "right")
    unstaffable = False
    for r in result.rows:
        wait = r.worst_wait_minutes_p95
        mark = "" if r.status_quo_feasible else " *"
        unstaffable |= not r.status_quo_feasible
        table.add_row(
            r.variant,
            f"{r.status_quo_expected_votes_cast:,.0f}{mark}",
            f"{r.planned_expected_votes_cast:,.0f}",
            "" if r.bound is None else f"{r.bound:,.0f}",
            f"{r.planned_lost_to_queues:,.0f}",
            f"{r.planned_simulated_votes_cast:,.0f}",
            "" if wait is None else f"{wait:,.0f} min",
            f"{r.staff:g}",
            ", ".join(r.planned_open_sites),
            ", ".join(r.planned_missing_wait_target) or "none",
        )
    stdout.print(table)
    stdout.print(
        "status quo: the base scenario's network as it is, in each variant's world; among "
        "plans with equal votes cast the one reaching more voters, then the cheaper, is chosen",
        highlight=False,
    )
    if unstaffable:
        stdout.print(
            "* the status quo needs more staff than it has "
            "(its value assumes it could be staffed; the plan respects the staff limits)",
            highlight=False,
        )
