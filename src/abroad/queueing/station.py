"""Simulate a station: replications, seeds, and summaries with confidence intervals."""

from __future__ import annotations

import itertools
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
from abroad.queueing.sampling import dist_code, fill_standard, replication_rng
from abroad.queueing.spec import DaySpec, StationSpec, _phi

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PreparedStation:
    """A station spec turned into the arrays the kernel reads (built once, reused)."""

    spec: StationSpec
    station: K.StationArrays
    curve: K.ArrivalCurve
    durations: K.Durations
    """Row 0 patience, row 1 + s stage s: how to draw and transform."""
    n_exp: int
    """Exponential gaps drawn per replication (enough with near certainty)."""


def prepare(spec: StationSpec, already_in_line: int = 0) -> PreparedStation:
    """Precompute the kernel's arrays for a spec. ``already_in_line``: the first this many of
    the first day's early voters were in line before the day began (a nowcast's present
    line): the cap and balking do not send them away (``kernel.StationArrays``)."""
    pol = spec.close_policy
    bp_t: list[float] = []
    bp_cum: list[float] = []
    bp_off = [0]
    cutoff: list[float] = []
    grid_n: list[int] = []
    for d in spec.days:
        t, c = cumulative_intensity(d)
        bp_t.extend(t)
        bp_cum.extend(c)
        bp_off.append(len(bp_t))
        if pol.kind is ClosePolicyKind.SERVE_ALL:
            cut = math.inf
            end = d.close_minutes
        elif pol.kind is ClosePolicyKind.HARD_CLOSE:
            cut = end = d.close_minutes
        else:
            cut = end = d.close_minutes + pol.extend_minutes
        cutoff.append(cut)
        grid_n.append(math.floor((end - d.open_minutes) / spec.queue_step_minutes + 1e-9) + 1)
    sched_t: list[float] = []
    sched_c: list[int] = []
    sched_off = [0]
    for st in spec.stages:
        for minute, count in st.steps:
            sched_t.append(minute)
            sched_c.append(count)
        sched_off.append(len(sched_t))
    codes = [dist_code(spec.patience), *(dist_code(st.service) for st in spec.stages)]
    day_open = np.array([d.open_minutes for d in spec.days], dtype=np.float64)
    return PreparedStation(
        spec=spec,
        station=K.StationArrays(
            day_open=day_open,
            day_close=np.array([d.close_minutes for d in spec.days], dtype=np.float64),
            day_cutoff=np.array(cutoff, dtype=np.float64),
            day_grid_n=np.array(grid_n, dtype=np.int64),
            sched_off=np.array(sched_off, dtype=np.int64),
            sched_t=np.array(sched_t, dtype=np.float64),
            sched_c=np.array(sched_c, dtype=np.int64),
            max_servers=np.array([st.max_servers for st in spec.stages], dtype=np.int64),
            balk=-1 if spec.balk_queue_length is None else spec.balk_queue_length,
            cap=-1 if spec.max_queue_outside is None else spec.max_queue_outside,
            ballots=-1 if spec.ballots is None else spec.ballots,
            line_stages=spec.line_stages,
            grid_step=float(spec.queue_step_minutes),
            already_in_line=already_in_line,
        ),
        curve=K.ArrivalCurve(
            bp_t=np.array(bp_t, dtype=np.float64),
            bp_cum=np.array(bp_cum, dtype=np.float64),
            bp_off=np.array(bp_off, dtype=np.int64),
            early=np.array([d.early_voters for d in spec.days], dtype=np.int64),
            day_open=day_open,
        ),
        durations=K.Durations(
            kinds=np.array([c[0] for c in codes], dtype=np.int64),
            p1=np.array([c[1] for c in codes], dtype=np.float64),
            p2=np.array([c[2] for c in codes], dtype=np.float64),
            table=np.array([v for c in codes for v in c[3]], dtype=np.float64),
            table_off=np.cumsum([0, *(len(c[3]) for c in codes)]).astype(np.int64),
        ),
        n_exp=_n_exp(spec),
    )


def _n_exp(spec: StationSpec) -> int:
    lam = sum(d.expected_arrivals - d.early_voters for d in spec.days)
    return int(lam + 7.0 * math.sqrt(lam) + 16 * len(spec.days) + 16)


