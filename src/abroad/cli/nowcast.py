"""Command: nowcast (registered on import)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from abroad.cli.app import app
from abroad.cli.common import fail_input, print_json, progress, stdout
from abroad.cli.simulate import JsonOpt, SeedOpt, SpecArg, _load
from abroad.io.errors import InputError, Problem
from abroad.model.clock import clock_text as _clock

if TYPE_CHECKING:
    from abroad.ops.actions import Action
    from abroad.ops.nowcast import Nowcast
    from abroad.queueing import StationSpec


def _parse_clock_option(option: str, text: str, problems: list[Problem]) -> float:
    from abroad.model.clock import parse_clock

    try:
        t = parse_clock(text)
    except ValueError as exc:
        problems.append(Problem(option, str(exc)))
        return math.nan
    if not hasattr(t, "hour"):
        problems.append(Problem(option, f"expected a clock time like 13:00 (got {text!r})"))
        return math.nan
    minutes = t.hour * 60.0 + t.minute + t.second / 60.0  # type: ignore[attr-defined]
    return 24 * 60.0 if minutes >= 24 * 60 - 1 / 60 else minutes


def _parse_working(
    items: list[str], station: StationSpec, problems: list[Problem]
) -> tuple[tuple[str, int], ...]:
    names = [s.name for s in station.stages]
    out: dict[str, int] = {}
    for item in items:
        for part in item.split(","):
            name, _, value = part.strip().partition("=")
            if name not in names or not value.isdigit() or int(value) < 1:
                problems.append(
                    Problem(
                        "--working",
                        f"{part.strip()!r}: expected STAGE=N with STAGE one of "
                        f"{', '.join(names)} and N >= 1",
                    )
                )
                continue
            if name in out:
                problems.append(Problem("--working", f"stage {name!r} is given twice"))
            out[name] = int(value)
    return tuple(out.items())


def _parse_nearby(items: list[str], problems: list[Problem]) -> list[tuple[Path, float, int]]:
    out = []
    for item in items:
        path, _, rest = item.rpartition("@")
        minutes, _, line = rest.partition(":")
        try:
            travel = float(minutes)
            in_line = int(line) if line else 0
            ok = bool(path) and travel >= 0 and in_line >= 0 and math.isfinite(travel)
        except ValueError:
            ok = False
        if not ok:
            problems.append(
                Problem(
                    "--nearby",
                    f"{item!r}: expected SPEC@TRAVEL_MINUTES[:IN_LINE], e.g. "
                    "examples/stations/bonn.yaml@120:300",
                )
            )
            continue
        out.append((Path(path), travel, in_line))
    return out


@app.command()
def nowcast(
    spec: SpecArg,
    now: Annotated[
        str, typer.Option("--now", help="Clock time of the state, e.g. 13:00.", show_default=False)
    ],
    in_line: Annotated[
        int, typer.Option("--in-line", min=0, help="People waiting in the line now.")
    ],
    processed: Annotated[
        int | None,
        typer.Option(
            "--processed",
            min=0,
            help="Voters processed today so far (from the list); updates the arrival rate.",
        ),
    ] = None,
    ballots_left: Annotated[
        int | None,
        typer.Option(
            "--ballots-left",
            min=0,
            help="Ballots left now (default: the spec's stock minus --processed; on a later "
            "voting day give it).",
        ),
    ] = None,
    working: Annotated[
        list[str] | None,
        typer.Option(
            "--working",
            help="Servers working now, STAGE=N[,STAGE=N...] (repeatable), e.g. security=2.",
        ),
    ] = None,
    day: Annotated[
        int, typer.Option("--day", min=1, help="Voting day of the spec (1 = first).")
    ] = 1,
    replications: Annotated[
        int, typer.Option("--replications", "-n", min=2, help="Replications.")
    ] = 100,
    seed: SeedOpt = 0,
    target_wait_minutes: Annotated[
        float | None,
        typer.Option(
            min=0.0, help="Also size added servers so that someone joining now waits at most this."
        ),
    ] = None,
    lead_minutes: Annotated[
        float, typer.Option(min=0.0, help="Minutes to bring an added server into service.")
    ] = 0.0,
    nearby: Annotated[
        list[str] | None,
        typer.Option(
            "--nearby",
            help=(
                "Another station that could take people: SPEC@TRAVEL_MINUTES[:IN_LINE] "
                "(repeatable); its state is its plan with IN_LINE waiting now."
            ),
        ),
    ] = None,
    no_actions: Annotated[
        bool, typer.Option("--no-actions", help="Only the nowcast, no actions.")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Predict a station's rest of the day from its present state (the line now, what was
    processed, the servers working, the ballots left): the wait for someone joining now, the
    people still in line at closing, and what would serve them (an extension, more servers,
    sending people to a nearby station), each by simulation.

    Examples:

      abroad nowcast examples/stations/berlin-2024.yaml --now 13:00 --in-line 2000 --processed 1350

      abroad nowcast examples/stations/berlin-2024.yaml --now 13:00 --in-line 2000
      --working security=2 --json
    """
    from abroad.ops.actions import ActionGoal, Neighbour, actions_for
    from abroad.ops.nowcast import StationState, check_state, condition, run, summarise

    station = _load(spec)
    problems: list[Problem] = []
    now_minute = _parse_clock_option("--now", now, problems)
    works = _parse_working(working or [], station, problems)
    near = _parse_nearby(nearby or [], problems)
    if problems:
        fail_input(InputError(problems))
    state = StationState(
        now_minute=now_minute,
        day=day - 1,
        people_in_line=in_line,
        processed_today=processed,
        ballots_left=ballots_left,
        working=works,
    )
    options = {"now": "--now", "day": "--day", "working": "--working"}
    bad = [Problem(options[f], m) for f, m in check_state(station, state)]
    if bad:
        fail_input(InputError(bad))
    neighbours_specs = [(_load(p), travel, line) for p, travel, line in near]
    goal = ActionGoal(max_wait_minutes=target_wait_minutes, lead_minutes=lead_minutes)
    with progress(enabled=not json_output) as bar:
        bar.add_task("nowcasting", total=None)
        cond = condition(station, state, replications, seed)
        result = summarise(cond, run(cond))
        neighbours = []
        for i, (nb_spec, travel, line) in enumerate(neighbours_specs):
            nb_state = StationState(now_minute=now_minute, day=day - 1, people_in_line=line)
            problems_nb = check_state(nb_spec, nb_state)
            if problems_nb:
                fail_input(InputError([Problem("--nearby", m) for _, m in problems_nb]))
            nb_cond = condition(nb_spec, nb_state, replications, seed + 1 + i)
            neighbours.append(Neighbour(nb_spec.name, travel, nb_cond))
        actions = () if no_actions else actions_for(cond, goal, neighbours)
    if json_output:
        payload: dict[str, Any] = result.as_dict()
        payload["actions"] = [a.as_dict() for a in actions]
        print_json(payload)
        return
    _print(result, actions)


