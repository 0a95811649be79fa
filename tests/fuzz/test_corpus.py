"""Regression corpus of issue 11: every broken input exits 2 with a located problem and no
traceback; every legitimate one is accepted.

All cases run in-process through the console entry point ``abroad.cli.main`` (which holds the
top-level handler); a representative subset also runs as a real subprocess.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from abroad.cli import main
from abroad.io.scenario import load_scenario
from fuzz.corpus import CASES, Case, validate

SUBPROCESS = {
    "scenario.yaml symlink loop",
    "/dev/zero as a spec",
    "alias bomb in the description",
    "5,000 nested brackets",
    "unclosed quote in a notes cell",
    "spec: lognormal cv 1e155",
    "--out /dev/null",
    "line_stages in a station spec",
}


def run_in_process(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    code = done.value.code
    return (code if isinstance(code, int) else 1), capsys.readouterr().err


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_in_process(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_in_process(case.build(tmp_path), capsys)
    assert "Traceback" not in err
    assert code == case.exit_code, err
    for phrase in case.expect:
        assert phrase in err, err


@pytest.mark.parametrize("case", [c for c in CASES if c.name in SUBPROCESS], ids=lambda c: c.name)
def test_case_as_a_process(case: Case, tmp_path: Path) -> None:
    args = case.build(tmp_path)
    code = "import sys; from abroad.cli import main; main(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == case.exit_code, done.stderr
    for phrase in case.expect:
        assert phrase in done.stderr, done.stderr


def test_subprocess_subset_is_in_the_corpus() -> None:
    assert {c.name for c in CASES} >= SUBPROCESS


def test_24_00_is_the_end_of_the_day(tmp_path: Path) -> None:
    folder = Path(validate('close: "21:00"', 'close: "24:00"')(tmp_path)[1])
    sc = load_scenario(folder)
    override = sc.election.site_hours[0]
    assert override.close == dt.time.max
    day = sc.election.days[1]
    assert sc.election.hours(override.site_id, day)[1] == dt.time.max
    from abroad.model.clock import clock_minutes

    assert clock_minutes(override.close) == 1440.0


def test_unexpected_exception_exits_1_with_a_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import abroad.io.station_spec as station_spec

    def broken(path: Path) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(station_spec, "load_station_spec", broken)
    monkeypatch.setenv("ABROAD_LOG_DIR", str(tmp_path / "logs"))
    code, err = run_in_process(["simulate", "whatever.yaml"], capsys)
    assert code == 1
    assert "Traceback" not in err
    assert "ZeroDivisionError: a bug" in err
    logs = list((tmp_path / "logs").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err
    assert "Traceback" in logs[0].read_text() and "a bug" in logs[0].read_text()
