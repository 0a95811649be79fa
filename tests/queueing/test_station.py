"""Features of the station simulator: seeds, days, ballots, schedules, surges, policies."""

from __future__ import annotations

import numpy as np
import pytest

from abroad.model import ClosePolicy, Deterministic, Empirical, Exponential
from abroad.queueing import (
    DaySpec,
    StageSpec,
    StationSpec,
    SurgeSpec,
    simulate_many,
    simulate_replication,
    simulate_station,
)
from abroad.queueing import kernel as K
from abroad.queueing.station import run_replications
from abroad.results import StationOutcomeResult
from queueing.factory import PATIENCE, PROFILE, two_stage


def test_replication_k_is_the_same_alone_or_in_a_batch() -> None:
    spec = two_stage(patience=PATIENCE, close="hard_close")
    batch = run_replications(spec, 6, seed=42)
    alone = run_replications(spec, 1, seed=42, first_replication=4)
    np.testing.assert_array_equal(batch.stats[4], alone.stats[0])
    np.testing.assert_array_equal(batch.line[4], alone.line[0])
    trace = simulate_replication(spec, seed=42, replication=4)
    np.testing.assert_array_equal(trace.stats, alone.stats[0])
    other = run_replications(spec, 1, seed=43, first_replication=4)
    assert not np.array_equal(other.stats[0], alone.stats[0])


def test_outcome_estimates_and_json_shape() -> None:
    out = simulate_station(two_stage(patience=PATIENCE, close="hard_close"), 20, seed=1)
    d = StationOutcomeResult.of_outcome(out).to_json_dict()
    for key in [
        "arrivals",
        "served",
        "turned_away_at_close",
        "turned_away_no_ballots",
        "reneged",
        "balked",
    ]:
        assert set(d[key]) == {"mean", "ci_low", "ci_high"}
        assert d[key]["ci_low"] <= d[key]["mean"] <= d[key]["ci_high"]
        assert set(d["days"][0][key]) == {"mean", "ci_low", "ci_high"}
    assert set(d["wait_minutes"]) >= {"mean", "p50", "p95", "p99", "max"}
    assert out.total.arrivals.mean == pytest.approx(sum(PROFILE), rel=0.03)
    w = out.total.wait_minutes
    assert w.p50.mean <= w.p90.mean <= w.p95.mean <= w.p99.mean <= w.max.mean
    assert len(out.days[0].line_over_time) == 12 * 4 + 1
    assert 0 < out.total.utilisation["checkin"].mean <= 1


def test_several_days_open_empty_and_share_the_ballot_stock() -> None:
    day = DaySpec(open_minutes=480, close_minutes=720, arrivals_per_hour=(100, 100, 100, 100))
    spec = StationSpec(
        days=(day, day, day),
        stages=(StageSpec(name="desk", servers=3, service=Exponential(mean_minutes=1.5)),),
        ballots=700,
    )
    trace = simulate_replication(spec, seed=5)
    served = trace.stats[:-1, K.COL_COUNTS + K.SERVED]
    no_ballots = trace.stats[:-1, K.COL_COUNTS + K.TURNED_AWAY_NO_BALLOTS]
    assert served.sum() == 700  # ~1200 arrive over three days
    assert no_ballots[0] == 0 and served[2] == 0 and no_ballots[2] == trace.stats[2, K.COL_ARRIVALS]
    # each day's first voter finds the station empty
    first_of_day2 = trace.inputs.arr_off[1]
    assert trace.wait_minutes[first_of_day2] == 0.0


