"""Each broken input gives a located problem; all problems are reported together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from abroad.io.errors import InputError, Problem
from abroad.io.scenario import load_scenario, validate_scenario

from scenario_factory import PLACES_CSV, SCENARIO_YAML, SITES_CSV, write_scenario


@dataclass(frozen=True)
class Broken:
    """A broken scenario and where its problem must be reported."""

    name: str
    scenario_yaml: str = SCENARIO_YAML
    sites_csv: str = SITES_CSV
    places_csv: str = PLACES_CSV
    file: str = "scenario.yaml"
    row: int | None = None
    column: str | None = None
    path: str | None = None
    message: str = ""


def _yaml(old: str, new: str) -> str:
    assert old in SCENARIO_YAML
    return SCENARIO_YAML.replace(old, new)


def _sites(old: str, new: str) -> str:
    assert old in SITES_CSV
    return SITES_CSV.replace(old, new)


def _places(old: str, new: str) -> str:
    assert old in PLACES_CSV
    return PLACES_CSV.replace(old, new)


CASES = [
    Broken(
        "missing column",
        places_csv=PLACES_CSV.replace(",eligible_citizens", "")
        .replace(",5000,", ",")
        .replace(",1200,", ",")
        .replace(",3000,", ",")
        .replace(",800,", ","),
        file="places.csv",
        row=1,
        column="eligible_citizens",
        message="required column",
    ),
    Broken(
        "unknown site kind",
        sites_csv=_sites("cg,Consulate,consulate_general", "cg,Consulate,palace"),
        file="sites.csv",
        row=3,
        column="kind",
        message="palace",
    ),
    Broken(
        "latitude out of range",
        places_csv=_places("p2,Houston,US,29.7633", "p2,Houston,US,129.7633"),
        file="places.csv",
        row=3,
        column="lat",
        message="less than or equal to 90",
    ),
    Broken(
        "longitude out of range",
        sites_csv=_sites("-77.0727", "-277.0727"),
        file="sites.csv",
        row=2,
        column="lon",
        message="greater than or equal to -180",
    ),
    Broken(
        "negative count",
        places_csv=_places(",3000,", ",-3000,"),
        file="places.csv",
        row=4,
        column="eligible_citizens",
        message="greater than or equal to 0",
    ),
    Broken(
        "closing before opening",
        scenario_yaml=_yaml(
            '{date: 2024-03-15, open: "08:00", close: "20:00"}',
            '{date: 2024-03-15, open: "20:00", close: "08:00"}',
        ),
        path="election.days[0]",
        message="must be after opening",
    ),
    Broken(
        "unknown city name, with suggestions",
        places_csv="place_id,name,country,eligible_citizens\nq1,Sacremento,US,10\n",
        file="places.csv",
        row=2,
        column="name",
        message="Sacramento (US)",
    ),
    Broken(
        "pre-registration for a site that does not exist",
        places_csv=_places("100,emb", "100,embassy-of-nowhere"),
        file="places.csv",
        row=2,
        column="pre_registered_site",
        message="embassy-of-nowhere",
    ),
    Broken(
        "hours for a site that does not exist",
        scenario_yaml=_yaml("{site_id: emb, date: 2024-03-17", "{site_id: ghost, date: 2024-03-17"),
        path="election.site_hours[0]",
        message="unknown site 'ghost'",
    ),
    Broken(
        "duplicate site id",
        sites_csv=SITES_CSV.replace("hall,Hall,venue", "cg,Hall,venue"),
        file="sites.csv",
        row=5,
        column="site_id",
        message="duplicate site_id 'cg'",
    ),
    Broken(
        "duplicate place id",
        places_csv=_places("p4,Seattle", "p1,Seattle"),
        file="places.csv",
        row=5,
        column="place_id",
        message="duplicate place_id",
    ),
    Broken(
        "not a number",
        places_csv=_places(",1200,", ",twelve hundred,"),
        file="places.csv",
        row=3,
        column="eligible_citizens",
        message="twelve hundred",
    ),
    Broken(
        "not a boolean",
        sites_csv=_sites("America/Chicago,true,true", "America/Chicago,maybe,true"),
        file="sites.csv",
        row=3,
        column="available",
        message="maybe",
    ),
    Broken(
        "unknown distribution",
        scenario_yaml=_yaml("{dist: exponential, mean_minutes: 3.0}", "{dist: gamma, mean: 3.0}"),
        path="service.booth",
        message="gamma",
    ),
    Broken(
        "negative coefficient of variation",
        scenario_yaml=_yaml("cv: 0.6", "cv: -0.6"),
        path="service.checkin.lognormal.cv",
        message="greater than 0",
    ),
    Broken(
        "unknown close policy",
        scenario_yaml=_yaml("close_policy: {extend_minutes: 60}", "close_policy: wait_forever"),
        path="policies.close_policy.kind",
        message="serve_all",
    ),
    Broken(
        "misspelt section",
        scenario_yaml=_yaml("policies:", "polices:"),
        path="polices",
        message="unknown section",
    ),
    Broken(
        "missing required section",
        scenario_yaml=SCENARIO_YAML.replace(
            "service:\n  checkin: {dist: lognormal, mean_minutes: 2.0, cv: 0.6}\n"
            "  booth: {dist: exponential, mean_minutes: 3.0}\n"
            "  patience: {dist: uniform, low_minutes: 30, high_minutes: 90}\n",
            "",
        ),
        path="service",
        message="required section",
    ),
    Broken(
        "table file missing",
        scenario_yaml=_yaml("table: places.csv", "table: voters.csv"),
        file="voters.csv",
        message="file not found",
    ),
    Broken(
        "unknown time zone",
        places_csv=_places("America/Chicago", "America/Houston"),
        file="places.csv",
        row=3,
        column="timezone",
        message="America/Houston",
    ),
    Broken(
        "lat without lon",
        places_csv=_places("29.7633,-95.3633", "29.7633,"),
        file="places.csv",
        row=3,
        column="lon",
        message="both lat and lon",
    ),
    Broken(
        "day shares that do not match the days",
        scenario_yaml=SCENARIO_YAML + "demand:\n  day_shares: [0.2, 0.3, 0.5]\n",
        path="demand.day_shares",
        message="3 day shares for 2 voting days",
    ),
    Broken(
        "invalid YAML",
        scenario_yaml=_yaml("  name: Test election", "  name: [Test election"),
        message="invalid YAML",
    ),
    Broken(
        "bad date",
        scenario_yaml=_yaml("date: 2024-03-15", "date: 2024-02-30"),
        path="election.days[0].date",
        message="date",
    ),
    Broken(
        "voting days out of order",
        scenario_yaml=_yaml("date: 2024-03-17, open", "date: 2024-03-14, open"),
        path="election.days[1].date",
        message="date order",
    ),
    Broken(
        "unknown column",
        sites_csv=SITES_CSV.replace("staff_available\n", "staff_avialable\n", 1),
        file="sites.csv",
        row=1,
        column="staff_avialable",
        message="unknown column",
    ),
    Broken(
        "no site can open",
        sites_csv=SITES_CSV.replace("true,true", "false,true"),
        path="sites",
        message="no site can open",
    ),
    Broken(
        "bad country code",
        places_csv=_places("p3,Los Angeles,US", "p3,Los Angeles,USA"),
        file="places.csv",
        row=4,
        column="country",
        message="ISO 3166 alpha-2",
    ),
]


def _matches(p: Problem, case: Broken) -> bool:
    return (
        p.file == case.file
        and (case.row is None or p.row == case.row)
        and (case.column is None or p.column == case.column)
        and (case.path is None or p.path == case.path)
        and case.message.lower() in p.message.lower()
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_broken_input_is_reported_with_its_location(tmp_path: Path, case: Broken) -> None:
    folder = write_scenario(tmp_path / "s", case.scenario_yaml, case.sites_csv, case.places_csv)
    with pytest.raises(InputError) as err:
        load_scenario(folder)
    problems = err.value.problems
    assert any(_matches(p, case) for p in problems), "\n".join(map(str, problems))


def test_there_are_at_least_15_distinct_cases() -> None:
    assert len({c.name for c in CASES}) >= 15


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    places = PLACES_CSV.replace(",3000,", ",-3000,").replace("p4,Seattle", "p1,Seattle")
    sites = SITES_CSV.replace("cg,Consulate,consulate_general", "cg,Consulate,palace")
    yaml_text = SCENARIO_YAML.replace("cv: 0.6", "cv: -0.6")
    folder = write_scenario(tmp_path / "s", yaml_text, sites, places)
    problems = validate_scenario(folder)
    kinds = {(p.file, p.column or p.path) for p in problems}
    assert ("places.csv", "eligible_citizens") in kinds
    assert ("places.csv", "place_id") in kinds
    assert ("sites.csv", "kind") in kinds
    assert ("scenario.yaml", "service.checkin.lognormal.cv") in kinds


def test_a_broken_variant_is_reported_by_validate(tmp_path: Path) -> None:
    yaml_text = SCENARIO_YAML.replace("match: {site_id: hall}", "match: {site_id: no-such-site}")
    folder = write_scenario(tmp_path / "s", scenario_yaml=yaml_text)
    load_scenario(folder)  # the base scenario is fine
    problems = validate_scenario(folder)
    assert any(
        "[variant open-venue]" in p.message and "matches no site" in p.message for p in problems
    )
