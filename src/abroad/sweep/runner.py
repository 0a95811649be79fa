"""Running a sweep: validate every point's scenario once, skip points already done, run the
rest (here or on a Dask cluster), store each point as it finishes, and gather the results.

A failing point (bad value, planner error) records its error and the sweep goes on. A worker
that dies takes its points with it; Dask runs them again on another worker (up to its
``allowed-failures``; a point that kills every worker it touches is recorded as failed).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from abroad.io.errors import InputError, Problem
from abroad.io.scenario import SCENARIO_FILE, list_variants, scenario_folder
from abroad.io.yamlio import read_yaml
from abroad.sweep.grid import Grid, Point, load_grid
from abroad.sweep.points import PointFailure, PointJob, PointResult, point_scenario, run_point
from abroad.sweep.results import SweepFolder, fingerprint

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True)
class SweepProgress:
    """What a progress callback receives after each point."""

    done: int
    failed: int
    remaining: int
    last: str


@dataclass(frozen=True)
class SweepOutcome:
    """What ``run_sweep`` did."""

    out_dir: Path
    results_path: Path
    points: int
    done: int
    failed: int
    skipped: int
    """Points already done when the sweep started (resumed)."""
    seconds: float
    failures: list[dict[str, Any]]


def read_scenario_document(scenario_path: Path) -> dict[str, Any]:
    """The scenario's YAML document as read (parameters are set in copies of it)."""
    raw = read_yaml(scenario_folder(scenario_path) / SCENARIO_FILE, SCENARIO_FILE)
    if not isinstance(raw, dict):
        raise InputError(
            [Problem(SCENARIO_FILE, "expected a mapping of sections at the top level")]
        )
    return raw


def load_sweep(scenario_path: Path, grid_path: Path) -> tuple[Grid, dict[str, Any]]:
    """Read the grid and the scenario; check every swept value against the scenario.

    Each value of each parameter is set alone on the base scenario (and each variant) and
    validated; a problem is reported at the grid file and the value's path, with the
    scenario's own message. Raises InputError with every problem.
    """
    folder = scenario_folder(scenario_path)
    if not (folder / SCENARIO_FILE).is_file():
        raise InputError([Problem(str(scenario_path), f"no {SCENARIO_FILE} in this folder")])
    variants = tuple(v.name for v in list_variants(folder))
    grid = load_grid(grid_path, variants)
    document = read_scenario_document(folder)
    problems: list[Problem] = []
    seen: set[str] = set()
    for variant in grid.variants:
        for param in grid.parameters:
            for i, value in enumerate(param.values):
                probe = Point(0, variant, ((param.path, value),))
                try:
                    point_scenario(folder, document, probe)
                except (InputError, ValueError) as exc:
                    where = f"parameters.{param.path}[{i}]"
                    tag = f" (variant {variant})" if variant is not None else ""
                    found = exc.problems if isinstance(exc, InputError) else [str(exc)]
                    for p in found:
                        text = f"value {value!r}{tag}: {p}"
                        if text not in seen:
                            seen.add(text)
                            problems.append(Problem(grid_path.name, text, path=where))
    if grid.parameters == () and grid.variants:
        for variant in grid.variants:
            try:
                point_scenario(folder, document, Point(0, variant, ()))
            except InputError as exc:
                problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return grid, document


def sweep_meta(scenario_path: Path, grid: Grid, points: int) -> dict[str, Any]:
    return {
        "scenario": str(scenario_path),
        "scenario_fingerprint": fingerprint(scenario_folder(scenario_path)),
        "grid": grid.as_dict(),
        "points": points,
    }


def check_resumable(folder: SweepFolder, meta: Mapping[str, Any]) -> None:
    """Refuse to mix two different sweeps in one output folder."""
    stored = folder.stored_meta()
    if stored is None:
        return
    for key, label in (("grid", "the grid"), ("scenario_fingerprint", "the scenario")):
        if stored.get(key) != meta[key]:
            raise InputError(
                [
                    Problem(
                        str(folder.root),
                        f"this folder holds a sweep with a different {label.split()[-1]}: "
                        f"resume it with the same scenario and grid, or use another --out",
                        path=key,
                    )
                ]
            )


def run_sweep(
    scenario_path: Path,
    grid: Grid,
    document: Mapping[str, Any],
    out_dir: Path,
    *,
    client: Client | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
) -> SweepOutcome:
    """Run every point not yet done; in this process when ``client`` is None."""
    t0 = time.perf_counter()
    folder = SweepFolder(out_dir)
    points = grid.points()
    meta = sweep_meta(scenario_path, grid, len(points))
    check_resumable(folder, meta)
    folder.prepare(meta)
    done_before = folder.done_ids()
    todo = [p for p in points if p.point_id not in done_before]
    skipped = len(points) - len(todo)
    counts = {"done": 0, "failed": 0}

    def record(outcome: PointResult | PointFailure) -> None:
        if isinstance(outcome, PointResult):
            folder.write_point(grid, outcome)
            counts["done"] += 1
        else:
            folder.write_failure(outcome)
            counts["failed"] += 1
        if progress is not None:
            finished = counts["done"] + counts["failed"]
            progress(
                SweepProgress(
                    done=skipped + counts["done"],
                    failed=counts["failed"],
                    remaining=len(todo) - finished,
                    last=outcome.point.label(),
                )
            )

    jobs = [PointJob.of(scenario_path, grid, p) for p in todo]
    if client is None:
        for job in jobs:
            record(run_point(job, document))
    else:
        _run_on_cluster(client, jobs, document, record, meta["scenario_fingerprint"])
    results = folder.consolidate(grid, points)
    failures = folder.failures()
    final = {**meta, "done": len(folder.done_ids() & {p.point_id for p in points})}
    final["failed"] = len(failures)
    final["failures"] = [{k: f[k] for k in ("point", "error_type", "message")} for f in failures]
    folder.write_meta(final)
    return SweepOutcome(
        out_dir=out_dir,
        results_path=results,
        points=len(points),
        done=skipped + counts["done"],
        failed=counts["failed"],
        skipped=skipped,
        seconds=time.perf_counter() - t0,
        failures=failures,
    )


def task_key(job: PointJob, scenario_fingerprint: str) -> str:
    """The Dask key of a point's task: the point and everything its rows depend on (seed,
    run, replications, scenario), so that two sweeps on one cluster never share a result
    unless it is the same."""
    text = f"{scenario_fingerprint}|{job.run}|{job.replications}|{job.sweep_seed}|"
    text += f"{job.plan_time_limit_seconds}|{job.point.key}"
    return f"point-{job.point.point_id}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _run_on_cluster(
    client: Client,
    jobs: list[PointJob],
    document: Mapping[str, Any],
    record: Callable[[PointResult | PointFailure], None],
    scenario_fingerprint: str,
) -> None:
    from distributed import as_completed

    if not jobs:
        return
    remote_doc = client.scatter(dict(document), broadcast=True)
    futures = {
        client.submit(run_point, job, remote_doc, key=task_key(job, scenario_fingerprint)): job
        for job in jobs
    }
    for fut in as_completed(list(futures)):
        job = futures[fut]
        try:
            outcome = fut.result()
        except Exception as exc:  # the task itself failed: its workers died (KilledWorker)
            outcome = PointFailure(job.point, type(exc).__name__, str(exc), "")
        fut.release()
        record(outcome)
