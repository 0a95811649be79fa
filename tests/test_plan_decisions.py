"""The planner decides each station's hours, days and close policy (policies.planner_decides).

- Widening the allowed window by an hour, allowing another day or another close policy never
  lowers the planner's value (each alternative is simulated under the same seed, whichever
  others are allowed, and the small instances are solved exactly), and at a crowded embassy
  they raise it.
- The plan's value with the chosen alternatives agrees with the re-simulation of the plan.
- Without planner_decides nothing changes: no settings in the outputs.
- Errors in the new fields are located.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from abroad.cli import app
from abroad.demand import DemandModel
from abroad.io.errors import InputError
from abroad.io.scenario import load_scenario
from abroad.jobs.plan import run_plan
from abroad.model import ClosePolicy, Scenario, SiteId, StationSettings
from abroad.network.problem import build_option_problem
from abroad.network.simulation import Resources, station_spec
from abroad.planning.options import VOTE_TIE, exhaustive_with_options

from scenario_factory import PLACES_CSV, SCENARIO_YAML, SITES_CSV, write_scenario

BASE_DECISIONS = """\
  cost_per_station_hour: 5
  planner_decides:
    - sites: [emb]
      hours: {earliest_open: "08:00", latest_close: "20:00", min_hours: 12}
      may_open_days: [2024-03-17]
      close_policies: [hard_close]
