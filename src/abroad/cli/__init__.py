"""`abroad ...` commands. Thin: parse arguments, call the library, print.

Each command lives in its own module, which registers itself on ``app`` when imported.
"""

from __future__ import annotations

from abroad.cli import demand, pipeline_cmds, plan, simulate  # noqa: F401  (registration)
from abroad.cli import sweep as _sweep  # noqa: F401  (registration)
from abroad.cli.app import app


def main() -> None:
    """Console entry point."""
    app()


__all__ = ["app", "main"]
