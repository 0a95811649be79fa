"""Nowcast one station from its present state: what happens between now and closing.

Two steps (docs/background/nowcast.md):

1. **Arrival rate so far, against the plan.** The planned arrival intensity of the day (the
   station spec's profile, surges and early line) is multiplied by an unknown factor
   ``theta``. Arrivals so far are Poisson with mean ``theta * Lambda(now)``, where
   ``Lambda(now)`` is the plan's expected arrivals from opening to now; with a Gamma(a, b)
   prior on ``theta`` the posterior is Gamma(a + A, b + Lambda(now)) (conjugate), where
   ``A = processed today + people in line now`` is the arrivals observed so far.
2. **Conditional simulation from now to closing**, with the station simulator
   (``abroad.queueing``): the remaining day is a station that opens at ``now`` with the
   reported line as its early voters (their patience conditioned on the wait they have already
   had), the resources working now, the ballots left and the station's close policy; each
   replication first draws ``theta`` from the posterior, then the arrivals of the rest of the
   day at ``theta`` times the plan. One extra voter with unlimited patience joins at the back
   of the line at ``now``: their fate is the "wait if you join now" (they are removed from
   every count).

Intervals here are *predictive*: ``ci_low`` / ``ci_high`` are quantiles of the replications
(by default the 5th and 95th percentiles at the Weibull positions, ``predictive_bounds``: a
90 % interval in which today's outcome should fall), not the confidence interval of a mean as
in ``abroad simulate``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.special import gammaincinv, ndtr, ndtri

from abroad.model import (
    ClosePolicy,
    ClosePolicyKind,
    Deterministic,
    Distribution,
    Empirical,
    Exponential,
    LogNormal,
    Uniform,
)
from abroad.queueing import kernel as K
from abroad.queueing.outcome import Estimate
from abroad.queueing.sampling import replication_rng
from abroad.queueing.spec import DaySpec, StageSpec, StationSpec
from abroad.queueing.station import (
    PreparedStation,
    RandomInputs,
    ReplicationTrace,
    cumulative_intensity,
    draw_inputs,
    line_at,
    prepare,
    run_inputs,
    run_prepared,
)

FloatArray = npt.NDArray[np.float64]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StationState(_Frozen):
    """What a station reported, as the nowcast reads it (one voting day of its spec).

    - ``now_minute``: the clock minute of the state (minutes after local midnight).
    - ``day``: which day of the spec (0-based).
    - ``people_in_line``: people waiting in the line now (count; see ``ops.reports`` for
      a length in metres).
    - ``processed_today``: voters who have left the line for service since opening today
      (from the list). ``None``: unknown; the arrival rate is then not updated.
    - ``ballots_left``: ballots left now; ``None``: the spec's stock minus ``processed_today``.
    - ``working``: servers working now by stage name; a stage not named keeps its planned
      count or schedule. A reported count holds from now to closing.
    """

    now_minute: float = Field(ge=0, le=24 * 60)
    day: int = Field(default=0, ge=0)
    people_in_line: int = Field(ge=0)
    processed_today: int | None = Field(default=None, ge=0)
    ballots_left: int | None = Field(default=None, ge=0)
    working: tuple[tuple[str, int], ...] = ()

    @model_validator(mode="after")
    def _check_working(self) -> StationState:
        names = [n for n, _ in self.working]
        if len(set(names)) != len(names):
            raise ValueError("working: a stage is named twice")
        if any(c < 1 for _, c in self.working):
            raise ValueError("working: a stage needs at least one server working")
        return self


class IntensityPrior(_Frozen):
    """Gamma(shape, rate) prior on the factor ``theta`` that multiplies the planned arrival
    intensity. The default (4, 4) has mean 1 and coefficient of variation 0.5: the plan is
    believed on average, but a station drawing half or 1.5 times its forecast is not
    surprising (station-level forecasts miss by far more, docs/background/nowcast.md). After a
    few hundred observed arrivals the data dominate."""

    shape: float = Field(default=4.0, gt=0)
    rate: float = Field(default=4.0, gt=0)


@dataclass(frozen=True)
class IntensityPosterior:
    """The updated factor on the planned arrival intensity: Gamma(shape, rate)."""

    prior: IntensityPrior
    observed_arrivals: int | None
    """Arrivals seen so far today (processed + in line); None if unknown (no update)."""
    planned_arrivals_so_far: float
    """The plan's expected arrivals from opening to now (early line included)."""
    shape: float
    rate: float
    unseen_share: float = 0.0
    """Share of today's arrivals so far (after the early line) expected to have left unseen
    (gave up, balked, turned away by the cap) at the posterior mean: the thinning applied."""

    @property
    def mean(self) -> float:
        return self.shape / self.rate

    @property
    def sd(self) -> float:
        return math.sqrt(self.shape) / self.rate

    def interval(self, level: float = 0.9) -> tuple[float, float]:
        # the Gamma quantiles as scipy.stats.gamma.ppf computes them, without its overhead
        lo, hi = gammaincinv(self.shape, [(1 - level) / 2, (1 + level) / 2]) * (1 / self.rate)
        return float(lo), float(hi)


def update_intensity(
    spec: StationSpec,
    state: StationState,
    prior: IntensityPrior | None = None,
    seed: int = 0,
    unseen_replications: int = 4,
) -> IntensityPosterior:
    """Update the factor on the plan's arrival intensity from the arrivals observed so far,
    ``A = processed_today + people_in_line``.

    The plan's early line is a fixed count in the spec (not Poisson, not scaled). While
    nobody leaves unseen the update is the conjugate Gamma-Poisson one:
    ``A - early ~ Poisson(theta Lambda_p)`` (``Lambda_p``: the plan's Poisson arrivals so
    far), posterior ``Gamma(a + A - early, b + Lambda_p)``.

    People who left before being seen (gave up, balked, turned away by the cap) are not in
    ``A``, and the share ``f(theta)`` that leaves grows with ``theta``: once the desks are
    the limit, more arrivals mostly mean more people giving up, and the seen count barely
    moves. Then the expected seen arrivals ``m(theta) = early (1 - f_e) + theta Lambda_p
    (1 - f_p)`` are simulated (the day so far, ``unseen_replications`` replications on
    common random numbers) on a grid of factors (``_grid_posterior``), the posterior is the
    prior times the Poisson likelihood of ``A`` at ``m(theta)``, and it is summarised as the
    Gamma with its mean and variance. Where ``m`` is flat the count says little and the
    prior stands; a single thinned Poisson update would have been sure of a wrong factor."""
    return _update_intensity(spec, state, prior, seed, unseen_replications)[0]


