"""Commands: ``abroad tours plan`` and ``abroad tours solve-top`` (consular outreach tours)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from abroad.cli.app import app
from abroad.cli.common import (
    EXIT_BAD_INPUT,
    ScenarioArg,
    fail,
    fail_input,
    load_scenario_or_exit,
    print_json,
    progress,
    stderr,
    stdout,
)
from abroad.io.errors import InputError

tours_app = typer.Typer(
    name="tours",
    help="Consular outreach tours: which cities teams visit, for how many days, in what order.",
    no_args_is_help=True,
)
app.add_typer(tours_app, name="tours")

SecondsOpt = Annotated[float, typer.Option(help="Seconds the solver may use (per plan).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


@tours_app.command("plan")
def plan_cmd(
    scenario: ScenarioArg,
    out: Annotated[
        Path,
        typer.Option(
            help="Folder for itinerary.csv, notifications.csv, tours.ics, tours.xlsx, "
            "summary.json and report.html."
        ),
    ] = Path("out/tours"),
    compare: Annotated[
        Path | None,
        typer.Option(help="A given itinerary (YAML) to evaluate and compare, e.g. the status quo."),
    ] = None,
    seconds: SecondsOpt = 10.0,
    seed: Annotated[int, typer.Option(help="Seed of the solver's random choices.")] = 0,
    engine: Annotated[
        str, typer.Option(help="Solver: ils (default), greedy, pyvrp or ortools.")
    ] = "ils",
    json_output: JsonOpt = False,
) -> None:
    """Plan the tours of the scenario's `tours:` section (and each staffing alternative).

    Example:  abroad tours plan examples/us-2024 --compare examples/us-2024/tours-2023.yaml
    """
    from abroad.io.tours import read_itinerary
    from abroad.report.tours import summary, write_outputs
    from abroad.tours.plan import ENGINES, TourPlan, evaluate_trips, network_for, plan_tours

    if engine not in ENGINES:
        fail(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}", EXIT_BAD_INPUT)
    if seconds <= 0:
        fail("--seconds must be > 0", EXIT_BAD_INPUT)
    sc = load_scenario_or_exit(scenario)
    if sc.tours is None:
        fail(f"{scenario}: the scenario has no tours: section", EXIT_BAD_INPUT)
    tours = sc.tours
    given = None
    if compare is not None:
        if not compare.is_file():
            fail(f"{compare}: no such itinerary file", EXIT_BAD_INPUT)
        try:
            given = read_itinerary(compare, tours, tours.spec.teams)
        except InputError as exc:
            fail_input(exc)
    staffings = [("plan", tours.spec.teams)] + [
        (name, s.teams) for name, s in tours.spec.staffing.items()
    ]
    plans: list[TourPlan] = []
    with progress(enabled=not json_output) as bar:
        task = bar.add_task("planning tours", total=len(staffings))
        for name, teams in staffings:
            bar.update(task, description=f"planning {name}")
            plans.append(
                plan_tours(sc, tours, teams, name=name, seconds=seconds, seed=seed, engine=engine)
            )
            bar.advance(task)
    compared = None
    if given is not None:
        itinerary, teams, trips = given
        compared = evaluate_trips(sc, tours, teams, trips, itinerary.name)
    network = network_for(sc, tours, tours.spec.teams)
    paths = write_outputs(out, network, tours, plans, compared, sc.name)
    payload: dict[str, Any] = {
        "plans": [summary(p) for p in plans],
        "compare": None if compared is None else summary(compared),
        "files": {k: str(v) for k, v in paths.items()},
    }
    if json_output:
        print_json(payload)
        return
    _print_plans([*plans, *([compared] if compared is not None else [])])
    stderr.print("wrote " + ", ".join(str(p) for p in paths.values()), highlight=False)


def _print_plans(plans: list[Any]) -> None:
    from abroad.report.tours import summary

    table = Table(title="Outreach tours")
    for col in (
        "itinerary",
        "cases served",
        "staff-days",
        "trips",
        "cities",
        "cost",
        "not scheduled",
    ):
        table.add_column(col, justify="left" if col == "itinerary" else "right")
    for p in plans:
        s = summary(p)
        table.add_row(
            s["name"],
            f"{s['cases_served']:,.0f}",
            str(s["staff_days"]),
            str(s["trips"]),
            str(s["cities"]),
            f"{s['cost']:,.0f}",
            str(len(s["unscheduled"])),
        )
    stdout.print(table)


@tours_app.command("solve-top")
def solve_top(
    file: Annotated[
        Path,
        typer.Argument(
            help="A team orienteering instance: 'n N', 'm M', 'tmax T', then 'x y score' lines.",
            show_default=False,
        ),
    ],
    seconds: SecondsOpt = 10.0,
    seed: Annotated[int, typer.Option(help="Seed of the solver's random choices.")] = 0,
    json_output: JsonOpt = False,
) -> None:
    """Solve a team orienteering problem (Chao, Golden & Wasil 1996 format).

    Prints the best score and the routes, each from the start vertex 0 to the end vertex n-1.

    Example:  abroad tours solve-top p4.2.a.txt --seconds 60 --json
    """
    from abroad.tours.routing import check_solution, solve
    from abroad.tours.top import TopFormatError, parse_top

    if seconds <= 0:
        fail("--seconds must be > 0", EXIT_BAD_INPUT)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: cannot read ({exc})", EXIT_BAD_INPUT)
    try:
        instance = parse_top(text)
    except TopFormatError as exc:
        fail(f"{file}, {exc}", EXIT_BAD_INPUT)
    problem = instance.to_problem()
    solution = solve(problem, seconds=seconds, seed=seed)
    assert not check_solution(problem, solution.routes)
    routes = instance.full_routes(solution)
    score = solution.prize
    score_out: float | int = int(score) if float(score).is_integer() else score
    if json_output:
        print_json({"score": score_out, "routes": routes})
        return
    stdout.print(f"score {score_out}", highlight=False)
    for k, route in enumerate(routes):
        length = problem.route_duration(list(route[1:-1]), problem.vehicles[k])
        stdout.print(
            f"route {k + 1} (length {length:.2f} of {instance.tmax:g}): "
            + " ".join(str(v) for v in route),
            highlight=False,
        )
