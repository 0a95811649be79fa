"""The published JSON Schemas (docs/reference/schemas/) are generated from the result models,
and every output of the bundled example (base and every variant) validates against them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from abroad.io.scenario import list_variants, load_scenario
from abroad.jobs.demo import run_demo
from abroad.jobs.plan import run_plan
from abroad.results import SCHEMA_VERSION, json_schemas

from tests_paths import EXAMPLE, REPO

SCHEMAS = REPO / "docs" / "reference" / "schemas"
VARIANTS = [None, *(v.name for v in list_variants(EXAMPLE))]


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("name", sorted(json_schemas()))
def test_committed_schema_is_generated_from_the_models(name: str) -> None:
    committed = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    assert committed == json_schemas()[name], (
        f"docs/reference/schemas/{name} is stale: run .venv/bin/python tools/write_schemas.py"
    )


def test_the_example_has_variants() -> None:
    assert len(VARIANTS) >= 4, VARIANTS


@pytest.mark.parametrize("variant", VARIANTS)
def test_demo_summary_of_the_example_validates(variant: str | None, tmp_path: Path) -> None:
    sc = load_scenario(EXAMPLE, variant)
    run_demo(sc, tmp_path, seed=0, replications=2)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    _validator("summary.schema.json").validate(summary)
    assert summary["kind"] == "demo" and summary["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize("variant", VARIANTS)
def test_plan_summary_of_the_example_validates(variant: str | None, tmp_path: Path) -> None:
    sc = load_scenario(EXAMPLE, variant)
    run_plan(sc, tmp_path, time_limit_seconds=1, seed=0, replications=2)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    _validator("summary.schema.json").validate(summary)
    assert summary["kind"] == "plan" and summary["schema_version"] == SCHEMA_VERSION
    # the names external checks rely on
    for key in ("open_sites", "expected_votes_cast", "bound", "gap", "solve_seconds"):
        assert key in summary
    for st in summary["stations"]:
        assert {"site_id", "desks", "booths", "expected_voters", "wait_minutes_p95"} <= set(st)


def test_the_schema_rejects_a_summary_that_lost_a_field(tmp_path: Path) -> None:
    sc = load_scenario(EXAMPLE)
    run_demo(sc, tmp_path, seed=0, replications=2)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    validator = _validator("summary.schema.json")
    broken = {k: v for k, v in summary.items() if k != "open_sites"}
    assert not validator.is_valid(broken)
    renamed = {**summary, "stations": [{**summary["stations"][0], "voted": 1}]}
    assert not validator.is_valid(renamed)
