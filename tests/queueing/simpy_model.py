"""A plain SimPy model of a station with the kernel's rules, fed the kernel's random inputs.

Test-only reference: the first ``line_stages`` stages are the line (patience on the total wait,
close cutoff), later stages FIFO and always served.
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
    line_stages: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """(outcome codes, total wait of served voters (NaN otherwise)) of one day."""
    env = simpy.Environment(initial_time=open_minutes)
    stages = [simpy.Resource(env, capacity=c) for c in servers]
    n = arrivals.shape[0]
    outcome = np.full(n, -1, dtype=np.int64)
    wait = np.full(n, np.nan)

    def voter(i: int) -> Generator[Any, Any, None]:
        yield env.timeout(arrivals[i] - env.now)
        total = 0.0
        for s in range(len(stages)):
            reached = env.now
            req = stages[s].request()
            if s < line_stages:
                events = [req]
                patience_left = patience[i] - total
                if math.isfinite(patience_left):
                    events.append(env.timeout(max(patience_left, 0.0)))
                if math.isfinite(cutoff_minutes):
                    events.append(env.timeout(max(cutoff_minutes - reached, 0.0)))
                result = yield env.any_of(events)
                if req not in result:
                    req.cancel()
                    gave_up = reached + patience_left
                    outcome[i] = RENEGED if gave_up <= cutoff_minutes else CLOSE
                    return
            else:
                yield req
            total += env.now - reached
            yield env.timeout(service[s, i])
            stages[s].release(req)
        outcome[i] = SERVED
        wait[i] = total

    for i in range(n):
        env.process(voter(i))
    env.run()
    return outcome, wait
