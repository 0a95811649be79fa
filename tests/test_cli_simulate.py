"""`abroad simulate` and `abroad size`: JSON contract, exit codes, located errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from abroad.cli import app

from tests_paths import REPO

runner = CliRunner()
STATIONS = REPO / "examples" / "stations"
KEYS = ["arrivals", "served", "turned_away_at_close", "turned_away_no_ballots", "reneged", "balked"]


def _check_estimate(e: dict[str, float]) -> None:
    assert set(e) >= {"mean", "ci_low", "ci_high"}
    assert e["ci_low"] <= e["mean"] <= e["ci_high"]


def test_simulate_json_contract() -> None:
    result = runner.invoke(
        app,
        [
            "simulate",
            str(STATIONS / "issue-example.yaml"),
            "--replications",
            "5",
            "--seed",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for scope in [out, *out["days"]]:
        for key in KEYS:
            _check_estimate(scope[key])
        for q in ["mean", "p50", "p95", "p99", "max"]:
            _check_estimate(scope["wait_minutes"][q])
    assert len(out["days"]) == 1
    assert out["replications"] == 5
    # same seed, same numbers
    again = runner.invoke(
        app,
        ["simulate", str(STATIONS / "issue-example.yaml"), "-n", "5", "--seed", "3", "--json"],
    )
    assert json.loads(again.stdout) == out


def test_berlin_2024_turns_hundreds_away_at_close() -> None:
    result = runner.invoke(
        app, ["simulate", str(STATIONS / "berlin-2024.yaml"), "-n", "8", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["turned_away_at_close"]["ci_low"] > 500
    assert 3000 < out["served"]["mean"] < 3500  # ~270 voters/hour over 12 hours
    assert out["turned_away_no_ballots"]["mean"] == 0  # throughput, not ballots


def test_human_output_has_a_table() -> None:
    result = runner.invoke(app, ["simulate", str(STATIONS / "issue-example.yaml"), "-n", "3"])
    assert result.exit_code == 0, result.output
    assert "turned away at close" in result.stdout
    assert "utilisation booth" in result.stdout


def test_bad_spec_exits_2_with_located_messages(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        (STATIONS / "issue-example.yaml")
        .read_text()
        .replace("servers: 8", "servers: -1")
        .replace("cv: 0.5", "cv: zero"),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["simulate", str(spec), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "stages[1].servers" in result.stderr
    assert "stages[1].service" in result.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2
    assert "not found" in result.stderr


def test_size_json_with_erlang_c_beside() -> None:
    result = runner.invoke(
        app,
        [
            "size",
            str(STATIONS / "issue-example.yaml"),
            "--target-wait-minutes",
            "30",
            "--service-level",
            "0.95",
            "-n",
            "4",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["feasible"] is True
    assert out["achieved_service_level"] >= 0.95
    names = [s["name"] for s in out["stages"]]
    assert names == ["checkin", "booth"]
    for s in out["stages"]:
        assert s["servers"] >= 1
        assert s["erlang_c_peak_servers"] >= 1


def test_size_rejects_bad_cap() -> None:
    result = runner.invoke(
        app, ["size", str(STATIONS / "issue-example.yaml"), "--max-servers", "desk=3"]
    )
    assert result.exit_code == 2
    assert "NAME=N" in result.stderr