MorningRuns = list[tuple[RandomInputs, ReplicationTrace]]


def _update_intensity(
    spec: StationSpec,
    state: StationState,
    prior: IntensityPrior | None,
    seed: int,
    unseen_replications: int,
) -> tuple[IntensityPosterior, MorningRuns | None]:
    """``update_intensity``, and the simulated day so far at (or, thinned by a few unseen,
    within a few per cent of) the posterior mean when it was simulated on the way, so that
    ``condition`` need not simulate it again."""
    prior = prior or IntensityPrior()
    day = spec.days[state.day]
    planned = planned_arrivals_by(day, state.now_minute)
    if state.processed_today is None:
        return IntensityPosterior(prior, None, planned, prior.shape, prior.rate), None
    seen = state.processed_today + state.people_in_line
    planned_p = planned - day.early_voters
    leaves = (
        spec.patience is not None
        or spec.balk_queue_length is not None
        or spec.max_queue_outside is not None
    )
    shape, rate = prior.shape + max(seen - day.early_voters, 0), prior.rate + planned_p
    if leaves and state.now_minute > day.open_minutes and planned_p > 0:
        runs = _morning(spec, state, shape / rate, seed, unseen_replications)
        f_p, f_e = _unseen_of(spec, state, runs)
        if max(f_p, f_e) >= FEW_UNSEEN:
            shape, rate, f_p = _grid_posterior(
                spec, state, seen, prior, (shape, rate), seed, unseen_replications
            )
            return IntensityPosterior(prior, seen, planned, shape, rate, f_p), None
        if f_p > 0.0 or f_e > 0.0:  # a few: thinned at their share, no grid needed
            shape = prior.shape + max(seen - day.early_voters * (1.0 - f_e), 0.0)
            rate = prior.rate + planned_p * (1.0 - f_p)
        return IntensityPosterior(prior, seen, planned, shape, rate, f_p), runs
    return IntensityPosterior(prior, seen, planned, shape, rate), None


GRID_FACTORS = 6
"""Factors at which the expected seen arrivals are simulated for the thinned update (6 hold
the factor as well as 10 did on simulated days at New York's consulate and Los Angeles, at
60 % of the cost)."""
FEW_UNSEEN = 0.02
"""Below this share leaving unseen (at the unthinned factor), the count is thinned at that
share (``Poisson(theta (1 - f) Lambda_p)``) instead of the grid: ``f`` cannot be steep yet,
and half the stations that lose anyone unseen lose this few."""


def _grid_posterior(
    spec: StationSpec,
    state: StationState,
    seen: int,
    prior: IntensityPrior,
    unthinned: tuple[float, float],
    seed: int,
    replications: int,
) -> tuple[float, float, float]:
    """(shape, rate, unseen share at the posterior mean) of the thinned update.

    ``m(theta)`` is simulated at ``GRID_FACTORS`` factors spaced geometrically from the
    unthinned posterior's 0.1 % quantile (thinning only raises the factor) to the larger of
    the prior's 99.9 % quantile and three times the unthinned mean, interpolated (log-log)
    on a fine grid, and the posterior ``prior(theta) * Poisson(A; m(theta))`` is integrated
    there for its mean and variance. The Poisson variance errs wide: a count capped by the
    desks varies less."""
    day = spec.days[state.day]
    planned_p = planned_arrivals_by(day, state.now_minute) - day.early_voters
    lo = float(gammaincinv(unthinned[0], 0.001)) / unthinned[1]  # Gamma quantiles
    hi = max(float(gammaincinv(prior.shape, 0.999)) / prior.rate, 3.0 * unthinned[0] / unthinned[1])
    coarse = np.geomspace(max(lo, 1e-3), hi, GRID_FACTORS)
    shares = np.array([_unseen_shares(spec, state, th, seed, replications) for th in coarse])
    m = day.early_voters * (1 - shares[:, 1]) + coarse * planned_p * (1 - shares[:, 0])
    fine = np.geomspace(coarse[0], coarse[-1], 2000)
    m_fine = np.exp(np.interp(np.log(fine), np.log(coarse), np.log(np.maximum(m, 1e-9))))
    log_post = (prior.shape - 1) * np.log(fine) - prior.rate * fine + seen * np.log(m_fine) - m_fine
    w = np.exp(log_post - log_post.max()) * np.gradient(fine)  # density times grid spacing
    w /= w.sum()
    mean = float((w * fine).sum())
    var = max(float((w * (fine - mean) ** 2).sum()), 1e-12)
    f_p = float(np.interp(mean, coarse, shares[:, 0]))
    return mean * mean / var, mean / var, min(f_p, 0.99)


def _morning(
    spec: StationSpec, state: StationState, theta: float, seed: int, replications: int
) -> MorningRuns:
    """The day so far, simulated from opening to now at ``theta`` times the plan (the servers
    working now, if reported, all morning): ``replications`` runs on common random numbers.
    What happens before now does not depend on later arrivals, so the day is cut at now."""
    day = spec.days[state.day]
    morning = day.model_copy(update={"close_minutes": state.now_minute})
    cut = spec.with_servers(dict(state.working)).model_copy(
        update={
            "days": (morning,),
            "close_policy": ClosePolicy(kind=ClosePolicyKind.SERVE_ALL),
            "ballots": None,
        }
    )
    prep = prepare(cut)
    out = []
    for r in range(replications):
        inp = draw_inputs(prep, replication_rng(seed, 1_000_000 + r), theta)
        out.append((inp, run_inputs(prep, inp)))
    return out


