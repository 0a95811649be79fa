"""What the console entry point does with an exception no command handled: a short message
on stderr, exit status 1, and the traceback in a log file whose path the message gives."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import NoReturn

EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 1


def internal_error(summary: str, exc: BaseException | None) -> NoReturn:
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
