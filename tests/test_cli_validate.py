"""`abroad validate`: exit status and located messages on stderr; JSON on request."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from abroad.cli import app

from scenario_factory import PLACES_CSV, write_scenario
from tests_paths import EXAMPLE

runner = CliRunner()


def test_valid_example_exits_0() -> None:
    result = runner.invoke(app, ["validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert "noon-surge" in result.stdout


def test_broken_scenario_exits_2_with_located_problems(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "s", places_csv=PLACES_CSV.replace(",3000,", ",-3000,"))
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 2
    assert "places.csv, row 4, column 'eligible_citizens'" in result.stderr
    assert result.stdout == ""


def test_json_lists_problems(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "s", places_csv=PLACES_CSV.replace(",3000,", ",-3000,"))
    result = runner.invoke(app, ["validate", str(folder), "--json"])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["valid"] is False
    assert payload["problems"][0] == {
        "file": "places.csv",
        "row": 4,
        "column": "eligible_citizens",
        "path": None,
        "message": "Input should be greater than or equal to 0 (got '-3000')",
    }


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no such scenario folder" in result.stderr


def test_help_has_examples() -> None:
    result = runner.invoke(app, ["validate", "--help"])
    assert result.exit_code == 0
    assert "abroad validate examples/us-2024" in result.stdout
