"""Prize-collecting routing with duration limits: the problem, its checker and a local search.

The tours planner and the team orienteering reader (``abroad.tours.top``) both reduce their
problems to a ``RoutingProblem``: optional nodes, each at a location with a prize, a service
time and a cost; routes ("vehicles") that start and end at given locations within a duration
limit; optional limits on the summed duration of a group of routes (a team's days) and on the
summed cost (travel and venues). The objective is the total prize of the visited nodes.

``solve`` is an iterated local search written for this: randomised greedy insertion by prize
per added duration, 2-opt and relocation to shorten routes, replacement of a visited node by a
better unvisited one, and ruin-and-recreate perturbation, accepting equal-prize moves that
shorten routes. Pure: arrays in, typed solution out; seeded; stops at a time limit or an
iteration limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EPS = 1e-9


@dataclass(frozen=True)
class Vehicle:
    """One route: where it starts and ends, how long it may last, which group it counts in."""

    start: int
    """Location index of the start."""
    end: int
    """Location index of the end."""
    max_duration: float
    group: int = 0


@dataclass(frozen=True)
class RoutingProblem:
    """Nodes at locations with prizes; routes with duration limits; optional group/cost limits.

    ``travel[a, b]`` is the time from location a to b (same unit as ``max_duration`` and
    ``service``); ``travel_cost[a, b]`` its money cost (None: travel is free).
    """

    location: IntArray
    """Location of each node."""
    prize: FloatArray
    service: FloatArray
    """Service time at each node."""
    node_cost: FloatArray
    """Money cost of visiting each node (a venue day)."""
    travel: FloatArray
    vehicles: tuple[Vehicle, ...]
    travel_cost: FloatArray | None = None
    group_limit: tuple[float, ...] = ()
    """Summed duration allowed per group (index = group); empty: no group limits."""
    budget: float | None = None
    """Summed travel and node cost allowed; None: no limit."""

    @property
    def n_nodes(self) -> int:
        return int(self.location.shape[0])

    def route_duration(self, route: Sequence[int], vehicle: Vehicle) -> float:
        """Travel plus service time of a route (an empty route lasts 0)."""
        if not route:
            return 0.0
        locs = [vehicle.start, *(int(self.location[n]) for n in route), vehicle.end]
        travel = sum(float(self.travel[a, b]) for a, b in zip(locs, locs[1:], strict=False))
        return travel + float(sum(self.service[n] for n in route))

    def route_cost(self, route: Sequence[int], vehicle: Vehicle) -> float:
        """Travel and node cost of a route (an empty route costs 0)."""
        if not route:
            return 0.0
        cost = float(sum(self.node_cost[n] for n in route))
        if self.travel_cost is not None:
            locs = [vehicle.start, *(int(self.location[n]) for n in route), vehicle.end]
            cost += sum(
                float(self.travel_cost[a, b]) for a, b in zip(locs, locs[1:], strict=False)
            )
        return cost


@dataclass(frozen=True)
class RoutingSolution:
    """Node sequences, one per vehicle (empty: the vehicle stays home)."""

    routes: tuple[tuple[int, ...], ...]
    prize: float
    iterations: int = 0
    seconds: float = 0.0

    @property
    def visited(self) -> frozenset[int]:
        return frozenset(n for r in self.routes for n in r)


def check_solution(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> list[str]:
    """Every constraint the routes break (empty when feasible)."""
    out: list[str] = []
    if len(routes) != len(problem.vehicles):
        out.append(f"{len(routes)} routes for {len(problem.vehicles)} vehicles")
        return out
    seen: set[int] = set()
    group_used: dict[int, float] = {}
    cost = 0.0
    for k, (route, vehicle) in enumerate(zip(routes, problem.vehicles, strict=True)):
        for n in route:
            if not 0 <= n < problem.n_nodes:
                out.append(f"route {k}: node {n} does not exist")
                return out
            if n in seen:
                out.append(f"route {k}: node {n} visited twice")
            seen.add(n)
        duration = problem.route_duration(route, vehicle)
        if duration > vehicle.max_duration + 1e-6:
            out.append(f"route {k}: lasts {duration:.4f} > {vehicle.max_duration:.4f}")
        group_used[vehicle.group] = group_used.get(vehicle.group, 0.0) + duration
        cost += problem.route_cost(route, vehicle)
    for g, used in group_used.items():
        if g < len(problem.group_limit) and used > problem.group_limit[g] + 1e-6:
            out.append(f"group {g}: routes last {used:.4f} > {problem.group_limit[g]:.4f}")
    if problem.budget is not None and cost > problem.budget + 1e-6:
        out.append(f"cost {cost:.2f} > budget {problem.budget:.2f}")
    return out


# ---------------------------------------------------------------------------------------------
# Search state


@dataclass
class _State:
    routes: list[list[int]]
    duration: list[float]
    cost: list[float]
    prize: float
    visited: npt.NDArray[np.bool_]
    group_used: dict[int, float] = field(default_factory=dict)

    def copy(self) -> _State:
        return _State(
            [list(r) for r in self.routes],
            list(self.duration),
            list(self.cost),
            self.prize,
            self.visited.copy(),
            dict(self.group_used),
        )

    @property
    def total_duration(self) -> float:
        return float(sum(self.duration))

    @property
    def total_cost(self) -> float:
        return float(sum(self.cost))


class _Search:
    def __init__(self, problem: RoutingProblem, rng: np.random.Generator) -> None:
        self.p = problem
        self.rng = rng
        self.loc = problem.location.astype(np.int64)
        self.T = problem.travel
        self.C = problem.travel_cost
        self.useful = np.flatnonzero(problem.prize > 0)
        # service time plus the node cost and the group/budget limits are checked per insertion
        self.has_budget = problem.budget is not None
        self.has_groups = bool(problem.group_limit)

    # -- evaluation -------------------------------------------------------------------------
    def _locs(self, route: list[int], k: int) -> IntArray:
        v = self.p.vehicles[k]
        return np.array([v.start, *self.loc[route].tolist(), v.end], dtype=np.int64)

    def refresh(self, s: _State, k: int) -> None:
        v = self.p.vehicles[k]
        old = s.duration[k]
        s.duration[k] = self.p.route_duration(s.routes[k], v)
        s.cost[k] = self.p.route_cost(s.routes[k], v)
        s.group_used[v.group] = s.group_used.get(v.group, 0.0) - old + s.duration[k]

    def empty(self) -> _State:
        m = len(self.p.vehicles)
        return _State(
            [[] for _ in range(m)],
            [0.0] * m,
            [0.0] * m,
            0.0,
            np.zeros(self.p.n_nodes, dtype=bool),
            {},
        )

    def group_room(self, s: _State, k: int) -> float:
        g = self.p.vehicles[k].group
        if g < len(self.p.group_limit):
            return self.p.group_limit[g] - s.group_used.get(g, 0.0)
        return math.inf

    # -- insertion --------------------------------------------------------------------------
    def best_insertions(
        self, s: _State, k: int, cand: IntArray
    ) -> tuple[FloatArray, IntArray, FloatArray]:
        """For each candidate: the smallest added duration in route k, its position, its cost."""
        locs = self._locs(s.routes[k], k)
        cl = self.loc[cand]
        a, b = locs[:-1], locs[1:]
        if s.routes[k]:
            base = self.T[a, b]
        else:
            base = np.zeros(1)
        delta = self.T[a][:, cl] + self.T[cl][:, b].T - base[:, None]
        if not s.routes[k]:
            # An empty route also pays nothing now, so delta is the whole round trip.
            pass
        pos = np.argmin(delta, axis=0)
        dmin = delta[pos, np.arange(cand.size)] + self.p.service[cand]
        if self.C is not None:
            cbase = self.C[a, b] if s.routes[k] else np.zeros(1)
            cdelta = self.C[a][:, cl] + self.C[cl][:, b].T - cbase[:, None]
            cmin = cdelta[pos, np.arange(cand.size)] + self.p.node_cost[cand]
        else:
            cmin = self.p.node_cost[cand].astype(np.float64)
        return dmin, pos.astype(np.int64), cmin

    def insert_greedy(self, s: _State, noise: float, power: float) -> None:
        """Insert unvisited nodes one at a time, best prize per added duration first."""
        m = len(self.p.vehicles)
        while True:
            cand = self.useful[~s.visited[self.useful]]
            if cand.size == 0:
                return
            best_score = -math.inf
            best: tuple[int, int, int] | None = None
            room_cost = (
                (self.p.budget or 0.0) - s.total_cost if self.has_budget else math.inf
            )
            prize = self.p.prize[cand]
            for k in range(m):
                v = self.p.vehicles[k]
                room = min(v.max_duration - s.duration[k], self.group_room(s, k))
                if room < 0:
                    continue
                dmin, pos, cmin = self.best_insertions(s, k, cand)
                ok = (dmin <= room + EPS) & (cmin <= room_cost + EPS)
                if not ok.any():
                    continue
                score = prize**power / (np.maximum(dmin, 0.0) + 1e-3)
                if noise > 0:
                    score = score * (1.0 + noise * self.rng.random(cand.size))
                score = np.where(ok, score, -math.inf)
                j = int(np.argmax(score))
                if score[j] > best_score:
                    best_score = float(score[j])
                    best = (k, int(cand[j]), int(pos[j]))
            if best is None:
                return
            k, node, position = best
            s.routes[k].insert(position, node)
            s.visited[node] = True
            s.prize += float(self.p.prize[node])
            self.refresh(s, k)

    # -- improvement ------------------------------------------------------------------------
    def two_opt(self, s: _State, k: int) -> None:
        route = s.routes[k]
        if len(route) < 3:
            return
        improved = True
        while improved:
            improved = False
            locs = self._locs(route, k)
            n = len(locs)
            for i in range(1, n - 2):
                a, b = locs[i - 1], locs[i]
                c = locs[i + 1 : n - 1]
                d = locs[i + 2 : n]
                gain = self.T[a, b] + self.T[c, d] - self.T[a, c] - self.T[b, d]
                j = int(np.argmax(gain))
                if gain[j] > 1e-7:
                    jj = i + 1 + j  # reverse locs[i..jj]
                    route[i - 1 : jj] = route[i - 1 : jj][::-1]
                    improved = True
                    break
        self.refresh(s, k)

    def relocate_shorten(self, s: _State, k: int) -> None:
        """Move single nodes to a cheaper position in the same route (or-opt of length 1)."""
        route = s.routes[k]
        improved = True
        while improved and len(route) > 1:
            improved = False
            for idx in range(len(route)):
                node = route[idx]
                before = s.duration[k]
                trial = route[:idx] + route[idx + 1 :]
                route[:] = trial
                self.refresh(s, k)
                dmin, pos, _ = self.best_insertions(s, k, np.array([node], dtype=np.int64))
                route.insert(int(pos[0]), node)
                self.refresh(s, k)
                if s.duration[k] < before - 1e-7:
                    improved = True
                    break
        self.refresh(s, k)

    def shorten(self, s: _State) -> None:
        for k in range(len(s.routes)):
            if s.routes[k]:
                self.two_opt(s, k)
                if len(s.routes[k]) <= 40:
                    self.relocate_shorten(s, k)

    def replace(self, s: _State) -> bool:
        """Swap a visited node for an unvisited one with a larger prize where it fits."""
        cand = self.useful[~s.visited[self.useful]]
        if cand.size == 0:
            return False
        order = cand[np.argsort(-self.p.prize[cand], kind="stable")][:30]
        room_cost = (self.p.budget or 0.0) - s.total_cost if self.has_budget else math.inf
        for u in order:
            pu = float(self.p.prize[u])
            for k, route in enumerate(s.routes):
                v = self.p.vehicles[k]
                for idx in np.argsort(self.p.prize[route], kind="stable") if route else []:
                    w = route[int(idx)]
                    if self.p.prize[w] >= pu:
                        break
                    trial = route[: int(idx)] + route[int(idx) + 1 :]
                    old_route, old_dur = list(route), s.duration[k]
                    old_cost = s.cost[k]
                    s.routes[k] = trial
                    self.refresh(s, k)
                    dmin, pos, cmin = self.best_insertions(s, k, np.array([u], dtype=np.int64))
                    room = min(v.max_duration - s.duration[k], self.group_room(s, k))
                    extra_cost = s.cost[k] + float(cmin[0]) - old_cost
                    if dmin[0] <= room + EPS and extra_cost <= room_cost + EPS:
                        trial.insert(int(pos[0]), int(u))
                        s.routes[k] = trial
                        s.visited[w] = False
                        s.visited[u] = True
                        s.prize += pu - float(self.p.prize[w])
                        self.refresh(s, k)
                        return True
                    s.routes[k] = old_route
                    self.refresh(s, k)
                    assert abs(s.duration[k] - old_dur) < 1e-6
        return False

    def local_search(self, s: _State) -> None:
        self.shorten(s)
        self.insert_greedy(s, 0.0, 1.0)
        for _ in range(50):
            if not self.replace(s):
                break
            self.shorten(s)
            self.insert_greedy(s, 0.0, 1.0)

    # -- perturbation -----------------------------------------------------------------------
    def ruin(self, s: _State, share: float) -> None:
        for k, route in enumerate(s.routes):
            if not route:
                continue
            n_remove = max(1, int(round(share * len(route) * self.rng.random() * 2)))
            if self.rng.random() < 0.5:
                start = int(self.rng.integers(0, len(route)))
                removed = route[start : start + n_remove]
            else:
                picks = self.rng.choice(len(route), size=min(n_remove, len(route)), replace=False)
                removed = [route[int(i)] for i in picks]
            for node in removed:
                route.remove(node)
                s.visited[node] = False
                s.prize -= float(self.p.prize[node])
            self.refresh(s, k)


def solve(
    problem: RoutingProblem,
    *,
    seconds: float = 10.0,
    seed: int = 0,
    max_iterations: int | None = None,
    initial: Sequence[Sequence[int]] | None = None,
    on_improve: Callable[[float, float], None] | None = None,
) -> RoutingSolution:
    """Maximise the collected prize: iterated local search until the time or iteration limit.

    ``initial`` (feasible routes) seeds the search; ``on_improve(prize, seconds)`` is called on
    each new best.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    search = _Search(problem, rng)
    cur = search.empty()
    if initial is not None:
        if check_solution(problem, initial):
            raise ValueError("the initial routes are not feasible")
        for k, route in enumerate(initial):
            cur.routes[k] = [int(n) for n in route]
            for n in route:
                cur.visited[n] = True
                cur.prize += float(problem.prize[n])
            search.refresh(cur, k)
    search.insert_greedy(cur, 0.0, 1.0)
    search.local_search(cur)
    best = cur.copy()
    iterations = 0
    stall = 0
    while True:
        if max_iterations is not None and iterations >= max_iterations:
            break
        if time.perf_counter() - t0 >= seconds:
            break
        iterations += 1
        trial = cur.copy()
        search.ruin(trial, share=0.1 + 0.25 * rng.random())
        search.shorten(trial)
        search.insert_greedy(trial, noise=0.5 * rng.random(), power=1.0 + rng.random())
        search.local_search(trial)
        better = trial.prize > cur.prize + 1e-9 or (
            abs(trial.prize - cur.prize) <= 1e-9 and trial.total_duration < cur.total_duration
        )
        # Accept small losses now and then (late-acceptance flavour) to leave local optima.
        if better or trial.prize >= cur.prize * (1.0 - 0.01 * rng.random()):
            cur = trial
        if cur.prize > best.prize + 1e-9 or (
            abs(cur.prize - best.prize) <= 1e-9 and cur.total_duration < best.total_duration - 1e-9
        ):
            improved_prize = cur.prize > best.prize + 1e-9
            best = cur.copy()
            stall = 0
            if improved_prize and on_improve is not None:
                on_improve(best.prize, time.perf_counter() - t0)
        else:
            stall += 1
        if stall > 200:
            cur = best.copy()
            stall = 0
    return RoutingSolution(
        routes=tuple(tuple(r) for r in best.routes),
        prize=float(sum(problem.prize[n] for r in best.routes for n in r)),
        iterations=iterations,
        seconds=time.perf_counter() - t0,
    )


def greedy(problem: RoutingProblem) -> RoutingSolution:
    """The baseline: deterministic greedy insertion (best prize per added duration), no search."""
    t0 = time.perf_counter()
    search = _Search(problem, np.random.default_rng(0))
    s = search.empty()
    search.insert_greedy(s, 0.0, 1.0)
    return RoutingSolution(
        routes=tuple(tuple(r) for r in s.routes),
        prize=s.prize,
        seconds=time.perf_counter() - t0,
    )
