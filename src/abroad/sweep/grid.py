"""The grid of a sweep: which scenario fields vary, over which values, variants and seeds.

Read from GRID.yaml and validated once, here; every problem is reported with the grid file and
the YAML path (``parameters.policies.staff_budget[1]``). See docs/reference/sweep-grid.md.

Each point's random streams derive from the sweep seed and the point's identity alone (its
variant and parameter values, hashed stably): the same point gives the same numbers whether
it runs alone, in another grid, locally or on any number of workers.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from abroad.io.errors import InputError, Problem, ProblemCollector
from abroad.io.yamlio import read_yaml

ParamValue = bool | int | float | str
"""A value a swept scenario field takes (YAML scalars)."""

RunKind = Literal["simulate", "plan"]
METRICS = (
    "votes_cast",
    "not_served",
    "wait_minutes_mean",
    "wait_minutes_p95_worst",
    "service_level",
    "staff",
)
"""Metrics a grid may name as its ``best.metric``."""

GRID_KEYS = {
    "run": "simulate (the status-quo network) or plan (plan, then re-simulate the plan)",
    "parameters": "scenario fields by YAML path: a list of values or {from, to, steps}",
    "variants": "scenario variants; base is the scenario without a variant",
    "replications": "replications per point (each a row of results.parquet)",
    "seed": "seed of the sweep; every point's streams derive from it",
    "plan_time_limit_seconds": "optimiser seconds per point (run: plan)",
    "best": "the criterion for the best point: {metric, goal, wait_p95_max_minutes}",
}
BASE = "base"
_PATH_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*)((?:\[\d+\])*)$")


@dataclass(frozen=True)
class Parameter:
    """One swept scenario field and its values."""

    path: str
    values: tuple[ParamValue, ...]

    @property
    def column(self) -> str:
        """The column of results.parquet holding this parameter."""
        return self.path


@dataclass(frozen=True)
class Criterion:
    """How the report picks the best point: the point whose mean ``metric`` is best (``goal``),
    among points whose mean worst-station p95 wait is at most ``wait_p95_max_minutes``."""

    metric: str = "votes_cast"
    goal: Literal["max", "min"] = "max"
    wait_p95_max_minutes: float | None = None

    def describe(self) -> str:
        verb = "highest" if self.goal == "max" else "lowest"
        text = f"the {verb} mean {self.metric.replace('_', ' ')}"
        if self.wait_p95_max_minutes is not None:
            text += (
                f" among points whose worst station's p95 wait is at most "
                f"{self.wait_p95_max_minutes:g} min"
            )
        return text


@dataclass(frozen=True)
class Grid:
    """A validated sweep grid."""

    run: RunKind
    parameters: tuple[Parameter, ...]
    variants: tuple[str | None, ...]
    """``None`` is the base scenario."""
    replications: int
    seed: int
    plan_time_limit_seconds: float = 10.0
    best: Criterion = Criterion()

    def points(self) -> tuple[Point, ...]:
        """Every point: variants outermost, then the parameters in the grid's order."""
        combos = list(itertools.product(*(p.values for p in self.parameters)))
        out: list[Point] = []
        for variant in self.variants:
            for combo in combos:
                values = tuple((p.path, v) for p, v in zip(self.parameters, combo, strict=True))
                out.append(Point(index=len(out), variant=variant, values=values))
        return tuple(out)

    def as_dict(self) -> dict[str, Any]:
        """The grid as plain data (stored with the results, compared on resume)."""
        return {
            "run": self.run,
            "parameters": {p.path: list(p.values) for p in self.parameters},
            "variants": [v or BASE for v in self.variants],
            "replications": self.replications,
            "seed": self.seed,
            "plan_time_limit_seconds": self.plan_time_limit_seconds,
            "best": {
                "metric": self.best.metric,
                "goal": self.best.goal,
                "wait_p95_max_minutes": self.best.wait_p95_max_minutes,
            },
        }


@dataclass(frozen=True)
class Point:
    """One point of a grid: a variant and one value per swept parameter."""

    index: int
    variant: str | None
    values: tuple[tuple[str, ParamValue], ...]

    @property
    def key(self) -> str:
        """Canonical text of the point's identity (independent of the grid it is in)."""
        return json.dumps(
            {"variant": self.variant or BASE, "values": dict(sorted(self.values))},
            sort_keys=True,
            separators=(",", ":"),
        )

    @property
    def point_id(self) -> str:
        """A short stable name: the first 16 hex digits of the key's SHA-256."""
        return hashlib.sha256(self.key.encode("utf-8")).hexdigest()[:16]

    def label(self) -> str:
        parts = [f"{path}={value}" for path, value in self.values]
        return ", ".join([self.variant or BASE, *parts])


