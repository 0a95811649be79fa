"""The output folder of a sweep: one Parquet part per finished point, failures as JSON, and
``results.parquet`` (every part, in point and replication order).

Layout of ``--out DIR``::

    sweep.json            the grid, the scenario's fingerprint, counts, failures
    points/ID.parquet     rows of one finished point (written atomically)
    failures/ID.json      why a point failed (retried when the sweep is resumed)
    results.parquet       all rows: one per point and replication

A sweep resumes from the parts: a point whose part exists is done.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from abroad.io.outputs import json_text
from abroad.sweep.grid import BASE, Grid, ParamValue, Point
from abroad.sweep.montecarlo import METRIC_COLUMNS
from abroad.sweep.points import PointFailure, PointResult

RESULTS = "results.parquet"
META = "sweep.json"
POINTS = "points"
FAILURES = "failures"

POINT_COLUMNS = (
    ("stations_open", pa.int64()),
    ("desks", pa.int64()),
    ("booths", pa.int64()),
    ("staff", pa.float64()),
    ("planned_votes_cast", pa.float64()),
    ("plan_gap", pa.float64()),
    ("point_seconds", pa.float64()),
)


def parameter_type(values: Sequence[ParamValue]) -> pa.DataType:
    """The column type of a swept parameter: bool, int64, float64 or string."""
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


def schema(grid: Grid) -> pa.Schema:
    """Columns of results.parquet for a grid."""
    fields = [
        pa.field("point_id", pa.string()),
        pa.field("point_index", pa.int64()),
        pa.field("variant", pa.string()),
        *(pa.field(p.column, parameter_type(p.values)) for p in grid.parameters),
        pa.field("replication", pa.int64()),
        pa.field("seed", pa.uint64()),
        *(pa.field(name, pa.float64()) for name in METRIC_COLUMNS),
        *(pa.field(name, t) for name, t in POINT_COLUMNS),
    ]
    return pa.schema(fields)


def point_table(grid: Grid, result: PointResult) -> pa.Table:
    """The rows of one finished point."""
    n = len(result.metrics["votes_cast"])
    sch = schema(grid)
    values = dict(result.point.values)
    columns: dict[str, Any] = {
        "point_id": [result.point.point_id] * n,
        "point_index": [result.point.index] * n,
        "variant": [result.point.variant or BASE] * n,
        **{
            p.column: [_cast(values[p.path], sch.field(p.column).type)] * n for p in grid.parameters
        },
        "replication": list(range(n)),
        "seed": [result.seed] * n,
        **{name: result.metrics[name] for name in METRIC_COLUMNS},
        "stations_open": [result.stations_open] * n,
        "desks": [result.desks] * n,
        "booths": [result.booths] * n,
        "staff": [result.staff] * n,
        "planned_votes_cast": [_or_null(result.planned_votes_cast)] * n,
        "plan_gap": [_or_null(result.plan_gap)] * n,
        "point_seconds": [result.seconds] * n,
    }
    return pa.table(columns, schema=sch)


def _or_null(value: float) -> float | None:
    """Figures that do not apply (no plan in a simulate sweep) are stored as null."""
    return None if math.isnan(value) else value


def _cast(value: ParamValue, kind: pa.DataType) -> ParamValue:
    if kind == pa.float64():
        return float(value)
    if kind == pa.string():
        return str(value)
    return value


def _atomic_write(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


@dataclass(frozen=True)
class SweepFolder:
    """An output folder of a sweep."""

    root: Path

    @property
    def points_dir(self) -> Path:
        return self.root / POINTS

    @property
    def failures_dir(self) -> Path:
        return self.root / FAILURES

    def prepare(self, meta: dict[str, Any]) -> None:
        """Create the folder (or check that it holds the same sweep, to resume it)."""
        self.points_dir.mkdir(parents=True, exist_ok=True)
        self.failures_dir.mkdir(parents=True, exist_ok=True)
        self.write_meta(meta)

    def stored_meta(self) -> dict[str, Any] | None:
        path = self.root / META
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None

    def write_meta(self, meta: dict[str, Any]) -> None:
        _atomic_write(self.root / META, lambda p: p.write_text(json_text(meta), encoding="utf-8"))

    def done_ids(self) -> set[str]:
        """Points whose rows are stored."""
        if not self.points_dir.is_dir():
            return set()
        return {p.stem for p in self.points_dir.glob("*.parquet")}

    def write_point(self, grid: Grid, result: PointResult) -> None:
        table = point_table(grid, result)
        _atomic_write(
            self.points_dir / f"{result.point.point_id}.parquet",
            lambda p: pq.write_table(table, p),
        )
        (self.failures_dir / f"{result.point.point_id}.json").unlink(missing_ok=True)

    def write_failure(self, failure: PointFailure) -> None:
        payload = {
            "point_id": failure.point.point_id,
            "point_index": failure.point.index,
            "point": failure.point.label(),
            "variant": failure.point.variant or BASE,
            "values": dict(failure.point.values),
            "error_type": failure.error_type,
            "message": failure.message,
            "traceback": failure.traceback,
        }
        _atomic_write(
            self.failures_dir / f"{failure.point.point_id}.json",
            lambda p: p.write_text(json_text(payload), encoding="utf-8"),
        )

    def failures(self) -> list[dict[str, Any]]:
        if not self.failures_dir.is_dir():
            return []
        out = [json.loads(p.read_text(encoding="utf-8")) for p in self.failures_dir.glob("*.json")]
        return sorted(out, key=lambda f: int(f["point_index"]))

    def consolidate(self, grid: Grid, points: Iterable[Point]) -> Path:
        """Write results.parquet from the parts of the grid's points, in point order."""
        tables = []
        for point in sorted(points, key=lambda p: p.index):
            part = self.points_dir / f"{point.point_id}.parquet"
            if part.is_file():
                tables.append(pq.read_table(part, schema=schema(grid)))
        table = pa.concat_tables(tables) if tables else schema(grid).empty_table()
        path = self.root / RESULTS
        _atomic_write(path, lambda p: pq.write_table(table, p))
        return path


def fingerprint(scenario_path: Path) -> str:
    """SHA-256 of the scenario's files (scenario.yaml and the CSV/XLSX tables of its folder),
    to refuse resuming a sweep whose scenario changed (a grid kept in the folder does not
    count)."""
    folder = scenario_path if scenario_path.is_dir() else scenario_path.parent
    h = hashlib.sha256()
    tables = (".csv", ".xlsx", ".xlsm")
    files = [p for p in folder.iterdir() if p.is_file()]
    for f in sorted(p for p in files if p.name == "scenario.yaml" or p.suffix.lower() in tables):
        h.update(f.name.encode("utf-8"))
        h.update(f.read_bytes())
    return h.hexdigest()
