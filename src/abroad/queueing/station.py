"""Simulate a station: replications, seeds, and summaries with confidence intervals."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from abroad.model import ClosePolicyKind
from abroad.queueing import kernel as K
from abroad.queueing.outcome import (
    Estimate,
    LinePoint,
    PeriodOutcome,
    StationOutcome,
    WaitSummary,
    estimate,
)
from abroad.queueing.sampling import draw, replication_rng
from abroad.queueing.spec import StationSpec

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Prepared:
    """A station spec turned into the arrays the kernel reads (built once, reused)."""

    spec: StationSpec
    day_open: FloatArray
    day_close: FloatArray
    day_cutoff: FloatArray
    day_grid_n: IntArray
    lam: FloatArray  # expected profile arrivals per bin, all days
    lam_off: IntArray  # bins of day d: lam[lam_off[d]:lam_off[d+1]]
    surge_mean: FloatArray
    surge_at: FloatArray
    surge_sd: FloatArray
    surge_off: IntArray
    sched_off: IntArray
    sched_t: FloatArray
    sched_c: IntArray
    max_servers: IntArray
    balk: int
    cap: int
    ballots: int
    grid_step: float


def prepare(spec: StationSpec) -> _Prepared:
    """Precompute the kernel's arrays for a spec."""
    pol = spec.close_policy
    lam: list[float] = []
    lam_off = [0]
    s_mean: list[float] = []
    s_at: list[float] = []
    s_sd: list[float] = []
    s_off = [0]
    cutoff: list[float] = []
    grid_n: list[int] = []
    for d in spec.days:
        for j, rate in enumerate(d.arrivals_per_hour):
            start = d.open_minutes + j * d.bin_minutes
            width = min(d.bin_minutes, d.close_minutes - start)
            if width <= 0:
                break
            lam.append(rate * width / 60.0)
        lam_off.append(len(lam))
        for s in d.surges:
            s_mean.append(s.extra_voters)
            s_at.append(s.at_minute)
            s_sd.append(s.width_minutes)
        s_off.append(len(s_mean))
        if pol.kind is ClosePolicyKind.SERVE_ALL:
            cut = math.inf
            end = d.close_minutes
        elif pol.kind is ClosePolicyKind.HARD_CLOSE:
            cut = end = d.close_minutes
        else:
            cut = end = d.close_minutes + pol.extend_minutes
        cutoff.append(cut)
        grid_n.append(int(math.floor((end - d.open_minutes) / spec.queue_step_minutes + 1e-9)) + 1)
    sched_t: list[float] = []
    sched_c: list[int] = []
    sched_off = [0]
    for st in spec.stages:
        for m, c in st.steps:
            sched_t.append(m)
            sched_c.append(c)
        sched_off.append(len(sched_t))
    return _Prepared(
        spec=spec,
        day_open=np.array([d.open_minutes for d in spec.days], dtype=np.float64),
        day_close=np.array([d.close_minutes for d in spec.days], dtype=np.float64),
        day_cutoff=np.array(cutoff, dtype=np.float64),
        day_grid_n=np.array(grid_n, dtype=np.int64),
        lam=np.array(lam, dtype=np.float64),
        lam_off=np.array(lam_off, dtype=np.int64),
        surge_mean=np.array(s_mean, dtype=np.float64),
        surge_at=np.array(s_at, dtype=np.float64),
        surge_sd=np.array(s_sd, dtype=np.float64),
        surge_off=np.array(s_off, dtype=np.int64),
        sched_off=np.array(sched_off, dtype=np.int64),
        sched_t=np.array(sched_t, dtype=np.float64),
        sched_c=np.array(sched_c, dtype=np.int64),
        max_servers=np.array([st.max_servers for st in spec.stages], dtype=np.int64),
        balk=-1 if spec.balk_queue_length is None else spec.balk_queue_length,
        cap=-1 if spec.max_queue_outside is None else spec.max_queue_outside,
        ballots=-1 if spec.ballots is None else spec.ballots,
        grid_step=spec.queue_step_minutes,
    )


@dataclass(frozen=True)
class RandomInputs:
    """Every random input of one replication (all days), as drawn from its stream.

    Voters of day d are ``arrival_minutes[arr_off[d]:arr_off[d+1]]``; their patience and
    service times start at ``raw_off[d]`` (``service_minutes[s]`` for stage s).
    """

    arrival_minutes: FloatArray
    arr_off: IntArray
    raw_off: IntArray
    patience_minutes: FloatArray
    service_minutes: FloatArray


