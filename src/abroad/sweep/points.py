"""One point of a sweep: its scenario, its network (status quo or planned), its replications.

``run_point`` is what a worker runs. It never raises for a bad point: an error becomes a
``PointFailure`` (type, message, traceback) so that the sweep goes on; only the death of the
worker process itself escapes (then Dask runs the point again on another worker).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from abroad.io.errors import InputError
from abroad.io.scenario import load_scenario_document
from abroad.model import Scenario
from abroad.sweep.engine import Network, planned_network, status_quo_network
from abroad.sweep.grid import Grid, Point, RunKind, apply_point, point_seed
from abroad.sweep.montecarlo import network_raw, replication_metrics

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PointJob:
    """Everything a worker needs to run one point (small; the scenario document travels once)."""

    scenario_path: str
    point: Point
    run: RunKind
    replications: int
    sweep_seed: int
    plan_time_limit_seconds: float

    @classmethod
    def of(cls, scenario_path: Path, grid: Grid, point: Point) -> PointJob:
        return cls(
            str(scenario_path),
            point,
            grid.run,
            grid.replications,
            grid.seed,
            grid.plan_time_limit_seconds,
        )


@dataclass(frozen=True)
class PointResult:
    """A point's network and its network totals per replication."""

    point: Point
    seed: int
    metrics: dict[str, FloatArray]
    stations_open: int
    desks: int
    booths: int
    staff: float
    planned_votes_cast: float
    plan_gap: float
    seconds: float


@dataclass(frozen=True)
class PointFailure:
    """Why a point produced no rows."""

    point: Point
    error_type: str
    message: str
    traceback: str


def point_scenario(
    scenario_path: str | Path, document: Mapping[str, Any], point: Point
) -> Scenario:
    """The scenario of a point: the parameters set in the document, then validated (with the
    point's variant) by the scenario loader."""
    try:
        patched = apply_point(document, point)
    except KeyError as exc:
        raise ValueError(f"cannot set the parameter: {exc.args[0]}") from None
    return load_scenario_document(scenario_path, patched, point.variant)


def point_network(scenario: Scenario, job: PointJob, seed: int) -> Network:
    if job.run == "plan":
        return planned_network(scenario, seed=seed, time_limit_seconds=job.plan_time_limit_seconds)
    return status_quo_network(scenario)


def run_point(job: PointJob, document: Mapping[str, Any]) -> PointResult | PointFailure:
    """Run one point: its scenario, network and replications (in this process)."""
    t0 = time.perf_counter()
    try:
        seed = point_seed(job.sweep_seed, job.point)
        scenario = point_scenario(job.scenario_path, document, job.point)
        network = point_network(scenario, job, seed)
        metrics = replication_metrics(network_raw(network, seed, job.replications))
    except InputError as exc:
        return PointFailure(job.point, "InputError", str(exc), "")
    except Exception as exc:
        return PointFailure(job.point, type(exc).__name__, str(exc), traceback.format_exc())
    plan = network.plan
    return PointResult(
        point=job.point,
        seed=seed,
        metrics=metrics,
        stations_open=len(network.site_ids),
        desks=sum(r.desks for r in network.resources),
        booths=sum(r.booths for r in network.resources),
        staff=network.total_staff,
        planned_votes_cast=float("nan") if plan is None else plan.expected_votes_cast,
        plan_gap=float("nan") if plan is None else plan.gap,
        seconds=time.perf_counter() - t0,
    )