def cumulative_intensity(day: DaySpec) -> tuple[list[float], list[float]]:
    """Breakpoints and cumulative expected arrivals of a day (profile + surges, no early line).

    The profile is piecewise constant by construction; a surge (normal density) is cut into
    pieces of 1/8 of its standard deviation within 5 of them, each with its exact mass, so the
    intensity is piecewise constant on a fine grid.
    """
    o, c = day.open_minutes, day.close_minutes
    pts = {o, c}
    for j in range(len(day.arrivals_per_hour) + 1):
        x = o + j * day.bin_minutes
        if o < x < c:
            pts.add(x)
    for sg in day.surges:
        for k in range(-40, 41):
            x = sg.at_minute + k * sg.width_minutes / 8.0
            if o < x < c:
                pts.add(x)
    t = sorted(pts)
    cum = [0.0]
    for x0, x1 in itertools.pairwise(t):
        mid = (x0 + x1) / 2.0
        mass = day.rate_per_hour_at(mid) * (x1 - x0) / 60.0
        for sg in day.surges:
            z0 = (x0 - sg.at_minute) / sg.width_minutes
            z1 = (x1 - sg.at_minute) / sg.width_minutes
            mass += sg.extra_voters * (_phi(z1) - _phi(z0))
        cum.append(cum[-1] + mass)
    return t, cum


@dataclass(frozen=True)
class RandomInputs:
    """Every random input of one replication (all days), as drawn from its stream.

    Voters of day d are ``arrival_minutes[arr_off[d]:arr_off[d+1]]``, sorted; their patience
    and service times (``service_minutes[s]`` for stage s) sit at the same positions.
    """

    arrival_minutes: FloatArray
    arr_off: IntArray
    patience_minutes: FloatArray
    service_minutes: FloatArray


def draw_inputs(
    prep: PreparedStation, rng: np.random.Generator, intensity_factor: float = 1.0
) -> RandomInputs:
    """Draw one replication's inputs. Nothing here depends on server counts or policies,
    so two specs differing only in those see the same voters (common random numbers).
    ``intensity_factor`` multiplies the arrival intensity (profile and surges, not the early
    line): the nowcast draws it per replication from its posterior."""
    spec = prep.spec
    curve = prep.curve
    if intensity_factor != 1.0:
        curve = curve._replace(bp_cum=curve.bp_cum * intensity_factor)
    e = rng.standard_exponential(prep.n_exp)
    while True:
        arrivals, arr_off, used = K.build_arrivals(curve, e)
        if used >= 0:
            break
        e = np.concatenate([e, rng.standard_exponential(prep.n_exp)])  # rare
    n = arrivals.shape[0]
    m = np.empty((len(spec.stages) + 1, n))
    for r, kind in enumerate(prep.durations.kinds):
        fill_standard(rng, int(kind), m[r])
    K.transform_durations(m, prep.durations)
    return RandomInputs(arrivals, arr_off, m[0], m[1:])


