"""Helpers shared by the command modules: error output, JSON output, progress bars."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from abroad.io.errors import InputError
from abroad.io.outputs import json_text
from abroad.model import Scenario

stderr = Console(stderr=True, soft_wrap=True)
stdout = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
"""Tables written to files and pipes are 160 columns wide, not cut at 80."""

EXIT_BAD_INPUT = 2

ScenarioArg = Annotated[
    Path,
    typer.Argument(
        help="Scenario folder (holding scenario.yaml and its tables), e.g. examples/us-2024.",
        show_default=False,
    ),
]
"""The scenario argument every scenario command takes."""


def fail_input(error: InputError) -> NoReturn:
    """Print every located problem to stderr and exit with status 2."""
    stderr.print(
        f"[bold red]error:[/] {len(error.problems)} problem(s) in the input", highlight=False
    )
    for p in error.problems:
        stderr.print(f"  {p}", highlight=False, markup=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def fail(message: str, code: int = 1) -> NoReturn:
    stderr.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def load_scenario_or_exit(path: Path, variant: str | None = None) -> Scenario:
    from abroad.io.scenario import load_scenario

    try:
        scenario = load_scenario(path, variant)
    except InputError as exc:
        fail_input(exc)
    print_default_notices(scenario)
    return scenario


def print_default_notices(scenario: Scenario) -> None:
    """Name on stderr every changed default the scenario relies on (never on stdout)."""
    from abroad.model.format_notices import changed_defaults

    for change in changed_defaults(scenario):
        stderr.print(f"[yellow]notice:[/] {change}", highlight=False)


def print_json(payload: Any) -> None:
    """Machine-readable output on stdout (NaN written as null)."""
    sys.stdout.write(json_text(payload))


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send whatever native libraries print on file descriptor 1 to stderr meanwhile.

    HiGHS prints a banner from C++ when a solver object is created; stdout must carry only
    the command's own output (JSON with --json).
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """A progress display on stderr; silent when stderr is not a terminal or disabled."""
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=stderr,
        disable=not enabled or not stderr.is_terminal,
        transient=False,
    )
    with bar:
        yield bar
