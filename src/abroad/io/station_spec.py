"""Read a station description (YAML or JSON) into ``abroad.queueing.StationSpec``.

The format is documented in docs/reference/station-spec.md. Every problem is reported with
its YAML path (``days[0].arrivals_per_hour``), all at once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from abroad.io.errors import InputError, Problem, ProblemCollector
from abroad.io.yamlio import parse_yaml_text, read_yaml
from abroad.model import ClosePolicy, Distribution
from abroad.model.clock import parse_clock
from abroad.queueing.spec import DaySpec, StageSpec, StationSpec, SurgeSpec


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _SurgeFile(_File):
    at: str | float
    extra_voters: float = Field(ge=0)
    width_minutes: float = Field(default=30.0, gt=0)


class _DayFile(_File):
    open: str | float
    close: str | float
    arrivals_per_hour: list[float] | float
    bin_minutes: float = Field(default=60.0, gt=0)
    surges: list[_SurgeFile] = []
    early_voters: int = Field(default=0, ge=0)


class _StepFile(_File):
    start: str | float = Field(alias="from")
    servers: int = Field(ge=0)


class _StageFile(_File):
    name: str = Field(min_length=1)
    servers: int | None = Field(default=None, ge=1)
    schedule: list[_StepFile] | None = None
    service: Distribution


class _StationFile(_File):
    name: str = "station"
    days: list[_DayFile] = Field(min_length=1)
    stages: list[_StageFile] = Field(min_length=1)
    patience: Distribution | None = None
    balk_queue_length: int | None = Field(default=None, ge=0)
    max_queue_outside: int | None = Field(default=None, ge=0)
    close_policy: ClosePolicy = ClosePolicy.model_validate("serve_all")
    ballots: int | None = Field(default=None, ge=0)
    queue_step_minutes: float = Field(default=15.0, gt=0)
    line_stages: int = Field(default=1, ge=1)


def _minutes(value: str | float, file: str, path: str, problems: ProblemCollector) -> float:
    """Clock text ("08:00") or a number of minutes after midnight."""
    if isinstance(value, str):
        try:
            t = parse_clock(value)
        except ValueError as exc:
            problems.add(file, str(exc), path=path)
            return math.nan
        assert isinstance(t, dt.time)
        if t == dt.time(23, 59, 59):
            return 24 * 60.0
        return t.hour * 60.0 + t.minute + t.second / 60.0
    if not math.isfinite(value) or value < 0:
        problems.add(file, f"expected a clock time or minutes >= 0 (got {value!r})", path=path)
        return math.nan
    return float(value)


def station_spec_from_data(data: Any, file: str = "SPEC") -> StationSpec:
    """Validate parsed YAML/JSON data into a StationSpec, or raise InputError with every
    problem located by its path."""
    problems = ProblemCollector()
    if not isinstance(data, dict):
        problems.add(file, "expected a mapping with days: and stages: at the top level")
        problems.raise_if_any()
    try:
        raw = _StationFile.model_validate(data)
    except ValidationError as exc:
        problems.add_validation_error(file, exc)
        problems.raise_if_any()
        raise  # unreachable

    days = []
    for i, d in enumerate(raw.days):
        p = f"days[{i}]"
        o = _minutes(d.open, file, f"{p}.open", problems)
        c = _minutes(d.close, file, f"{p}.close", problems)
        if math.isnan(o) or math.isnan(c):
            continue
        if c <= o:
            problems.add(
                file, f"close ({d.close}) must be after open ({d.open})", path=f"{p}.close"
            )
            continue
        n_bins = math.ceil((c - o) / d.bin_minutes - 1e-9)
        if isinstance(d.arrivals_per_hour, list):
            rates = tuple(d.arrivals_per_hour)
            if len(rates) != n_bins:
                problems.add(
                    file,
                    f"expected {n_bins} rates (one per {d.bin_minutes:g} minutes from "
                    f"{d.open} to {d.close}), got {len(rates)}",
                    path=f"{p}.arrivals_per_hour",
                )
                continue
            bin_minutes = d.bin_minutes
        else:
            rates = (d.arrivals_per_hour,)
            bin_minutes = c - o
        bad = [j for j, r in enumerate(rates) if r < 0 or not math.isfinite(r)]
        for j in bad:
            problems.add(
                file,
                f"arrival rate must be a non-negative number (got {rates[j]!r})",
                path=f"{p}.arrivals_per_hour" + (f"[{j}]" if len(rates) > 1 else ""),
            )
        surges = []
        for k, s in enumerate(d.surges):
            at = _minutes(s.at, file, f"{p}.surges[{k}].at", problems)
            if not math.isnan(at):
                surges.append(
                    SurgeSpec(
                        at_minute=at, extra_voters=s.extra_voters, width_minutes=s.width_minutes
                    )
                )
        if bad:
            continue
        days.append(
            DaySpec(
                open_minutes=o,
                close_minutes=c,
                arrivals_per_hour=rates,
                bin_minutes=bin_minutes,
                surges=tuple(surges),
                early_voters=d.early_voters,
            )
        )

    stages = []
    names: set[str] = set()
    for i, st in enumerate(raw.stages):
        p = f"stages[{i}]"
        if st.name in names:
            problems.add(file, f"stage name {st.name!r} is used twice", path=f"{p}.name")
        names.add(st.name)
        if (st.servers is None) == (st.schedule is None):
            problems.add(file, "give either servers: N or schedule: [{from, servers}, ...]", path=p)
            continue
        schedule = None
        if st.schedule is not None:
            steps = []
            for k, step in enumerate(st.schedule):
                m = _minutes(step.start, file, f"{p}.schedule[{k}].from", problems)
                steps.append((m, step.servers))
            if not steps:
                problems.add(file, "a schedule needs at least one step", path=f"{p}.schedule")
                continue
            if any(math.isnan(m) for m, _ in steps):
                continue
            if any(b[0] <= a[0] for a, b in itertools.pairwise(steps)):
                problems.add(
                    file, "schedule times must be strictly increasing", path=f"{p}.schedule"
                )
                continue
            if steps[-1][1] < 1:
                problems.add(
                    file,
                    "the last step needs at least one server (it applies after closing, so "
                    "that everyone inside can finish)",
                    path=f"{p}.schedule[{len(steps) - 1}].servers",
                )
                continue
            schedule = tuple(steps)
        stages.append(
            StageSpec(
                name=st.name,
                servers=st.servers or 0,
                schedule=schedule,
                service=st.service,
            )
        )
    if stages and raw.line_stages > len(stages):
        problems.add(
            file,
            f"line_stages ({raw.line_stages}) exceeds the number of stages ({len(stages)})",
            path="line_stages",
        )
    problems.raise_if_any()
    return StationSpec(
        name=raw.name,
        days=tuple(days),
        stages=tuple(stages),
        patience=raw.patience,
        balk_queue_length=raw.balk_queue_length,
        max_queue_outside=raw.max_queue_outside,
        close_policy=raw.close_policy,
        ballots=raw.ballots,
        queue_step_minutes=raw.queue_step_minutes,
        line_stages=raw.line_stages,
    )


def load_station_spec(path: Path) -> StationSpec:
    """Read a station spec file (YAML or JSON)."""
    label = str(path)
    if path.is_dir():
        raise InputError([Problem(label, "is a folder; expected a YAML or JSON station file")])
    return station_spec_from_data(read_yaml(path, label), label)


def parse_station_spec(text: str, file: str = "SPEC") -> StationSpec:
    """Parse station spec text (YAML or JSON)."""
    return station_spec_from_data(parse_yaml_text(text, file), file)