def draw_inputs(prep: _Prepared, rng: np.random.Generator) -> RandomInputs:
    """Draw one replication's inputs. Nothing here depends on server counts or policies,
    so two specs differing only in those see the same voters (common random numbers)."""
    spec = prep.spec
    counts = rng.poisson(prep.lam)
    s_counts = rng.poisson(prep.surge_mean) if prep.surge_mean.shape[0] else prep.lam_off[:0]
    u = rng.random(int(counts.sum()))
    z = rng.standard_normal(int(s_counts.sum())) if s_counts.shape[0] else np.empty(0)
    days = []
    raw_off = [0]
    arr_off = [0]
    up = 0
    zp = 0
    for d, day in enumerate(spec.days):
        c = counts[prep.lam_off[d] : prep.lam_off[d + 1]]
        sc = s_counts[prep.surge_off[d] : prep.surge_off[d + 1]]
        nu = int(c.sum())
        nz = int(sc.sum())
        a = K.build_arrivals(
            day.open_minutes,
            day.close_minutes,
            day.bin_minutes,
            c,
            u[up : up + nu],
            prep.surge_at[prep.surge_off[d] : prep.surge_off[d + 1]],
            prep.surge_sd[prep.surge_off[d] : prep.surge_off[d + 1]],
            sc,
            z[zp : zp + nz],
            day.early_voters,
        )
        up += nu
        zp += nz
        days.append(a)
        arr_off.append(arr_off[-1] + a.shape[0])
        raw_off.append(raw_off[-1] + day.early_voters + nu + nz)
    n_raw = raw_off[-1]
    arrivals = days[0] if len(days) == 1 else np.concatenate(days)
    patience = draw(rng, spec.patience, n_raw)
    service = np.empty((len(spec.stages), n_raw))
    for s, st in enumerate(spec.stages):
        service[s] = draw(rng, st.service, n_raw)
    return RandomInputs(
        arrival_minutes=arrivals,
        arr_off=np.array(arr_off, dtype=np.int64),
        raw_off=np.array(raw_off, dtype=np.int64),
        patience_minutes=patience,
        service_minutes=service,
    )


def _run(
    prep: _Prepared, inp: RandomInputs, target_wait: float, trace: bool
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int8], FloatArray, FloatArray]:
    result: tuple[FloatArray, FloatArray, npt.NDArray[np.int8], FloatArray, FloatArray] = (
        K.run_replication(
            prep.day_open,
            prep.day_close,
            prep.day_cutoff,
            prep.day_grid_n,
            inp.arr_off,
            inp.raw_off,
            inp.arrival_minutes,
            inp.patience_minutes,
            inp.service_minutes,
            prep.sched_off,
            prep.sched_t,
            prep.sched_c,
            prep.max_servers,
            prep.balk,
            prep.cap,
            prep.ballots,
            prep.grid_step,
            target_wait,
            trace,
        )
    )
    return result


@dataclass(frozen=True)
class ReplicationTrace:
    """One replication voter by voter (all days concatenated; see ``RandomInputs``).

    ``outcome`` holds the kernel's codes (``abroad.queueing.kernel.SERVED`` ...);
    ``start_minutes[s, i]`` is when voter i started stage s (NaN if never);
    ``wait_minutes[i]`` the total queueing time of a served voter (NaN otherwise).
    """

    inputs: RandomInputs
    outcome: npt.NDArray[np.int8]
    start_minutes: FloatArray
    wait_minutes: FloatArray
    stats: FloatArray


def simulate_replication(spec: StationSpec, seed: int = 0, replication: int = 0) -> ReplicationTrace:
    """Run replication ``replication`` of ``seed`` and return every voter's fate."""
    prep = prepare(spec)
    inp = draw_inputs(prep, replication_rng(seed, replication))
    return run_inputs(prep, inp)


def run_inputs(prep: _Prepared, inp: RandomInputs, target_wait: float = 30.0) -> ReplicationTrace:
    """Run the kernel on given random inputs (for reference-model comparisons)."""
    stats, _, outcome, start, wait = _run(prep, inp, target_wait, True)
    return ReplicationTrace(inp, outcome, start, wait, stats)


@dataclass(frozen=True)
class RawRuns:
    """Per-replication statistics: ``stats[r, d, col]`` (d = n_days is the whole run) and the
    line samples ``line[r, g]`` (days concatenated)."""

    stats: FloatArray
    line: FloatArray