def _unseen_shares(
    spec: StationSpec, state: StationState, theta: float, seed: int, replications: int
) -> tuple[float, float]:
    """(share of the Poisson arrivals, share of the early line) who left unseen before now
    (gave up, balked, turned away by the cap) in the day so far at ``theta`` (``_morning``)."""
    return _unseen_of(spec, state, _morning(spec, state, theta, seed, replications))


def _unseen_of(spec: StationSpec, state: StationState, runs: MorningRuns) -> tuple[float, float]:
    """``_unseen_shares`` of simulated mornings."""
    early = spec.days[state.day].early_voters
    replications = len(runs)
    gone_p = n_p = gone_e = 0.0
    for inp, trace in runs:
        o = trace.outcome
        left_by_now = (o == K.RENEGED) & (
            inp.arrival_minutes + inp.patience_minutes <= state.now_minute
        )
        gone = left_by_now | (o == K.BALKED) | (o == K.TURNED_AWAY_CAP)
        gone_e += float(gone[:early].sum())
        gone_p += float(gone[early:].sum())
        n_p += float(o.shape[0] - early)
    f_p = gone_p / n_p if n_p > 0 else 0.0
    f_e = gone_e / (early * replications) if early > 0 else 0.0
    return min(f_p, 0.99), f_e


@dataclass(frozen=True)
class MorningLine:
    """The line at ``now`` in the day so far simulated at the updated factor (``_morning``):
    where it stands and how long its people have waited. Reports give one count; the rest
    is read off the simulated morning, which knows the cap, balking, surges and the hours the
    line built up."""

    inside_share: float
    """Of the people waiting in the line, the share past the first stage (screened at the door,
    waiting for a desk inside); 0 for a line of one stage."""
    ages: tuple[FloatArray, ...]
    """Per simulated morning, front first: how long each person in its line has waited."""

    def elapsed(self, n: int, replication: int) -> FloatArray | None:
        """How long each of ``n`` people in line (front first) has waited, for nowcast
        ``replication``: read at the same relative place in one simulated morning's line
        (the mornings taken in turn); None if the simulated line is empty."""
        line = self.ages[replication % len(self.ages)] if self.ages else np.zeros(0)
        if line.shape[0] == 0:
            return None
        at = ((np.arange(n) + 0.5) / max(n, 1) * line.shape[0]).astype(np.int64)
        out: FloatArray = line[np.minimum(at, line.shape[0] - 1)]
        return out


def morning_line(
    spec: StationSpec,
    state: StationState,
    theta: float,
    seed: int,
    replications: int = 4,
    runs: MorningRuns | None = None,
) -> MorningLine:
    """The line at now in the day so far simulated at ``theta`` (``MorningLine``).

    Why: the cap acts on the queue outside only and nobody inside is screened again, so the
    reported line is split as the simulated one is; and the people in line are those who
    joined and have not given up, which the cap and balking thin, most when the line is
    long: their ages come from the simulated line rather than from the plan's arrivals.
    ``runs``: the mornings at ``theta`` if already simulated."""
    now = state.now_minute
    outside = inside = 0
    ages: list[FloatArray] = []
    if runs is None:
        runs = _morning(spec, state, theta, seed, replications)
    for _, trace in runs:
        line = line_at(trace, now, spec.line_stages)
        outside += int(np.count_nonzero(line.outside))
        inside += int(np.count_nonzero(line.inside))
        waited = now - trace.inputs.arrival_minutes[line.waiting]
        ages.append(np.sort(waited)[::-1].copy())  # front (longest) first
    total = outside + inside
    return MorningLine(inside / total if total > 0 else 0.0, tuple(ages))


def planned_arrivals_by(day: DaySpec, minute: float) -> float:
    """The plan's expected arrivals from opening to ``minute`` (early line, profile, surges)."""
    t, cum = cumulative_intensity(day)
    return float(day.early_voters + np.interp(minute, t, cum))


def residual_patience(dist: Distribution | None, elapsed: FloatArray, u: FloatArray) -> FloatArray:
    """Patience left for voters who have already waited ``elapsed`` minutes and are still in
    line: a draw of ``P - e`` given ``P > e`` by the inverse CDF, ``u`` uniform on [0, 1).
    Someone whose wait already exceeds every patience the model allows gets 0 (leaves now)."""
    e = np.asarray(elapsed, dtype=np.float64)
    if dist is None:
        return np.full(e.shape, np.inf)
    if isinstance(dist, Exponential):
        return -dist.mean_minutes * np.log1p(-u)  # memoryless
    if isinstance(dist, Deterministic):
        return np.maximum(dist.minutes - e, 0.0)
    if isinstance(dist, Uniform):
        width = dist.high_minutes - dist.low_minutes
        if width <= 0:
            return np.maximum(dist.low_minutes - e, 0.0)
        f = np.clip((e - dist.low_minutes) / width, 0.0, 1.0)
        p = f + (1.0 - f) * u
        return np.maximum(dist.low_minutes + width * p - e, 0.0)
    if isinstance(dist, LogNormal):
        mu, sigma = dist.log_params()
        with np.errstate(divide="ignore"):
            f = ndtr((np.log(np.maximum(e, 0.0)) - mu) / sigma)
        p = np.minimum(f + (1.0 - f) * u, 1.0 - 1e-12)
        q: FloatArray = np.exp(mu + sigma * ndtri(p))
        return np.maximum(q - e, 0.0)
    if isinstance(dist, Empirical):
        values = np.sort(np.asarray(dist.values_minutes, dtype=np.float64))
        n = values.shape[0]
        f = np.searchsorted(values, e, side="right") / n
        p = f + (1.0 - f) * u
        idx = np.minimum((p * n).astype(np.int64), n - 1)
        picked: FloatArray = values[idx]
        return np.maximum(picked - e, 0.0)
    raise TypeError(f"unknown distribution {dist!r}")


