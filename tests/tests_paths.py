"""Paths that tests use: the repository, the bundled example, the shared public data."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "us-2024"
SHARED_DATA = REPO.parent / "shared" / "data"
