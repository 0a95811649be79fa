"""The demo job end to end: catchments, demand, simulated queues, summary.json, report.html."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abroad.cli import app
from abroad.demand import DemandModel
from abroad.io.scenario import load_scenario
from abroad.jobs.demo import run_demo
from abroad.model import SiteId
from abroad.network.simulation import (
    Resources,
    simulate_network,
    station_spec,
    status_quo_resources,
)

from tests_paths import EXAMPLE

LOSS_KEYS = (
    "turned_away_at_close",
    "turned_away_no_ballots",
    "reneged",
    "balked",
    "turned_away_cap",
)


def test_demo_writes_summary_with_queues_and_report(tiny_scenario: Path, tmp_path: Path) -> None:
    sc = load_scenario(tiny_scenario)
    result = run_demo(sc, tmp_path / "out", seed=3, replications=5)
    summary = json.loads(result.summary_path.read_text())
    assert summary["open_sites"] == ["emb", "cg"]
    sims = {s["site_id"]: s for s in summary["simulation"]["stations"]}
    assert set(sims) == {"emb", "cg"}
    for sim in sims.values():
        t = sim["total"]
        # every arrival is served or lost for one reason (per replication, hence in the mean)
        accounted = t["served"]["mean"] + sum(t[k]["mean"] for k in LOSS_KEYS)
        assert accounted == pytest.approx(t["arrivals"]["mean"])
        assert len(sim["days"]) == 2  # the tiny scenario votes on two days
        assert sim["wait_by_local_hour"], "wait by hour is reported"
        assert all(
            h["wait_minutes_mean"] is None or h["wait_minutes_mean"] >= 0
            for h in sim["wait_by_local_hour"]
        )
    html = result.report_path.read_text()
    assert "Queues (simulated)" in html
    assert "by the hour they arrived" in html


def test_demo_is_reproducible_for_a_seed(tiny_scenario: Path, tmp_path: Path) -> None:
    sc = load_scenario(tiny_scenario)
    a = run_demo(sc, tmp_path / "a", seed=7, replications=4).summary_path.read_text()
    b = run_demo(sc, tmp_path / "b", seed=7, replications=4).summary_path.read_text()
    c = run_demo(sc, tmp_path / "c", seed=8, replications=4).summary_path.read_text()
    assert a == b
    assert a != c


def test_security_screening_only_at_missions() -> None:
    sc = load_scenario(EXAMPLE, "permissive-host")
    model = DemandModel.from_scenario(sc)
    demand = model.expected_demand(None)
    embassy = station_spec(sc, model, demand, SiteId("us-washington-embassy"), Resources(4, 8))
    venue = station_spec(sc, model, demand, SiteId("venue-chicago"), Resources(4, 8))
    assert [s.name for s in embassy.stages] == ["security", "checkin", "booth"]
    assert [s.name for s in venue.stages] == ["checkin", "booth"]


def test_simulated_arrivals_match_expected_demand() -> None:
    sc = load_scenario(EXAMPLE)
    model = DemandModel.from_scenario(sc)
    ids = tuple(s.site_id for s in sc.openable_sites)
    demand = model.expected_demand(ids)
    sims = simulate_network(sc, model, demand, status_quo_resources(sc, ids), replications=10)
    for sim in sims:
        expected = float(demand.voters_per_site[sc.site_index[sim.site_id]])
        got = sim.outcome.total.arrivals
        assert got.ci_low - 0.03 * expected <= expected <= got.ci_high + 0.03 * expected


def test_more_desks_never_lose_more_voters_in_the_example() -> None:
    sc = load_scenario(EXAMPLE)
    model = DemandModel.from_scenario(sc)
    ny = SiteId("us-new-york-cg")
    demand = model.expected_demand((ny,))
    few, many = (
        simulate_network(sc, model, demand, {ny: Resources(d, 12)}, replications=8)[0]
        for d in (2, 5)
    )
    assert many.outcome.total.served.mean >= few.outcome.total.served.mean


def test_demo_cli_prints_table_and_writes_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", str(EXAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Consulate General in New York" in result.stdout
    assert (tmp_path / "summary.json").is_file() and (tmp_path / "report.html").is_file()
