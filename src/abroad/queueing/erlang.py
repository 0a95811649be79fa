"""Erlang C: the stationary M/M/c queue, as an analytic reference and a sizing start point."""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (``offered_load`` = λ/μ Erlangs).

    1.0 when the queue is unstable (load >= servers). Uses the Erlang B recursion, which is
    stable for hundreds of servers.
    """
    if servers < 1:
        raise ValueError("servers must be at least 1")
    if offered_load < 0:
        raise ValueError("offered_load must be non-negative")
    if offered_load >= servers:
        return 1.0
    if offered_load == 0:
        return 0.0
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    return servers * b / (servers - offered_load * (1.0 - b))


@dataclass(frozen=True)
class ErlangC:
    """Stationary M/M/c figures for one stage."""

    servers: int
    arrivals_per_hour: float
    mean_service_minutes: float
    utilisation: float
    prob_wait: float
    mean_wait_minutes: float
    """Mean time in queue (infinite when unstable)."""

    def prob_wait_at_most(self, minutes: float) -> float:
        """P(wait <= minutes) = 1 - C exp(-(cμ - λ) t)."""
        if self.utilisation >= 1:
            return 0.0
        rate_gap = self.servers / self.mean_service_minutes - self.arrivals_per_hour / 60.0
        return 1.0 - self.prob_wait * math.exp(-rate_gap * minutes)


def erlang_c_wait(arrivals_per_hour: float, mean_service_minutes: float, servers: int) -> ErlangC:
    """Erlang C figures for a stage with Poisson arrivals and exponential service."""
    lam = arrivals_per_hour / 60.0
    load = lam * mean_service_minutes
    c = erlang_c(servers, load)
    rho = load / servers
    wq = math.inf if rho >= 1 else c / (servers / mean_service_minutes - lam)
    return ErlangC(servers, arrivals_per_hour, mean_service_minutes, rho, c, wq)


def erlang_c_servers(
    arrivals_per_hour: float,
    mean_service_minutes: float,
    target_wait_minutes: float,
    service_level: float,
    max_servers: int = 10_000,
) -> int | None:
    """Fewest servers with P(wait <= target) >= service_level in steady state (None if even
    ``max_servers`` is not enough)."""
    load = arrivals_per_hour / 60.0 * mean_service_minutes
    c = max(1, math.floor(load) + 1)
    while c <= max_servers:
        e = erlang_c_wait(arrivals_per_hour, mean_service_minutes, c)
        if e.prob_wait_at_most(target_wait_minutes) >= service_level:
            return c
        c += 1
    return None
