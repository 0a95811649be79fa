"""`abroad ...` commands. Thin: parse arguments, call the library, print.

Each command lives in its own module, which registers itself on ``app`` when imported.
"""

from __future__ import annotations

from abroad.cli import (  # noqa: F401  (registration)
    demand,
    pipeline_cmds,
    plan,
    server_cmds,
    simulate,
)
from abroad.cli.app import app


def main() -> None:
    """Console entry point."""
    app()


__all__ = ["app", "main"]
