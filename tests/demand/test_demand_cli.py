"""`abroad demand` and `abroad arrivals`: output shapes, errors on stderr with status 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from abroad.cli import app

from tests_paths import EXAMPLE

runner = CliRunner()


def test_arrivals_json_shape() -> None:
    result = runner.invoke(app, ["arrivals", "--country", "DEU", "--days", "2", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["country"] == "DEU"
    assert len(payload["days"]) == 2
    for day in payload["days"]:
        shares = np.array(day)
        assert shares.size == 24
        assert shares.sum() == pytest.approx(1.0, abs=1e-4)
        assert np.all(shares[:8] == 0) and np.all(shares[20:] == 0)
        assert np.all(shares[8:20] > 0)
    assert payload["day_shares"][1] > payload["day_shares"][0]


def test_arrivals_open_hours_and_iso2() -> None:
    result = runner.invoke(
        app, ["arrivals", "--country", "it", "--open-hours", "07:30-21:00", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["country"] == "ITA"
    shares = np.array(payload["days"][0])
    assert shares[6] == 0 and 0 < shares[7] < shares[8]  # half an hour open at 07:00
    assert shares[20] > 0 and shares[21] == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--country", "DEU", "--open-hours", "20-8"],
        ["--country", "DEU", "--open-hours", "noon"],
        ["--country", "Germany"],
    ],
)
def test_arrivals_bad_input_exits_2(args: list[str]) -> None:
    result = runner.invoke(app, ["arrivals", *args])
    assert result.exit_code == 2
    assert "error" in result.stderr
    assert result.stdout == ""


def test_demand_json_on_example() -> None:
    result = runner.invoke(app, ["demand", str(EXAMPLE), "--json", "--hourly"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    stations = payload["stations"]
    assert {s["site_id"] for s in stations} == {
        "us-washington-embassy",
        "us-new-york-cg",
        "us-houston-cg",
    }
    total = sum(s["voters"] for s in stations)
    assert total == pytest.approx(payload["total_voters"], abs=0.5)
    for s in stations:
        assert sum(s["voters_per_day"]) == pytest.approx(s["voters"], abs=0.5)
        hourly = s["arrivals_per_local_hour"][0]
        assert len(hourly) == 24 and sum(hourly) == pytest.approx(s["voters"], rel=1e-3)


def test_demand_open_subset_moves_voters(tmp_path: Path) -> None:
    all_open = json.loads(runner.invoke(app, ["demand", str(EXAMPLE), "--json"]).stdout)
    result = runner.invoke(app, ["demand", str(EXAMPLE), "--open", "us-new-york-cg", "--json"])
    assert result.exit_code == 0, result.output
    one = json.loads(result.stdout)
    assert [s["site_id"] for s in one["stations"]] == ["us-new-york-cg"]
    ny_before = next(s for s in all_open["stations"] if s["site_id"] == "us-new-york-cg")
    assert one["stations"][0]["voters"] > ny_before["voters"]
    assert one["total_voters"] < all_open["total_voters"]  # farther stations, fewer voters


def test_demand_unknown_or_closed_site_exits_2() -> None:
    for bad in ("nowhere", "us-san-francisco-cg"):
        result = runner.invoke(app, ["demand", str(EXAMPLE), "--open", bad])
        assert result.exit_code == 2
        assert bad in result.stderr
