"""Helpers shared by the command modules: error output, JSON output, progress bars, and the
checks of command-line options that every command runs before any work."""

from __future__ import annotations

import math
import os
import stat
import sys
import tempfile
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
from abroad.model import limits as L
from abroad.model.format_notices import HasServiceAndSites

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


def check_options(
    *,
    seed: int | None = None,
    replications: int | None = None,
    time_limit: float | None = None,
    out: Path | None = None,
    target_wait_minutes: float | None = None,
) -> None:
    """Check the common options before any work; exit 2 naming each bad one.

    - ``--seed``: 0 to 2^63 - 1.
    - ``--replications``: 1 to ``MAX_REPLICATIONS``.
    - ``--time-limit``: a finite number of seconds, > 0 and at most ``MAX_TIME_LIMIT_SECONDS``.
    - ``--out``: a folder that exists and is writable, or that can be created (its nearest
      existing parent is a writable folder); not an existing file or device such as /dev/null.
    - ``--target-wait-minutes``: finite, 0 to ``MAX_WAIT_TARGET_MINUTES``.
    """
    problems = []
    if seed is not None and not 0 <= seed <= L.MAX_SEED:
        problems.append(f"--seed {seed}: expected an integer from 0 to {L.MAX_SEED}")
    if replications is not None and not 1 <= replications <= L.MAX_REPLICATIONS:
        problems.append(
            f"--replications {replications}: expected 1 to {L.MAX_REPLICATIONS:,} (the limit)"
        )
    if time_limit is not None and not (
        math.isfinite(time_limit) and 0 < time_limit <= L.MAX_TIME_LIMIT_SECONDS
    ):
        problems.append(
            f"--time-limit {time_limit}: expected seconds > 0 and at most "
            f"{L.MAX_TIME_LIMIT_SECONDS:,.0f} (the limit)"
        )
    if (
        target_wait_minutes is not None
        and not 0 <= target_wait_minutes <= L.MAX_WAIT_TARGET_MINUTES
    ):
        problems.append(
            f"--target-wait-minutes {target_wait_minutes}: expected 0 to "
            f"{L.MAX_WAIT_TARGET_MINUTES:,} minutes (the limit)"
        )
    if out is not None:
        why = out_folder_problem(out)
        if why is not None:
            problems.append(f"--out {out}: {why}")
    for message in problems:
        stderr.print(f"[bold red]error:[/] {message}", highlight=False)
    if problems:
        raise typer.Exit(EXIT_BAD_INPUT)


def out_folder_problem(out: Path) -> str | None:
    """Why ``out`` cannot be used as the output folder, or None when it can.

    Nothing is created: for a folder that does not exist yet, its nearest existing parent must
    be a folder in which a file can really be created (a probe file, removed at once).
    """
    probe_dir = out
    try:
        info = out.stat()
    except (FileNotFoundError, NotADirectoryError):
        info = None
    except OSError as exc:
        return f"cannot use it ({exc.strerror or type(exc).__name__})"
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            probe_dir = out
        elif stat.S_ISREG(info.st_mode):
            return "is an existing file; expected a folder (it holds several output files)"
        else:
            return "is a device, FIFO or socket; expected a folder"
    else:
        probe_dir = out.absolute().parent
        while True:
            try:
                parent_info = probe_dir.stat()
            except (FileNotFoundError, NotADirectoryError):
                probe_dir = probe_dir.parent
                continue
            except OSError as exc:
                return f"cannot create it ({exc.strerror or type(exc).__name__})"
            if not stat.S_ISDIR(parent_info.st_mode):
                return f"cannot create it: {probe_dir} is not a folder"
            break
    try:
        with tempfile.TemporaryFile(dir=probe_dir, prefix=".abroad-probe-"):
            pass
    except OSError as exc:
        verb = "write in" if probe_dir == out else "create it in"
        return f"cannot {verb} {probe_dir} ({exc.strerror or type(exc).__name__})"
    return None


def load_scenario_or_exit(path: Path, variant: str | None = None) -> Scenario:
    from abroad.io.scenario import load_scenario

    try:
        scenario = load_scenario(path, variant)
    except InputError as exc:
        fail_input(exc)
    print_default_notices(scenario)
    return scenario


def print_default_notices(scenario: HasServiceAndSites) -> None:
    """Name on stderr every changed default the scenario relies on (never on stdout)."""
    from abroad.model.format_notices import changed_defaults

    for change in changed_defaults(scenario):
        stderr.print(f"[yellow]notice:[/] {change}", highlight=False)


def load_scenarios_or_exit(path: Path, variants: list[str | None]) -> list[Scenario]:
    """The scenario under several variants (None: the base); its files are read once."""
    from abroad.io.scenario import load_scenarios

    try:
        return load_scenarios(path, variants)
    except InputError as exc:
        fail_input(exc)


def variant_names_or_exit(path: Path) -> list[str]:
    """Names of the variants a scenario declares (exit 2 if its file cannot be read)."""
    from abroad.io.scenario import list_variants

    try:
        return [v.name for v in list_variants(path)]
    except InputError as exc:
        fail_input(exc)


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
