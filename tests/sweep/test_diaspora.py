"""A whole diaspora at once: components by reach, budget shared by marginal value."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from abroad.io.scenario import load_scenario
from abroad.model import Scenario
from abroad.sweep.diaspora import (
    LevelPlan,
    components,
    plan_diaspora,
    share_budget,
    with_budget,
)
from abroad.sweep.engine import PlanFigures, prepared_problem

from tests_paths import REPO

WORLD = REPO / "examples" / "world-2024"
NONE = PlanFigures(0.0, 0.0, 0.0, "test", 0.0)


def _world(countries: set[str], staff_budget: float | None = None) -> Scenario:
    sc = load_scenario(WORLD)
    policies = sc.policies
    if staff_budget is not None:
        policies = policies.model_copy(update={"staff_budget": staff_budget})
    return dataclasses.replace(
        sc,
        places=tuple(p for p in sc.places if p.country in countries),
        sites=tuple(s for s in sc.sites if s.country in countries),
        policies=policies,
    )


def test_the_world_example_spans_more_than_100_host_countries() -> None:
    sc = load_scenario(WORLD)
    hosts = {p.country for p in sc.places}
    assert len(hosts) >= 100
    assert sum(p.eligible_citizens for p in sc.places) == pytest.approx(1_890_863, abs=2)
    kinds = {s.kind.value for s in sc.sites}
    assert {"embassy", "consulate_general", "venue"} <= kinds
    # Host permissions differ by country: no station in Ukraine, halls refused in Germany.
    assert not any(s.can_open for s in sc.sites if s.country == "UA")
    assert not any(s.can_open for s in sc.sites if s.country == "DE" and s.kind.value == "venue")
    assert any(s.can_open for s in sc.sites if s.kind.value == "venue")


def test_countries_out_of_reach_of_each_other_are_planned_apart() -> None:
    sc = _world({"AR", "JP", "DE", "AT", "CZ"})
    groups = {c.countries for c in components(sc)}
    # Japan and Argentina are far from everything; Germany, Austria and Czechia are neighbours.
    assert ("JP",) in groups and ("AR",) in groups
    assert ("AT", "CZ", "DE") in groups
    # With an absurdly small reach everything is one group per country.
    assert all(len(c.countries) == 1 for c in components(sc, min_decay=0.999))


def _curve(points: list[tuple[float, float]]) -> list[LevelPlan]:
    return [LevelPlan(s, (0,) if s else (), v, s, NONE) for s, v in points]


def test_the_budget_goes_where_a_staff_member_adds_the_most_votes() -> None:
    curves = [
        _curve([(0, 0), (10, 1000), (20, 1500), (30, 1700)]),
        _curve([(0, 0), (10, 800), (20, 1500), (30, 2000)]),
        _curve([(0, 0), (15, 600), (30, 900)]),
    ]
    for budget in (0, 10, 25, 40, 55, 90):
        chosen, left = share_budget(curves, budget)
        used = sum(curves[c][j].staff for c, j in enumerate(chosen))
        assert used <= budget and left == pytest.approx(budget - used)
        best = max(
            sum(curves[c][j].votes for c, j in enumerate(combo))
            for combo in itertools.product(*(range(len(c)) for c in curves))
            if sum(curves[c][j].staff for c, j in enumerate(combo)) <= budget
        )
        # Concave curves: handing out by marginal value is optimal.
        assert sum(curves[c][j].votes for c, j in enumerate(chosen)) == pytest.approx(best)


def test_a_smaller_budget_is_a_binding_constraint_of_the_instance() -> None:
    sc = _world({"AT", "CZ", "DE"})
    problem = prepared_problem(sc, seed=0)
    small = with_budget(problem, 10.0)
    assert small.instance.total_staff_budget == 10.0
    assert small.instance.pool_staff_budget[0] == 0.0  # the missions' own staff exceed it
    assert problem.instance.total_staff_budget == sc.policies.staff_budget


def test_a_cut_budget_is_shared_and_never_exceeded() -> None:
    countries = {"AR", "CL", "JP", "KR"}
    full = plan_diaspora(_world(countries), seed=1, time_limit_seconds=2)
    need = full.staff
    cut = plan_diaspora(_world(countries, staff_budget=need / 2), seed=1, time_limit_seconds=2)
    assert full.network.site_ids and cut.network.site_ids
    assert cut.staff <= need / 2 + 1e-9 < need
    assert 0 < cut.expected_votes_cast < full.expected_votes_cast
    shares = [c for c in cut.components if c.plan is not None]
    assert sum(c.plan.votes for c in shares if c.plan) == pytest.approx(cut.expected_votes_cast)
    assert all(c.staff_budget <= c.need_staff for c in cut.components)
    assert len(cut.network.specs) == len(cut.network.site_ids) == len(cut.network.staff)


def test_abroad_plan_diaspora_plans_and_simulates_on_a_cluster(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from abroad.cli import app

    folder = tmp_path / "three"
    folder.mkdir()
    text = (WORLD / "scenario.yaml").read_text(encoding="utf-8")
    (folder / "scenario.yaml").write_text(text, encoding="utf-8")
    for table in ("places.csv", "sites.csv"):
        lines = (WORLD / table).read_text(encoding="utf-8").splitlines()
        keep = [
            lines[0],
            *(
                ln
                for ln in lines[1:]
                if ln.split(",")[2 if table == "places.csv" else 3] in {"AR", "CL", "JP"}
            ),
        ]
        (folder / table).write_text("\n".join(keep) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["plan-diaspora", str(folder), "-n", "12", "--workers", "2", "--time-limit", "2",
         "--out", str(out), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    groups = [set(g["countries"]) for g in payload["groups"]]
    assert set().union(*groups) == {"AR", "CL", "JP"} and {"JP"} in groups
    assert payload["stations"] == sum(len(g["open_sites"]) for g in payload["groups"]) > 0
    sim = payload["simulation"]
    assert sim["replications"] == 12
    assert 0 < sim["votes_cast"]["mean"] <= sim["arrivals"]["mean"]
    assert json.loads((out / "diaspora.json").read_text(encoding="utf-8")) == payload


def test_a_planner_run_cut_inside_its_first_search_is_detected() -> None:
    from abroad.planning import plan_network
    from abroad.sweep.engine import search_completed

    problem = prepared_problem(_world({"AT", "CZ", "DE", "PL"}), seed=0)
    cut = plan_network(
        problem.instance, time_limit_seconds=1e-4, seed=0, exhaustive_max_free_sites=0
    )
    assert not search_completed(cut, 1e-4)
    full = plan_network(
        problem.instance, time_limit_seconds=30, seed=0, exhaustive_max_free_sites=0
    )
    assert search_completed(full, 10)
    assert full.votes > cut.votes
