"""The planning job on scenarios: plan = best enumerated plan, valid bound, outputs, CLI."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from abroad.cli import app
from abroad.io.scenario import load_scenario
from abroad.jobs.compare import compare_variants
from abroad.jobs.plan import plan_value_result, run_plan
from abroad.model import SiteId
from abroad.network.problem import build_network_problem

runner = CliRunner()


@pytest.fixture(scope="module")
def venue_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scenario_factory import write_scenario

    return write_scenario(tmp_path_factory.mktemp("plan") / "tiny")


def test_plan_equals_the_best_enumerated_plan_and_bound_is_valid(venue_scenario: Path) -> None:
    sc = load_scenario(venue_scenario, "open-venue")
    problem = build_network_problem(sc, seed=1)
    best = -1.0
    for k in range(1, len(problem.site_ids) + 1):
        for subset in itertools.combinations(problem.site_ids, k):
            value = problem.value_of(list(subset))
            if value.feasible:
                best = max(best, value.votes)
    run = run_plan(sc, None, time_limit_seconds=5, seed=1, replications=3)
    assert run.summary.expected_votes_cast == pytest.approx(best, abs=0.06)  # 1 decimal
    assert run.summary.bound is not None and run.summary.bound >= best - 0.06
    assert run.summary.feasible
    for st in run.summary.stations:
        site = sc.site(SiteId(st.site_id))
        assert 1 <= st.desks <= site.max_desks
        assert 1 <= st.booths <= site.max_booths


def test_plan_writes_summary_xlsx_geojson_and_report(venue_scenario: Path, tmp_path: Path) -> None:
    sc = load_scenario(venue_scenario)
    run = run_plan(sc, tmp_path, time_limit_seconds=3, seed=0, replications=3)
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("open_sites", "expected_votes_cast", "bound", "gap", "solve_seconds", "stations"):
        assert key in summary
    for st in summary["stations"]:
        assert {"site_id", "desks", "booths", "expected_voters", "wait_minutes_p95"} <= set(st)
    book = openpyxl.load_workbook(tmp_path / "plan.xlsx")
    assert {"Summary", "Stations", "Status quo", "Losses"} <= set(book.sheetnames)
    geo = json.loads((tmp_path / "plan.geojson").read_text())
    layers = {f["properties"]["layer"] for f in geo["features"]}
    assert layers == {"site", "place"}
    assert len(geo["features"]) == len(sc.sites) + len(sc.places)
    assert "planned network" in (tmp_path / "report.html").read_text()
    assert set(run.paths) == {"summary", "xlsx", "geojson", "report"}


def test_more_staff_never_lowers_the_planned_value(venue_scenario: Path) -> None:
    sc = load_scenario(venue_scenario, "open-venue")
    values = []
    for budget in (8, 20, 60):
        scb = type(sc)(
            **{**sc.__dict__, "policies": sc.policies.model_copy(update={"staff_budget": budget})}
        )
        values.append(
            run_plan(scb, None, time_limit_seconds=3, replications=2).summary.expected_votes_cast
        )
    assert values == sorted(values)


def test_evaluate_cli_json(venue_scenario: Path) -> None:
    result = runner.invoke(app, ["evaluate", str(venue_scenario), "--open", "emb,cg", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["open_sites"] == ["emb", "cg"]
    assert payload["expected_votes_cast"] > 0


def test_evaluate_cli_rejects_a_site_that_cannot_open(venue_scenario: Path) -> None:
    result = runner.invoke(app, ["evaluate", str(venue_scenario), "--open", "emb,hall"])
    assert result.exit_code == 2
    assert "hall" in result.stderr


def test_compare_has_a_row_per_variant(venue_scenario: Path) -> None:
    base = load_scenario(venue_scenario)
    rows = compare_variants(
        base, [load_scenario(venue_scenario, "open-venue")], time_limit_seconds=2, replications=2
    ).rows
    assert [r.variant for r in rows] == ["base", "open-venue"]
    assert rows[1].planned_expected_votes_cast >= rows[0].planned_expected_votes_cast - 1e-6


def test_example_permissive_host_plan_beats_the_status_quo_with_the_same_staff() -> None:
    from tests_paths import EXAMPLE

    sc = load_scenario(EXAMPLE, "permissive-host")
    run = run_plan(sc, None, time_limit_seconds=30, seed=0, replications=3)
    s = run.summary
    assert s.within_budgets
    assert s.staff <= (sc.policies.staff_budget or 0)
    # New York's premises cannot meet the hard 30-minute target at its load: listed, with the
    # predicted p95 wait, and the plan is then not called feasible.
    missed = {w.site_id: w for w in s.wait_target_violations}
    assert "us-new-york-cg" in missed and not s.feasible
    assert missed["us-new-york-cg"].predicted_wait_minutes_p95 > 30
    assert any(v.startswith("us-new-york-cg: wait target missed") for v in s.violations)
    assert s.expected_votes_cast > 1.5 * s.status_quo.expected_votes_cast
    assert any(sid.startswith("venue-") for sid in s.open_sites)
    assert s.bound is not None and s.bound >= s.expected_votes_cast - 0.06
    # Proven: every one of the 2^17 plans is enumerated.
    assert s.proven_optimal and s.gap is not None and 0 <= s.gap <= 0.005
    assert s.method == "exhaustive"


def test_a_variant_is_compared_with_the_base_network_as_it_is(tmp_path: Path) -> None:
    from tests_paths import EXAMPLE

    # staff-cut: Houston's mission keeps 4 of its staff, its station needs 5; the status quo
    # the plan is compared with is today's network with today's staff, and says so.
    args = ["plan", str(EXAMPLE), "--variant", "staff-cut", "--time-limit", "5"]
    result = runner.invoke(app, [*args, "--json", "--out", str(tmp_path / "json")])
    assert result.exit_code == 0, result.output
    s = json.loads(result.stdout)
    assert s["status_quo_label"] == "status quo (the base scenario's network as it is)"
    assert s["status_quo"]["within_budgets"] is True
    assert "us-houston-cg" in s["status_quo"]["open_sites"]
    assert "us-houston-cg" not in s["open_sites"]  # not staffable after the cut
    assert s["within_budgets"] and not any("staff" in v for v in s["violations"])
    assert s["expected_votes_cast"] < s["status_quo"]["expected_votes_cast"]
    assert s["tie_break"].startswith("votes cast")
    text = runner.invoke(app, ["plan", str(EXAMPLE), "--variant", "staff-cut", "--time-limit", "5"])
    assert "status quo (the base scenario's network as it is)" in text.stdout


def test_compare_cli_names_the_status_quo_the_ties_and_the_missed_targets(
    venue_scenario: Path,
) -> None:
    args = ["compare", str(venue_scenario), "--time-limit", "2"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert [r["variant"] for r in rows] == ["base", "open-venue"]
    for r in rows:
        assert r["tie_break"] and isinstance(r["planned_missing_wait_target"], list)
    text = runner.invoke(app, args)
    assert "the base scenario's network as it is" in text.stdout
    assert "missing the" in text.stdout and "more voters, then the cheaper" in text.stdout


def test_a_ballot_budget_that_binds_is_shared_at_one_probability(venue_scenario: Path) -> None:
    """Without a budget each station gets its own ballots at 1 %; with a budget under their
    sum the plan sends no more than the budget, every station runs out with the same higher
    probability, and the expected votes short of ballots are stated."""
    sc = load_scenario(venue_scenario, "open-venue")
    problem = build_network_problem(sc, seed=1)
    sites = list(problem.site_ids)
    free = plan_value_result(problem, problem.value_of(sites))
    assert free.ballot_budget is None and free.expected_votes_short_of_ballots is None
    own = sum(st.ballots_to_send or 0 for st in free.stations)
    budget = int(own * 0.7)
    tight = dataclasses.replace(
        sc, policies=sc.policies.model_copy(update={"ballot_budget": budget})
    )
    tight_problem = dataclasses.replace(problem, scenario=tight)
    held = plan_value_result(tight_problem, tight_problem.value_of(sites))
    sent = [st.ballots_to_send or 0 for st in held.stations]
    assert held.ballot_budget_binds and sum(sent) + (held.ballots_reserve or 0) == budget
    probabilities = [st.ballot_run_out_probability or 0.0 for st in held.stations]
    assert min(probabilities) > 0.01
    assert max(probabilities) - min(probabilities) < 0.05  # one shared level (integer ballots)
    assert (held.expected_votes_short_of_ballots or 0.0) > 0.0
    assert held.expected_votes_cast == free.expected_votes_cast  # a figure of its own
    roomy = dataclasses.replace(
        problem,
        scenario=dataclasses.replace(
            sc, policies=sc.policies.model_copy(update={"ballot_budget": own + 100})
        ),
    )
    spare = plan_value_result(roomy, roomy.value_of(sites))
    assert not spare.ballot_budget_binds and spare.ballots_reserve == 100
    assert [st.ballots_to_send for st in spare.stations] == [
        st.ballots_to_send for st in free.stations
    ]