def test_server_schedule_adds_a_desk_at_midday() -> None:
    base = two_stage(checkin=3, booths=12, profile=(150.0,) * 12)
    extra = base.with_servers({"checkin": ((0.0, 3), (660.0, 4), (900.0, 3))})
    a = simulate_station(base, 20, seed=2)
    b = simulate_station(extra, 20, seed=2)
    assert b.total.wait_minutes.mean.mean < a.total.wait_minutes.mean.mean

    # the fourth desk only helps from 11:00: the line at 10:45 is the same
    def at(out: object, minute: float) -> float:
        return next(p.mean for p in out.days[0].line_over_time if p.minute == minute)  # type: ignore[attr-defined]

    assert at(a, 645.0) == at(b, 645.0)
    assert at(b, 840.0) < at(a, 840.0)


def test_surge_and_early_line_arrive_when_they_should() -> None:
    day = DaySpec(
        open_minutes=480,
        close_minutes=1200,
        arrivals_per_hour=(20.0,) * 12,
        surges=(SurgeSpec(at_minute=720, extra_voters=500, width_minutes=20),),
        early_voters=50,
    )
    spec = StationSpec(
        days=(day,),
        stages=(StageSpec(name="desk", servers=50, service=Deterministic(minutes=1)),),
    )
    arr = np.concatenate(
        [simulate_replication(spec, seed=s).inputs.arrival_minutes for s in range(10)]
    )
    assert (arr == 480).sum() >= 500  # 50 early per replication (plus none by chance)
    near = ((arr > 660) & (arr < 780)).sum() / 10
    assert near == pytest.approx(500 + 40, rel=0.1)
    assert spec.expected_arrivals == pytest.approx(50 + 240 + 500, rel=1e-6)


def test_balking_and_outside_cap_limit_the_line() -> None:
    busy = two_stage(checkin=2, booths=10, profile=(200.0,) * 12)
    capped = busy.model_copy(update={"max_queue_outside": 40})
    balky = busy.model_copy(update={"balk_queue_length": 25})
    for spec, col, limit in [(capped, K.TURNED_AWAY_CAP, 40), (balky, K.BALKED, 25)]:
        trace = simulate_replication(spec, seed=9)
        assert trace.stats[0, K.COL_MAX_LINE] <= limit
        assert trace.stats[0, K.COL_COUNTS + col] > 100


@pytest.mark.parametrize("policy", ["max_queue_outside", "balk_queue_length"])
def test_a_line_already_there_is_kept_whole_and_counts_for_newcomers(policy: str) -> None:
    """A plan's early line meets the cap like anyone (beyond it, people are sent away at
    opening); a line already there before the day began (a nowcast's present line,
    ``already_in_line``) is not sent away, and newcomers are while it is at the cap."""
    from abroad.queueing.sampling import replication_rng
    from abroad.queueing.station import draw_inputs, prepare, run_inputs

    spec = two_stage(checkin=1, booths=10, profile=(30.0,) * 12)
    day = spec.days[0].model_copy(update={"early_voters": 40})
    spec = spec.model_copy(update={"days": (day,), policy: 10})
    gone = K.TURNED_AWAY_CAP if policy == "max_queue_outside" else K.BALKED
    plan = prepare(spec)
    inp = draw_inputs(plan, replication_rng(3, 0))
    early = run_inputs(plan, inp).outcome[:40]
    assert (early == gone).sum() == 40 - 11  # one starts at the desk, ten wait: the cap holds
    kept = prepare(spec, already_in_line=40)
    out = run_inputs(kept, inp).outcome
    assert not (out[:40] == gone).any()
    # one desk (1.5 min) takes about 45 minutes to bring 40 people under 10: newcomers
    # of the first half hour find the line at the cap
    first_half_hour = (inp.arrival_minutes > 480) & (inp.arrival_minutes < 510)
    assert first_half_hour.sum() > 5
    assert (out[first_half_hour] == gone).all()


def test_close_policies_order() -> None:
    lost = {}
    for close in ["serve_all", 60.0, "hard_close"]:
        out = simulate_station(two_stage(checkin=2, booths=10, close=close), 10, seed=4)
        lost[str(close)] = out.total.turned_away_at_close.mean
        last = out.days[0].last_leave_minute.mean
        if close == "serve_all":
            assert last > 1200 + 60
    assert lost["serve_all"] == 0
    assert lost["hard_close"] > lost["60.0"] > 0