def _recut(day: DaySpec, now: float) -> tuple[tuple[float, ...], float]:
    """The day's rate profile from ``now`` on, in bins that start at ``now``: the original
    bins if ``now`` falls on a bin boundary, else bins of the greatest common divisor (in
    seconds) of the bin width and the offset."""
    off = (now - day.open_minutes) % day.bin_minutes
    width = day.bin_minutes
    if off > 1e-9 and day.bin_minutes - off > 1e-9:
        width = math.gcd(round(day.bin_minutes * 60), round(off * 60)) / 60.0
    n = math.ceil((day.close_minutes - now) / width - 1e-9)
    rates = tuple(day.rate_per_hour_at(now + (j + 0.5) * width) for j in range(n))
    return rates or (0.0,), width


def remaining_day_spec(spec: StationSpec, state: StationState, early_voters: int) -> StationSpec:
    """The rest of the day as a station that opens at ``now`` with ``early_voters`` in line,
    the servers working now, and the ballots left (one day; the plan's arrivals)."""
    day = spec.days[state.day]
    now = state.now_minute
    rates, width = _recut(day, now)
    rest = DaySpec(
        open_minutes=now,
        close_minutes=day.close_minutes,
        arrivals_per_hour=rates,
        bin_minutes=width,
        surges=day.surges,
        early_voters=early_voters,
    )
    stages = working_stages(spec, state)
    # The cap and the balking threshold stay the site's: the line already there is kept whole
    # by preparing the rest of the day with it as ``already_in_line`` (``Conditioned.prepare``).
    return spec.model_copy(
        update={"days": (rest,), "stages": stages, "ballots": ballots_left(spec, state)}
    )


def working_stages(spec: StationSpec, state: StationState) -> tuple[StageSpec, ...]:
    """The spec's stages with the servers reported working now (a reported count holds to
    closing; a stage not reported keeps its plan)."""
    working = dict(state.working)
    return tuple(
        StageSpec(name=st.name, servers=working[st.name], service=st.service)
        if st.name in working
        else st
        for st in spec.stages
    )


def ballots_left(spec: StationSpec, state: StationState) -> int | None:
    """Ballots left now: reported, else the stock minus what was processed (None = unlimited)."""
    if state.ballots_left is not None:
        return state.ballots_left
    if spec.ballots is None:
        return None
    return max(spec.ballots - (state.processed_today or 0), 0)


def check_state(spec: StationSpec, state: StationState) -> list[tuple[str, str]]:
    """Problems of a state against a spec, as (field, message) pairs (empty if fine)."""
    out: list[tuple[str, str]] = []
    if state.day >= len(spec.days):
        out.append(("day", f"the spec has {len(spec.days)} day(s); got day {state.day + 1}"))
        return out
    day = spec.days[state.day]
    if not day.open_minutes <= state.now_minute < day.close_minutes:
        out.append(
            (
                "now",
                f"must be within the opening hours {clock_text(day.open_minutes)}-"
                f"{clock_text(day.close_minutes)} (got {clock_text(state.now_minute)})",
            )
        )
    names = [st.name for st in spec.stages]
    for name, _ in state.working:
        if name not in names:
            out.append(("working", f"unknown stage {name!r}; the stages are {', '.join(names)}"))
    return out


def clock_text(minutes: float) -> str:
    """``780`` -> ``"13:00"``."""
    m = round(minutes)
    return f"{m // 60:02d}:{m % 60:02d}"


def predictive_bounds(values: FloatArray, level: float = 0.9) -> FloatArray:
    """The central ``level`` prediction interval of replications' values (along axis 0):
    ``[low, high]``, each shaped as one replication's values.

    The quantiles are taken at the Weibull plotting positions (numpy's ``weibull`` method,
    Hyndman and Fan's type 6): the ``k``-th smallest of ``n`` draws sits on average at
    ``k / (n + 1)`` of their distribution, so the bounds at positions ``(n + 1) p`` hold
    today's outcome (one more draw) with chance ``level``. Numpy's default (positions
    ``(n - 1) p + 1``) is the sample's own quantile and covers a new draw less often: 87 %
    at 60 replications and 88 % at 100 for a nominal 90 %."""
    q = np.quantile(
        np.asarray(values, dtype=np.float64),
        [(1 - level) / 2, (1 + level) / 2],
        axis=0,
        method="weibull",
    )
    return np.asarray(q, dtype=np.float64)


