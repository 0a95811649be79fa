"""Reading station specs: the documented format, and located messages for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from abroad.io.errors import InputError
from abroad.io.station_spec import load_station_spec, parse_station_spec
from abroad.model import ClosePolicyKind, LogNormal

REPO = Path(__file__).resolve().parents[2]

MINIMAL = """
days:
  - open: "08:00"
    close: "20:00"
    arrivals_per_hour: [90, 110, 130, 150, 160, 150, 130, 110, 90, 70, 50, 40]
stages:
  - {name: checkin, servers: 3, service: {dist: exponential, mean_minutes: 1.5}}
  - {name: booth, servers: 8, service: {dist: lognormal, mean_minutes: 4.0, cv: 0.5}}
patience: {dist: uniform, low_minutes: 30, high_minutes: 90}
close_policy: {extend_minutes: 60}
ballots: 10000
"""


def test_minimal_contract_parses() -> None:
    spec = parse_station_spec(MINIMAL)
    day = spec.days[0]
    assert (day.open_minutes, day.close_minutes) == (480.0, 1200.0)
    assert len(day.arrivals_per_hour) == 12
    assert spec.stages[1].service == LogNormal(mean_minutes=4.0, cv=0.5)
    assert spec.close_policy.kind is ClosePolicyKind.EXTEND
    assert spec.close_policy.extend_minutes == 60
    assert spec.ballots == 10000


def test_json_is_accepted_too() -> None:
    spec = parse_station_spec(
        '{"days": [{"open": 0, "close": 600, "arrivals_per_hour": 30}],'
        ' "stages": [{"name": "s", "servers": 2,'
        ' "service": {"dist": "exponential", "mean_minutes": 2}}]}'
    )
    assert spec.days[0].arrivals_per_hour == (30.0,)
    assert spec.days[0].bin_minutes == 600.0


def test_schedule_surges_and_clock_times() -> None:
    spec = parse_station_spec(
        MINIMAL.replace(
            "  - {name: checkin, servers: 3,",
            "  - {name: checkin, schedule: [{from: '00:00', servers: 3}, "
            "{from: '11:00', servers: 4}, {from: '15:00', servers: 3}],",
        ).replace(
            "    arrivals_per_hour:",
            "    surges: [{at: '12:00', extra_voters: 500}]\n    arrivals_per_hour:",
        )
    )
    assert spec.stages[0].schedule == ((0.0, 3), (660.0, 4), (900.0, 3))
    assert spec.days[0].surges[0].at_minute == 720.0


def test_every_problem_is_reported_with_its_path() -> None:
    bad = (
        MINIMAL.replace('close: "20:00"', 'close: "25:00"')
        .replace("servers: 8", "servers: 0")
        .replace("mean_minutes: 1.5", "mean_minutes: -1")
        .replace("ballots: 10000", "ballots: lots\nqueue_length: 3")
    )
    with pytest.raises(InputError) as err:
        parse_station_spec(bad, "spec.yaml")
    text = str(err.value)
    paths = {p.path for p in err.value.problems}
    assert "stages[1].servers" in paths
    assert "ballots" in paths
    assert "queue_length" in paths
    assert any(p and p.startswith("stages[0].service") for p in paths), text


def test_semantic_problems_are_located() -> None:
    bad = MINIMAL.replace("[90, 110, 130, 150, 160, 150, 130, 110, 90, 70, 50, 40]", "[1, 2]")
    bad = bad.replace(
        "stages:", '  - {open: "10:00", close: "09:00", arrivals_per_hour: 1}\nstages:', 1
    )
    with pytest.raises(InputError) as err:
        parse_station_spec(bad, "spec.yaml")
    problems = {p.path: p.message for p in err.value.problems}
    assert "expected 12 rates" in problems["days[0].arrivals_per_hour"]
    assert "after open" in problems["days[1].close"]


def test_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="mapping"):
        parse_station_spec("- 1\n- 2\n")
    with pytest.raises(InputError, match="not found"):
        load_station_spec(tmp_path / "nope.yaml")


@pytest.mark.parametrize("name", ["berlin-2024.yaml", "mmc-textbook.yaml", "issue-example.yaml"])
def test_bundled_examples_load(name: str) -> None:
    spec = load_station_spec(REPO / "examples" / "stations" / name)
    assert spec.expected_arrivals > 0


def test_schedule_must_end_with_a_server() -> None:
    bad = MINIMAL.replace(
        "  - {name: checkin, servers: 3,",
        "  - {name: checkin, schedule: [{from: '08:00', servers: 3}, {from: '20:00', servers: 0}],",
    )
    with pytest.raises(InputError) as err:
        parse_station_spec(bad, "spec.yaml")
    assert [p.path for p in err.value.problems] == ["stages[0].schedule[1].servers"]
