"""Commands: demand (expected voters per station and day), arrivals (the daily curve)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from abroad.cli.app import app
from abroad.cli.common import (
    EXIT_BAD_INPUT,
    fail,
    load_scenario_or_exit,
    print_json,
    stdout,
)
from abroad.model.clock import clock_minutes, clock_time

_HOURS = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?\s*$")


def parse_open_hours(text: str) -> tuple[float, float]:
    """``"8-20"`` or ``"07:30-21:00"`` -> (open, close) in minutes after local midnight."""
    m = _HOURS.match(text)
    if m is None:
        raise ValueError(f"expected opening hours like 8-20 or 07:30-21:00, got {text!r}")
    try:
        open_m, close_m = (
            clock_minutes(clock_time(f"{h}:{mm or '00'}")) for h, mm in ((m[1], m[2]), (m[3], m[4]))
        )
    except ValueError as exc:
        raise ValueError(f"opening hours {text!r}: {exc}") from None
    if not open_m < close_m:
        raise ValueError(f"opening hours {text!r} must satisfy 0 <= open < close <= 24")
    return open_m, close_m


@app.command()
def demand(
    scenario: Annotated[
        Path,
        typer.Argument(
            help="Scenario folder (holding scenario.yaml), e.g. examples/us-2024.",
            show_default=False,
        ),
    ],
    open_sites: Annotated[
        str | None,
        typer.Option(
            "--open",
            help=(
                "Comma-separated site ids to open, e.g. us-new-york-cg,us-houston-cg "
                "(default: every site that can open)."
            ),
        ),
    ] = None,
    variant: Annotated[
        str | None, typer.Option(help="Use one of the scenario's named variants.")
    ] = None,
    hourly: Annotated[
        bool, typer.Option("--hourly", help="Also give expected arrivals per local clock hour.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON on stdout.")
    ] = False,
) -> None:
    """Expected voters per open station and voting day.

    Turnout falls with the distance to the station each voter place uses (the scenario's
    demand: section), signals are combined with their weights, and voters are split over the
    voting days. With --hourly, each station-day's arrivals by local clock hour follow.

    Examples:

      abroad demand examples/us-2024

      abroad demand examples/us-2024 --open us-new-york-cg,us-houston-cg --json

      abroad demand examples/us-2024 --variant noon-surge --hourly
    """
    from abroad.demand import DemandModel
    from abroad.model import SiteId

    sc = load_scenario_or_exit(scenario, variant)
    model = DemandModel.from_scenario(sc)
    ids = None
    if open_sites is not None:
        ids = [SiteId(s.strip()) for s in open_sites.split(",") if s.strip()]
    try:
        d = model.expected_demand(ids)
    except ValueError as exc:
        fail(f"--open: {exc}", EXIT_BAD_INPUT)
    from abroad.results import DemandCommandResult

    result = DemandCommandResult.of(model, d, hourly=hourly)
    if json_output:
        print_json(result.to_json_dict())
        return
    days = result.days
    table = Table(title=f"{sc.name}: expected voters per station and day")
    table.add_column("site")
    table.add_column("name")
    for day in days:
        table.add_column(day, justify="right")
    table.add_column("total", justify="right")
    for st in result.stations:
        table.add_row(
            st.site_id,
            st.name,
            *(f"{v:,.0f}" for v in st.voters_per_day),
            f"{st.voters:,.0f}",
        )
    stdout.print(table)
    stdout.print(
        f"{result.total_voters:,.0f} expected voters of {result.eligible_citizens:,.0f} "
        "eligible citizens",
        highlight=False,
    )
    for st in result.stations if hourly else ():
        for day, row in zip(days, st.arrivals_per_local_hour or (), strict=True):
            busy = ", ".join(f"{h:02d}h {v:,.0f}" for h, v in enumerate(row) if v > 0)
            stdout.print(f"{st.site_id} {day} ({st.timezone}): {busy}", highlight=False)


@app.command()
def arrivals(
    country: Annotated[
        str,
        typer.Option(
            "--country",
            help="Host country, ISO3 (DEU) or ISO2 (DE). Uncalibrated countries: pooled curve.",
            show_default=False,
        ),
    ],
    days: Annotated[int, typer.Option("--days", min=1, max=14, help="Number of voting days.")] = 1,
    open_hours: Annotated[
        str,
        typer.Option("--open-hours", help="Local opening hours, e.g. 8-20 or 07:30-21:00."),
    ] = "8-20",
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON on stdout.")
    ] = False,
) -> None:
    """Default share of each voting day's arrivals by local clock hour, for a host country.

    Calibrated on Romania's elections abroad (hourly turnout per country, converted to local
    time); each day's 24 shares sum to 1 and are zero outside the opening hours. The JSON also
    gives each day's share of all voters (the last day busiest).

    Examples:

      abroad arrivals --country DEU

      abroad arrivals --country USA --days 3 --open-hours 7-21 --json
    """
    from abroad.demand import country_iso3, day_profile, default_day_shares, has_country_curve
    from abroad.demand import hourly_weights as weights_for

    try:
        open_m, close_m = parse_open_hours(open_hours)
    except ValueError as exc:
        fail(f"--open-hours: {exc}", EXIT_BAD_INPUT)
    iso3 = country_iso3(country)
    if not re.fullmatch(r"[A-Z]{3}", iso3):
        fail(f"--country: expected an ISO3 code like DEU (or ISO2 like DE), got {country!r}", 2)
    weights = weights_for(iso3)
    per_day = day_profile(weights, open_m, close_m)
    shares = [[round(float(v), 6) for v in per_day] for _ in range(days)]
    day_shares = default_day_shares([close_m - open_m] * days)
    calibrated = has_country_curve(iso3)
    if json_output:
        print_json(
            {
                "country": iso3,
                "days": shares,
                "day_shares": [round(float(s), 4) for s in day_shares],
                "open_hours": open_hours,
                "curve": "country" if calibrated else "pooled",
                "source": "../shared/data/ro_abroad_hourly_turnout_by_country.csv",
            }
        )
        return
    which = "its own calibrated curve" if calibrated else "the pooled curve (no country data)"
    stdout.print(f"{iso3}: {which}; local opening hours {open_hours}", highlight=False)
    table = Table()
    table.add_column("local hour")
    for k in range(days):
        table.add_column(f"day {k + 1} ({day_shares[k]:.0%})", justify="right")
    for h in range(24):
        if per_day[h] > 0:
            table.add_row(f"{h:02d}:00", *(f"{row[h]:.1%}" for row in shares))
    stdout.print(table)
