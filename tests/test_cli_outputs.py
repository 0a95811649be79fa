"""Human output of the commands (tables and figures a planner reads), `abroad compare`, and
clean JSON on stdout when native libraries print."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from abroad.cli import app

from tests_paths import EXAMPLE, REPO

runner = CliRunner()
STATIONS = REPO / "examples" / "stations"
SCHEMAS = REPO / "docs" / "reference" / "schemas"


@pytest.fixture(scope="module")
def venue_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scenario_factory import write_scenario

    return write_scenario(tmp_path_factory.mktemp("cli") / "tiny")


def _schema(name: str) -> dict[str, object]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_compare_json_validates_and_has_a_row_per_variant(venue_scenario: Path) -> None:
    args = ["compare", str(venue_scenario), "--time-limit", "1", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    jsonschema.validate(out, _schema("compare.schema.json"))
    assert [r["variant"] for r in out["rows"]] == ["base", "open-venue"]
    for r in out["rows"]:
        # the planner's value never exceeds its proven bound
        assert r["planned_expected_votes_cast"] <= r["bound"] + 0.06
        assert r["planned_simulated_votes_cast"] > 0


def test_compare_table_names_what_each_figure_counts(venue_scenario: Path) -> None:
    result = runner.invoke(app, ["compare", str(venue_scenario), "--time-limit", "1"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    # One "votes cast" (the planner's, as the simulator predicts it); the re-simulation's and
    # the status quo's figures say so in their own labels.
    for label in ("votes cast", "re-", "(simulated)", "status quo", "open-venue", "base"):
        assert label in text
    assert "simulated votes" not in text and "status quo votes" not in text  # the old labels


def test_compare_unknown_variant_exits_2(venue_scenario: Path) -> None:
    result = runner.invoke(app, ["compare", str(venue_scenario), "--variants", "nope"])
    assert result.exit_code == 2
    assert "nope" in result.stderr


def test_evaluate_human_output_is_a_table_with_the_planner_value(venue_scenario: Path) -> None:
    result = runner.invoke(app, ["evaluate", str(venue_scenario), "--open", "emb,cg"])
    assert result.exit_code == 0, result.output
    payload = json.loads(
        runner.invoke(app, ["evaluate", str(venue_scenario), "--open", "emb,cg", "--json"]).stdout
    )
    jsonschema.validate(payload, _schema("evaluate.schema.json"))
    assert "Embassy" in result.stdout and "Consulate" in result.stdout
    assert f"votes cast {payload['expected_votes_cast']:,.0f}" in result.stdout
    assert "feasible: True" in result.stdout


def test_evaluate_refuses_logit_choice_with_a_located_error(
    venue_scenario: Path, tmp_path: Path
) -> None:
    from scenario_factory import SCENARIO_YAML, write_scenario

    assert "demand:" not in SCENARIO_YAML
    folder = write_scenario(
        tmp_path / "logit", SCENARIO_YAML + "demand:\n  choice:\n    model: logit\n"
    )
    for cmd in (["evaluate", str(folder), "--open", "emb"], ["plan", str(folder), "--json"]):
        result = runner.invoke(app, cmd)
        assert result.exit_code == 2, result.output
        assert "scenario.yaml, demand.choice.model" in result.stderr
        assert result.stdout == ""


def test_size_human_output() -> None:
    spec = str(STATIONS / "issue-example.yaml")
    result = runner.invoke(app, ["size", spec, "-n", "4"])
    assert result.exit_code == 0, result.output
    out = json.loads(runner.invoke(app, ["size", spec, "-n", "4", "--json"]).stdout)
    text = result.stdout
    assert "servers (simulation)" in text and "Erlang C, peak hour" in text
    for stage in out["stages"]:
        assert stage["name"] in text
    assert f"{out['achieved_service_level']:.1%} served within 30 min" in text
    assert text.count("meets the target") == 1


def test_demand_human_output_matches_its_json() -> None:
    result = runner.invoke(app, ["demand", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    out = json.loads(runner.invoke(app, ["demand", str(EXAMPLE), "--json"]).stdout)
    jsonschema.validate(out, _schema("demand.schema.json"))
    hourly = json.loads(runner.invoke(app, ["demand", str(EXAMPLE), "--json", "--hourly"]).stdout)
    jsonschema.validate(hourly, _schema("demand.schema.json"))
    assert "arrivals_per_local_hour" not in out["stations"][0]
    assert len(hourly["stations"][0]["arrivals_per_local_hour"]) == len(out["days"])
    text = result.stdout
    assert "expected voters per station and day" in text
    for st in out["stations"]:
        assert st["site_id"] in text
        assert f"{st['voters']:,.0f}" in text
    assert f"{out['total_voters']:,.0f} expected voters of" in text


def test_arrivals_human_output_lists_the_open_hours_only() -> None:
    result = runner.invoke(app, ["arrivals", "--country", "DEU", "--open-hours", "8-20"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "DEU: its own calibrated curve" in text
    assert "08:00" in text and "19:00" in text
    assert "07:00" not in text and "20:00" not in text
    assert "day 1 (100%)" in text


def test_plan_json_stdout_is_clean_even_when_highs_prints(tmp_path: Path) -> None:
    # A real process: HiGHS writes its banner from C++ to file descriptor 1.
    cmd = [
        sys.executable,
        "-c",
        "from abroad.cli import main; main()",
        "plan",
        str(EXAMPLE),
        "--variant",
        "permissive-host",
        "--time-limit",
        "2",
        "--replications",
        "2",
        "--out",
        str(tmp_path),
        "--json",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "HiGHS" in proc.stderr, "the test must exercise a run in which HiGHS prints"
    payload = json.loads(proc.stdout)
    assert payload["kind"] == "plan" and payload["open_sites"]
