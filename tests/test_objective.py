"""One objective: the planner's value is the votes cast the simulator predicts.

- The plan's value and the re-simulation of the same plan agree within their Monte Carlo
  intervals (the planner's curve half-width and the re-simulation's interval, in quadrature),
  on the bundled example and on random scenarios (patience, close policy, ballot cap vary).
- More resources never lower the planner's value: a desk, a screening lane or an hour more
  (beyond the Monte Carlo noise of the value, which the test states).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from abroad.io.scenario import load_scenario
from abroad.jobs.plan import plan_value_result, run_plan
from abroad.model import Scenario
from abroad.network.problem import build_network_problem, concave_pieces
from abroad.results import PlanSummary

from scenario_factory import PLACES_CSV, SCENARIO_YAML, SITES_CSV, write_scenario
from tests_paths import EXAMPLE


def _agree(s: PlanSummary) -> None:
    """The plan's value and its re-simulation differ by no more than their combined 95 %
    interval (the planner's curve half-width and the re-simulation's, in quadrature)."""
    assert s.simulated_votes_cast_interval is not None
    low, high = s.simulated_votes_cast_interval
    assert low is not None and high is not None
    half_sim = (high - low) / 2
    half_plan = s.expected_votes_cast_ci_half_width
    allowed = math.hypot(half_plan, half_sim)
    assert abs(s.expected_votes_cast - s.simulated_votes_cast) <= allowed, (
        f"plan {s.expected_votes_cast:.1f} +- {half_plan:.1f}, "
        f"re-simulated {s.simulated_votes_cast:.1f} +- {half_sim:.1f}"
    )


@pytest.mark.parametrize("variant", [None, "permissive-host"])
def test_plan_value_equals_its_resimulation_on_the_example(variant: str | None) -> None:
    sc = load_scenario(EXAMPLE, variant)
    s = run_plan(sc, None, time_limit_seconds=5, seed=0, replications=20).summary
    _agree(s)
    # The same figure per station, not only in total (served voters, whatever their wait).
    for st in s.stations:
        assert st.simulated_votes_cast is not None
        assert st.expected_votes_cast == pytest.approx(st.simulated_votes_cast, rel=0.05, abs=15)


def _random_scenario(folder: Path, seed: int) -> Scenario:
    rng = np.random.default_rng(seed)
    patience_low = int(rng.integers(20, 90))
    close = rng.choice(["hard_close", "serve_all", "{extend_minutes: 45}"])
    cap = int(rng.integers(600, 3000))
    text = (
        SCENARIO_YAML.replace(
            "low_minutes: 30, high_minutes: 90",
            f"low_minutes: {patience_low}, high_minutes: {patience_low + 120}",
        )
        .replace("close_policy: {extend_minutes: 60}", f"close_policy: {close}")
        .replace("ballot_cap_per_station: 5000", f"ballot_cap_per_station: {cap}")
        .replace("staff_budget: 20", "staff_budget: 40")
    )
    lines = PLACES_CSV.splitlines()
    places = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[6] = f"{float(cells[6]) * rng.uniform(0.8, 4.0):.0f}"
        places.append(",".join(cells))
    write_scenario(folder, text, SITES_CSV, "\n".join(places) + "\n")
    return load_scenario(folder, "open-venue")


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_plan_value_equals_its_resimulation_on_random_scenarios(tmp_path: Path, seed: int) -> None:
    sc = _random_scenario(tmp_path / "sc", seed)
    s = run_plan(sc, None, time_limit_seconds=3, seed=seed, replications=20).summary
    _agree(s)


def _best(sc: Scenario) -> tuple[float, float]:
    """The best plan's value by enumeration, and its Monte Carlo half-width."""
    problem = build_network_problem(sc, seed=5)
    best, half = -1.0, 0.0
    for k in range(1, len(problem.site_ids) + 1):
        for subset in itertools.combinations(problem.site_ids, k):
            value = problem.value_of(list(subset))
            if value.feasible and value.votes > best:
                best = value.votes
                half = plan_value_result(problem, value).expected_votes_cast_ci_half_width
    return best, half


def _crowded(folder: Path, sites_csv: str = SITES_CSV, yaml_extra: str = "") -> Scenario:
    """The tiny scenario with more citizens (New York's sixty times: the embassy saturates),
    and door screening at the missions."""
    lines = PLACES_CSV.splitlines()
    places = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[6] = str(int(cells[6]) * (60 if cells[0] == "p1" else 3))
        places.append(",".join(cells))
    text = SCENARIO_YAML.replace(
        "  patience:",
        "  security: {service: {dist: lognormal, mean_minutes: 0.45, cv: 0.3}, servers: 1}\n"
        "  patience:",
    ).replace("staff_budget: 20", "staff_budget: 60")
    text = text.replace(
        'open: "08:00", close: "21:00"', yaml_extra or 'open: "08:00", close: "21:00"'
    )
    write_scenario(folder, text, sites_csv, "\n".join(places) + "\n")
    return load_scenario(folder, "open-venue")


def _more(sites_csv: str, column: int, by: int) -> str:
    lines = sites_csv.splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[column] = str(int(cells[column]) + by)
        out.append(",".join(cells))
    return "\n".join(out) + "\n"


def test_a_desk_a_lane_or_an_hour_more_never_lowers_the_planners_value(tmp_path: Path) -> None:
    base, half = _best(_crowded(tmp_path / "base"))
    desk, _ = _best(_crowded(tmp_path / "desk", _more(SITES_CSV, 9, 1)))
    lanes_csv = SITES_CSV.replace("max_booths,", "max_booths,max_security_lanes,")
    lanes_csv = "\n".join(
        [lanes_csv.splitlines()[0]]
        + [
            ",".join([*line.split(",")[:11], "2", *line.split(",")[11:]])
            for line in lanes_csv.splitlines()[1:]
        ]
    )
    lane, _ = _best(_crowded(tmp_path / "lane", lanes_csv))
    hour, _ = _best(_crowded(tmp_path / "hour", yaml_extra='open: "08:00", close: "22:00"'))
    # Monte Carlo noise of the value is the only allowance (its 95 % half-width).
    for name, value in (("desk", desk), ("lane", lane), ("hour", hour)):
        assert value >= base - half, f"a {name} more lowered the value: {value:.1f} < {base:.1f}"
    # And they are real gains here: the crowded stations are short of each resource.
    assert lane > base + half


def test_concave_pieces_majorise_the_points_through_the_origin() -> None:
    loads = [100.0, 200.0, 300.0, 400.0, 800.0]
    votes = [100.0, 195.0, 260.0, 250.0, 300.0]  # one noisy dip
    pieces = concave_pieces(loads, votes)
    value = [min(a + b * x for a, b in pieces) for x in [0.0, *loads, 5000.0]]
    assert value[0] == 0.0
    assert all(v >= y - 1e-9 for v, y in zip(value[1:], votes, strict=False))
    assert all(b >= 0 for _, b in pieces)
    slopes = [b for _, b in pieces]
    assert slopes == sorted(slopes, reverse=True)  # concave
    assert value[-1] == pytest.approx(300.0)  # flat beyond the last point
