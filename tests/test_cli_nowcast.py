"""`abroad nowcast`: JSON contract, human output, reproducibility, located errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from abroad.cli import app

from tests_paths import REPO

runner = CliRunner()
BERLIN = str(REPO / "examples" / "stations" / "berlin-2024.yaml")
ISSUE = str(REPO / "examples" / "stations" / "issue-example.yaml")


def _estimate(e: dict[str, float]) -> None:
    assert set(e) >= {"mean", "ci_low", "ci_high"}
    assert e["ci_low"] <= e["mean"] <= e["ci_high"]


def test_nowcast_json_contract_and_reproducibility() -> None:
    args = [
        "nowcast", BERLIN, "--now", "13:00", "--in-line", "2000", "--processed", "1350",
        "--working", "security=2", "-n", "20", "--seed", "3", "--json",
    ]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for key in ("wait_minutes_now", "left_in_line_at_close", "turned_away_at_close"):
        _estimate(out[key])
    assert out["left_in_line_at_close"]["mean"] > 300
    kinds = {a["kind"] for a in out["actions"]}
    assert {"extend", "add_servers"} <= kinds
    for a in out["actions"]:
        _estimate(a["left_in_line_at_close_after"])
        if a["kind"] == "extend":
            assert a["minutes"] > 0
        if a["kind"] == "add_servers":
            assert a["stage"] in {"security", "checkin", "booth"} and a["servers"] >= 1
    assert out["line"][0]["minute"] == 780 and out["line"][-1]["minute"] == 1200
    again = runner.invoke(app, args)
    assert again.stdout == result.stdout


def test_nowcast_human_output_and_redirect() -> None:
    result = runner.invoke(
        app,
        [
            "nowcast", ISSUE, "--now", "12:00", "--in-line", "150", "--processed", "500",
            "--working", "checkin=2", "-n", "10", "--nearby", f"{ISSUE}@30:0",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "still in line at closing" in result.stdout
    assert "arrival rate x plan" in result.stdout
    out = runner.invoke(
        app,
        [
            "nowcast", ISSUE, "--now", "12:00", "--in-line", "150", "--processed", "500",
            "--working", "checkin=2", "-n", "10", "--nearby", f"{ISSUE}@30:0", "--json",
        ],
    )  # fmt: skip
    actions = json.loads(out.stdout)["actions"]
    redirect = [a for a in actions if a["kind"] == "redirect"]
    assert redirect and redirect[0]["travel_minutes"] == 30 and redirect[0]["voters"] >= 0


def test_nowcast_bad_options_exit_2_with_located_messages() -> None:
    result = runner.invoke(
        app,
        ["nowcast", BERLIN, "--now", "25:00", "--in-line", "10", "--working", "lanes=2"],
    )
    assert result.exit_code == 2
    assert "--now" in result.stderr and "--working" in result.stderr
    assert "'lanes=2'" in result.stderr
    closed = runner.invoke(app, ["nowcast", BERLIN, "--now", "21:00", "--in-line", "10"])
    assert closed.exit_code == 2
    assert "--now: must be within the opening hours 08:00-20:00" in closed.stderr
    neg = runner.invoke(app, ["nowcast", BERLIN, "--now", "10:00", "--in-line", "-3"])
    assert neg.exit_code == 2
    near = runner.invoke(
        app, ["nowcast", BERLIN, "--now", "10:00", "--in-line", "3", "--nearby", "x@soon"]
    )
    assert near.exit_code == 2 and "--nearby" in near.stderr
