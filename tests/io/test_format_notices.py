"""Format-1 scenarios load unchanged; a changed default they rely on is named on loading."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from abroad.cli import app
from abroad.demand import DemandModel
from abroad.io.scenario import load_scenario
from abroad.model import SiteId
from abroad.model.format_notices import changed_defaults
from abroad.network.simulation import Resources, max_security_lanes, station_spec

from scenario_factory import SCENARIO_YAML, SITES_CSV, write_scenario

runner = CliRunner()
SECURITY = "  security: {service: {dist: deterministic, minutes: 0.45}%s}\n"


def _with_security(tmp_path: Path, servers: str, sites_csv: str = SITES_CSV) -> Path:
    text = SCENARIO_YAML.replace("  patience:", SECURITY % servers + "  patience:")
    return write_scenario(tmp_path / "sc", scenario_yaml=text, sites_csv=sites_csv)


def _lanes_in_spec(folder: Path, site: str) -> int:
    sc = load_scenario(folder)
    model = DemandModel.from_scenario(sc)
    demand = model.expected_demand((SiteId(site),))
    spec = station_spec(sc, model, demand, SiteId(site), Resources(2, 4))
    return {st.name: st.servers for st in spec.stages}.get("security", 0)


def test_a_file_without_the_new_fields_loads_with_its_stated_meaning(tmp_path: Path) -> None:
    folder = _with_security(tmp_path, ", servers: 1")
    sc = load_scenario(folder)
    assert changed_defaults(sc) == ()
    # v1 meaning: the stated one lane at every mission; venues have none.
    assert max_security_lanes(sc, SiteId("emb")) == 1
    assert max_security_lanes(sc, SiteId("hall")) == 0
    assert _lanes_in_spec(folder, "emb") == 1
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0 and "notice" not in result.stderr


def test_relying_on_the_changed_lane_default_prints_a_notice_naming_it(tmp_path: Path) -> None:
    folder = _with_security(tmp_path, "")
    sc = load_scenario(folder)
    (change,) = changed_defaults(sc)
    assert change.path == "service.security.servers"
    assert max_security_lanes(sc, SiteId("emb")) == 2
    assert _lanes_in_spec(folder, "emb") == 2
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0
    assert "notice: service.security.servers is not set" in result.stderr
    assert "servers: 1" in result.stderr and "notice" not in result.stdout


def test_the_sites_column_overrides_the_scenario_lanes_per_site(tmp_path: Path) -> None:
    sites = SITES_CSV.replace("max_booths,", "max_booths,max_security_lanes,")
    lines = sites.splitlines()
    lanes = {"emb": "4", "cg": "", "old": "", "hall": ""}
    rows = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells.insert(11, lanes[cells[0]])
        rows.append(",".join(cells))
    folder = _with_security(tmp_path, "", "\n".join(rows) + "\n")
    sc = load_scenario(folder)
    assert max_security_lanes(sc, SiteId("emb")) == 4
    assert max_security_lanes(sc, SiteId("cg")) == 2
    # The consulate still relies on the scenario-wide default: the notice names it alone.
    (change,) = changed_defaults(sc)
    assert "(cg)" in change.new


def test_upgrade_writes_the_old_value_and_keeps_the_comments(tmp_path: Path) -> None:
    folder = _with_security(tmp_path, "")
    text = (folder / "scenario.yaml").read_text(encoding="utf-8")
    (folder / "scenario.yaml").write_text(
        text.replace("minutes: 0.45}}", "minutes: 0.45}}   # door screening"), encoding="utf-8"
    )
    result = runner.invoke(app, ["upgrade", str(folder)])
    assert result.exit_code == 0, result.output
    assert "wrote service.security.servers: 1" in result.stdout
    upgraded = (folder / "scenario.yaml").read_text(encoding="utf-8")
    assert "minutes: 0.45}, servers: 1}   # door screening" in upgraded
    sc = load_scenario(folder)
    assert changed_defaults(sc) == () and max_security_lanes(sc, SiteId("emb")) == 1
    again = runner.invoke(app, ["upgrade", str(folder)])
    assert again.exit_code == 0 and "up to date" in again.stdout


def test_upgrade_of_a_block_style_mapping(tmp_path: Path) -> None:
    block = "  security:\n    service: {dist: deterministic, minutes: 0.45}\n  patience:"
    text = SCENARIO_YAML.replace("  patience:", block)
    folder = write_scenario(tmp_path / "sc", scenario_yaml=text)
    assert runner.invoke(app, ["upgrade", str(folder)]).exit_code == 0
    assert "    servers: 1" in (folder / "scenario.yaml").read_text(encoding="utf-8")
    assert max_security_lanes(load_scenario(folder), SiteId("emb")) == 1