def _ci(e: Any, fmt: str = ",.0f") -> str:
    if e.ci_low != e.ci_low:
        return f"{e.mean:{fmt}}"
    return f"{e.mean:{fmt}} [{e.ci_low:{fmt}}, {e.ci_high:{fmt}}]"


def _print(result: Nowcast, actions: tuple[Action, ...]) -> None:
    lo, hi = result.intensity.interval(result.level)
    table = Table(
        title=f"{result.station} at {_clock(result.now_minute)}: the rest of the day to "
        f"{_clock(result.close_minute)} ({result.replications} replications, mean "
        f"[{result.level:.0%} interval])",
        title_justify="left",
    )
    table.add_column("")
    table.add_column("prediction", justify="right")
    seen = result.intensity.observed_arrivals
    table.add_row(
        "arrivals so far / plan",
        f"{seen:,} / {result.intensity.planned_arrivals_so_far:,.0f}"
        if seen is not None
        else f"unknown / {result.intensity.planned_arrivals_so_far:,.0f}",
    )
    table.add_row("arrival rate x plan", f"{result.intensity.mean:.2f} [{lo:.2f}, {hi:.2f}]")
    table.add_row("wait if joining now, min", _ci(result.wait_minutes_now, ",.0f"))
    table.add_row("chance served if joining now", f"{result.chance_served_joining_now:.0%}")
    table.add_row("still in line at closing", _ci(result.left_in_line_at_close))
    table.add_row("turned away at closing", _ci(result.turned_away_at_close))
    table.add_row("served from now", _ci(result.served_rest_of_day))
    table.add_row("leave the line from now", _ci(result.reneged_rest_of_day))
    b = result.ballots
    if b.stock_now is not None:
        when = "" if b.minute is None else f", around {_clock(b.minute.mean)}"
        table.add_row("ballots run out", f"{b.chance_run_out:.0%} chance{when}")
    stdout.print(table)
    step = max(1, len(result.line) // 10)
    points = ", ".join(f"{_clock(p.minute)} {p.mean:,.0f}" for p in result.line[::step])
    stdout.print(f"line (mean people waiting outside): {points}", highlight=False)
    if not actions:
        return
    at = Table(title="actions (each simulated from now)", title_justify="left")
    at.add_column("action")
    at.add_column("still in line at closing after", justify="right")
    at.add_column("wait if joining now, min", justify="right")
    at.add_column("serves everyone?")
    for a in actions:
        if a.kind.value == "extend":
            what = f"extend by {a.minutes:g} min"
        elif a.kind.value == "add_servers":
            what = "add " + ", ".join(f"{k} {name}" for name, k in a.servers_by_stage)
            if a.minutes is not None and a.minutes > result.now_minute:
                what += f" from {_clock(a.minutes)}"
        else:
            what = f"send {a.voters:,} to {a.station} ({a.travel_minutes:g} min away)"
        at.add_row(
            what,
            _ci(a.left_in_line_at_close_after),
            _ci(a.wait_minutes_now_after),
            "yes" if a.achieves_goal else "no",
        )
    stdout.print(at)
