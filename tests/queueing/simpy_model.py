"""A plain SimPy model of a station with the kernel's rules, fed the kernel's random inputs.

Test-only reference: stage 0 is the line (patience, close policy), later stages FIFO.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

SERVED, CLOSE, RENEGED = 0, 1, 3


def run_simpy_day(
    arrivals: np.ndarray,
    patience: np.ndarray,
    service: np.ndarray,
    servers: list[int],
    open_minutes: float,
    cutoff_minutes: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(outcome codes, total wait of served voters (NaN otherwise)) of one day."""
    env = simpy.Environment(initial_time=open_minutes)
    stages = [simpy.Resource(env, capacity=c) for c in servers]
    n = arrivals.shape[0]
    outcome = np.full(n, -1, dtype=np.int64)
    wait = np.full(n, np.nan)

    def voter(i: int) -> Generator[Any, Any, None]:
        yield env.timeout(arrivals[i] - env.now)
        t = env.now
        req = stages[0].request()
        events = [req]
        if math.isfinite(patience[i]):
            events.append(env.timeout(patience[i]))
        if math.isfinite(cutoff_minutes):
            events.append(env.timeout(max(cutoff_minutes - t, 0.0)))
        result = yield env.any_of(events)
        if req not in result:
            req.cancel()
            gave_up = t + patience[i]
            outcome[i] = RENEGED if gave_up <= cutoff_minutes else CLOSE
            return
        total = env.now - t
        yield env.timeout(service[0, i])
        stages[0].release(req)
        for s in range(1, len(stages)):
            ready = env.now
            with stages[s].request() as r:
                yield r
                total += env.now - ready
                yield env.timeout(service[s, i])
        outcome[i] = SERVED
        wait[i] = total

    for i in range(n):
        env.process(voter(i))
    env.run()
    return outcome, wait
