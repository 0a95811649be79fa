"""Sweeps and Monte Carlo on a real Dask LocalCluster (2 worker processes).

The same seed gives the same numbers here, in this process and alone; a killed worker's points
run again and the sweep completes; a resumed sweep skips finished points; a failing point
records its error while the others finish.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import Client

from abroad.io.scenario import load_scenario
from abroad.io.station_spec import load_station_spec
from abroad.network.simulation import simulate_network
from abroad.queueing import simulate_station
from abroad.sweep.cluster import dask_client
from abroad.sweep.engine import status_quo_network
from abroad.sweep.grid import Grid, parse_grid
from abroad.sweep.montecarlo import simulate_network_on, simulate_station_on
from abroad.sweep.runner import SweepProgress, load_sweep, run_sweep

from tests_paths import EXAMPLE, REPO

TIMING = ("point_seconds",)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with dask_client(workers=2) as c:
        c.wait_for_workers(2, timeout=120)
        yield c


def _grid(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GRID = """\
run: simulate
parameters:
  demand.base_turnout: [0.15, 0.3]
  policies.staff_budget: [30, 50]
variants: [base, noon-surge]
replications: 4
seed: 3
"""


def _rows(path: Path) -> pa.Table:
    return pq.read_table(path).drop_columns(list(TIMING))


def test_the_cluster_gives_the_local_numbers_and_a_point_alone_gives_its_own(
    client: Client, tmp_path: Path
) -> None:
    grid, doc = load_sweep(EXAMPLE, _grid(tmp_path, GRID))
    on_cluster = run_sweep(EXAMPLE, grid, doc, tmp_path / "cluster", client=client)
    here = run_sweep(EXAMPLE, grid, doc, tmp_path / "here")
    assert on_cluster.done == here.done == 8 and on_cluster.failed == 0
    a, b = _rows(on_cluster.results_path), _rows(here.results_path)
    assert a.num_rows == 8 * 4
    assert a.equals(b)
    # The last point alone, in a grid of its own: same rows, though it is point 0 there.
    alone_grid, _ = load_sweep(
        EXAMPLE,
        _grid(
            tmp_path,
            "parameters:\n  policies.staff_budget: [50]\n  demand.base_turnout: [0.3]\n"
            "variants: [noon-surge]\nreplications: 4\nseed: 3\n",
        ),
    )
    alone = _rows(run_sweep(EXAMPLE, alone_grid, doc, tmp_path / "alone").results_path)
    last = a.filter(pa.compute.equal(a["point_index"], 7))
    metrics = ["seed", "votes_cast", "not_served", "wait_minutes_p95_worst", "staff"]
    assert alone.select(metrics).equals(last.select(metrics))
    # Different points see different streams and different demand.
    assert len(set(a["votes_cast"].to_pylist())) > 8


def test_a_killed_worker_s_points_run_again_and_the_sweep_completes(
    client: Client, tmp_path: Path
) -> None:
    grid_text = GRID.replace("replications: 4", "replications: 30")
    grid, doc = load_sweep(EXAMPLE, _grid(tmp_path, grid_text))
    before = set(client.scheduler_info(n_workers=-1)["workers"])
    killed: list[str] = []

    def kill_one(p: SweepProgress) -> None:
        if killed:
            return
        victim = sorted(client.scheduler_info(n_workers=-1)["workers"])[0]
        killed.append(victim)
        # From another thread: the worker dies for real, mid-sweep, with a point in hand.
        threading.Thread(target=_exit_worker, args=(client, victim), daemon=True).start()

    outcome = run_sweep(EXAMPLE, grid, doc, tmp_path / "killed", client=client, progress=kill_one)
    assert killed and outcome.done == 8 and outcome.failed == 0
    client.wait_for_workers(2, timeout=120)
    after = set(client.scheduler_info(n_workers=-1)["workers"])
    assert killed[0] not in after and after != before  # the nanny started a new worker
    reference = run_sweep(EXAMPLE, grid, doc, tmp_path / "reference")
    assert _rows(outcome.results_path).equals(_rows(reference.results_path))


def _exit_worker(client: Client, address: str) -> None:
    with contextlib.suppress(Exception):  # the worker dies before answering: the point
        client.run(os._exit, 1, workers=[address])


def test_resume_skips_finished_points_and_reruns_the_rest(client: Client, tmp_path: Path) -> None:
    grid, doc = load_sweep(EXAMPLE, _grid(tmp_path, GRID))
    out = tmp_path / "resume"
    first = run_sweep(EXAMPLE, grid, doc, out, client=client)
    parts = sorted((out / "points").glob("*.parquet"))
    assert len(parts) == 8
    parts[2].unlink()
    parts[5].unlink()
    seen: list[SweepProgress] = []
    second = run_sweep(EXAMPLE, grid, doc, out, client=client, progress=seen.append)
    assert second.skipped == 6 and len(seen) == 2 and seen[-1].remaining == 0
    assert _rows(second.results_path).equals(_rows(first.results_path))
    # Another grid in the same folder is refused, not mixed in.
    other, _ = load_sweep(EXAMPLE, _grid(tmp_path, GRID.replace("seed: 3", "seed: 4")))
    with pytest.raises(Exception, match="different grid"):
        run_sweep(EXAMPLE, other, doc, out, client=client)


def test_a_failing_point_records_its_error_and_the_others_finish(
    client: Client, tmp_path: Path
) -> None:
    grid: Grid = parse_grid(
        {"parameters": {"policies.staff_budget": [30, -5, 50]}, "replications": 2, "seed": 1},
        "grid.yaml",
    )
    doc = load_sweep(EXAMPLE, _grid(tmp_path, "replications: 2\n"))[1]
    out = tmp_path / "failing"
    outcome = run_sweep(EXAMPLE, grid, doc, out, client=client)
    assert outcome.done == 2 and outcome.failed == 1
    (failure,) = outcome.failures
    assert failure["error_type"] == "InputError"
    assert "policies.staff_budget" in failure["message"] and "-5" in failure["point"]
    table = pq.read_table(outcome.results_path)
    assert sorted(set(table["policies.staff_budget"].to_pylist())) == [30, 50]
    assert (out / "failures" / f"{failure['point_id']}.json").is_file()


def test_simulate_on_the_cluster_equals_the_local_run(client: Client) -> None:
    spec = load_station_spec(REPO / "examples" / "stations" / "berlin-2024.yaml")
    local = simulate_station(spec, replications=13, seed=5)
    remote = simulate_station_on(client, spec, replications=13, seed=5)
    assert remote == local


def test_a_network_on_the_cluster_equals_simulate_network(client: Client) -> None:
    scenario = load_scenario(EXAMPLE)
    network = status_quo_network(scenario)
    mc = simulate_network_on(client, network, seed=9, replications=7)
    from abroad.demand import DemandModel
    from abroad.network.simulation import status_quo_resources

    model = DemandModel.from_scenario(scenario)
    demand = model.expected_demand(network.site_ids)
    sims = simulate_network(
        scenario,
        model,
        demand,
        status_quo_resources(scenario, network.site_ids),
        replications=7,
        seed=9,
        trace_replications=1,
    )
    assert mc.outcomes == tuple(s.outcome for s in sims)
    served = sum(s.outcome.total.served.mean for s in sims)
    assert mc.per_replication["votes_cast"].mean() == pytest.approx(served, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# The commands


def test_abroad_simulate_with_a_scheduler_prints_the_local_result(client: Client) -> None:
    from typer.testing import CliRunner

    from abroad.cli import app

    spec = str(REPO / "examples" / "stations" / "berlin-2024.yaml")
    args = ["simulate", spec, "-n", "9", "--seed", "4", "--json"]
    runner = CliRunner()
    local = runner.invoke(app, args)
    remote = runner.invoke(app, [*args, "--scheduler", client.scheduler.address])
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    assert json.loads(remote.stdout) == json.loads(local.stdout)


def test_abroad_sweep_writes_results_and_report_and_rejects_a_bad_grid(
    client: Client, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from abroad.cli import app

    runner = CliRunner()
    out = tmp_path / "cli"
    grid = _grid(tmp_path, GRID.replace("replications: 4", "replications: 3"))
    args = ["sweep", str(EXAMPLE), "--grid", str(grid), "--out", str(out), "--json"]
    result = runner.invoke(app, [*args, "--scheduler", client.scheduler.address])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["done"] == 8 and payload["failed"] == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "best point" in html and "demand.base_turnout" in html
    assert (out / "plots" / "demand-base-turnout.png").stat().st_size > 10_000
    again = runner.invoke(app, [*args, "--scheduler", client.scheduler.address])
    assert json.loads(again.stdout)["resumed_points"] == 8
    bad = _grid(tmp_path, "parameters:\n  policies.staff_budget: {from: 1, to: 2}\n")
    result = runner.invoke(app, ["sweep", str(EXAMPLE), "--grid", str(bad), "--local"])
    assert result.exit_code == 2
    assert "grid.yaml, parameters.policies.staff_budget.steps: expected a whole number" in (
        result.stderr
    )
    assert result.stdout == ""


def test_abroad_plan_with_a_scheduler_re_simulates_to_the_local_result(
    client: Client, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from abroad.cli import app

    runner = CliRunner()
    args = ["plan", str(EXAMPLE), "--time-limit", "2", "--replications", "3", "--json"]
    local = runner.invoke(app, [*args, "--out", str(tmp_path / "local")])
    remote = runner.invoke(
        app, [*args, "--out", str(tmp_path / "remote"), "--scheduler", client.scheduler.address]
    )
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    here, there = json.loads(local.stdout), json.loads(remote.stdout)
    assert there["open_sites"] == here["open_sites"]  # the example is enumerated: one plan
    assert there["simulation"] == here["simulation"]
    assert there["simulated_votes_cast"] == here["simulated_votes_cast"]
