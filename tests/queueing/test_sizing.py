"""Sizing by simulation: the answer meets the target, one server fewer does not."""

from __future__ import annotations

from abroad.queueing import kernel as K
from abroad.queueing.sizing import peak_hour_rate, size_station
from abroad.queueing.station import run_replications
from queueing.factory import PROFILE, two_stage


def _service_level(spec: object, reps: int, seed: int, target: float) -> float:
    tot = run_replications(spec, reps, seed, target).stats[:, -1, :]  # type: ignore[arg-type]
    return float(tot[:, K.COL_SL_HITS].sum() / tot[:, K.COL_ARRIVALS].sum())


def test_sized_station_meets_target_and_is_minimal() -> None:
    spec = two_stage(checkin=1, booths=1, profile=tuple(2 * r for r in PROFILE))
    res = size_station(spec, target_wait_minutes=20, service_level=0.9, replications=6, seed=1)
    assert res.feasible
    sized = res.spec(spec)
    assert _service_level(sized, 6, 1, 20) >= 0.9
    for name, n in res.servers().items():
        fewer = sized.with_servers({name: n - 1}) if n > 1 else None
        if fewer is not None:
            assert _service_level(fewer, 6, 1, 20) < 0.9
    # Erlang C on the peak hour is shown beside (320 voters/hour at the peak)
    assert peak_hour_rate(spec) == max(2 * r for r in PROFILE)
    assert all(s.erlang_c_peak_servers is not None for s in res.stages)


def test_infeasible_when_caps_are_too_low() -> None:
    spec = two_stage(profile=tuple(3 * r for r in PROFILE))
    res = size_station(spec, 10, 0.95, max_servers={"checkin": 2, "booth": 3}, replications=3)
    assert not res.feasible
    assert res.servers() == {"checkin": 2, "booth": 3}


def test_per_hour_schedule_uses_no_more_server_hours() -> None:
    spec = two_stage(profile=PROFILE)
    flat = size_station(spec, 30, 0.95, replications=4, seed=2)
    hourly = size_station(spec, 30, 0.95, replications=4, seed=2, per_hour=True)
    assert hourly.service_level >= 0.95
    for f, h in zip(flat.stages, hourly.stages, strict=True):
        assert h.schedule is not None
        assert all(n <= f.servers for _, n in h.schedule)
    assert any(min(n for _, n in h.schedule or ()) < h.servers for h in hourly.stages)
