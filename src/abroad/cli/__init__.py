"""`abroad ...` commands. Thin: parse arguments, call the library, print.

Each command lives in its own module, which registers itself on ``app`` when imported.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import traceback
from pathlib import Path

from abroad.cli import demand, pipeline_cmds, plan, simulate  # noqa: F401  (registration)
from abroad.cli.app import app

EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 1


def main(argv: list[str] | None = None) -> None:
    """Console entry point.

    No input may crash the process with a traceback: an input error that escaped a command
    exits 2 with its located problems; any other exception exits 1 with a short message and the
    path of a log file holding the traceback (under ``$ABROAD_LOG_DIR``, else
    ``$XDG_STATE_HOME/abroad/logs``, else the temporary folder).
    """
    from abroad.io.errors import InputError

    try:
        app(args=argv, prog_name="abroad")
    except InputError as exc:
        print(f"error: {len(exc.problems)} problem(s) in the input", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except MemoryError:
        _internal_error("out of memory", sys.exc_info()[1])
    except Exception as exc:
        _internal_error(f"{type(exc).__name__}: {str(exc)[:200]}", exc)


def _internal_error(summary: str, exc: BaseException | None) -> None:
    text = "".join(traceback.format_exception(exc)) if exc is not None else summary
    where = _write_log(text)
    print(
        f"error: abroad failed unexpectedly ({summary}).\n"
        f"This is a bug, not a problem with your input; the traceback is in {where}\n"
        "Please report it with that file.",
        file=sys.stderr,
    )
    sys.exit(EXIT_INTERNAL_ERROR)


def log_dir() -> Path:
    """Where crash logs go."""
    if os.environ.get("ABROAD_LOG_DIR"):
        return Path(os.environ["ABROAD_LOG_DIR"])
    state = os.environ.get("XDG_STATE_HOME")
    if state:
        return Path(state) / "abroad" / "logs"
    return Path(tempfile.gettempdir()) / "abroad-logs"


def _write_log(text: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    header = f"abroad crash {stamp}\nargv: {sys.argv!r}\n\n"
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"crash-{stamp}-", suffix=".log", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(header + text)
        return name
    except OSError:
        fd, name = tempfile.mkstemp(prefix=f"abroad-crash-{stamp}-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(header + text)
        return name


__all__ = ["app", "main"]
