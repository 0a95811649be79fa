"""Same random inputs, same per-voter fates and waits as a plain SimPy model."""

from __future__ import annotations

import numpy as np
import pytest

from abroad.model import Exponential
from abroad.queueing import StageSpec
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
            float(prep.station.day_cutoff[0]),
        )
        np.testing.assert_array_equal(trace.outcome.astype(np.int64), outcome)
        np.testing.assert_allclose(trace.wait_minutes, wait, rtol=1e-9, atol=1e-9)
        # the case is not trivial: people wait, and the policies act
        assert np.nanmax(wait) > 30
        if with_patience:
            assert (outcome == 3).sum() > 0
        if close == "hard_close" and not with_patience:
            assert (outcome == 1).sum() > 0


@pytest.mark.parametrize("with_patience", [False, True])
@pytest.mark.parametrize("close", ["serve_all", "hard_close", 30.0])
def test_a_line_of_two_stages_equals_simpy(with_patience: bool, close: str | float) -> None:
    # Security screening (fast, one lane) then too few desks: the line forms inside, at the
    # desks, and the patience and the close cutoff must act there too.
    profile = (90.0, 120.0, 160.0, 200.0, 220.0, 200.0, 160.0, 150.0, 140.0, 140.0, 160.0, 180.0)
    base = two_stage(
        checkin=2,
        booths=9,
        patience=PATIENCE if with_patience else None,
        close=close,
        profile=profile,
    )
    security = StageSpec(name="security", servers=1, service=Exponential(mean_minutes=0.2))
    spec = base.model_copy(update={"stages": (security, *base.stages), "line_stages": 2})
    prep = prepare(spec)
    for rep in range(2):
        inp = draw_inputs(prep, replication_rng(11, rep))
        trace = run_inputs(prep, inp)
        outcome, wait = run_simpy_day(
            inp.arrival_minutes,
            inp.patience_minutes,
            inp.service_minutes,
            [1, 2, 9],
            480.0,
            float(prep.station.day_cutoff[0]),
            line_stages=2,
        )
        np.testing.assert_array_equal(trace.outcome.astype(np.int64), outcome)
        np.testing.assert_allclose(trace.wait_minutes, wait, rtol=1e-9, atol=1e-9)
        served_waits = wait[outcome == 0]
        if with_patience:
            assert (outcome == 3).sum() > 0
            # nobody waits longer than their patience (max 90 min)
            assert served_waits.max() <= 90.0 + 1e-9
        if close != "serve_all":
            assert (outcome == 1).sum() + (outcome == 3).sum() > 0
        else:
            assert np.nanmax(wait) > 60