def run_replications(
    spec: StationSpec | _Prepared,
    replications: int,
    seed: int = 0,
    target_wait_minutes: float = 30.0,
    first_replication: int = 0,
    on_replication: Callable[[int], None] | None = None,
) -> RawRuns:
    """Run replications ``first_replication ...`` and keep their statistics."""
    prep = spec if isinstance(spec, _Prepared) else prepare(spec)
    n_days = len(prep.spec.days)
    n_cols = K.N_FIXED_COLS + len(prep.spec.stages)
    stats = np.empty((replications, n_days + 1, n_cols))
    line = np.empty((replications, int(prep.day_grid_n.sum())))
    for r in range(replications):
        inp = draw_inputs(prep, replication_rng(seed, first_replication + r))
        st, ln, _, _, _ = _run(prep, inp, target_wait_minutes, False)
        stats[r] = st
        line[r] = ln
        if on_replication is not None:
            on_replication(r)
    return RawRuns(stats, line)


def _period(
    prep: _Prepared, raw: RawRuns, d: int | None, line_points: tuple[LinePoint, ...]
) -> PeriodOutcome:
    row = raw.stats[:, len(prep.spec.days) if d is None else d, :]

    def e(col: int) -> Estimate:
        return estimate(row[:, col])

    arrivals = row[:, K.COL_ARRIVALS]
    with np.errstate(invalid="ignore", divide="ignore"):
        sl = np.where(arrivals > 0, row[:, K.COL_SL_HITS] / np.maximum(arrivals, 1), np.nan)
    return PeriodOutcome(
        day=d,
        arrivals=e(K.COL_ARRIVALS),
        served=e(K.COL_COUNTS + K.SERVED),
        turned_away_at_close=e(K.COL_COUNTS + K.TURNED_AWAY_CLOSE),
        turned_away_no_ballots=e(K.COL_COUNTS + K.TURNED_AWAY_NO_BALLOTS),
        reneged=e(K.COL_COUNTS + K.RENEGED),
        balked=e(K.COL_COUNTS + K.BALKED),
        turned_away_cap=e(K.COL_COUNTS + K.TURNED_AWAY_CAP),
        wait_minutes=WaitSummary(
            mean=e(K.COL_WAIT_MEAN),
            p50=e(K.COL_WAIT_P50),
            p90=e(K.COL_WAIT_P90),
            p95=e(K.COL_WAIT_P95),
            p99=e(K.COL_WAIT_P99),
            max=e(K.COL_WAIT_MAX),
        ),
        service_level=estimate(sl),
        max_line=e(K.COL_MAX_LINE),
        line_over_time=line_points,
        utilisation={
            st.name: e(K.N_FIXED_COLS + s) for s, st in enumerate(prep.spec.stages)
        },
        last_leave_minute=e(K.COL_LAST_LEAVE),
    )


def summarise(
    prep: _Prepared, raw: RawRuns, seed: int, target_wait_minutes: float
) -> StationOutcome:
    """Turn per-replication statistics into estimates."""
    spec = prep.spec
    days = []
    g0 = 0
    for d, day in enumerate(spec.days):
        n_g = int(prep.day_grid_n[d])
        block = raw.line[:, g0 : g0 + n_g]
        g0 += n_g
        points = tuple(
            LinePoint(
                minute=day.open_minutes + g * spec.queue_step_minutes,
                mean=float(block[:, g].mean()),
                p95=float(np.percentile(block[:, g], 95)),
            )
            for g in range(n_g)
        )
        days.append(_period(prep, raw, d, points))
    return StationOutcome(
        name=spec.name,
        replications=raw.stats.shape[0],
        seed=seed,
        target_wait_minutes=target_wait_minutes,
        total=_period(prep, raw, None, ()),
        days=tuple(days),
    )


def simulate_station(
    spec: StationSpec,
    replications: int = 40,
    seed: int = 0,
    target_wait_minutes: float = 30.0,
    on_replication: Callable[[int], None] | None = None,
) -> StationOutcome:
    """Simulate a station ``replications`` times; means and 95 % intervals per day and total.

    Replication k uses the stream ``SeedSequence(seed, spawn_key=(k,))``: the same whether
    run alone or in a batch. ``target_wait_minutes`` sets the service level reported.
    """
    if replications < 1:
        raise ValueError("replications must be at least 1")
    prep = prepare(spec)
    raw = run_replications(prep, replications, seed, target_wait_minutes, 0, on_replication)
    return summarise(prep, raw, seed, target_wait_minutes)


def simulate_many(
    specs: Sequence[StationSpec],
    replications: int = 40,
    seed: int = 0,
    target_wait_minutes: float = 30.0,
) -> list[StationOutcome]:
    """Simulate several stations (a network day). Station i uses seed ``(seed, i)`` mixed
    into one integer, so each station has its own streams and results don't depend on the
    order of the other stations' runs."""
    out = []
    for i, spec in enumerate(specs):
        station_seed = int(np.random.SeedSequence([seed, i]).generate_state(1, np.uint64)[0])
        out.append(simulate_station(spec, replications, station_seed, target_wait_minutes))
    return out
