"""The safe readers accept what is legitimate: the strict rules refuse only what they should."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest
import typer

from abroad.cli.common import check_options
from abroad.io.errors import InputError
from abroad.io.files import read_input_bytes
from abroad.io.scenario import load_scenario, load_scenarios
from abroad.io.station_spec import parse_station_spec
from abroad.io.tables import read_table
from abroad.io.yamlio import parse_yaml_text
from abroad.model.clock import END_OF_DAY, clock_minutes, parse_clock

from scenario_factory import write_scenario


def test_merge_keys_override_without_a_duplicate_error() -> None:
    data = parse_yaml_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  x: 3\n", "f.yaml")
    assert data["other"] == {"x": 3, "y": 2}


def test_duplicate_key_names_both_lines() -> None:
    with pytest.raises(InputError) as err:
        parse_yaml_text("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert str(err.value.problems[0]) == (
        "f.yaml: line 3, column 1: invalid YAML: duplicate key 'a' (first at line 1); "
        "each key may appear once"
    )


def test_nesting_up_to_the_limit_is_read() -> None:
    assert parse_yaml_text("x: " + "[" * 40 + "]" * 40, "f.yaml") == {"x": _deep(40)}


def _deep(n: int) -> object:
    out: list[object] = []
    for _ in range(n - 1):
        out = [out]
    return out


def test_a_quoted_cell_may_span_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id,notes\na,"first line\nsecond line"\nb,plain\n', encoding="utf-8")
    table = read_table(path, "t.csv")
    assert [(r, c["notes"]) for r, c in table.rows] == [
        (2, "first line\nsecond line"),
        (3, "plain"),
    ]


def test_trailing_empty_header_cells_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,name,,\na,b,,\n", encoding="utf-8")
    table = read_table(path, "t.csv")
    assert table.columns == ("id", "name") and table.rows == ((2, {"id": "a", "name": "b"}),)


def test_xlsx_formula_with_a_saved_value_is_read(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["id", "n"])
    ws.append(["a", "=1+4"])
    plain = tmp_path / "plain.xlsx"
    book.save(plain)
    saved = tmp_path / "saved.xlsx"  # as a spreadsheet program saves it: formula and value
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(saved, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<f>1+4</f><v />", b"<f>1+4</f><v>5</v>")
                assert b"<v>5</v>" in data
            dst.writestr(item, data)
    assert read_table(saved, "saved.xlsx").rows == ((2, {"id": "a", "n": "5"}),)
    with pytest.raises(InputError) as err:
        read_table(plain, "plain.xlsx")
    assert "formula without a saved value" in str(err.value)


def test_file_size_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"x" * 101)
    assert read_input_bytes(path, "big.yaml", 101) == b"x" * 101
    with pytest.raises(InputError, match="file too large"):
        read_input_bytes(path, "big.yaml", 100)


def test_clock_times() -> None:
    assert parse_clock("24:00") == END_OF_DAY
    assert clock_minutes(END_OF_DAY) == 1440.0
    assert clock_minutes(dt.time(8, 30, 30)) == 510.5
    for bad in (8, 20.0, True, None):
        with pytest.raises(ValueError, match="as text"):
            parse_clock(bad)


def test_station_spec_line_stages_and_end_of_day() -> None:
    spec = parse_station_spec(
        'days: [{open: "20:00", close: "24:00", arrivals_per_hour: [10, 10, 10, 10]}]\n'
        "stages:\n"
        "  - {name: security, servers: 1, service: {dist: exponential, mean_minutes: 0.5}}\n"
        "  - {name: desk, servers: 2, service: {dist: exponential, mean_minutes: 1}}\n"
        "  - {name: booth, servers: 3, service: {dist: exponential, mean_minutes: 2}}\n"
        "line_stages: 2\n"
    )
    assert spec.line_stages == 2
    assert spec.days[0].close_minutes == 1440.0
    with pytest.raises(InputError, match="exceeds the number of stages"):
        parse_station_spec(
            "days: [{open: 0, close: 60, arrivals_per_hour: 1}]\n"
            "stages: [{name: a, servers: 1, service: {dist: deterministic, minutes: 1}}]\n"
            "line_stages: 2\n"
        )


def test_site_update_scale_keeps_counts_whole(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "s")
    text = (
        (folder / "scenario.yaml")
        .read_text()
        .replace(
            "        set: {host_permits: true}",
            "        set: {host_permits: true}\n        scale: {max_desks: 1.5, cost_per_day: 2}",
        )
    )
    (folder / "scenario.yaml").write_text(text)
    hall = load_scenario(folder, "open-venue").site("hall")
    assert hall.max_desks == 4 and hall.cost_per_day == 0.0 and hall.can_open


def test_load_scenarios_reads_the_variants(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "s")
    base, venue = load_scenarios(folder, [None, "open-venue"])
    assert not base.site("hall").can_open and venue.site("hall").can_open
    assert venue.places == base.places
    with pytest.raises(InputError, match=r"\[variant nope\]"):
        load_scenarios(folder, [None, "nope"])


def test_options_within_their_limits_pass(tmp_path: Path) -> None:
    check_options(seed=0, replications=10_000, time_limit=0.5, out=tmp_path / "new" / "deeper")
    check_options(seed=2**63 - 1, replications=1, time_limit=604_800, out=tmp_path)
    assert not (tmp_path / "new").exists()  # checking creates nothing
    assert list(tmp_path.iterdir()) == []  # and leaves no probe file
    with pytest.raises(typer.Exit):
        check_options(replications=10_001)


def test_places_times_sites_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from abroad.model import limits

    folder = write_scenario(tmp_path / "s")  # 4 places x 4 sites
    monkeypatch.setattr(limits, "MAX_PLACE_SITE_PAIRS", 16)
    assert load_scenario(folder).places
    monkeypatch.setattr(limits, "MAX_PLACE_SITE_PAIRS", 15)
    with pytest.raises(InputError, match="4 places x 4 sites = 16 pairs; the limit is 15"):
        load_scenario(folder)