def predictive(values: FloatArray, level: float = 0.9) -> Estimate:
    """Mean and the central ``level`` prediction interval (``predictive_bounds``) of
    replications' values; NaN values (nothing to measure in that replication) are skipped."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.shape[0] == 0:
        return Estimate(math.nan, math.nan, math.nan)
    lo, hi = predictive_bounds(v, level)
    return Estimate(float(v.mean()), float(lo), float(hi))


@dataclass(frozen=True)
class Conditioned:
    """The drawn replications of a present state (common random numbers for every variant:
    other servers, another close policy, fewer people in line)."""

    spec: StationSpec
    """The original station spec (the plan)."""
    state: StationState
    rest: StationSpec
    """The rest of the day (``remaining_day_spec``), with the joiner in its early line."""
    posterior: IntensityPosterior
    thetas: FloatArray
    inputs: tuple[RandomInputs, ...]
    in_line: int
    """People in line now."""
    seed: int
    ghosts: int = 0
    """Voters in service at the first stage now, one per server: with a line outside all are
    busy; without one each is, with the chance the stage's utilisation gives (an idle
    server's ghost has a negative patience: gone before now, never served nor counted).
    Neither they nor the joiner are counted."""
    inside: int = 0
    """People in line past the first stage (``MorningLine.inside_share``): the front of the
    line.

    The early block, 0-based: ``inside`` voters with no first-stage service (already
    screened), then the ``ghosts``, then the rest of the line (outside), then the joiner
    (voter ``ghosts + in_line``). The ones inside come first so that they start (and leave
    the first stage's queue) at once, and the cap sees only the line outside."""

    @property
    def outside(self) -> int:
        """People in line waiting for the first stage (outside)."""
        return self.in_line - self.inside

    @property
    def ghost_slice(self) -> slice:
        return slice(self.inside, self.inside + self.ghosts)

    def line_index(self, keep_outside: int | None = None) -> npt.NDArray[np.int64]:
        """Positions of the people in line in the early block, front first (the first
        ``keep_outside`` of those outside; all by default)."""
        out = self.outside if keep_outside is None else keep_outside
        start = self.inside + self.ghosts
        index: npt.NDArray[np.int64] = np.concatenate(
            [np.arange(self.inside), np.arange(start, start + out)]
        ).astype(np.int64)
        return index

    def prepare(self, spec: StationSpec | None = None, dropped: int = 0) -> PreparedStation:
        """The rest of the day (or a ``variant``) for the kernel, with the early block
        (``dropped`` fewer from the back of the line) kept whole by the cap and balking: they
        were in line before now. The joiner too: their wait is that of someone at the back of
        today's line (a line outside at the cap has its own alert)."""
        return prepare(spec or self.rest, already_in_line=self.ghosts + self.in_line + 1 - dropped)


def condition(
    spec: StationSpec,
    state: StationState,
    replications: int = 100,
    seed: int = 0,
    prior: IntensityPrior | None = None,
) -> Conditioned:
    """Draw the replications of the rest of the day from a present state.

    Replication k draws from the stream of ``replication_rng(seed, k)``: first ``theta`` from
    the posterior, then the day's random inputs (as the simulator does), then the patience
    left of each person in line given how long they have waited, then the service left of
    the voters being served now. How long they have waited, and how many of them wait inside
    past the first stage, are read off the day so far simulated at the posterior mean
    (``morning_line``; its own streams), replication k from morning ``k mod 4``, at the same
    relative place in the line; where that simulated line is empty, from the plan's
    arrivals read backwards (``_draw_elapsed``).

    When there is a line outside, every server of the first stage is busy now: one voter per
    server is placed ahead of the line with the service time they have left, drawn from the
    equilibrium residual of the stage's service time (a length-biased draw times a uniform),
    so that the line does not start with every server free. Without one, each server is busy
    with the chance ``theta`` times the plan's rate now times the mean service per server
    (its utilisation), so that someone joining an empty line may still wait a moment."""
    if replications < 2:
        raise ValueError("replications must be at least 2")
    problems = check_state(spec, state)
    if problems:
        raise ValueError("; ".join(f"{f}: {m}" for f, m in problems))
    post, runs = _update_intensity(spec, state, prior, seed, 4)
    n = state.people_in_line
    day = spec.days[state.day]
    matters = spec.patience is not None or spec.line_stages > 1  # the ages, or where it stands
    seen = (
        morning_line(spec, state, post.mean, seed, runs=runs)
        if n > 0 and matters and state.now_minute > day.open_minutes
        else MorningLine(0.0, ())
    )
    inside = round(n * seen.inside_share)
    first = working_stages(spec, state)[0]
    g = first.servers_at(state.now_minute)
    # with a line outside every first-stage server is busy; without one, each is busy with
    # the chance its share of the arrivals keeps it so (utilisation at the factor drawn)
    load = day.rate_per_hour_at(state.now_minute) / 60.0 * first.service.mean / max(g, 1)
    rest = remaining_day_spec(spec, state, g + n + 1)
    shell = Conditioned(spec, state, rest, post, np.empty(0), (), n, seed, g, inside)
    prep = shell.prepare()
    line = shell.line_index()
    ghosts = shell.ghost_slice
    ages = _line_ages(day, state.now_minute, spec.patience)
    thetas = np.empty(replications)
    inputs = []
    for r in range(replications):
        rng = replication_rng(seed, r)
        theta = float(rng.gamma(post.shape, 1.0 / post.rate))
        thetas[r] = theta
        inp = draw_inputs(prep, rng, theta)
        elapsed = seen.elapsed(n, r)
        if elapsed is None:
            elapsed = _draw_elapsed(ages, n, theta, rng)
        u = rng.random(n)
        inp.patience_minutes[line] = residual_patience(spec.patience, elapsed, u)
        inp.patience_minutes[ghosts] = np.inf
        inp.patience_minutes[g + n] = np.inf  # the joiner waits whatever it takes
        inp.service_minutes[0, :inside] = 0.0  # screened already
        if g > 0:
            pool = inp.service_minutes[0]
            cum = np.cumsum(pool)
            if cum[-1] > 0:  # length-biased picks: by position along the summed durations
                picked = np.searchsorted(cum, rng.random(g) * cum[-1], side="right")
                picked = np.minimum(picked, pool.shape[0] - 1)
                inp.service_minutes[0, ghosts] = pool[picked] * rng.random(g)
            if n == inside:  # no line outside: an idle server's ghost is not there (it
                # gave up before now, so the simulator neither serves nor counts it)
                idle = rng.random(g) >= min(theta * load, 1.0)
                inp.patience_minutes[ghosts] = np.where(idle, -1.0, np.inf)
        inputs.append(inp)
    return replace(shell, thetas=thetas, inputs=tuple(inputs))


def patience_survival(dist: Distribution | None, minutes: FloatArray) -> FloatArray:
    """P(patience > minutes): the chance that someone who joined that long ago and has not
    been served is still in line."""
    e = np.asarray(minutes, dtype=np.float64)
    if dist is None:
        return np.ones(e.shape)
    if isinstance(dist, Exponential):
        return np.exp(-e / dist.mean_minutes)
    if isinstance(dist, Deterministic):
        return (e < dist.minutes).astype(np.float64)
    if isinstance(dist, Uniform):
        width = max(dist.high_minutes - dist.low_minutes, 1e-12)
        return 1.0 - np.clip((e - dist.low_minutes) / width, 0.0, 1.0)
    if isinstance(dist, LogNormal):
        mu, sigma = dist.log_params()
        with np.errstate(divide="ignore"):
            out: FloatArray = 1.0 - ndtr((np.log(np.maximum(e, 0.0)) - mu) / sigma)
        return out
    if isinstance(dist, Empirical):
        values = np.sort(np.asarray(dist.values_minutes, dtype=np.float64))
        below: FloatArray = np.searchsorted(values, e, side="right") / values.shape[0]
        return 1.0 - below
    raise TypeError(f"unknown distribution {dist!r}")


@dataclass(frozen=True)
class _LineAges:
    """The backward intensity of the people still in line: looking back ``age`` minutes from
    now, the plan's arrivals times the chance they are still waiting (patience survival),
    accumulated (``cum[k]`` expected people in line who joined within ``ages[k]``)."""

    ages: FloatArray
    cum: FloatArray
    max_age: float


def _line_ages(day: DaySpec, now: float, patience: Distribution | None) -> _LineAges:
    t, cum = cumulative_intensity(day)
    span = max(now - day.open_minutes, 0.0)
    ages = np.linspace(0.0, span, max(int(span) + 1, 2))
    c = np.interp(now - ages, np.asarray(t), np.asarray(cum))  # plan arrivals before now-age
    mass = -np.diff(c)  # arrivals in each age step (ages increase backwards in time)
    mid = (ages[:-1] + ages[1:]) / 2.0
    back = np.concatenate([[0.0], np.cumsum(mass * patience_survival(patience, mid))])
    return _LineAges(ages, back, span)


def _draw_elapsed(line: _LineAges, n: int, theta: float, rng: np.random.Generator) -> FloatArray:
    """How long each of the ``n`` people in line (front first) has waited, drawn. In a FIFO
    line they are the latest arrivals who have not been served; read backwards from now,
    those still waiting form a Poisson process whose intensity is ``theta`` times the plan's
    arrivals times the chance of still waiting after that long (``_line_ages``): standard
    exponential gaps on that cumulative scale. Whoever is beyond opening is the early line
    (waiting since opening)."""
    if n == 0:
        return np.zeros(0)
    x = np.cumsum(rng.standard_exponential(n)) / max(theta, 1e-12)  # back of the line first
    ages = np.interp(x, line.cum, line.ages, right=line.max_age)
    elapsed: FloatArray = ages[::-1].copy()
    return elapsed


@dataclass(frozen=True)
class RunSet:
    """Per-replication outcomes of the rest of the day (the joiner excluded from counts)."""

    left_in_line_at_close: FloatArray
    turned_away_at_close: FloatArray
    served: FloatArray
    reneged: FloatArray
    joiner_wait_minutes: FloatArray
    joiner_served: npt.NDArray[np.bool_]
    ballots_out_minute: FloatArray
    """Clock minute the last ballot was taken (NaN if they did not run out)."""
    line: FloatArray
    """People waiting outside (the first stage's queue), [replication, sample]."""
    line_minutes: FloatArray
    close_minute: float
    cutoff_minute: float
    processed: FloatArray | None = None
    """(replication, minute of ``line_minutes``): voters who have left the line (started
    service at the last line stage) since now, cumulative; neither the joiner nor voters
    already past the line now are counted."""
    line_leave_minutes: tuple[FloatArray, ...] = ()
    """Per replication, sorted: the minute each served voter started the line's last stage
    (left the line); the joiner and voters past the line now left out. Under serve_all, the
    voters who would still be in line at a cutoff ``c`` are (for a one-stage line exactly)
    those with a minute above ``c``."""


@njit(cache=True)
def _tally(
    outcome: npt.NDArray[np.int8],
    arrival: FloatArray,
    patience: FloatArray,
    started: FloatArray,
    close: float,
    joiner: int,
    ghosts_from: int,
    ghosts_to: int,
    ghosts_left_line: bool,
    minutes: FloatArray,
) -> tuple[int, int, int, int, FloatArray, FloatArray]:
    """One replication's counts, the joiner and the ghosts (in service now, voters
    ``ghosts_from`` to ``ghosts_to - 1``) left out:
    (still in line at ``close``, turned away at closing, served, reneged; voters who have
    left the line by each of ``minutes``, the ghosts counted unless ``ghosts_left_line``;
    the sorted minutes the served left the line). ``started``: each voter's start at the
    line's last stage (NaN: never). One pass in compiled code: per replication, the
    nowcast's bookkeeping costs no more than a handful of array operations."""
    n = outcome.shape[0]
    left = 0
    ta = 0
    served = 0
    reneged = 0
    gone = np.empty(n)
    m = 0
    leave = np.empty(n)
    k = 0
    for i in range(n):
        ghost = ghosts_from <= i < ghosts_to
        o = -1 if (i == joiner or ghost) else int(outcome[i])
        s = started[i]
        if o == K.TURNED_AWAY_CLOSE:
            ta += 1
        elif o == K.SERVED:
            served += 1
            leave[k] = s
            k += 1
        elif o == K.RENEGED:
            reneged += 1
        if arrival[i] <= close and (
            o == K.TURNED_AWAY_CLOSE
            or (o == K.SERVED and s > close)
            or (o == K.RENEGED and arrival[i] + patience[i] > close)
        ):
            left += 1
        if not np.isnan(s) and i != joiner and not (ghosts_left_line and ghost):
            gone[m] = s
            m += 1
    done = np.searchsorted(np.sort(gone[:m]), minutes, side="right").astype(np.float64)
    return left, ta, served, reneged, done, np.sort(leave[:k])


def _left_line_by(started: FloatArray, minutes: FloatArray, skip: list[int]) -> FloatArray:
    """How many of ``started`` (NaN: never) are at or before each of ``minutes``, leaving
    out the voters at ``skip``."""
    t = started.copy()
    t[skip] = np.nan
    t = np.sort(t[~np.isnan(t)])
    return np.searchsorted(t, minutes, side="right").astype(np.float64)


def variant(
    cond: Conditioned,
    servers: dict[str, int | tuple[tuple[float, int], ...]] | None = None,
    close_policy: ClosePolicy | None = None,
) -> StationSpec:
    """The rest-of-day spec with other servers or another close policy."""
    spec = cond.rest
    if servers:
        spec = spec.with_servers(servers)
    if close_policy is not None:
        spec = spec.model_copy(update={"close_policy": close_policy})
    return spec


def run(
    cond: Conditioned,
    spec: StationSpec | None = None,
    drop_from_line: int = 0,
    *,
    detail: bool = True,
) -> RunSet:
    """Run every replication of ``cond`` on ``spec`` (a ``variant``; default the rest of the
    day as reported). ``drop_from_line`` removes that many people from the back of the line
    now (sent elsewhere). ``detail=False`` leaves out the line and processed curves (empty):
    the actions' probes need only the counts at closing and the joiner's wait."""
    if drop_from_line > cond.outside:
        raise ValueError("cannot drop more people than are in line outside")
    prep = cond.prepare(spec, drop_from_line)
    keep = cond.ghosts + cond.in_line - drop_from_line
    inputs = [_drop(inp, keep, drop_from_line) for inp in cond.inputs]
    return _collect(cond, prep, inputs, keep, detail=detail)


def _drop(inp: RandomInputs, keep: int, drop: int) -> RandomInputs:
    if drop == 0:
        return inp
    sel = np.r_[0:keep, keep + drop : inp.arrival_minutes.shape[0]]
    return RandomInputs(
        inp.arrival_minutes[sel],
        np.array([0, sel.shape[0]], dtype=np.int64),
        inp.patience_minutes[sel],
        inp.service_minutes[:, sel],
    )


def _collect(
    cond: Conditioned,
    prep: PreparedStation,
    inputs: Sequence[RandomInputs],
    joiner: int,
    *,
    detail: bool = True,
) -> RunSet:
    rest = prep.spec
    day = rest.days[0]
    close = day.close_minutes
    cutoff = float(prep.station.day_cutoff[0])
    ls = rest.line_stages - 1
    n_rep = len(inputs)
    left = np.empty(n_rep)
    ta = np.empty(n_rep)
    served = np.empty(n_rep)
    reneged = np.empty(n_rep)
    jw = np.empty(n_rep)
    js = np.zeros(n_rep, dtype=np.bool_)
    bout = np.full(n_rep, np.nan)
    n_grid = int(prep.station.day_grid_n[0])
    grid_minutes: FloatArray = day.open_minutes + np.arange(n_grid, dtype=np.float64) * (
        rest.queue_step_minutes
    )
    n_kept = n_grid if detail else 0
    line = np.empty((n_rep, n_kept))
    processed = np.empty((n_rep, n_kept))
    leaves: list[FloatArray] = []
    # voters in service at the first stage now have left the line already when it is the
    # line's only stage; otherwise they are still in it (at the door's screening)
    ballots = rest.ballots
    for r, inp in enumerate(inputs):
        stats, grid, outcome, start, _ = run_prepared(prep, inp, 30.0, True)
        n_left, n_ta, n_served, n_reneged, done, leave = _tally(
            outcome,
            inp.arrival_minutes,
            inp.patience_minutes,
            start[ls],
            close,
            joiner,
            cond.inside,
            cond.inside + cond.ghosts,
            ls == 0,
            grid_minutes,
        )
        left[r] = float(n_left)
        ta[r] = float(n_ta)
        served[r] = float(n_served)
        reneged[r] = float(n_reneged)
        j_out = int(outcome[joiner])
        js[r] = j_out == K.SERVED
        j_start = float(start[0, joiner])
        if j_out == K.SERVED:  # time waiting in the line (service at earlier line stages out)
            jw[r] = float(
                start[ls, joiner] - day.open_minutes - inp.service_minutes[:ls, joiner].sum()
            )
        elif j_out == K.TURNED_AWAY_NO_BALLOTS:
            starts = start[0][~np.isnan(start[0])]
            gone = float(starts.max()) if starts.shape[0] else day.open_minutes
            jw[r] = gone - day.open_minutes
            j_start = gone if math.isnan(j_start) else j_start
        else:  # still waiting at the cutoff: counted in the sample taken at closing
            jw[r] = cutoff - day.open_minutes
            j_start = cutoff + 1e-9 if math.isnan(j_start) else j_start
        if detail:
            line[r] = grid - (grid_minutes < j_start)
            processed[r] = done
        leaves.append(leave)
        if ballots is not None:
            taken = np.sort(start[0][~np.isnan(start[0])])
            if taken.shape[0] >= ballots and ballots > 0:
                bout[r] = float(taken[ballots - 1])
            elif ballots == 0:
                bout[r] = day.open_minutes
        del stats
    return RunSet(
        left_in_line_at_close=left,
        turned_away_at_close=ta,
        served=served,
        reneged=reneged,
        joiner_wait_minutes=jw,
        joiner_served=js,
        ballots_out_minute=bout,
        line=line,
        line_minutes=grid_minutes if detail else grid_minutes[:0],
        close_minute=close,
        cutoff_minute=cutoff,
        processed=processed,
        line_leave_minutes=tuple(leaves),
    )


@dataclass(frozen=True)
class LineForecast:
    """Predicted people waiting outside at a clock minute (mean, predictive interval)."""

    minute: float
    mean: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class BallotsForecast:
    """Whether and when the ballots run out before closing."""

    stock_now: int | None
    chance_run_out: float
    minute: Estimate | None
    """Clock minute they run out, over the replications where they do."""


@dataclass(frozen=True)
class Nowcast:
    """A station's rest of the day as predicted from its present state."""

    station: str
    now_minute: float
    close_minute: float
    close_policy: ClosePolicy
    replications: int
    seed: int
    level: float
    intensity: IntensityPosterior
    wait_minutes_now: Estimate
    """Time in the line (the queues of the line stages, until the last of them starts) of
    someone joining now and staying; if they would not get past the line, the time until
    they are sent away."""
    chance_served_joining_now: float
    left_in_line_at_close: Estimate
    """People still waiting in the line at closing time (under serve_all they are served
    later; under a hard close they are turned away)."""
    turned_away_at_close: Estimate
    served_rest_of_day: Estimate
    reneged_rest_of_day: Estimate
    ballots: BallotsForecast
    line: tuple[LineForecast, ...]
    processed: tuple[LineForecast, ...] = ()
    """Voters leaving the line from now on, cumulative by clock minute (add the processed
    count of today for the day's total)."""

    def as_dict(self) -> dict[str, object]:
        lo, hi = self.intensity.interval(self.level)
        return {
            "station": self.station,
            "now": clock_text(self.now_minute),
            "close": clock_text(self.close_minute),
            "close_policy": self.close_policy.model_dump(mode="json"),
            "replications": self.replications,
            "seed": self.seed,
            "interval_level": self.level,
            "intensity_factor": {
                "mean": self.intensity.mean,
                "ci_low": lo,
                "ci_high": hi,
                "sd": self.intensity.sd,
                "observed_arrivals": self.intensity.observed_arrivals,
                "planned_arrivals_so_far": self.intensity.planned_arrivals_so_far,
                "prior": self.intensity.prior.model_dump(),
            },
            "wait_minutes_now": self.wait_minutes_now.as_dict(),
            "chance_served_joining_now": self.chance_served_joining_now,
            "left_in_line_at_close": self.left_in_line_at_close.as_dict(),
            "turned_away_at_close": self.turned_away_at_close.as_dict(),
            "served_rest_of_day": self.served_rest_of_day.as_dict(),
            "reneged_rest_of_day": self.reneged_rest_of_day.as_dict(),
            "ballots": {
                "stock_now": self.ballots.stock_now,
                "chance_run_out": self.ballots.chance_run_out,
                "minute": None if self.ballots.minute is None else self.ballots.minute.as_dict(),
            },
            "line": [
                {"minute": p.minute, "mean": p.mean, "ci_low": p.ci_low, "ci_high": p.ci_high}
                for p in self.line
            ],
            "processed_from_now": [
                {"minute": p.minute, "mean": p.mean, "ci_low": p.ci_low, "ci_high": p.ci_high}
                for p in self.processed
            ],
        }


def summarise(cond: Conditioned, runs: RunSet, level: float = 0.9) -> Nowcast:
    """The nowcast of a set of runs."""
    lq = predictive_bounds(runs.line, level)
    lm = runs.line.mean(axis=0)
    line = tuple(
        LineForecast(float(m), float(a), float(b), float(c))
        for m, a, b, c in zip(runs.line_minutes, lm, lq[0], lq[1], strict=True)
    )
    out = ~np.isnan(runs.ballots_out_minute)
    processed = () if runs.processed is None else _bands(runs.line_minutes, runs.processed, level)
    return Nowcast(
        station=cond.spec.name,
        now_minute=cond.state.now_minute,
        close_minute=runs.close_minute,
        close_policy=cond.rest.close_policy,
        replications=len(cond.inputs),
        seed=cond.seed,
        level=level,
        intensity=cond.posterior,
        wait_minutes_now=predictive(runs.joiner_wait_minutes, level),
        chance_served_joining_now=float(runs.joiner_served.mean()),
        left_in_line_at_close=predictive(runs.left_in_line_at_close, level),
        turned_away_at_close=predictive(runs.turned_away_at_close, level),
        served_rest_of_day=predictive(runs.served, level),
        reneged_rest_of_day=predictive(runs.reneged, level),
        ballots=BallotsForecast(
            stock_now=cond.rest.ballots,
            chance_run_out=float(out.mean()),
            minute=predictive(runs.ballots_out_minute, level) if out.any() else None,
        ),
        line=line,
        processed=processed,
    )


def _bands(minutes: FloatArray, values: FloatArray, level: float) -> tuple[LineForecast, ...]:
    """Mean and predictive interval at each minute of (replication, minute) values."""
    q = predictive_bounds(values, level)
    m = values.mean(axis=0)
    return tuple(
        LineForecast(float(t), float(a), float(b), float(c))
        for t, a, b, c in zip(minutes, m, q[0], q[1], strict=True)
    )


def planned_processed(
    spec: StationSpec, day: int, replications: int = 60, seed: int = 0, level: float = 0.9
) -> tuple[LineForecast, ...]:
    """The plan's voters leaving the line (processed) by each clock minute of a day,
    cumulative from opening: the station simulator on the plan's own day (its arrival
    profile, early line, surges and servers), nothing reported."""
    one = spec.model_copy(update={"days": (spec.days[day],)})
    prep = prepare(one)
    d = one.days[0]
    n_grid = int(prep.station.day_grid_n[0])
    minutes: FloatArray = d.open_minutes + np.arange(n_grid, dtype=np.float64) * (
        one.queue_step_minutes
    )
    ls = one.line_stages - 1
    values = np.empty((replications, n_grid))
    for r in range(replications):
        inp = draw_inputs(prep, replication_rng(seed, r))
        _, _, _, start, _ = run_prepared(prep, inp, 30.0, True)
        values[r] = _left_line_by(start[ls], minutes, [])
    return _bands(minutes, values, level)


def nowcast(
    spec: StationSpec,
    state: StationState,
    replications: int = 100,
    seed: int = 0,
    prior: IntensityPrior | None = None,
    level: float = 0.9,
) -> Nowcast:
    """Nowcast one station from its present state (see the module docstring)."""
    cond = condition(spec, state, replications, seed, prior)
    return summarise(cond, run(cond), level)


def extended(policy: ClosePolicy, minutes: float) -> ClosePolicy:
    """The close policy with ``minutes`` more of extension (serve_all stays serve_all)."""
    if policy.kind is ClosePolicyKind.SERVE_ALL:
        return policy
    base = policy.extend_minutes if policy.kind is ClosePolicyKind.EXTEND else 0.0
    if base + minutes <= 0:
        return ClosePolicy(kind=ClosePolicyKind.HARD_CLOSE)
    return ClosePolicy(kind=ClosePolicyKind.EXTEND, extend_minutes=base + minutes)
