"""``abroad replay`` plays the adopted plan: a plan folder's network (``--plan``) or, by
default, the network the server stores (its adopted plan), against a real ``abroad serve``;
stations the server does not know stop the replay before anything is sent."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from abroad.cli import app
from abroad.io.plan_files import read_plan_network
from abroad.results import PlannedStation, PlanSummary
from abroad.server.db import Database
from abroad.server.models import Election, Plan
from abroad.server.services.workspace import adopt_plan

from scenario_factory import write_scenario
from server.conftest import Backend
from server.live_server import Served, free_port
from server.test_live_replay import ENV, WAIT_SECONDS, replay_cmd


@pytest.fixture
def served(backends: dict[str, Backend]) -> Iterator[Served]:
    s = Served(backends["sqlite"].make_url()).start()
    try:
        yield s
    finally:
        s.stop()


def plan_folder(folder: Path, stations: list[tuple[str, int, int]], variant: str | None) -> Path:
    """A plan folder as ``abroad plan --out`` writes it (the summary.json fields replay reads)."""
    folder.mkdir(parents=True)
    summary = {
        "scenario": "tiny",
        "variant": variant,
        "expected_votes_cast": 1000.0,
        "stations": [
            {"site_id": s, "desks": d, "booths": b, "security_lanes": 0, "name": s}
            for s, d, b in stations
        ],
    }
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


def stored_reports(url: str) -> list[tuple[str, dict[str, Any]]]:
    db = Database.open(url)
    try:
        with db.read() as s:
            rows = s.execute(text("SELECT station_key, payload FROM station_reports"))
            return [(str(k), p if isinstance(p, dict) else json.loads(p)) for k, p in rows]
    finally:
        db.dispose()


def desks(payload: dict[str, Any]) -> int:
    """The desks working a stored report gives (stored as pairs or as a mapping)."""
    return int(dict(payload["working"])["checkin"])


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=WAIT_SECONDS)


FAST = ("--speed", "100000", "--every", "120")


def test_the_fields_replay_reads_are_what_plan_writes() -> None:
    assert {"scenario", "variant", "stations"} <= set(PlanSummary.model_fields)
    assert {"site_id", "desks", "booths", "security_lanes"} <= set(PlannedStation.model_fields)


def test_replay_plays_a_plan_folder(tmp_path: Path, served: Served) -> None:
    scenario = write_scenario(tmp_path / "tiny")
    plan = plan_folder(tmp_path / "plan", [("emb", 2, 5)], None)
    done = run(replay_cmd(scenario, served, "--plan", str(plan), *FAST))
    assert done.returncode == 0, done.stderr
    tally = json.loads(done.stdout)
    assert tally["stations"] == ["emb"]
    assert str(plan) in tally["network"]
    assert "the plan in" in done.stderr  # the output says which network is played
    rows = stored_reports(served.db_url)
    # emb 08:00-21:00 every 2 hours: 08, 10, ..., 20 (7 reports), all of the plan's station
    assert tally["stored"] == len(rows) == 7 and tally["refused"] == []
    assert {k for k, _ in rows} == {"emb"}
    assert {desks(p) for _, p in rows} == {2}
    # the server knows the station at other resources (the status quo's 6 desks): said so
    assert "other resources" in done.stderr


def test_replay_plays_the_servers_adopted_plan_by_default(tmp_path: Path, served: Served) -> None:
    scenario = write_scenario(tmp_path / "tiny")
    db = Database.open(served.db_url)
    try:
        with db.write() as s:
            e = s.scalar(select(Election).where(Election.election_key == "tiny"))
            assert e is not None
            plan = Plan(
                election_id=e.id,
                variant=None,
                created_by="test",
                open_sites=["cg"],
                expected_votes_cast=500.0,
                summary={"stations": [{"site_id": "cg", "desks": 3, "booths": 6}]},
            )
            s.add(plan)
            s.flush()
            adopt_plan(db, s, plan, "test")
            plan_id = plan.id
    finally:
        db.dispose()
    done = run(replay_cmd(scenario, served, *FAST))
    assert done.returncode == 0, done.stderr
    tally = json.loads(done.stdout)
    assert tally["network"] == f"the server's adopted plan #{plan_id}"
    assert tally["stations"] == ["cg"]
    rows = stored_reports(served.db_url)
    assert len(rows) == tally["stored"] == 7  # cg 08:00-20:00 every 2 hours
    assert {k for k, _ in rows} == {"cg"}
    assert {desks(p) for _, p in rows} == {3}


def test_without_a_plan_the_servers_status_quo_is_played(tmp_path: Path, served: Served) -> None:
    scenario = write_scenario(tmp_path / "tiny")
    done = run(replay_cmd(scenario, served, *FAST))
    assert done.returncode == 0, done.stderr
    tally = json.loads(done.stdout)
    assert "no plan adopted" in tally["network"]
    assert tally["stations"] == ["cg", "emb"]


def test_stations_the_server_does_not_know_stop_the_replay(tmp_path: Path, served: Served) -> None:
    scenario = write_scenario(tmp_path / "tiny")
    # the venue opens under the variant; the server's election has only emb and cg
    plan = plan_folder(tmp_path / "plan", [("emb", 2, 3), ("hall", 3, 4)], "open-venue")
    done = run(replay_cmd(scenario, served, "--plan", str(plan), *FAST))
    assert done.returncode == 2, done.stderr
    assert "no station hall" in " ".join(done.stderr.split())
    assert "nothing was sent" in " ".join(done.stderr.split())
    assert stored_reports(served.db_url) == []


def test_a_device_token_replays_only_stations_in_its_scope(
    tmp_path: Path, backends: dict[str, Backend]
) -> None:
    served = Served(
        backends["sqlite"].make_url(), tokens=backends["sqlite"].template.tokens
    ).start()
    try:
        scenario = write_scenario(tmp_path / "tiny")
        cmd = replay_cmd(scenario, served, *FAST)
        at = cmd.index("--user")
        cmd[at : at + 2] = ["--token", served.tokens["station_emb"]]
        # the token cannot read the network: the scenario's status quo (emb and cg) is
        # played, and cg is outside the token's scope
        done = run(cmd)
        assert done.returncode == 2, done.stderr
        assert "cg (unknown, or outside this token's scope)" in " ".join(done.stderr.split())
        plan = plan_folder(tmp_path / "plan", [("emb", 2, 5)], None)
        done = run([*cmd, "--plan", str(plan)])
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["stored"] == 7
    finally:
        served.stop()


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        (None, "summary.json: no such file"),
        ("{not json", "summary.json: cannot read it as JSON"),
        (
            '{"scenario": "tiny", "stations": [{"site_id": "emb", "desks": 0, "booths": 2}]}',
            "summary.json, stations[0].desks",
        ),
        (
            '{"scenario": "tiny", "stations": [{"site_id": "nowhere", "desks": 1, "booths": 2}]}',
            "stations[0].site_id: the plan opens site 'nowhere', which the scenario does not have",
        ),
        (
            '{"scenario": "other", "stations": [{"site_id": "emb", "desks": 1, "booths": 2}]}',
            "the plan is for scenario 'other', not 'tiny'",
        ),
    ],
)
def test_a_bad_plan_folder_exits_2_with_a_located_message(
    tmp_path: Path, summary: str | None, expected: str
) -> None:
    scenario = write_scenario(tmp_path / "tiny")
    plan = tmp_path / "plan"
    plan.mkdir()
    if summary is not None:
        (plan / "summary.json").write_text(summary, encoding="utf-8")
    # nothing listens on port 9: the plan is checked before the server is asked anything
    args = ["replay", str(scenario), "--server", "http://127.0.0.1:9", "--user", "admin"]
    result = CliRunner().invoke(app, [*args, "--plan", str(plan)])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())


def test_read_plan_network_reads_the_stations_in_order(tmp_path: Path) -> None:
    plan = plan_folder(tmp_path / "plan", [("emb", 2, 5), ("cg", 1, 2)], "open-venue")
    net = read_plan_network(plan)
    assert net.scenario == "tiny" and net.variant == "open-venue"
    assert net.stations == (("emb", 2, 5, 0), ("cg", 1, 2, 0))


def test_demo_live_adopts_a_plan_and_replays_it(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "tiny")
    plan = plan_folder(tmp_path / "plan", [("cg", 2, 4)], None)
    done = run(
        [
            *replay_cmd(scenario, Served("unused"))[:1],
            "demo-live",
            str(scenario),
            "--plan",
            str(plan),
            "--port",
            str(free_port()),
            *FAST,
            "--stop-after-replay",
        ]
    )
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "the server's adopted plan #1, 1 station(s), 7 reports" in out
    assert "7 reports stored" in out
    folder = re.search(r"database in (\S+),", out)
    assert folder is not None and not Path(folder[1]).exists()
