"""`abroad ...` commands. Thin: parse arguments, call the library, print.

Each command lives in its own module, which registers itself on ``app`` when imported.
"""

from __future__ import annotations

import sys

from abroad.cli import (  # noqa: F401  (registration)
    demand,
    demo_live,
    nowcast,
    pipeline_cmds,
    plan,
    replay,
    scaffold,
    server_cmds,
    simulate,
    sweep,
    tours,
)
from abroad.cli.app import app
from abroad.cli.crash import EXIT_BAD_INPUT, internal_error


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
        internal_error("out of memory", sys.exc_info()[1])
    except Exception as exc:
        internal_error(f"{type(exc).__name__}: {str(exc)[:200]}", exc)


__all__ = ["app", "main"]