"""


def _scenario(
    folder: Path, decisions: str, crowd: int = 40, *, site_hours: bool = False
) -> Scenario:
    """The tiny scenario, New York's citizens ``crowd`` times (the embassy saturates), with
    these ``planner_decides`` lines (and, with ``site_hours``, its override of the embassy's
    hours on the 17th, which clashes with a decision on them)."""
    lines = PLACES_CSV.replace(",100,emb", ",,").splitlines()
    places = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[6] = str(int(cells[6]) * (crowd if cells[0] == "p1" else 1))
        places.append(",".join(cells))
    text = SCENARIO_YAML.replace("  staff_budget: 20\n", "  staff_budget: 40\n" + decisions)
    text = text.replace("close_policy: {extend_minutes: 60}", "close_policy: hard_close")
    if not site_hours:
        override = '    - {site_id: emb, date: 2024-03-17, open: "08:00", close: "21:00"}\n'
        text = text.replace("  site_hours:\n" + override, "")
    write_scenario(folder, text, SITES_CSV, "\n".join(places) + "\n")
    return load_scenario(folder)


def _optimum(sc: Scenario) -> float:
    problem = build_option_problem(sc, seed=3)
    return exhaustive_with_options(problem.base.instance, problem.options).objective


WIDER = {
    "an hour": BASE_DECISIONS.replace('latest_close: "20:00"', 'latest_close: "21:00"'),
    "a day": BASE_DECISIONS.replace("[2024-03-17]", "[2024-03-15, 2024-03-17]"),
    "a close policy": BASE_DECISIONS.replace("[hard_close]", "[hard_close, {extend_minutes: 90}]"),
}


def test_more_allowed_hours_days_or_close_policies_never_lower_the_value(tmp_path: Path) -> None:
    base = _optimum(_scenario(tmp_path / "base", BASE_DECISIONS))
    gains = {}
    for name, decisions in WIDER.items():
        value = _optimum(_scenario(tmp_path / name.replace(" ", "-"), decisions))
        # Equally good alternatives (within VOTE_TIE votes a station) go to the cheaper.
        allowed = VOTE_TIE * 3
        assert value >= base - allowed, f"{name} more lowered the value: {value} < {base}"
        gains[name] = value - base
    # Real gains: the embassy is crowded, so an hour, a day or an extension serve more.
    assert all(g > 1.0 for g in gains.values()), gains


def test_the_plans_chosen_alternatives_agree_with_its_resimulation(tmp_path: Path) -> None:
    sc = _scenario(
        tmp_path / "sc",
        BASE_DECISIONS.replace("[2024-03-17]", "[2024-03-15, 2024-03-17]")
        .replace("[hard_close]", "[hard_close, {extend_minutes: 90}]")
        .replace('latest_close: "20:00"', 'latest_close: "21:00"'),
    )
    out = tmp_path / "out"
    s = run_plan(sc, out, time_limit_seconds=5, seed=2, replications=20).summary
    assert s.method == "exhaustive" and s.proven_optimal
    emb = next(st for st in s.stations if st.site_id == "emb")
    assert emb.settings is not None
    # Crowded: the embassy opens both days and keeps its line beyond closing.
    assert emb.settings.open_days == ("2024-03-15", "2024-03-17")
    assert emb.settings.close_policy == "extend"
    assert emb.settings.opens is not None and emb.settings.closes is not None
    hours = (int(emb.settings.closes[:2]) - int(emb.settings.opens[:2])) + 1.5
    assert emb.settings.open_hours == pytest.approx(2 * hours)
    # The status quo (08:00-20:00 on both days, hard close) is one of the allowed alternatives:
    # the plan does better.
    assert s.status_quo is not None and s.expected_votes_cast > s.status_quo.expected_votes_cast
    assert s.simulated_votes_cast_interval is not None
    low, high = s.simulated_votes_cast_interval
    assert low is not None and high is not None
    allowed = math.hypot(s.expected_votes_cast_ci_half_width, (high - low) / 2)
    assert abs(s.expected_votes_cast - s.simulated_votes_cast) <= allowed
    for st in s.stations:
        assert st.simulated_votes_cast is not None
        assert st.expected_votes_cast == pytest.approx(st.simulated_votes_cast, rel=0.05, abs=15)
    # The choice is in every output: summary.json, plan.xlsx, the report.
    written = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {st["site_id"]: st["settings"]["text"] for st in written["stations"]} == {
        st.site_id: st.settings.text for st in s.stations if st.settings is not None
    }
    sheet = openpyxl.load_workbook(out / "plan.xlsx")["Stations"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)]
    assert {r["site_id"]: r["close_policy"] for r in rows}["emb"] == "extend"
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Hours, days and close policy chosen by the planner" in report
    # The cost counts the hours: 5 an hour.
    assert s.cost == pytest.approx(
        5 * sum(st.settings.open_hours for st in s.stations if st.settings)
    )


def test_the_cli_table_names_the_chosen_hours_days_and_close_policy(tmp_path: Path) -> None:
    _scenario(tmp_path / "sc", BASE_DECISIONS.replace("[hard_close]", "[{extend_minutes: 90}]"))
    result = CliRunner().invoke(
        app,
        ["plan", str(tmp_path / "sc"), "--out", str(tmp_path / "out"), "--time-limit", "3"],
    )
    assert result.exit_code == 0, result.output
    assert "hours, days, close policy" in result.stdout
    # The cell wraps within the 160-column table ("extend" / "90 min" on the next line).
    assert "08:00-20:00, 2024-03-17, extend" in result.stdout


def test_a_day_closed_sends_its_voters_to_the_open_days_within_the_chosen_hours(
    tmp_path: Path,
) -> None:
    sc = _scenario(tmp_path / "sc", BASE_DECISIONS, crowd=1)
    model = DemandModel.from_scenario(sc)
    demand = model.expected_demand(("emb",))
    res = Resources(2, 4)
    both = station_spec(sc, model, demand, SiteId("emb"), res)
    only_17th = StationSettings((9 * 60.0, 19 * 60.0), (False, True), ClosePolicy())
    spec = station_spec(sc, model, demand, SiteId("emb"), res, only_17th)
    assert spec.expected_arrivals == pytest.approx(both.expected_arrivals, rel=1e-9)
    first, second = spec.days
    assert sum(first.arrivals_per_hour) == 0.0
    assert (second.open_minutes, second.close_minutes) == (540.0, 1140.0)
    # The same settings as the scenario's give the scenario's own station, exactly.
    assert station_spec(sc, model, demand, SiteId("emb"), res, sc.fixed_settings("emb")) == both


def test_without_planner_decides_no_settings_appear(tmp_path: Path) -> None:
    sc = _scenario(tmp_path / "sc", "", crowd=1)
    s = run_plan(sc, None, time_limit_seconds=3, seed=0, replications=5).summary
    assert all(st.settings is None for st in s.stations)
    assert all("settings" not in st for st in s.to_json_dict()["stations"])


@pytest.mark.parametrize(
    ("decisions", "path", "expected"),
    [
        ("    - sites: [nowhere]\n", "policies.planner_decides[0].sites[0]", "unknown site"),
        (
            "    - sites: [emb]\n    - sites: [emb, cg]\n",
            "policies.planner_decides[1].sites[0]",
            "already in group 0",
        ),
        ("    - {}\n    - {}\n", "policies.planner_decides[1].sites", "only one group"),
        (
            "    - may_open_days: [2024-03-16]\n",
            "policies.planner_decides[0].may_open_days[0]",
            "not a voting day",
        ),
        (
            "    - close_policies: [serve_all]\n",
            "policies.planner_decides[0]",
            "serve_all has no stated end",
        ),
        (
            '    - hours: {earliest_open: "20:00", latest_close: "08:00"}\n',
            "policies.planner_decides[0].hours",
            "must be after",
        ),
        (
            "    - {must_open_days: [2024-03-17]}\n",
            "policies.planner_decides[0]",
            "needs may_open_days",
        ),
        (
            '    - hours: {earliest_open: "00:00", latest_close: "24:00", step_minutes: 15}\n',
            "policies.planner_decides[0]",
            "alternatives per station",
        ),
        (  # the tiny scenario overrides the embassy's hours on the 17th
            '    - {sites: [emb], hours: {earliest_open: "08:00", latest_close: "20:00"}}\n',
            "election.site_hours[0]",
            "would be ignored",
        ),
        (
            '    - {sites: [cg]}\n    - hours: {earliest_open: "08:00", latest_close: "20:00"}\n',
            "election.site_hours[0]",
            "would be ignored",
        ),
    ],
)
def test_errors_in_planner_decides_are_located(
    tmp_path: Path, decisions: str, path: str, expected: str
) -> None:
    with pytest.raises(InputError) as err:
        _scenario(tmp_path / "sc", "  planner_decides:\n" + decisions, site_hours=True)
    problems = err.value.problems
    assert any(
        p.path is not None and p.path.startswith(path) and expected in p.message for p in problems
    ), [(p.path, p.message) for p in problems]
