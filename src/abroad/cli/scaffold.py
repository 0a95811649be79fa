"""Command: scaffold (a valid scenario skeleton for any pair of countries)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from abroad.cli.app import app
from abroad.cli.common import fail, fail_input, print_json, stderr, stdout
from abroad.io.errors import InputError


@app.command()
def scaffold(
    citizens_of: Annotated[
        str, typer.Option("--citizens-of", help="ISO alpha-2 code of the voters' country, e.g. RU.")
    ],
    host: Annotated[str, typer.Option("--host", help="ISO alpha-2 code of the host country.")],
    citizens: Annotated[
        float, typer.Option("--citizens", help="Citizens eligible to vote in the host country.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the scenario into.")],
    date: Annotated[
        str, typer.Option("--date", help="Election day, YYYY-MM-DD (more days: edit the YAML).")
    ] = "2024-03-17",
    name: Annotated[str | None, typer.Option(help="Scenario name.")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print what was written as JSON.")
    ] = False,
) -> None:
    """Write a valid scenario skeleton: places from the gazetteer, the host's time zones,
    sites.csv to fill in, every default with a comment, and a README stating the method.

    Example:  abroad scaffold --citizens-of RU --host DE --citizens 300000 --out my-scenario
    """
    from abroad.io.scenario import load_scenario
    from abroad.jobs.scaffold import write_scaffold

    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        fail(f"--date: expected YYYY-MM-DD, got {date!r}", 2)
    try:
        result = write_scaffold(citizens_of, host, citizens, out, election_date=day, name=name)
        load_scenario(out)  # the skeleton is valid as written
    except InputError as exc:
        fail_input(exc)
    if json_output:
        print_json(
            {
                "folder": str(result.folder),
                "places": result.places,
                "citizens": result.citizens,
                "timezones": list(result.timezones),
                "capital": result.capital,
            }
        )
        return
    stdout.print(
        f"wrote {out}: {result.places:,d} places, {result.citizens:,.0f} citizens, time zones "
        f"{', '.join(result.timezones)}; one embassy in {result.capital} to complete in sites.csv",
        highlight=False,
    )
    stderr.print(f"next: edit {out}/sites.csv and {out}/scenario.yaml, then abroad validate {out}")