def point_seed(sweep_seed: int, point: Point) -> int:
    """The seed of a point's streams: ``SeedSequence`` over the sweep seed and the SHA-256 of
    the point's identity (as four 32-bit words). Stable across processes and machines."""
    digest = hashlib.sha256(point.key.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    state = np.random.SeedSequence([sweep_seed, *words]).generate_state(1, np.uint64)
    return int(state[0])


# ---------------------------------------------------------------------------------------------
# Reading and validating GRID.yaml


def load_grid(path: str | Path, variants_available: tuple[str, ...] | None = None) -> Grid:
    """Read and validate a grid file; raises InputError listing every problem.

    With ``variants_available`` (the scenario's variant names), unknown variants are errors.
    """
    p = Path(path)
    return parse_grid(read_yaml(p, p.name), p.name, variants_available)


def parse_grid(
    raw: Any, file_label: str, variants_available: tuple[str, ...] | None = None
) -> Grid:
    """Validate a grid document (see ``load_grid``)."""
    col = ProblemCollector()
    f = file_label
    if not isinstance(raw, dict):
        raise InputError([Problem(f, "expected a mapping with run, parameters, replications")])
    for key in raw:
        if key not in GRID_KEYS:
            col.add(f, f"unknown key (known keys: {', '.join(GRID_KEYS)})", path=str(key))
    run = raw.get("run", "simulate")
    if run not in ("simulate", "plan"):
        col.add(f, f"expected simulate or plan (got {run!r})", path="run")
    parameters = _parameters(raw.get("parameters"), f, col)
    variants = _variants(raw.get("variants"), f, col, variants_available)
    replications = _integer(raw.get("replications", 20), f, "replications", col, minimum=1)
    seed = _integer(raw.get("seed", 0), f, "seed", col, minimum=0)
    limit = raw.get("plan_time_limit_seconds", 10.0)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0:
        col.add(f, f"expected a positive number of seconds (got {limit!r})", path=GRID_LIMIT)
        limit = 10.0
    best = _criterion(raw.get("best"), f, col)
    col.raise_if_any()
    return Grid(
        run=run,
        parameters=parameters,
        variants=variants,
        replications=replications,
        seed=seed,
        plan_time_limit_seconds=float(limit),
        best=best,
    )


GRID_LIMIT = "plan_time_limit_seconds"


def _integer(value: Any, f: str, path: str, col: ProblemCollector, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        col.add(f, f"expected a whole number >= {minimum} (got {value!r})", path=path)
        return minimum
    return value


def _is_scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float | str) and not (
        isinstance(value, float) and not math.isfinite(value)
    )


def _parameters(raw: Any, f: str, col: ProblemCollector) -> tuple[Parameter, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        col.add(f, "expected a mapping of YAML path to values", path="parameters")
        return ()
    out = []
    for path, spec in raw.items():
        where = f"parameters.{path}"
        problem = path_problem(str(path))
        if problem is not None:
            col.add(f, problem, path=where)
            continue
        values = _values(spec, f, where, col)
        if values:
            out.append(Parameter(str(path), values))
    return tuple(out)


def _values(spec: Any, f: str, where: str, col: ProblemCollector) -> tuple[ParamValue, ...]:
    if isinstance(spec, list):
        if not spec:
            col.add(f, "expected at least one value", path=where)
        ok = True
        for i, v in enumerate(spec):
            if not _is_scalar(v):
                col.add(
                    f, f"expected a number, text or true/false (got {v!r})", path=f"{where}[{i}]"
                )
                ok = False
        if len(set(map(repr, spec))) != len(spec):
            col.add(f, "values repeat: each point would run twice", path=where)
            ok = False
        return tuple(spec) if ok else ()
    if isinstance(spec, dict):
        for key in spec:
            if key not in ("from", "to", "steps"):
                col.add(f, "unknown key (expected from, to, steps)", path=f"{where}.{key}")
        lo, hi, steps = spec.get("from"), spec.get("to"), spec.get("steps")
        bad = False
        for name, v in (("from", lo), ("to", hi)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                col.add(f, f"expected a number (got {v!r})", path=f"{where}.{name}")
                bad = True
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            col.add(
                f, f"expected a whole number of steps >= 2 (got {steps!r})", path=f"{where}.steps"
            )
            bad = True
        if bad or lo == hi:
            if not bad:
                col.add(f, "from and to are equal: give a list of one value", path=where)
            return ()
        assert isinstance(lo, int | float) and isinstance(hi, int | float)
        assert isinstance(steps, int)
        return range_values(lo, hi, steps)
    col.add(f, "expected a list of values or {from, to, steps}", path=where)
    return ()


def range_values(lo: float, hi: float, steps: int) -> tuple[ParamValue, ...]:
    """``steps`` evenly spaced values from ``lo`` to ``hi``; whole numbers when both ends are
    whole and the spacing is whole, else floats rounded to 10 significant digits."""
    raw = np.linspace(float(lo), float(hi), steps)
    if isinstance(lo, int) and isinstance(hi, int) and (hi - lo) % (steps - 1) == 0:
        return tuple(round(v) for v in raw)
    return tuple(float(f"{v:.10g}") for v in raw)


def path_problem(path: str) -> str | None:
    """Why a YAML path cannot be swept, or None (``policies.staff_budget``,
    ``demand.surges[0].share``)."""
    parts = path.split(".")
    if not path or any(_PATH_PART.match(p) is None for p in parts):
        return "expected a dotted YAML path such as policies.staff_budget or demand.surges[0].share"
    head = _PATH_PART.match(parts[0])
    assert head is not None
    if head.group(1) in ("variants", "format_version", "voters", "sites"):
        return f"{head.group(1)} cannot be swept (sweep the variants with the variants key)"
    return None


def _variants(
    raw: Any, f: str, col: ProblemCollector, available: tuple[str, ...] | None
) -> tuple[str | None, ...]:
    if raw is None:
        return (None,)
    if not isinstance(raw, list) or not raw:
        col.add(f, "expected a list of variant names (base = no variant)", path="variants")
        return (None,)
    out: list[str | None] = []
    for i, v in enumerate(raw):
        if not isinstance(v, str):
            col.add(f, f"expected a variant name (got {v!r})", path=f"variants[{i}]")
            continue
        if v != BASE and available is not None and v not in available:
            known = ", ".join([BASE, *available])
            col.add(f, f"no variant named {v!r} (variants: {known})", path=f"variants[{i}]")
            continue
        name = None if v == BASE else v
        if name in out:
            col.add(f, f"variant {v!r} is listed twice", path=f"variants[{i}]")
            continue
        out.append(name)
    return tuple(out) or (None,)


def _criterion(raw: Any, f: str, col: ProblemCollector) -> Criterion:
    if raw is None:
        return Criterion()
    if not isinstance(raw, dict):
        col.add(f, "expected {metric, goal, wait_p95_max_minutes}", path="best")
        return Criterion()
    for key in raw:
        if key not in ("metric", "goal", "wait_p95_max_minutes"):
            col.add(
                f, "unknown key (expected metric, goal, wait_p95_max_minutes)", path=f"best.{key}"
            )
    metric = raw.get("metric", "votes_cast")
    if metric not in METRICS:
        col.add(f, f"unknown metric {metric!r} (known: {', '.join(METRICS)})", path="best.metric")
        metric = "votes_cast"
    goal = raw.get("goal", "min" if metric in ("not_served", "staff") else "max")
    if goal not in ("max", "min"):
        col.add(f, f"expected max or min (got {goal!r})", path="best.goal")
        goal = "max"
    cap = raw.get("wait_p95_max_minutes")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int | float) or cap < 0):
        col.add(f, f"expected minutes >= 0 (got {cap!r})", path="best.wait_p95_max_minutes")
        cap = None
    return Criterion(metric, goal, None if cap is None else float(cap))


# ---------------------------------------------------------------------------------------------
# Setting parameters in a scenario document


def set_path(doc: dict[str, Any], path: str, value: ParamValue) -> None:
    """Set ``doc[a][b][i]...`` for the path ``a.b[i]``; missing mappings are created.

    Raises KeyError (with a message) when a list index is out of range or a step is not a
    mapping or list.
    """
    steps: list[str | int] = []
    for part in path.split("."):
        m = _PATH_PART.match(part)
        assert m is not None
        steps.append(m.group(1))
        steps.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    node: Any = doc
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        where = _render(steps[: i + 1])
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                raise KeyError(f"{where}: no such list item in the scenario")
            if last:
                node[step] = value
            else:
                node = node[step]
            continue
        if not isinstance(node, dict):
            raise KeyError(f"{_render(steps[:i])}: not a mapping in the scenario")
        if last:
            node[step] = value
        else:
            if node.get(step) is None:
                node[step] = {}
            node = node[step]


def _render(steps: list[str | int]) -> str:
    out = ""
    for s in steps:
        out = out + f"[{s}]" if isinstance(s, int) else (f"{out}.{s}" if out else s)
    return out


def apply_point(doc: Mapping[str, Any], point: Point) -> dict[str, Any]:
    """A copy of a scenario document with the point's parameters set.

    A swept value wins over the variant: if the point's variant patches the same path, the
    patch is set to the swept value too.
    """
    out = copy.deepcopy(dict(doc))
    variants = out.get("variants")
    patch = None
    if point.variant is not None and isinstance(variants, dict):
        spec = variants.get(point.variant)
        if isinstance(spec, dict) and isinstance(spec.get("patch"), dict):
            patch = spec["patch"]
    for path, value in point.values:
        set_path(out, path, value)
        if patch is not None and _has_path(patch, path):
            set_path(patch, path, value)
    return out


def _has_path(doc: dict[str, Any], path: str) -> bool:
    node: Any = doc
    for part in path.split("."):
        m = _PATH_PART.match(part)
        if m is None or not isinstance(node, dict) or m.group(1) not in node:
            return False
        node = node[m.group(1)]
        for idx in re.findall(r"\[(\d+)\]", m.group(2)):
            if not isinstance(node, list) or int(idx) >= len(node):
                return False
            node = node[int(idx)]
    return True
