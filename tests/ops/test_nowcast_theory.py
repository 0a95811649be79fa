"""The nowcast against theory: the conjugate update, the conditional patience, the plain
simulation of the rest of the day, and monotonicity in servers and extension."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abroad.model import ClosePolicy, Deterministic, Empirical, Exponential, LogNormal, Uniform
from abroad.ops.nowcast import (
    IntensityPrior,
    StationState,
    condition,
    extended,
    morning_line,
    nowcast,
    planned_arrivals_by,
    predictive_bounds,
    remaining_day_spec,
    residual_patience,
    run,
    summarise,
    update_intensity,
    variant,
)
from abroad.queueing import DaySpec, StageSpec, StationSpec, simulate_station
from queueing.factory import PROFILE, two_stage

HARD = ClosePolicy(kind="hard_close")


def busy_station(desks: int = 2, patience: object = None) -> StationSpec:
    """One line stage that cannot keep up in the afternoon, hard close."""
    return StationSpec(
        days=(
            DaySpec(
                open_minutes=480,
                close_minutes=1200,
                arrivals_per_hour=(40, 50, 60, 70, 80, 90, 100, 95, 90, 85, 80, 75),
            ),
        ),
        stages=(
            StageSpec(name="checkin", servers=desks, service=Exponential(mean_minutes=1.5)),
            StageSpec(name="booth", servers=10, service=LogNormal(mean_minutes=3, cv=0.5)),
        ),
        patience=patience,
        close_policy=HARD,
    )


def test_posterior_is_the_conjugate_gamma() -> None:
    spec = two_stage()
    prior = IntensityPrior(shape=3.0, rate=2.0)
    state = StationState(now_minute=720, people_in_line=40, processed_today=500)
    post = update_intensity(spec, state, prior)
    planned = sum(PROFILE[:4])  # four full hours of the plan, no early line
    assert post.planned_arrivals_so_far == pytest.approx(planned)
    assert post.observed_arrivals == 540
    assert post.shape == pytest.approx(3.0 + 540)
    assert post.rate == pytest.approx(2.0 + planned)
    assert post.mean == pytest.approx((3.0 + 540) / (2.0 + planned))
    assert post.sd**2 == pytest.approx((3.0 + 540) / (2.0 + planned) ** 2)
    lo, hi = post.interval(0.9)
    assert lo < post.mean < hi


def test_drawn_factors_follow_the_posterior() -> None:
    spec = two_stage(profile=(5.0,) * 12)  # a small station: cheap replications
    state = StationState(now_minute=600, people_in_line=2, processed_today=14)
    cond = condition(spec, state, replications=600, seed=3)
    post = cond.posterior
    assert cond.thetas.mean() == pytest.approx(post.mean, rel=0.04)
    assert cond.thetas.var(ddof=1) == pytest.approx(post.sd**2, rel=0.2)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2000), st.integers(1, 500))
def test_more_arrivals_seen_means_a_higher_factor(processed: int, more: int) -> None:
    spec = two_stage()
    a = update_intensity(
        spec, StationState(now_minute=700, people_in_line=10, processed_today=processed)
    )
    b = update_intensity(
        spec, StationState(now_minute=700, people_in_line=10, processed_today=processed + more)
    )
    assert b.mean > a.mean
    assert b.rate == a.rate


def test_without_a_processed_count_the_prior_stands() -> None:
    post = update_intensity(two_stage(), StationState(now_minute=700, people_in_line=10))
    assert post.observed_arrivals is None
    assert (post.shape, post.rate) == (4.0, 4.0)


def test_planned_arrivals_by_integrates_the_profile() -> None:
    day = two_stage().days[0]
    assert planned_arrivals_by(day, 480) == 0
    assert planned_arrivals_by(day, 510) == pytest.approx(PROFILE[0] / 2)
    assert planned_arrivals_by(day, 1200) == pytest.approx(day.expected_arrivals)


@pytest.mark.parametrize(
    ("dist", "elapsed", "expected_mean"),
    [
        (Exponential(mean_minutes=40), 100.0, 40.0),  # memoryless
        (Uniform(low_minutes=30, high_minutes=90), 50.0, 20.0),  # U(50, 90) - 50
        (Uniform(low_minutes=30, high_minutes=90), 10.0, 50.0),  # not yet in the range
        (Deterministic(minutes=60), 45.0, 15.0),
        (Empirical(values_minutes=(10, 20, 60, 100)), 30.0, 50.0),  # 60 or 100, minus 30
    ],
)
def test_residual_patience_closed_forms(dist: object, elapsed: float, expected_mean: float) -> None:
    u = np.random.default_rng(0).random(200_000)
    r = residual_patience(dist, np.full(u.shape, elapsed), u)  # type: ignore[arg-type]
    assert r.min() >= 0
    assert r.mean() == pytest.approx(expected_mean, rel=0.01)


def test_residual_patience_lognormal_matches_rejection_sampling() -> None:
    dist = LogNormal(mean_minutes=60, cv=0.8)
    mu, sigma = dist.log_params()
    rng = np.random.default_rng(1)
    draws = np.exp(mu + sigma * rng.standard_normal(2_000_000))
    kept = draws[draws > 75.0] - 75.0
    r = residual_patience(dist, np.full(400_000, 75.0), rng.random(400_000))
    assert r.mean() == pytest.approx(kept.mean(), rel=0.02)
    assert np.median(r) == pytest.approx(np.median(kept), rel=0.03)


def test_people_in_line_have_waited_front_longest() -> None:
    spec = busy_station(patience=Uniform(low_minutes=600, high_minutes=601))
    state = StationState(now_minute=900, people_in_line=100, processed_today=400)
    cond = condition(spec, state, replications=2, seed=0)
    # patience left = patience - elapsed: the front has waited longest, so has least left
    assert cond.ghosts == 2  # both desks busy now
    left = cond.inputs[0].patience_minutes[cond.ghosts : cond.ghosts + 100]
    assert left[0] < left[-1]
    assert np.all(np.diff(left) >= -1.01)  # patience spans 1 minute only
    assert 600 - left[-1] < 5  # the back of the line has just arrived


def test_no_line_at_plan_rate_equals_the_plain_simulation_of_the_rest_of_the_day() -> None:
    spec = busy_station(desks=2)
    now = 840.0
    planned = planned_arrivals_by(spec.days[0], now)
    state = StationState(now_minute=now, people_in_line=0, processed_today=round(planned))
    sure = IntensityPrior(shape=1e7, rate=1e7)  # the plan's rate, known
    result = nowcast(spec, state, replications=300, seed=5, prior=sure)
    plain = simulate_station(remaining_day_spec(spec, state, 0), replications=300, seed=99)
    p = plain.total.turned_away_at_close
    assert p.mean > 20  # a real backlog at closing
    # standard errors of both means: the nowcast's from its 90 % predictive spread (normal
    # approximation), the plain simulation's from its 95 % Student-t interval
    se_now = (result.turned_away_at_close.ci_high - result.turned_away_at_close.ci_low) / (
        2 * 1.645 * math.sqrt(300)
    )
    se_plain = (p.ci_high - p.ci_low) / (2 * 1.968)
    assert abs(result.turned_away_at_close.mean - p.mean) < 4 * math.hypot(se_now, se_plain) + 1
    assert result.served_rest_of_day.mean == pytest.approx(plain.total.served.mean, rel=0.02)
    # the line through the afternoon, sample by sample
    for a, b in zip(result.line, plain.days[0].line_over_time, strict=True):
        assert a.minute == b.minute
        assert abs(a.mean - b.mean) <= 0.1 * b.mean + 3.0


def test_seeded_runs_are_reproducible() -> None:
    spec = busy_station()
    state = StationState(now_minute=800, people_in_line=60, processed_today=500)
    a = nowcast(spec, state, replications=20, seed=4).as_dict()
    b = nowcast(spec, state, replications=20, seed=4).as_dict()
    c = nowcast(spec, state, replications=20, seed=5).as_dict()
    assert a == b
    assert a != c


@st.composite
def present_states(draw: st.DrawFn) -> tuple[StationSpec, StationState, str, int]:
    desks = draw(st.integers(1, 3))
    spec = busy_station(desks=desks)
    state = StationState(
        now_minute=draw(st.sampled_from([600.0, 780.0, 900.0, 1080.0])),
        people_in_line=draw(st.integers(0, 150)),
        processed_today=draw(st.integers(0, 600)),
    )
    return spec, state, "checkin", draw(st.integers(1, 3))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(present_states())
def test_more_servers_never_leave_more_in_line(
    case: tuple[StationSpec, StationState, str, int],
) -> None:
    """Common random numbers, FIFO line without reneging: pathwise, per replication."""
    spec, state, stage, add = case
    cond = condition(spec, state, replications=6, seed=7)
    before = run(cond)
    after = run(cond, variant(cond, servers={stage: spec.stages[0].servers + add}))
    assert np.all(after.left_in_line_at_close <= before.left_in_line_at_close)
    assert np.all(after.turned_away_at_close <= before.turned_away_at_close)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(present_states(), st.sampled_from([15.0, 60.0, 180.0]))
def test_longer_extensions_never_turn_more_away(
    case: tuple[StationSpec, StationState, str, int], minutes: float
) -> None:
    spec, state, _, _ = case
    cond = condition(spec, state, replications=6, seed=8)
    short = run(cond, variant(cond, close_policy=extended(HARD, minutes)))
    long = run(cond, variant(cond, close_policy=extended(HARD, 2 * minutes)))
    base = run(cond)
    assert np.all(short.turned_away_at_close <= base.turned_away_at_close)
    assert np.all(long.turned_away_at_close <= short.turned_away_at_close)


def test_state_outside_the_hours_is_refused() -> None:
    with pytest.raises(ValueError, match="opening hours"):
        condition(busy_station(), StationState(now_minute=1230, people_in_line=0), 5)
    with pytest.raises(ValueError, match="unknown stage"):
        condition(
            busy_station(),
            StationState(now_minute=700, people_in_line=0, working=(("lanes", 2),)),
            5,
        )


def test_summary_intervals_are_predictive_quantiles() -> None:
    spec = busy_station(desks=1)
    state = StationState(now_minute=800, people_in_line=80, processed_today=450)
    cond = condition(spec, state, replications=200, seed=2)
    runs = run(cond)
    res = summarise(cond, runs, level=0.8)
    lo, hi = np.quantile(runs.turned_away_at_close, [0.1, 0.9], method="weibull")
    assert res.turned_away_at_close.ci_low == pytest.approx(lo)
    assert res.turned_away_at_close.ci_high == pytest.approx(hi)
    inside = (runs.turned_away_at_close >= lo) & (runs.turned_away_at_close <= hi)
    assert inside.mean() >= 0.8


@pytest.mark.parametrize("n", [40, 60, 100])
def test_the_interval_of_n_replications_holds_one_more_draw_at_the_nominal_rate(n: int) -> None:
    """What the interval promises: today's outcome is one more draw from the distribution
    the replications sample, and it falls inside the interval of ``n`` of them with chance
    ``level`` (distribution-free: the k-th of n draws sits at k / (n + 1) on average). The
    sample's own 5th-95th percentiles (numpy's default) fall short: 85-88 % here."""
    rng = np.random.default_rng(n)
    trials = 40_000
    draws = rng.lognormal(3.0, 1.0, size=(n, trials))  # skewed, like people left at closing
    today = rng.lognormal(3.0, 1.0, size=trials)
    lo, hi = predictive_bounds(draws, 0.9)
    held = float(((lo <= today) & (today <= hi)).mean())
    assert held == pytest.approx(0.90, abs=0.006)  # binomial sd 0.0015
    plain = np.quantile(draws, [0.05, 0.95], axis=0)
    assert float(((plain[0] <= today) & (today <= plain[1])).mean()) < 0.885


def test_the_factor_is_covered_where_the_desks_cap_what_is_seen() -> None:
    """One desk for twice its capacity, impatient voters: by mid-afternoon most arrivals have
    given up unseen, and the seen count (processed + in line) hardly depends on the factor.
    Over days whose true factor is drawn from the prior, the posterior's 90 % interval must
    still hold it about 90 % of the time (a single thinned Poisson update held it on about
    a third of such days: sure of a wrong factor)."""
    from abroad.jobs.replay import StationDay
    from abroad.queueing.sampling import replication_rng
    from abroad.queueing.station import draw_inputs, prepare, run_inputs

    spec = busy_station(desks=1, patience=Uniform(low_minutes=30, high_minutes=120))
    prior = IntensityPrior()
    rng = np.random.default_rng(11)
    prep = prepare(spec)
    held, sure = 0, 0
    days = 120
    for d in range(days):
        theta = float(rng.gamma(prior.shape, 1 / prior.rate))
        inputs = draw_inputs(prep, replication_rng(500 + d, 0), theta)
        day = StationDay(spec, 0, prep, inputs, run_inputs(prep, inputs))
        line, processed = day.counts_at(900.0)
        state = StationState(now_minute=900, people_in_line=line, processed_today=processed)
        post = update_intensity(spec, state, prior, seed=d)
        lo, hi = post.interval(0.9)
        held += lo <= theta <= hi
        sure += post.sd < 0.5 * (prior.shape**0.5 / prior.rate)
    assert 0.83 <= held / days <= 0.99, held
    assert sure > days // 2  # and it still learns: most posteriors are much tighter than the prior


def door_and_desk(cap: int | None = 40) -> StationSpec:
    """Door screening (fast) then one desk (the limit), both part of the line, a cap on the
    queue outside."""
    return StationSpec(
        days=(DaySpec(open_minutes=480, close_minutes=1200, arrivals_per_hour=(45.0,) * 12),),
        stages=(
            StageSpec(name="security", servers=2, service=Exponential(mean_minutes=0.3)),
            StageSpec(name="checkin", servers=1, service=Exponential(mean_minutes=2.0)),
            StageSpec(name="booth", servers=10, service=LogNormal(mean_minutes=3, cv=0.5)),
        ),
        line_stages=2,
        max_queue_outside=cap,
        close_policy=HARD,
    )


def test_the_line_inside_is_not_screened_again_nor_held_to_the_cap() -> None:
    """Screening is fast and the desk is the limit: the line waits inside, past the door.
    The reported line is split as the day so far has it: the part inside keeps its place
    without being screened again, and the cap (on the queue outside) neither holds it nor
    raises the line-above-cap alert."""
    from abroad.jobs.replay import StationDay
    from abroad.ops.alerts import AlertKind, AlertThresholds, evaluate_alerts
    from abroad.queueing.sampling import replication_rng
    from abroad.queueing.station import draw_inputs, prepare, run_inputs

    spec = door_and_desk()
    prep = prepare(spec)
    inputs = draw_inputs(prep, replication_rng(8, 0))
    truth = StationDay(spec, 0, prep, inputs, run_inputs(prep, inputs))
    line, processed = truth.counts_at(720.0)
    assert line > 60  # well above the cap of 40, nearly all of it inside
    state = StationState(now_minute=720, people_in_line=line, processed_today=processed)
    assert morning_line(spec, state, 1.0, seed=1).inside_share > 0.9
    cond = condition(spec, state, replications=40, seed=1)
    assert cond.outside < 10 and cond.inside + cond.outside == line
    runs = run(cond)
    nc = summarise(cond, runs)
    assert nc.line[0].ci_high < 40  # the queue outside, now
    alerts = evaluate_alerts(cond, nc, AlertThresholds(), with_actions=False)
    assert AlertKind.LINE_ABOVE_CAP not in {a.kind for a in alerts}
    # everyone in line now is served before the day's newcomers: the desk's next hour
    # goes to them (2 minutes each, 30 an hour)
    assert nc.wait_minutes_now.mean == pytest.approx(line * 2.0, rel=0.25)
