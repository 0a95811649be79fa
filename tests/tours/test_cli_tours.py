"""`abroad tours plan`: files written, human table, clean JSON, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from abroad.cli import app

runner = CliRunner()


def _given(tmp_path: Path) -> Path:
    f = tmp_path / "given.yaml"
    f.write_text(
        "name: by hand\ntrips:\n"
        "  - {team: a, visits: [{city: Seattle, days: 3}]}\n"
        "  - {team: b, visits: [{city: Chicago, days: 3}]}\n",
        encoding="utf-8",
    )
    return f


def test_plan_json_and_files(tours_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["tours", "plan", str(tours_folder), "--out", str(out), "--seconds", "0.5"]
    result = runner.invoke(app, [*args, "--compare", str(_given(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    plan = payload["plans"][0]
    assert plan["name"] == "plan" and plan["cases_served"] > 0
    assert payload["compare"]["name"] == "by hand"
    assert payload["compare"]["trips"] == 2
    for name in ("itinerary.csv", "notifications.csv", "tours.ics", "tours.xlsx", "report.html"):
        assert (out / name).is_file()
    wb = load_workbook(out / "tours.xlsx")
    assert {"itinerary", "notifications", "regions", "summary"} <= set(wb.sheetnames)
    ics = (out / "tours.ics").read_text(encoding="utf-8")
    assert ics.startswith("BEGIN:VCALENDAR") and ics.count("BEGIN:VEVENT") == plan["visits"]
    notes = (out / "notifications.csv").read_text(encoding="utf-8").splitlines()
    assert notes[0] == "trip,team,from,to,cities,team_size,notify_host_by"
    assert len(notes) == plan["trips"] + 1
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "by hand" in html and "Host notifications" in html
    assert "https://" not in html.split("<script>")[0]  # nothing fetched from the network


def test_plan_human_table(tours_folder: Path, tmp_path: Path) -> None:
    args = ["tours", "plan", str(tours_folder), "--out", str(tmp_path / "o"), "--seconds", "0.3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Outreach tours" in result.stdout
    assert "cases served" in result.stdout


def test_bad_input_exits_2(tours_folder: Path, tiny_scenario: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["tours", "plan", str(tiny_scenario), "--json"])
    assert result.exit_code == 2
    assert "no tours: section" in result.stderr and result.stdout == ""
    bad = tmp_path / "bad.yaml"
    bad.write_text("trips:\n  - {team: a, visits: [{city: Boise, days: 1}]}\n", encoding="utf-8")
    args = ["tours", "plan", str(tours_folder), "--compare", str(bad), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "bad.yaml, trips[0].visits[0].city" in result.stderr
    result = runner.invoke(app, ["tours", "plan", str(tours_folder), "--engine", "magic"])
    assert result.exit_code == 2
