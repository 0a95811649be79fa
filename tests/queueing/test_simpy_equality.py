"""Same random inputs, same per-voter fates and waits as a plain SimPy model."""

from __future__ import annotations

import numpy as np
import pytest

from abroad.queueing.sampling import replication_rng
from abroad.queueing.station import draw_inputs, prepare, run_inputs
from queueing.factory import PATIENCE, two_stage
from queueing.simpy_model import run_simpy_day


@pytest.mark.parametrize("with_patience", [False, True])
@pytest.mark.parametrize("close", ["serve_all", "hard_close", 45.0])
def test_per_voter_waits_equal_simpy(with_patience: bool, close: str | float) -> None:
    # overloaded after noon so that the line, reneging and closing all matter
    profile = (90.0, 120.0, 160.0, 200.0, 220.0, 200.0, 160.0, 150.0, 140.0, 140.0, 160.0, 180.0)
    spec = two_stage(
        checkin=3,
        booths=9,
        patience=PATIENCE if with_patience else None,
        close=close,
        profile=profile,
    )
    prep = prepare(spec)
    for rep in range(2):
        inp = draw_inputs(prep, replication_rng(7, rep))
        trace = run_inputs(prep, inp)
        outcome, wait = run_simpy_day(
            inp.arrival_minutes,
            inp.patience_minutes,
            inp.service_minutes,
            [3, 9],
            480.0,
            float(prep.day_cutoff[0]),
        )
        np.testing.assert_array_equal(trace.outcome.astype(np.int64), outcome)
        np.testing.assert_allclose(trace.wait_minutes, wait, rtol=1e-9, atol=1e-9)
        # the case is not trivial: people wait, and the policies act
        assert np.nanmax(wait) > 30
        if with_patience:
            assert (outcome == 3).sum() > 0
        if close == "hard_close" and not with_patience:
            assert (outcome == 1).sum() > 0
