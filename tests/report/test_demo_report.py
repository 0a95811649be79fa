"""The demo's report adapter: the pipeline's catchments and summary become a rendered report."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from abroad.io.scenario import load_scenario
from abroad.jobs.demo import run_demo
from abroad.network.catchments import catchments
from abroad.report import render_report
from abroad.report.demo_report import demo_report_data, write_demo_report


def test_demo_report_shows_the_pipeline_figures(tiny_scenario: Path, tmp_path: Path) -> None:
    scenario = load_scenario(tiny_scenario)
    cs = catchments(scenario)
    summary = run_demo(scenario, tmp_path / "demo", replications=2).summary
    data = demo_report_data(
        scenario,
        cs,
        title=summary.title,
        demand=summary.demand,
        simulation=summary.simulation,
        generated_at=dt.datetime(2026, 1, 1),
    )
    assert data.map is not None
    # every site is on the map; only the openable ones are open, the others say why
    by_id = {s.site_id: s for s in data.map.stations}
    assert set(by_id) == {s.site_id for s in scenario.sites}
    assert {sid for sid, s in by_id.items() if s.is_open} == set(cs.open_site_ids)
    assert by_id["old"].status == "not available"
    assert by_id["hall"].status == "host country does not permit voting here"
    # places keep their catchment and distance
    assert [p.station_id for p in data.map.places] == [
        scenario.sites[int(i)].site_id for i in cs.catchment.site_index
    ]
    # the stations table has one row per open station, with its citizens
    stations = data.tables[0]
    assert len(stations.rows) == len(cs.open_site_ids)
    assert sum(float(r[3] or 0) for r in stations.rows) == pytest.approx(cs.total_citizens, abs=2)
    # places beyond far_km are listed in the last table (the tiny scenario has some)
    far = [p for p in data.map.places if (p.distance_km or 0) > cs.far_km]
    assert far, "the tiny scenario has places beyond far_km"
    assert data.tables[-1].title.startswith("Largest places farther than")
    assert len(data.tables[-1].rows) == min(len(far), 20)
    figures = {f.label: f.value for f in data.key_figures}
    assert figures["open stations"] == str(len(cs.open_site_ids))
    html = render_report(data)
    assert "http://" not in html and "https://" not in html
    path = tmp_path / "report.html"
    write_demo_report(scenario, cs, summary, path)
    m = re.search(
        r'id="abroad-map-data">(.*?)</script>', path.read_text(encoding="utf-8"), flags=re.S
    )
    assert m is not None
    assert len(json.loads(m.group(1))["places"]) == len(scenario.places)
