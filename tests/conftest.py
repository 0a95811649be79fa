"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario_factory import write_scenario


@pytest.fixture
def tiny_scenario(tmp_path: Path) -> Path:
    """A valid small scenario folder in a temporary directory."""
    return write_scenario(tmp_path / "tiny")