def run_prepared(
    prep: PreparedStation, inp: RandomInputs, target_wait: float, trace: bool
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int8], FloatArray, FloatArray]:
    """One replication of a prepared station on given inputs: (statistics, line on the grid,
    each voter's outcome code, stage start minutes, waits); the traces only when ``trace``."""
    result: tuple[FloatArray, FloatArray, npt.NDArray[np.int8], FloatArray, FloatArray] = (
        K.run_replication(
            prep.station,
            K.Voters(inp.arr_off, inp.arrival_minutes, inp.patience_minutes, inp.service_minutes),
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


def simulate_replication(
    spec: StationSpec, seed: int = 0, replication: int = 0
) -> ReplicationTrace:
    """Run replication ``replication`` of ``seed`` and return every voter's fate."""
    prep = prepare(spec)
    inp = draw_inputs(prep, replication_rng(seed, replication))
    return run_inputs(prep, inp)


def run_inputs(
    prep: PreparedStation, inp: RandomInputs, target_wait: float = 30.0
) -> ReplicationTrace:
    """Run the kernel on given random inputs (for reference-model comparisons)."""
    stats, _, outcome, start, wait = run_prepared(prep, inp, target_wait, True)
    return ReplicationTrace(inp, outcome, start, wait, stats)


@dataclass(frozen=True)
class LineAt:
    """The line of a replication at one minute, voter by voter, as staff count it: waiting
    in a queue of a line stage (not being served at one, not yet at the line's last stage,
    not gone home), split into those waiting for the first stage (outside) and those past it
    (inside, e.g. screened at the door and waiting for a desk); and who has been processed
    (started the line's last stage) by then."""

    outside: npt.NDArray[np.bool_]
    inside: npt.NDArray[np.bool_]
    processed: npt.NDArray[np.bool_]

    @property
    def waiting(self) -> npt.NDArray[np.bool_]:
        return self.outside | self.inside


def line_at(
    trace: ReplicationTrace, minute: float, line_stages: int, voters: slice = slice(None)
) -> LineAt:
    """``LineAt`` of ``voters`` (default all; a day's slice of ``arr_off``) at ``minute``."""
    inp = trace.inputs
    arr = inp.arrival_minutes[voters]
    out = trace.outcome[voters]
    start = np.nan_to_num(trace.start_minutes[:, voters], nan=np.inf)
    service = inp.service_minutes[:, voters]
    ls = line_stages - 1
    # when each stopped waiting in the line: started the last line stage, gave up, was
    # turned away at closing (never before), or on arrival (balked, capped, no ballots)
    leave = np.where(
        out == K.RENEGED,
        arr + inp.patience_minutes[voters],
        np.where(out == K.TURNED_AWAY_CLOSE, np.inf, arr),
    )
    reached = start[ls] < np.inf
    leave = np.where(reached, start[ls], leave)
    waiting = (arr <= minute) & (leave > minute)
    for st in range(ls):  # being served at an earlier line stage (screening) is not waiting
        waiting &= ~((start[st] <= minute) & (minute < start[st] + service[st]))
    past_first = start[0] <= minute if ls > 0 else np.zeros(arr.shape, dtype=np.bool_)
    return LineAt(waiting & ~past_first, waiting & past_first, reached & (start[ls] <= minute))


@dataclass(frozen=True)
class RawRuns:
    """Per-replication statistics: ``stats[r, d, col]`` (d = n_days is the whole run) and the
    line samples ``line[r, g]`` (days concatenated)."""

    stats: FloatArray
    line: FloatArray


def run_replications(
    spec: StationSpec | PreparedStation,
    replications: int,
    seed: int = 0,
    target_wait_minutes: float = 30.0,
    first_replication: int = 0,
    on_replication: Callable[[int], None] | None = None,
) -> RawRuns:
    """Run replications ``first_replication ...`` and keep their statistics."""
    prep = spec if isinstance(spec, PreparedStation) else prepare(spec)
    n_days = len(prep.spec.days)
    n_cols = K.N_FIXED_COLS + len(prep.spec.stages)
    stats = np.empty((replications, n_days + 1, n_cols))
    line = np.empty((replications, int(prep.station.day_grid_n.sum())))
    for r in range(replications):
        inp = draw_inputs(prep, replication_rng(seed, first_replication + r))
        st, ln, _, _, _ = run_prepared(prep, inp, target_wait_minutes, False)
        stats[r] = st
        line[r] = ln
        if on_replication is not None:
            on_replication(r)
    return RawRuns(stats, line)


def _period(
    prep: PreparedStation, raw: RawRuns, d: int | None, line_points: tuple[LinePoint, ...]
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
        utilisation={st.name: e(K.N_FIXED_COLS + s) for s, st in enumerate(prep.spec.stages)},
        last_leave_minute=e(K.COL_LAST_LEAVE),
    )


def summarise(
    prep: PreparedStation, raw: RawRuns, seed: int, target_wait_minutes: float
) -> StationOutcome:
    """Turn per-replication statistics into estimates."""
    spec = prep.spec
    days = []
    g0 = 0
    for d, day in enumerate(spec.days):
        n_g = int(prep.station.day_grid_n[d])
        block = raw.line[:, g0 : g0 + n_g]
        g0 += n_g
        means = block.mean(axis=0)
        p95s = np.percentile(block, 95, axis=0)
        points = tuple(
            LinePoint(
                minute=day.open_minutes + g * spec.queue_step_minutes,
                mean=float(means[g]),
                p95=float(p95s[g]),
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


def _simulate_one(args: tuple[StationSpec, int, int, float]) -> StationOutcome:
    spec, replications, seed, target = args
    return simulate_station(spec, replications, seed, target)


def station_seed(seed: int, index: int) -> int:
    """The seed of station ``index`` in a network run under ``seed``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0])


def simulate_many(
    specs: Sequence[StationSpec],
    replications: int = 40,
    seed: int = 0,
    target_wait_minutes: float = 30.0,
    workers: int = 1,
) -> list[StationOutcome]:
    """Simulate several stations (a network day). Station i runs under
    ``station_seed(seed, i)``, so each has its own streams and its results do not depend on
    the other stations or on ``workers`` (processes; 1 = in this process)."""
    jobs = [
        (spec, replications, station_seed(seed, i), target_wait_minutes)
        for i, spec in enumerate(specs)
    ]
    if workers <= 1 or len(jobs) < 2:
        return [_simulate_one(job) for job in jobs]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_simulate_one, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
