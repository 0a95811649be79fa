"""The typer application that every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="abroad",
    help=(
        "Plan and run in-person voting for citizens abroad.\n\n"
        "Typical use:\n\n"
        "  abroad validate examples/us-2024\n\n"
        "  abroad demo examples/us-2024 --out out\n\n"
        "  abroad simulate examples/stations/berlin-2024.yaml --replications 40 --json"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.command()
def version() -> None:
    """Print abroad's version."""
    from abroad import __version__

    typer.echo(__version__)
