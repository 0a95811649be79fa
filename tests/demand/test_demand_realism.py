"""Realism: the bundled example's station loads against real stations abroad; generated figures
match the shared public data they were derived from."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from abroad.demand import DemandModel, station_loads

from tests_paths import EXAMPLE, REPO, SHARED_DATA

needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="shared data not present")


def _tool(name: str) -> object:
    path = REPO / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_example_station_loads_within_observed_range() -> None:
    from abroad.io.scenario import load_scenario

    scenario = load_scenario(EXAMPLE)
    d = DemandModel.from_scenario(scenario).expected_demand()
    one_day = station_loads.OBSERVED["ru_2018"]
    assert len(scenario.election.days) == one_day.voting_days
    loads = list(d.voters_by_site().values())
    assert loads
    for v in loads:
        assert one_day.min <= v <= one_day.max
    # The busiest station is a very busy one by real standards, not an impossible one.
    assert max(loads) >= one_day.q75


@needs_data
def test_station_loads_match_the_data() -> None:
    tool = _tool("derive_station_loads")
    ru = tool.summarise(*tool.russia_2018())  # type: ignore[attr-defined]
    obs = station_loads.OBSERVED["ru_2018"]
    assert obs.stations == ru["stations"] == 393
    assert obs.max == pytest.approx(ru["max"])
    assert obs.q50 == pytest.approx(ru["q50"], rel=1e-3)
    assert obs.ran_out_share == pytest.approx(ru["ran_out_share"], rel=1e-3)
    ro2 = station_loads.OBSERVED["ro_2019_round2"]
    assert ro2.max == 8514  # London Stratford, round 2 (data/README.md)


@needs_data
def test_generated_curves_are_up_to_date(tmp_path: Path) -> None:
    """The package data file is what tools/fit_arrival_curves.py writes from the shared data."""
    import json
    import subprocess

    out = tmp_path / "arrival_curves.json"
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "fit_arrival_curves.py"), "--write", str(out)],
        check=True,
        capture_output=True,
    )
    shipped = REPO / "src" / "abroad" / "demand" / "data" / "arrival_curves.json"
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(
        shipped.read_text(encoding="utf-8")
    )
