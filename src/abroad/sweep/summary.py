"""What a sweep found, point by point: means over replications with 95 % intervals, and the
best point under the grid's criterion. Pure: reads the results table, computes, returns."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from abroad.queueing.outcome import Estimate, estimate
from abroad.sweep.grid import BASE, METRICS, Criterion, Grid, ParamValue

SUMMARY_METRICS = METRICS
"""Metrics summarised per point (those a grid may name as its criterion)."""
LABELS = {
    "votes_cast": "votes cast",
    "not_served": "voters not served (turned away, reneged, balked)",
    "wait_minutes_mean": "mean wait, min",
    "wait_minutes_p95_worst": "worst station's p95 wait, min",
    "service_level": "share served within the wait target",
    "staff": "staff on duty",
}


@dataclass(frozen=True)
class PointSummary:
    """One point: its identity and each metric's mean with a 95 % interval over replications."""

    point_id: str
    index: int
    variant: str
    values: tuple[tuple[str, ParamValue], ...]
    replications: int
    metrics: dict[str, Estimate]
    stations_open: int

    def value(self, path: str) -> ParamValue:
        return dict(self.values)[path]

    def label(self) -> str:
        return ", ".join([self.variant, *(f"{p}={v}" for p, v in self.values)])


@dataclass(frozen=True)
class SweepSummary:
    """Every finished point and the best one."""

    grid: Grid
    points: tuple[PointSummary, ...]
    best: PointSummary | None
    criterion: Criterion
    best_note: str


def summarise_sweep(table: pa.Table, grid: Grid) -> SweepSummary:
    """Per-point estimates from results.parquet's rows (any order)."""
    data = table.to_pydict()
    by_point: dict[str, list[int]] = {}
    for row, pid in enumerate(data["point_id"]):
        by_point.setdefault(pid, []).append(row)
    points = []
    for pid, rows in by_point.items():
        first = rows[0]
        metrics = {
            name: estimate(np.array([data[name][r] for r in rows], dtype=np.float64))
            for name in SUMMARY_METRICS
        }
        points.append(
            PointSummary(
                point_id=pid,
                index=int(data["point_index"][first]),
                variant=str(data["variant"][first]),
                values=tuple((p.path, data[p.column][first]) for p in grid.parameters),
                replications=len(rows),
                metrics=metrics,
                stations_open=int(data["stations_open"][first]),
            )
        )
    points.sort(key=lambda p: p.index)
    best, note = best_point(points, grid.best)
    return SweepSummary(grid, tuple(points), best, grid.best, note)


def best_point(points: list[PointSummary], criterion: Criterion) -> tuple[PointSummary | None, str]:
    """The best point under the criterion, and a sentence saying how it was chosen."""
    if not points:
        return None, "no point finished"
    pool = points
    note = criterion.describe()
    cap = criterion.wait_p95_max_minutes
    if cap is not None:
        within = [p for p in points if p.metrics["wait_minutes_p95_worst"].mean <= cap]
        if within:
            pool = within
        else:
            note += f" (no point met the wait cap of {cap:g} min: chosen among all points)"
    sign = 1.0 if criterion.goal == "max" else -1.0

    def key(p: PointSummary) -> tuple[float, int]:
        v = p.metrics[criterion.metric].mean
        return (sign * v if math.isfinite(v) else -math.inf, -p.index)

    return max(pool, key=key), note


def slice_through(summary: SweepSummary, path: str, variant: str) -> list[PointSummary]:
    """The points of one variant where every parameter but ``path`` is at the best point's
    value, ordered by ``path``'s value: how a metric moves with one parameter, others fixed."""
    anchor = summary.best
    fixed = {} if anchor is None else {k: v for k, v in anchor.values if k != path}
    out = [
        p
        for p in summary.points
        if p.variant == variant and all(p.value(k) == v for k, v in fixed.items())
    ]
    return sorted(out, key=lambda p: _order(p.value(path)))


def _order(value: ParamValue) -> tuple[int, float, str]:
    if isinstance(value, bool):
        return (0, float(value), "")
    if isinstance(value, int | float):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def variants_of(summary: SweepSummary) -> list[str]:
    return [v or BASE for v in summary.grid.variants]
