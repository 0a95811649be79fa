"""Sizing a station: the fewest servers per stage that meet a wait target, by simulation.

The search runs the compiled kernel with a few replications on common random numbers (every
candidate sees the same voters), so the service level is monotone in the server counts and a
bisection per stage is sound. The Erlang C answer for the peak hour is given beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from abroad.queueing import kernel as K
from abroad.queueing.erlang import erlang_c_servers
from abroad.queueing.spec import StageSpec, StationSpec
from abroad.queueing.station import prepare, run_replications

Schedule = tuple[tuple[float, int], ...]


@dataclass(frozen=True)
class StageSizing:
    """Sizing of one stage."""

    name: str
    servers: int
    """Fewest servers all day (the maximum of ``schedule`` when one is given)."""
    schedule: Schedule | None
    """Per-hour counts ``(from_minute, servers)`` when schedules were asked for."""
    erlang_c_peak_servers: int | None
    """Steady-state M/M/c answer at the peak hour with the whole target on this stage."""
    peak_arrivals_per_hour: float


@dataclass(frozen=True)
class SizingResult:
    """The smallest station found and what it achieves."""

    stages: tuple[StageSizing, ...]
    feasible: bool
    """False when even the maximum servers miss the target (``stages`` then hold the max)."""
    service_level: float
    """Achieved share of arrivals served within the target (pooled over replications)."""
    target_wait_minutes: float
    target_service_level: float
    mean_wait_minutes: float
    evaluations: int
    replications: int

    def servers(self) -> dict[str, int]:
        return {s.name: s.servers for s in self.stages}

    def spec(self, base: StationSpec) -> StationSpec:
        """``base`` with the sized server counts or schedules."""
        return base.with_servers(
            {s.name: (s.schedule if s.schedule is not None else s.servers) for s in self.stages}
        )


class _Evaluator:
    def __init__(self, spec: StationSpec, target: float, replications: int, seed: int) -> None:
        self.spec = spec
        self.target = target
        self.replications = replications
        self.seed = seed
        self.count = 0
        self.cache: dict[tuple[object, ...], tuple[float, float]] = {}

    def __call__(self, config: dict[str, int | Schedule]) -> tuple[float, float]:
        key = tuple(config[s.name] for s in self.spec.stages)
        if key in self.cache:
            return self.cache[key]
        self.count += 1
        raw = run_replications(
            prepare(self.spec.with_servers(dict(config))),
            self.replications,
            self.seed,
            self.target,
        )
        tot = raw.stats[:, len(self.spec.days), :]
        arrivals = float(tot[:, K.COL_ARRIVALS].sum())
        hits = float(tot[:, K.COL_SL_HITS].sum())
        sl = hits / arrivals if arrivals > 0 else 1.0
        mw = float(np.nanmean(tot[:, K.COL_WAIT_MEAN])) if arrivals > 0 else 0.0
        self.cache[key] = (sl, mw)
        return sl, mw


def peak_hour_rate(spec: StationSpec) -> float:
    """Highest expected arrivals in any clock hour from opening (profile and surges)."""
    from abroad.queueing.station import cumulative_intensity

    best = 0.0
    for day in spec.days:
        t, cum = cumulative_intensity(day)
        h = day.open_minutes
        while h < day.close_minutes:
            best = max(best, float(np.interp(h + 60, t, cum) - np.interp(h, t, cum)))
            h += 60
        best = max(best, 0.0)
    return best


def size_station(
    spec: StationSpec,
    target_wait_minutes: float = 30.0,
    service_level: float = 0.95,
    max_servers: dict[str, int] | None = None,
    replications: int = 8,
    seed: int = 0,
    per_hour: bool = False,
) -> SizingResult:
    """Fewest servers per stage such that ``service_level`` of arrivals are served within
    ``target_wait_minutes`` (unserved voters count as misses).

    ``max_servers`` caps each stage by name (default: 4x the spec's count, at least 20).
    With ``per_hour``, each stage then gets an hourly schedule, lowered hour by hour while
    the target still holds. Stages are sized in turn by bisection, repeated until stable.
    """
    if not 0 < service_level <= 1:
        raise ValueError("service_level must be in (0, 1]")
    caps = {
        st.name: (max_servers or {}).get(st.name, max(20, 4 * st.max_servers)) for st in spec.stages
    }
    ev = _Evaluator(spec, target_wait_minutes, replications, seed)
    config: dict[str, int | Schedule] = {name: c for name, c in caps.items()}
    sl, mw = ev(config)
    peak = peak_hour_rate(spec)
    feasible = sl >= service_level
    if feasible:
        for _ in range(3):
            changed = False
            for st in spec.stages:
                cur = config[st.name]
                assert isinstance(cur, int)
                lo, hi = 1, cur  # hi meets the target
                while lo < hi:
                    mid = (lo + hi) // 2
                    if ev({**config, st.name: mid})[0] >= service_level:
                        hi = mid
                    else:
                        lo = mid + 1
                if hi != cur:
                    config[st.name] = hi
                    changed = True
            if not changed:
                break
        if per_hour:
            config = _lower_per_hour(spec, config, ev, service_level)
        sl, mw = ev(config)
    stages = []
    for st in spec.stages:
        value = config[st.name]
        sched = None if isinstance(value, int) else value
        n = value if isinstance(value, int) else max(c for _, c in value)
        stages.append(
            StageSizing(
                name=st.name,
                servers=n,
                schedule=sched,
                erlang_c_peak_servers=erlang_c_servers(
                    peak, st.service.mean, target_wait_minutes, service_level
                ),
                peak_arrivals_per_hour=peak,
            )
        )
    return SizingResult(
        stages=tuple(stages),
        feasible=feasible,
        service_level=sl,
        target_wait_minutes=target_wait_minutes,
        target_service_level=service_level,
        mean_wait_minutes=mw,
        evaluations=ev.count,
        replications=replications,
    )


def _lower_per_hour(
    spec: StationSpec,
    config: dict[str, int | Schedule],
    ev: _Evaluator,
    service_level: float,
) -> dict[str, int | Schedule]:
    first_open = min(d.open_minutes for d in spec.days)
    last_close = max(d.close_minutes for d in spec.days)
    hours = [first_open + 60.0 * h for h in range(math.ceil((last_close - first_open) / 60.0))]
    for st in spec.stages:
        c = config[st.name]
        assert isinstance(c, int)
        counts = [c] * len(hours)

        def sched(cs: list[int]) -> Schedule:
            return tuple((m, n) for m, n in zip(hours, cs, strict=True))

        for h in range(len(hours)):
            while counts[h] > 1:
                trial = list(counts)
                trial[h] -= 1
                if ev({**config, st.name: sched(trial)})[0] >= service_level:
                    counts = trial
                else:
                    break
        config = {**config, st.name: sched(counts)}
    return config


__all__ = ["SizingResult", "StageSizing", "StageSpec", "peak_hour_rate", "size_station"]
