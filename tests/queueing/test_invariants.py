"""Invariants of the kernel, checked on random stations (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abroad.model import ClosePolicy, Exponential, LogNormal, Uniform
from abroad.queueing import DaySpec, StageSpec, StationSpec, SurgeSpec
from abroad.queueing import kernel as K
from abroad.queueing.sampling import replication_rng
from abroad.queueing.station import draw_inputs, prepare, run_inputs, run_replications

policies = st.sampled_from(
    [
        ClosePolicy(kind="serve_all"),  # type: ignore[arg-type]
        ClosePolicy(kind="hard_close"),  # type: ignore[arg-type]
        ClosePolicy(kind="extend", extend_minutes=30),  # type: ignore[arg-type]
    ]
)


@st.composite
def stations(draw: st.DrawFn) -> StationSpec:
    n_days = draw(st.integers(1, 3))
    days = []
    for _ in range(n_days):
        open_m = draw(st.sampled_from([420.0, 480.0, 540.0]))
        hours = draw(st.integers(2, 8))
        rates = tuple(draw(st.lists(st.floats(0, 200), min_size=hours, max_size=hours)))
        surges = ()
        if draw(st.booleans()):
            surges = (SurgeSpec(at_minute=open_m + 60, extra_voters=draw(st.floats(0, 150))),)
        days.append(
            DaySpec(
                open_minutes=open_m,
                close_minutes=open_m + 60 * hours,
                arrivals_per_hour=rates,
                surges=surges,
                early_voters=draw(st.integers(0, 40)),
            )
        )
    stages = [
        StageSpec(
            name="checkin", servers=draw(st.integers(1, 4)), service=Exponential(mean_minutes=2)
        ),
        StageSpec(
            name="booth", servers=draw(st.integers(1, 6)), service=LogNormal(mean_minutes=4, cv=0.6)
        ),
    ]
    if draw(st.booleans()):
        stages[0] = StageSpec(
            name="checkin",
            schedule=((0.0, 2), (open_m + 60, 4), (open_m + 120, 1)),
            service=Exponential(mean_minutes=2),
        )
    return StationSpec(
        days=tuple(days),
        stages=tuple(stages),
        patience=draw(st.sampled_from([None, Uniform(low_minutes=10, high_minutes=60)])),
        balk_queue_length=draw(st.sampled_from([None, 30, 80])),
        max_queue_outside=draw(st.sampled_from([None, 50])),
        close_policy=draw(policies),
        ballots=draw(st.sampled_from([None, 100, 600])),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=stations(), seed=st.integers(0, 2**32))
def test_every_arrival_counted_once_and_waits_non_negative(spec: StationSpec, seed: int) -> None:
    prep = prepare(spec)
    trace = run_inputs(prep, draw_inputs(prep, replication_rng(seed, 0)))
    n = trace.inputs.arrival_minutes.shape[0]
    assert ((trace.outcome >= 0) & (trace.outcome < K.N_OUTCOMES)).all()
    served = trace.outcome == K.SERVED
    assert (trace.wait_minutes[served] >= 0).all()
    assert np.isnan(trace.wait_minutes[~served]).all()
    # every stage started after arrival, stages in order
    starts = trace.start_minutes[:, served]
    assert (starts[0] >= trace.inputs.arrival_minutes[served] - 1e-9).all()
    assert (np.diff(starts, axis=0) >= -1e-9).all()
    # counts per day add up to arrivals, also in the totals row
    stats = trace.stats
    for d in range(stats.shape[0]):
        assert stats[d, : K.N_OUTCOMES].sum() == stats[d, K.COL_ARRIVALS]
    assert stats[-1, K.COL_ARRIVALS] == n
    if spec.ballots is not None:
        assert served.sum() <= spec.ballots
    if spec.max_queue_outside is not None:
        assert stats[:-1, K.COL_MAX_LINE].max(initial=0) <= spec.max_queue_outside
    if spec.close_policy.kind != "serve_all":
        cutoff = prep.station.day_cutoff
        for d in range(len(spec.days)):
            sl = slice(trace.inputs.arr_off[d], trace.inputs.arr_off[d + 1])
            s0 = trace.start_minutes[0, sl]
            assert (s0[~np.isnan(s0)] <= cutoff[d] + 1e-9).all()


@st.composite
def single_stage(draw: st.DrawFn) -> StationSpec:
    hours = draw(st.integers(2, 6))
    rates = tuple(draw(st.lists(st.floats(10, 150), min_size=hours, max_size=hours)))
    return StationSpec(
        days=(DaySpec(open_minutes=480, close_minutes=480 + 60 * hours, arrivals_per_hour=rates),),
        stages=(
            StageSpec(
                name="desk",
                servers=draw(st.integers(1, 5)),
                service=LogNormal(mean_minutes=draw(st.floats(1, 6)), cv=draw(st.floats(0.1, 1.5))),
            ),
        ),
        close_policy=draw(policies),
    )


@settings(max_examples=60, deadline=None)
@given(spec=single_stage(), seed=st.integers(0, 2**32))
def test_one_more_server_never_increases_any_wait(spec: StationSpec, seed: int) -> None:
    more = spec.with_servers({"desk": spec.stages[0].servers + 1})
    prep_a, prep_b = prepare(spec), prepare(more)
    inp = draw_inputs(prep_a, replication_rng(seed, 0))
    inp_b = draw_inputs(prep_b, replication_rng(seed, 0))
    np.testing.assert_array_equal(inp.service_minutes, inp_b.service_minutes)  # CRN
    a = run_inputs(prep_a, inp)
    b = run_inputs(prep_b, inp)
    # the start of service (served or not) never moves later, so no wait grows and nobody
    # served with fewer servers is turned away with more
    served_a = a.outcome == K.SERVED
    assert (b.outcome[served_a] == K.SERVED).all()
    assert (b.wait_minutes[served_a] <= a.wait_minutes[served_a] + 1e-9).all()
    assert (b.outcome != K.SERVED).sum() <= (a.outcome != K.SERVED).sum()


@settings(max_examples=15, deadline=None)
@given(
    servers=st.integers(1, 4),
    patience=st.sampled_from([None, Uniform(low_minutes=5, high_minutes=40)]),
    seed=st.integers(0, 2**20),
)
def test_one_more_server_never_increases_expected_turned_away(
    servers: int, patience: Uniform | None, seed: int
) -> None:
    spec = StationSpec(
        days=(DaySpec(open_minutes=480, close_minutes=720, arrivals_per_hour=(60, 120, 140, 90)),),
        stages=(StageSpec(name="desk", servers=servers, service=Exponential(mean_minutes=2.5)),),
        patience=patience,
        close_policy=ClosePolicy(kind="hard_close"),  # type: ignore[arg-type]
    )
    more = spec.with_servers({"desk": servers + 1})
    lost_cols = [K.COL_COUNTS + K.TURNED_AWAY_CLOSE, K.COL_COUNTS + K.RENEGED]
    a = run_replications(spec, 30, seed).stats[:, -1, lost_cols].sum(axis=1)
    b = run_replications(more, 30, seed).stats[:, -1, lost_cols].sum(axis=1)
    if patience is None:
        assert (b <= a).all()  # pathwise without reneging
    assert b.mean() <= a.mean() + 1e-9
