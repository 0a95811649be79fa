"""Commands: simulate, size (registered on import)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from abroad.cli.app import app
from abroad.cli.common import (
    check_options,
    fail,
    fail_input,
    print_json,
    progress,
    stderr,
    stdout,
)
from abroad.io.errors import InputError
from abroad.model.clock import clock_text

SpecArg = Annotated[
    Path,
    typer.Argument(
        help=(
            "Station description, YAML or JSON (see docs/reference/station-spec.md), "
            "e.g. examples/stations/berlin-2024.yaml."
        ),
        show_default=False,
    ),
]
SeedOpt = Annotated[
    int,
    typer.Option(
        help="Seed of every random stream (replication k is the same alone or in a batch)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")]


def _load(spec: Path) -> Any:
    from abroad.io.station_spec import load_station_spec

    try:
        return load_station_spec(spec)
    except InputError as exc:
        fail_input(exc)


@app.command()
def simulate(
    spec: SpecArg,
    replications: Annotated[
        int, typer.Option("--replications", "-n", min=1, help="Number of replications.")
    ] = 40,
    seed: SeedOpt = 0,
    target_wait_minutes: Annotated[
        float, typer.Option(min=0, help="Wait target for the reported service level.")
    ] = 30.0,
    json_output: JsonOpt = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Spread the replications over a Dask cluster: a scheduler address "
            "(tcp://host:8786) or 'local' (a cluster on this machine). Same results.",
        ),
    ] = None,
) -> None:
    """Simulate one station over its voting days: who is served, turned away, and how long
    they wait (means with 95 % confidence intervals over replications).

    Examples:

      abroad simulate examples/stations/berlin-2024.yaml

      abroad simulate examples/stations/mmc-textbook.yaml --replications 10 --seed 1 --json

      abroad simulate examples/stations/berlin-2024.yaml -n 1000 --scheduler local
    """
    from abroad.queueing import simulate_station

    check_options(seed=seed, replications=replications, target_wait_minutes=target_wait_minutes)
    station = _load(spec)
    with progress(enabled=not json_output) as bar:
        task = bar.add_task("simulating", total=replications)
        if scheduler is not None:
            from abroad.sweep.cluster import dask_client
            from abroad.sweep.montecarlo import simulate_station_on

            with dask_client(None if scheduler == "local" else scheduler) as client:
                outcome = simulate_station_on(
                    client,
                    station,
                    replications=replications,
                    seed=seed,
                    target_wait_minutes=target_wait_minutes,
                    on_replications=lambda n: bar.advance(task, n),
                )
        else:
            outcome = simulate_station(
                station,
                replications=replications,
                seed=seed,
                target_wait_minutes=target_wait_minutes,
                on_replication=lambda _r: bar.advance(task),
            )
    if json_output:
        from abroad.results import StationOutcomeResult

        print_json(StationOutcomeResult.of_outcome(outcome).to_json_dict())
        return
    _print_outcome(outcome)


def _print_outcome(outcome: Any) -> None:
    periods = [*outcome.days, outcome.total] if len(outcome.days) > 1 else [outcome.total]
    table = Table(
        title=f"{outcome.name}: {outcome.replications} replications, seed {outcome.seed} "
        "(mean [95 % CI])",
        title_justify="left",
    )
    table.add_column("")
    for p in periods:
        table.add_column("total" if p.day is None else f"day {p.day + 1}", justify="right")

    def ci(e: Any, fmt: str = ",.0f") -> str:
        if e.ci_low != e.ci_low:
            return f"{e.mean:{fmt}}"
        return f"{e.mean:{fmt}} [{e.ci_low:{fmt}}, {e.ci_high:{fmt}}]"

    rows: list[tuple[str, Any, str]] = [
        ("arrivals", lambda p: p.arrivals, ",.0f"),
        ("served", lambda p: p.served, ",.0f"),
        ("turned away at close", lambda p: p.turned_away_at_close, ",.0f"),
        ("turned away, no ballots", lambda p: p.turned_away_no_ballots, ",.0f"),
        ("reneged", lambda p: p.reneged, ",.0f"),
        ("balked", lambda p: p.balked, ",.0f"),
        ("turned away by the cap", lambda p: p.turned_away_cap, ",.0f"),
        ("wait mean, min", lambda p: p.wait_minutes.mean, ",.1f"),
        ("wait p50, min", lambda p: p.wait_minutes.p50, ",.1f"),
        ("wait p90, min", lambda p: p.wait_minutes.p90, ",.1f"),
        ("wait p95, min", lambda p: p.wait_minutes.p95, ",.1f"),
        ("wait p99, min", lambda p: p.wait_minutes.p99, ",.1f"),
        ("wait max, min", lambda p: p.wait_minutes.max, ",.1f"),
        (f"served within {outcome.target_wait_minutes:g} min", lambda p: p.service_level, ".1%"),
        ("longest line", lambda p: p.max_line, ",.0f"),
    ]
    for label, get, fmt in rows:
        table.add_row(label, *(ci(get(p), fmt) for p in periods))
    for name in outcome.total.utilisation:
        table.add_row(f"utilisation {name}", *(ci(p.utilisation[name], ".0%") for p in periods))
    table.add_row(
        "last voter leaves",
        *(clock_text(p.last_leave_minute.mean) for p in periods[: len(periods)]),
    )
    stdout.print(table)
    util = {k: v.mean for k, v in outcome.total.utilisation.items() if v.mean == v.mean}
    if util:
        stage = max(util, key=lambda k: util[k])
        stdout.print(f"bottleneck: {stage} ({util[stage]:.0%} busy)", highlight=False)
    for day in outcome.days:
        if not day.line_over_time:
            continue
        step = max(1, len(day.line_over_time) // 13)
        points = ", ".join(
            f"{clock_text(p.minute)} {p.mean:,.0f}" for p in day.line_over_time[::step]
        )
        stdout.print(f"line, day {day.day + 1} (mean people waiting): {points}", highlight=False)


@app.command()
def size(
    spec: SpecArg,
    target_wait_minutes: Annotated[
        float, typer.Option(min=0, help="Maximum acceptable wait in minutes.")
    ] = 30.0,
    service_level: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Share of arrivals that must be served within the target."
        ),
    ] = 0.95,
    max_servers: Annotated[
        list[str] | None,
        typer.Option(
            help="Cap for a stage as NAME=N (repeatable), e.g. --max-servers checkin=6.",
        ),
    ] = None,
    per_hour: Annotated[
        bool, typer.Option("--per-hour", help="Also lower the counts hour by hour (schedules).")
    ] = False,
    replications: Annotated[
        int, typer.Option("--replications", "-n", min=1, help="Replications per candidate.")
    ] = 10,
    seed: SeedOpt = 0,
    json_output: JsonOpt = False,
) -> None:
    """Find the fewest servers per stage (desks, booths, ...) so that SERVICE_LEVEL of the
    arrivals are served within TARGET_WAIT_MINUTES, by simulation; the steady-state Erlang C
    answer for the peak hour is shown beside it.

    Examples:

      abroad size examples/stations/berlin-2024.yaml --target-wait-minutes 30 --service-level 0.95

      abroad size examples/stations/issue-example.yaml --per-hour --json
    """
    from abroad.queueing.sizing import size_station

    check_options(seed=seed, replications=replications, target_wait_minutes=target_wait_minutes)
    station = _load(spec)
    caps: dict[str, int] = {}
    names = {s.name for s in station.stages}
    for item in max_servers or []:
        name, _, value = item.partition("=")
        if name not in names or not value.isdigit() or int(value) < 1:
            fail(
                f"--max-servers {item!r}: expected NAME=N with NAME one of "
                f"{', '.join(sorted(names))} and N >= 1",
                code=2,
            )
        caps[name] = int(value)
    with progress(enabled=not json_output) as bar:
        bar.add_task("sizing", total=None)
        result = size_station(
            station,
            target_wait_minutes=target_wait_minutes,
            service_level=service_level,
            max_servers=caps or None,
            replications=replications,
            seed=seed,
            per_hour=per_hour,
        )
    payload = {
        "station": station.name,
        "feasible": result.feasible,
        "target_wait_minutes": target_wait_minutes,
        "target_service_level": service_level,
        "achieved_service_level": result.service_level,
        "mean_wait_minutes": result.mean_wait_minutes,
        "replications": replications,
        "evaluations": result.evaluations,
        "stages": [
            {
                "name": s.name,
                "servers": s.servers,
                "schedule": (
                    [{"from": clock_text(m), "servers": n} for m, n in s.schedule]
                    if s.schedule is not None
                    else None
                ),
                "erlang_c_peak_servers": s.erlang_c_peak_servers,
                "peak_arrivals_per_hour": s.peak_arrivals_per_hour,
            }
            for s in result.stages
        ],
    }
    if json_output:
        print_json(payload)
        return
    table = Table(
        title=f"{station.name}: {service_level:.0%} served within {target_wait_minutes:g} min",
        title_justify="left",
    )
    table.add_column("stage")
    table.add_column("servers (simulation)", justify="right")
    table.add_column("Erlang C, peak hour", justify="right")
    table.add_column("schedule")
    for s in payload["stages"]:
        sched = s["schedule"]
        table.add_row(
            s["name"],
            str(s["servers"]),
            "-" if s["erlang_c_peak_servers"] is None else str(s["erlang_c_peak_servers"]),
            "" if sched is None else " ".join(f"{x['from']}:{x['servers']}" for x in sched),
        )
    stdout.print(table)
    verdict = "meets" if result.feasible else "MISSES (even at the maximum servers)"
    stdout.print(
        f"{verdict} the target: {result.service_level:.1%} served within "
        f"{target_wait_minutes:g} min, mean wait {result.mean_wait_minutes:.1f} min "
        f"({result.evaluations} candidates x {replications} replications)",
        highlight=False,
    )
    if not result.feasible:
        stderr.print("no configuration within the caps meets the target", highlight=False)
