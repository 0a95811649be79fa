"""Station simulator speed against SimPy and ciw on the same two-stage model, in one run.

Model: 08:00-20:00 (12 h), a peaked hourly profile scaled to 1,000 and 1,500 voters/day,
check-in desks (exponential, mean 1.5 min) then booths (lognormal, mean 4 min, cv 0.5),
patience uniform 30-90 min (reneging on), everyone in line at closing served.

- abroad: ``simulate_station`` end to end (random draws, kernel, statistics, CIs).
- SimPy: a plain SimPy model (tests/queueing/simpy_model.py) fed abroad's pre-drawn random
  inputs, so SimPy pays no random-number cost (conservative for the ratio); its per-voter
  waits are checked equal to abroad's.
- ciw: the same network built with ciw (PoissonIntervals arrivals, reneging distributions).

Also: 1,000 replications of a 300-station network day (``simulate_many``), and the M/M/c
check against Erlang C. One core (numba and numpy single-threaded).

    .venv/bin/python benchmarks/bench_simulator.py            # full run (~2 minutes)
    .venv/bin/python benchmarks/bench_simulator.py --quick    # smaller, for development
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from abroad.model import ClosePolicy, Exponential, LogNormal, Uniform
from abroad.queueing import DaySpec, StageSpec, StationSpec, simulate_many, simulate_station
from abroad.queueing import kernel as K
from abroad.queueing.erlang import erlang_c_wait
from abroad.queueing.sampling import replication_rng
from abroad.queueing.station import draw_inputs, prepare, run_inputs, run_replications

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from queueing.simpy_model import run_simpy_day

SHAPE = np.array([90, 110, 130, 150, 160, 150, 130, 110, 90, 70, 50, 40], dtype=float)
PATIENCE = (30.0, 90.0)


def station(voters_per_day: int) -> tuple[StationSpec, list[int]]:
    desks = 3 if voters_per_day <= 1000 else 4
    booths = 8 if voters_per_day <= 1000 else 11
    profile = tuple(float(x) for x in SHAPE / SHAPE.sum() * voters_per_day)
    spec = StationSpec(
        name=f"{voters_per_day}/day",
        days=(DaySpec(open_minutes=480, close_minutes=1200, arrivals_per_hour=profile),),
        stages=(
            StageSpec(name="checkin", servers=desks, service=Exponential(mean_minutes=1.5)),
            StageSpec(name="booth", servers=booths, service=LogNormal(mean_minutes=4, cv=0.5)),
        ),
        patience=Uniform(low_minutes=PATIENCE[0], high_minutes=PATIENCE[1]),
        close_policy=ClosePolicy(kind="serve_all"),  # type: ignore[arg-type]
    )
    return spec, [desks, booths]


def bench_abroad(spec: StationSpec, replications: int) -> tuple[float, float]:
    simulate_station(spec, 2, seed=99)  # warm (numba cache load)
    t0 = time.perf_counter()
    out = simulate_station(spec, replications, seed=1)
    dt = time.perf_counter() - t0
    return out.total.arrivals.mean * replications / dt, out.total.wait_minutes.mean.mean


def bench_simpy(spec: StationSpec, servers: list[int], replications: int) -> float:
    prep = prepare(spec)
    inputs = [draw_inputs(prep, replication_rng(5, k)) for k in range(replications)]
    voters = 0
    t0 = time.perf_counter()
    results = []
    for inp in inputs:
        results.append(
            run_simpy_day(
                inp.arrival_minutes,
                inp.patience_minutes,
                inp.service_minutes,
                servers,
                480.0,
                math.inf,
            )
        )
        voters += inp.arrival_minutes.shape[0]
    dt = time.perf_counter() - t0
    for inp, (outcome, wait) in zip(inputs, results, strict=True):  # same fates, same waits
        trace = run_inputs(prep, inp)
        assert np.array_equal(trace.outcome.astype(np.int64), outcome)
        assert np.allclose(trace.wait_minutes, wait, equal_nan=True, rtol=1e-9, atol=1e-9)
    return voters / dt


def bench_ciw(spec: StationSpec, servers: list[int], replications: int) -> tuple[float, float]:
    import ciw

    rates = [r / 60.0 for r in spec.days[0].arrivals_per_hour]
    mu, sigma = LogNormal(mean_minutes=4, cv=0.5).log_params()
    voters = 0
    waits = []
    t0 = time.perf_counter()
    for k in range(replications):
        ciw.seed(k)
        net = ciw.create_network(
            arrival_distributions=[
                ciw.dists.PoissonIntervals(
                    rates=rates,
                    endpoints=[60.0 * (h + 1) for h in range(len(rates))],
                    max_sample_date=720.0,
                ),
                None,
            ],
            service_distributions=[ciw.dists.Exponential(1 / 1.5), ciw.dists.Lognormal(mu, sigma)],
            number_of_servers=servers,
            routing=[[0.0, 1.0], [0.0, 0.0]],
            reneging_time_distributions=[ciw.dists.Uniform(*PATIENCE), None],
        )
        sim = ciw.Simulation(net)
        sim.simulate_until_max_time(720.0 + 600.0)
        recs = sim.get_all_records()
        ids = {r.id_number for r in recs}
        voters += len(ids)
        per: dict[int, float] = {}
        for r in recs:
            if r.record_type == "service":
                per[r.id_number] = per.get(r.id_number, 0.0) + r.waiting_time
        waits.append(np.mean(list(per.values())))
    dt = time.perf_counter() - t0
    return voters / dt, float(np.mean(waits))


def network_day(n_stations: int, replications: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    specs = []
    for i in range(n_stations):
        v = float(np.clip(rng.lognormal(math.log(900), 0.6), 100, 6000))
        desks = max(1, math.ceil(v / 12 / 60 * 1.5 * 1.3))
        booths = max(1, math.ceil(v / 12 / 60 * 4.0 * 1.3))
        profile = tuple(float(x) for x in SHAPE / SHAPE.sum() * v)
        specs.append(
            StationSpec(
                name=f"s{i}",
                days=(DaySpec(open_minutes=480, close_minutes=1200, arrivals_per_hour=profile),),
                stages=(
                    StageSpec(name="checkin", servers=desks, service=Exponential(mean_minutes=1.5)),
                    StageSpec(
                        name="booth", servers=booths, service=LogNormal(mean_minutes=4, cv=0.5)
                    ),
                ),
                patience=Uniform(low_minutes=30, high_minutes=90),
                close_policy=ClosePolicy(kind="hard_close"),  # type: ignore[arg-type]
            )
        )
    t0 = time.perf_counter()
    outs = simulate_many(specs, replications, seed=0)
    dt = time.perf_counter() - t0
    voters = sum(o.total.arrivals.mean for o in outs) * replications
    return dt, voters / dt


def erlang_check(replications: int, horizon: float) -> list[str]:
    lines = []
    for rho in (0.83, 0.90):
        c, mean = 10, 5.0
        lam_h = rho * c / mean * 60
        spec = StationSpec(
            days=(
                DaySpec(
                    open_minutes=0,
                    close_minutes=horizon,
                    arrivals_per_hour=(lam_h,),
                    bin_minutes=horizon,
                ),
            ),
            stages=(StageSpec(name="s", servers=c, service=Exponential(mean_minutes=mean)),),
            queue_step_minutes=horizon,
        )
        st = run_replications(spec, replications, seed=11).stats[:, -1, :]
        served = st[:, K.COL_COUNTS + K.SERVED]
        w = float((st[:, K.COL_WAIT_MEAN] * served).sum() / served.sum())
        e = erlang_c_wait(lam_h, mean, c).mean_wait_minutes
        lines.append(
            f"M/M/{c} rho={rho:.2f}: Erlang C Wq={e:.4f} min, simulated {w:.4f} min "
            f"({(w / e - 1) * 100:+.2f} %), {served.sum() / 1e6:.1f} M voters"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller runs for development")
    args = ap.parse_args()
    q = args.quick
    print("abroad station simulator benchmark (one core)")
    for voters in (1000, 1500):
        spec, servers = station(voters)
        ours, our_wait = bench_abroad(spec, 300 if q else 3000)
        simpy_rate = bench_simpy(spec, servers, 3 if q else 20)
        ciw_rate, ciw_wait = bench_ciw(spec, servers, 2 if q else 10)
        print(
            f"{voters} voters/day: abroad {ours / 1e6:.2f} M voters/s "
            f"| SimPy {simpy_rate / 1e3:.1f} k/s "
            f"| ciw {ciw_rate / 1e3:.1f} k/s | abroad/SimPy {ours / simpy_rate:,.0f}x "
            f"| abroad/ciw {ours / ciw_rate:,.0f}x | mean wait abroad {our_wait:.2f} min, "
            f"ciw {ciw_wait:.2f} min"
        )
    reps = 50 if q else 1000
    dt, rate = network_day(300, reps)
    print(
        f"network day: 300 stations x {reps} replications in {dt:.1f} s "
        f"({rate / 1e6:.2f} M voters/s)"
    )
    for line in erlang_check(4 if q else 40, 200_000.0 if q else 2_000_000.0):
        print(line)


if __name__ == "__main__":
    main()
