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

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EPS = 1e-9
ACCEPT = 0.03
"""Largest loss accepted at the start, as a share of the best prize (shrinks to 0 by the end)."""
RUIN = 0.7
"""Largest share of the visits a perturbation removes (drawn uniformly between 5 % and this)."""
STALL = 300
"""Iterations without a new best before the search returns to the best solution."""


@dataclass(frozen=True)
class Vehicle:
    """One route: where it starts and ends, how long it may last, which group it counts in."""

    start: int
    """Location index of the start."""
    end: int
    """Location index of the end."""
    max_duration: float
    group: int = 0
    cost_factor: float = 1.0
    """Multiplies the travel cost of this route (e.g. the number of people travelling)."""


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
        travel = sum(float(self.travel[a, b]) for a, b in itertools.pairwise(locs))
        return travel + float(sum(self.service[n] for n in route))

    def route_cost(self, route: Sequence[int], vehicle: Vehicle) -> float:
        """Travel and node cost of a route (an empty route costs 0)."""
        if not route:
            return 0.0
        cost = float(sum(self.node_cost[n] for n in route))
        if self.travel_cost is not None:
            locs = [vehicle.start, *(int(self.location[n]) for n in route), vehicle.end]
            cost += vehicle.cost_factor * sum(
                float(self.travel_cost[a, b]) for a, b in itertools.pairwise(locs)
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
        route = s.routes[k]
        if route:
            locs = self._locs(route, k)
            s.duration[k] = float(self.T[locs[:-1], locs[1:]].sum() + self.p.service[route].sum())
            cost = float(self.p.node_cost[route].sum())
            if self.C is not None:
                cost += v.cost_factor * float(self.C[locs[:-1], locs[1:]].sum())
            s.cost[k] = cost
        else:
            s.duration[k] = 0.0
            s.cost[k] = 0.0
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
        base = self.T[a, b] if s.routes[k] else np.zeros(1)
        delta = self.T[np.ix_(a, cl)] + self.T[np.ix_(cl, b)].T - base[:, None]
        pos = np.argmin(delta, axis=0)
        dmin = delta[pos, np.arange(cand.size)] + self.p.service[cand]
        if self.C is not None:
            cbase = self.C[a, b] if s.routes[k] else np.zeros(1)
            cdelta = self.C[np.ix_(a, cl)] + self.C[np.ix_(cl, b)].T - cbase[:, None]
            factor = self.p.vehicles[k].cost_factor
            cmin = factor * cdelta[pos, np.arange(cand.size)] + self.p.node_cost[cand]
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
            room_cost = (self.p.budget or 0.0) - s.total_cost if self.has_budget else math.inf
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
                    score = score * np.exp(noise * self.rng.standard_normal(cand.size))
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

    def insert_random(self, s: _State) -> None:
        """Insert one random unvisited node where it fits (diversification)."""
        cand = self.useful[~s.visited[self.useful]]
        if cand.size == 0:
            return
        u = int(self.rng.choice(cand))
        one = np.array([u], dtype=np.int64)
        room_cost = (self.p.budget or 0.0) - s.total_cost if self.has_budget else math.inf
        for k in self.rng.permutation(len(s.routes)):
            k = int(k)
            room = min(self.p.vehicles[k].max_duration - s.duration[k], self.group_room(s, k))
            dmin, pos, cmin = self.best_insertions(s, k, one)
            if dmin[0] <= room + EPS and cmin[0] <= room_cost + EPS:
                s.routes[k].insert(int(pos[0]), u)
                s.visited[u] = True
                s.prize += float(self.p.prize[u])
                self.refresh(s, k)
                return

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

    def or_opt(self, s: _State, k: int) -> None:
        """Move segments of 1-3 nodes (either way round) to where they save the most time."""
        route = s.routes[k]
        for _ in range(200):
            n = len(route)
            if n < 2:
                break
            locs = self._locs(route, k)
            e_from, e_to = locs[:-1], locs[1:]
            edge = self.T[e_from, e_to]
            best_gain, best = 1e-7, None
            for length in (1, 2, 3):
                if length >= n:
                    break
                i = np.arange(n - length + 1)
                first, last = locs[i + 1], locs[i + length]
                prev, nxt = locs[i], locs[i + length + 1]
                saving = self.T[prev, first] + self.T[last, nxt] - self.T[prev, nxt]
                fwd = self.T[e_from[None, :], first[:, None]] + self.T[last[:, None], e_to[None, :]]
                rev = self.T[e_from[None, :], last[:, None]] + self.T[first[:, None], e_to[None, :]]
                cost = np.minimum(fwd, rev) - edge[None, :]
                eidx = np.arange(n + 1)[None, :]
                touching = (eidx >= i[:, None]) & (eidx <= (i + length)[:, None])
                gain = np.where(touching, -np.inf, saving[:, None] - cost)
                r, c = np.unravel_index(int(np.argmax(gain)), gain.shape)
                if gain[r, c] > best_gain:
                    reverse = bool(rev[r, c] < fwd[r, c])
                    best_gain, best = float(gain[r, c]), (int(r), length, int(c), reverse)
            if best is None:
                break
            start, length, e, reverse = best
            seg = route[start : start + length]
            if reverse:
                seg = seg[::-1]
            rest = route[:start] + route[start + length :]
            at = e if e < start else e - length
            route[:] = rest[:at] + seg + rest[at:]
        self.refresh(s, k)

    def _prefix_suffix(self, s: _State, k: int) -> tuple[IntArray, FloatArray, FloatArray]:
        """Locations of route k (with its ends), time up to each cut, time after each cut.

        A cut i (0..len) splits the route into its first i nodes and the rest; ``pre[i]`` is
        the time from the start through the first i nodes, ``suf[i]`` from the node after the
        cut's location ``locs[i + 1]`` onwards to the end.
        """
        route = s.routes[k]
        locs = self._locs(route, k)
        legs = self.T[locs[:-1], locs[1:]]
        serv = np.concatenate([self.p.service[route], [0.0]]) if route else np.zeros(1)
        pre = np.concatenate([[0.0], np.cumsum(legs[:-1] + serv[:-1])])
        total = float(legs.sum() + serv.sum())
        suf = total - pre - legs
        return locs, pre, suf

    def exchange_tails(self, s: _State) -> bool:
        """2-opt*: swap the tails of two routes with the same ends when it saves time."""
        m = len(s.routes)
        for k in range(m):
            for q in range(k + 1, m):
                vk, vq = self.p.vehicles[k], self.p.vehicles[q]
                if (vk.start, vk.end) != (vq.start, vq.end) or not (s.routes[k] or s.routes[q]):
                    continue
                la, pa, sa = self._prefix_suffix(s, k)
                lb, pb, sb = self._prefix_suffix(s, q)
                new_a = pa[:, None] + self.T[la[:-1][:, None], lb[1:][None, :]] + sb[None, :]
                new_b = pb[None, :] + self.T[lb[:-1][None, :], la[1:][:, None]] + sa[:, None]
                ok = (new_a <= vk.max_duration + EPS) & (new_b <= vq.max_duration + EPS)
                total = np.where(ok, new_a + new_b, np.inf)
                i, j = np.unravel_index(int(np.argmin(total)), total.shape)
                if total[i, j] < s.duration[k] + s.duration[q] - 1e-7:
                    ra, rb = s.routes[k], s.routes[q]
                    s.routes[k], s.routes[q] = ra[:i] + rb[j:], rb[:j] + ra[i:]
                    self.refresh(s, k)
                    self.refresh(s, q)
                    over_budget = self.has_budget and s.total_cost > (self.p.budget or 0.0) + EPS
                    if over_budget or (
                        self.has_groups
                        and (self.group_room(s, k) < -EPS or self.group_room(s, q) < -EPS)
                    ):
                        s.routes[k], s.routes[q] = ra, rb
                        self.refresh(s, k)
                        self.refresh(s, q)
                        continue
                    return True
        return False

    def shorten(self, s: _State) -> None:
        for _ in range(10):
            if not self.exchange_tails(s):
                break
        for k in range(len(s.routes)):
            if s.routes[k]:
                self.two_opt(s, k)
                self.or_opt(s, k)

    def replace(self, s: _State) -> bool:
        """Swap a visited node for an unvisited one with a larger prize where it fits.

        Screens every (visited, unvisited) pair of a route at once with the removal saving and
        the insertion cost in the current route, then checks the best pair exactly.
        """
        cand = self.useful[~s.visited[self.useful]]
        if cand.size == 0:
            return False
        best_gain, best = 0.0, None
        for k, route in enumerate(s.routes):
            if not route:
                continue
            locs = self._locs(route, k)
            saving = (
                self.T[locs[:-2], locs[1:-1]]
                + self.T[locs[1:-1], locs[2:]]
                - self.T[locs[:-2], locs[2:]]
                + self.p.service[route]
            )
            dmin, _pos, _c = self.best_insertions(s, k, cand)
            room = min(self.p.vehicles[k].max_duration - s.duration[k], self.group_room(s, k))
            gain = self.p.prize[cand][None, :] - self.p.prize[route][:, None]
            ok = (dmin[None, :] - saving[:, None] <= room + EPS) & (gain > 1e-9)
            if not ok.any():
                continue
            gain = np.where(ok, gain - 1e-6 * (dmin[None, :] - saving[:, None]), -np.inf)
            i, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
            if gain[i, j] > best_gain:
                best_gain, best = float(gain[i, j]), (k, int(i), int(cand[j]))
        if best is None:
            return False
        k, idx, u = best
        old_route = list(s.routes[k])
        w = old_route[idx]
        s.routes[k] = old_route[:idx] + old_route[idx + 1 :]
        self.refresh(s, k)
        dmin, pos, cmin = self.best_insertions(s, k, np.array([u], dtype=np.int64))
        room = min(self.p.vehicles[k].max_duration - s.duration[k], self.group_room(s, k))
        room_cost = (self.p.budget or 0.0) - s.total_cost if self.has_budget else math.inf
        if dmin[0] <= room + EPS and cmin[0] <= room_cost + EPS:
            s.routes[k].insert(int(pos[0]), u)
            s.visited[w] = False
            s.visited[u] = True
            s.prize += float(self.p.prize[u] - self.p.prize[w])
            self.refresh(s, k)
            return True
        s.routes[k] = old_route
        self.refresh(s, k)
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
        """Remove nodes: a random share of each route, a segment, or all near a random node."""
        kind = self.rng.random()
        visited = np.flatnonzero(s.visited)
        if kind < 0.4 and visited.size:
            centre = int(self.loc[int(self.rng.choice(visited))])
            n_remove = max(1, round(share * visited.size))
            near = visited[np.argsort(self.T[centre, self.loc[visited]], kind="stable")]
            drop = set(near[:n_remove].tolist())
        else:
            drop = set()
            for route in s.routes:
                if not route:
                    continue
                n_remove = max(1, round(share * len(route)))
                if kind < 0.7:
                    start = int(self.rng.integers(0, len(route)))
                    drop.update(route[start : start + n_remove])
                else:
                    picks = self.rng.choice(
                        len(route), size=min(n_remove, len(route)), replace=False
                    )
                    drop.update(route[int(i)] for i in picks)
        for k, route in enumerate(s.routes):
            kept = [n for n in route if n not in drop]
            if len(kept) != len(route):
                for n in route:
                    if n in drop:
                        s.visited[n] = False
                        s.prize -= float(self.p.prize[n])
                s.routes[k] = kept
                self.refresh(s, k)


def _better(a: _State, b: _State) -> bool:
    """More prize, or the same prize in less total time."""
    if a.prize > b.prize + 1e-9:
        return True
    return abs(a.prize - b.prize) <= 1e-9 and a.total_duration < b.total_duration - 1e-9


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
        elapsed = time.perf_counter() - t0
        if max_iterations is not None and iterations >= max_iterations:
            break
        if elapsed >= seconds:
            break
        iterations += 1
        trial = cur.copy()
        search.ruin(trial, share=0.05 + RUIN * rng.random())
        search.shorten(trial)
        if rng.random() < 0.3:
            search.insert_random(trial)
        search.insert_greedy(trial, noise=rng.random(), power=0.5 + 1.5 * rng.random())
        search.local_search(trial)
        # Threshold acceptance: losses up to a threshold that shrinks as time runs out.
        progress = elapsed / seconds if max_iterations is None else iterations / max_iterations
        threshold = ACCEPT * (1.0 - progress) * best.prize * rng.random()
        if trial.prize >= cur.prize - threshold - 1e-9:
            cur = trial
        if _better(cur, best):
            improved_prize = cur.prize > best.prize + 1e-9
            best = cur.copy()
            stall = 0
            if improved_prize and on_improve is not None:
                on_improve(best.prize, time.perf_counter() - t0)
        else:
            stall += 1
        if stall > STALL:
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
