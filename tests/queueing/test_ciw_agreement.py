"""Statistical agreement with ciw on the two-stage station with a time-varying profile."""

from __future__ import annotations

import math

import ciw
import numpy as np

from abroad.queueing import kernel as K
from abroad.queueing.station import run_replications
from queueing.factory import PROFILE, two_stage


def _ciw_mean_waits(replications: int, checkin: int, booths: int) -> np.ndarray:
    mu, sigma = math.log(4.0) - math.log1p(0.25) / 2, math.sqrt(math.log1p(0.25))
    out = []
    for k in range(replications):
        ciw.seed(1000 + k)
        network = ciw.create_network(
            arrival_distributions=[
                ciw.dists.PoissonIntervals(
                    rates=[r / 60.0 for r in PROFILE],
                    endpoints=[60.0 * (h + 1) for h in range(len(PROFILE))],
                    max_sample_date=60.0 * len(PROFILE),
                ),
                None,
            ],
            service_distributions=[
                ciw.dists.Exponential(rate=1 / 1.5),
                ciw.dists.Lognormal(mu, sigma),
            ],
            number_of_servers=[checkin, booths],
            routing=[[0.0, 1.0], [0.0, 0.0]],
        )
        sim = ciw.Simulation(network)
        sim.simulate_until_max_time(60.0 * len(PROFILE) + 600)
        waits: dict[int, float] = {}
        for rec in sim.get_all_records():
            waits[rec.id_number] = waits.get(rec.id_number, 0.0) + rec.waiting_time
        out.append(np.mean(list(waits.values())))
    return np.array(out)


def test_mean_wait_agrees_with_ciw() -> None:
    ours = run_replications(two_stage(checkin=3, booths=7), 300, seed=3).stats[:, -1, :]
    ours_w = ours[:, K.COL_WAIT_MEAN]
    theirs = _ciw_mean_waits(20, 3, 7)
    se = math.sqrt(ours_w.var(ddof=1) / ours_w.size + theirs.var(ddof=1) / theirs.size)
    assert ours_w.mean() > 5  # a real queue
    assert abs(ours_w.mean() - theirs.mean()) < 3.5 * se, (ours_w.mean(), theirs.mean(), se)
    assert abs(ours[:, K.COL_ARRIVALS].mean() - sum(PROFILE)) < 0.02 * sum(PROFILE)