def test_empirical_and_deterministic_service() -> None:
    spec = StationSpec(
        days=(DaySpec(open_minutes=0, close_minutes=600, arrivals_per_hour=(30.0,)),),
        stages=(
            StageSpec(name="a", servers=1, service=Empirical(values_minutes=(1.0, 3.0))),
            StageSpec(name="b", servers=1, service=Deterministic(minutes=0.5)),
        ),
    )
    trace = simulate_replication(spec, seed=1)
    assert set(np.unique(trace.inputs.service_minutes[0])) == {1.0, 3.0}
    assert (trace.inputs.service_minutes[1] == 0.5).all()


def test_simulate_many_gives_each_station_its_own_streams() -> None:
    spec = two_stage()
    outs = simulate_many([spec, spec], replications=3, seed=0)
    assert outs[0].total.arrivals.mean != outs[1].total.arrivals.mean
    again = simulate_many([spec], replications=3, seed=0)
    assert again[0].total.arrivals == outs[0].total.arrivals


def test_close_policy_defaults_and_validation() -> None:
    with pytest.raises(ValueError):
        DaySpec(open_minutes=600, close_minutes=500, arrivals_per_hour=(1.0,))
    with pytest.raises(ValueError):
        StageSpec(name="x", schedule=((10.0, 1), (5.0, 2)), service=Deterministic(minutes=1))
    assert StationSpec(
        days=(DaySpec(open_minutes=0, close_minutes=60, arrivals_per_hour=(1.0,)),),
        stages=(StageSpec(name="x", service=Deterministic(minutes=1)),),
    ).close_policy == ClosePolicy(kind="serve_all")  # type: ignore[arg-type]


def _stats_in_child(args: tuple[int, int]) -> list[float]:
    seed, rep = args
    spec = two_stage(patience=PATIENCE, close="hard_close")
    return [float(x) for x in run_replications(spec, 1, seed, first_replication=rep).stats[0, -1]]


def test_replication_is_the_same_in_another_process() -> None:
    import multiprocessing as mp

    spec = two_stage(patience=PATIENCE, close="hard_close")
    here = run_replications(spec, 3, seed=8).stats[2, -1]
    with mp.get_context("spawn").Pool(1) as pool:
        there = pool.map(_stats_in_child, [(8, 2)])[0]
    np.testing.assert_array_equal(here, np.array(there))


def test_simulate_many_is_the_same_with_two_worker_processes() -> None:
    specs = [two_stage(checkin=c) for c in (2, 3, 4)]
    one = simulate_many(specs, replications=3, seed=1)
    two = simulate_many(specs, replications=3, seed=1, workers=2)
    assert [StationOutcomeResult.of_outcome(o).to_json_dict() for o in one] == [
        StationOutcomeResult.of_outcome(o).to_json_dict() for o in two
    ]


def test_station_from_scenario_service_model() -> None:
    from abroad.model import Policies, SecurityScreening, ServiceModel
    from abroad.queueing import station_from_model

    service = ServiceModel(
        checkin=Exponential(mean_minutes=2),
        booth=Exponential(mean_minutes=3),
        security=SecurityScreening(service=Deterministic(minutes=0.45), servers=2),
        patience=PATIENCE,
    )
    policies = Policies(ballot_cap_per_station=5000)
    day = DaySpec(open_minutes=480, close_minutes=1200, arrivals_per_hour=(100.0,) * 12)
    spec = station_from_model(service, policies, (day,), desks=3, booths=((0.0, 6), (720.0, 8)))
    assert [s.name for s in spec.stages] == ["security", "checkin", "booth"]
    assert spec.stages[2].max_servers == 8
    assert spec.ballots == 5000
    assert spec.close_policy == policies.close_policy
    assert simulate_station(spec, 2).total.arrivals.mean > 0
