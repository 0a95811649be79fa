"""Search under the true behavioural evaluation: greedy add, local search, exhaustive enumeration.

Every move is valued with the real rule (each place votes at its first open site), through the
incremental kernels of :mod:`abroad.planning.evaluate`. Moves that break a staff, cost or
``max_open`` limit are never taken from a feasible plan; from an infeasible start (must-open
sites that already exceed a staff pool) the search first takes moves that reduce the excess.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

import numpy as np

from abroad.planning.evaluate import (
    _FEAS_TOL,
    Kernel,
    PlanValue,
    State,
    _assign,
    _site_response,
    value_of_state,
)
from abroad.planning.instance import BoolArray, FloatArray

ProgressFn = Callable[[str, float], None]
"""``progress(phase, best_objective)`` called after each improvement."""

EXHAUSTIVE_MAX_FREE_SITES = 15


def _eps(value: float) -> float:
    return 1e-9 * max(1.0, abs(value))


def _pick(d_obj: FloatArray, excess: FloatArray, cur_excess: float, min_gain: float) -> int:
    """Index of the best move, or -1: feasible and improving, or repairing an infeasible plan."""
    if cur_excess > _FEAS_TOL:
        better = excess < cur_excess - _FEAS_TOL
        if not np.any(better):
            return -1
        ex = np.where(better, excess, np.inf)
        best_ex = ex.min()
        ties = (ex <= best_ex + _FEAS_TOL) & better
        return int(np.argmax(np.where(ties, d_obj, -np.inf)))
    ok = (excess <= _FEAS_TOL) & (d_obj > min_gain)
    if not np.any(ok):
        return -1
    return int(np.argmax(np.where(ok, d_obj, -np.inf)))


def _add_candidates(state: State, exclude: int = -1, cost_freed: float = 0.0) -> BoolArray:
    inst = state.instance
    room = inst.cost_budget - (state.cost - cost_freed)
    cand = ~state.open_mask & (inst.open_cost <= room + _eps(room))
    if exclude >= 0:
        cand[exclude] = False
    return cand


def greedy(kernel: Kernel, deadline: float = np.inf, *, start: BoolArray | None = None) -> State:
    """Open the site that adds most to the objective, until nothing improves or limits bind."""
    inst = kernel.instance
    state = kernel.state(inst.must_open if start is None else start | inst.must_open)
    while state.n_open < inst.max_open and time.perf_counter() < deadline:
        cand = _add_candidates(state)
        if not np.any(cand):
            break
        d_obj, excess, _ = state.add_deltas(cand)
        best = _pick(d_obj, excess, state.staff_excess(), _eps(state.objective))
        if best < 0:
            break
        state.open_site(best)
    return state


def local_search(
    state: State,
    deadline: float,
    rng: np.random.Generator,
    progress: ProgressFn | None = None,
    phase: str = "local search",
) -> State:
    """Add / drop / swap moves under the true evaluation until a local optimum or the deadline.

    Drop sites are visited in a seeded random order; for each, the best site to open instead is
    found with one incremental pass over all candidates (first improvement over drops, best
    improvement over adds).
    """
    inst = state.instance
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        if state.n_open < inst.max_open:
            cand = _add_candidates(state)
            if np.any(cand):
                d_obj, excess, _ = state.add_deltas(cand)
                best = _pick(d_obj, excess, state.staff_excess(), _eps(state.objective))
                if best >= 0:
                    state.open_site(best)
                    improved = True
                    if progress is not None:
                        progress(phase, state.objective)
                    continue
        droppable = np.flatnonzero(state.open_mask & ~inst.must_open)
        cur_obj = state.objective
        cur_ex = state.staff_excess()
        for s in rng.permutation(droppable):
            if time.perf_counter() >= deadline:
                break
            s = int(s)
            dropped = state.without(s)
            drop_gain = dropped.objective - cur_obj
            drop_ex = dropped.staff_excess()
            cand = _add_candidates(dropped, exclude=s)
            swap_gain, swap_to, swap_ex = -np.inf, -1, np.inf
            if np.any(cand):
                d_obj, excess, _ = dropped.add_deltas(cand)
                total = drop_gain + d_obj
                ok = (
                    excess <= max(cur_ex - _FEAS_TOL, _FEAS_TOL)
                    if cur_ex > _FEAS_TOL
                    else (excess <= _FEAS_TOL)
                )
                if np.any(ok):
                    swap_to = int(np.argmax(np.where(ok, total, -np.inf)))
                    swap_gain = float(total[swap_to])
                    swap_ex = float(excess[swap_to])
            eps = _eps(cur_obj)
            drop_ok = drop_ex <= _FEAS_TOL or drop_ex < cur_ex - _FEAS_TOL
            if drop_ok and drop_gain > eps and drop_gain >= swap_gain:
                state = dropped
            elif swap_to >= 0 and (swap_gain > eps or swap_ex < cur_ex - _FEAS_TOL):
                dropped.open_site(swap_to)
                state = dropped
            elif cur_ex > _FEAS_TOL and drop_ok:
                state = dropped
            else:
                continue
            improved = True
            if progress is not None:
                progress(phase, state.objective)
            break
    return state


def perturb(state: State, rng: np.random.Generator, n_moves: int) -> State:
    """Random kick for iterated local search: close ``n_moves`` free open sites and open, for
    each, with even odds, a closed site its voters rank among their first four, or any."""
    inst = state.instance
    mask = state.open_mask.copy()
    free_open = np.flatnonzero(mask & ~inst.must_open)
    closed = np.flatnonzero(~mask)
    n = min(n_moves, free_open.size, closed.size)
    if n == 0:
        return state
    ps = inst.pref_site[:, :4]
    for s in rng.choice(free_open, n, replace=False):
        mask[s] = False
        # Open instead a closed site that the voters of s rank among their first four.
        near = np.unique(ps[state.cur_site == s])
        near = near[near >= 0]
        near = near[~mask[near] & (near != s)]
        anywhere = np.flatnonzero(~mask & (np.arange(mask.size) != s))
        pool = near if near.size and rng.random() < 0.5 else anywhere
        if pool.size:
            mask[int(rng.choice(pool))] = True
    return State(inst, mask, state.kernel)


def iterated_local_search(
    kernel: Kernel,
    start: State,
    deadline: float,
    rng: np.random.Generator,
    progress: ProgressFn | None = None,
) -> tuple[State, int]:
    """Local search, then random kicks + local search while time remains; returns best, rounds."""
    best = local_search(start, deadline, rng, progress)
    best_key = (best.staff_excess() <= _FEAS_TOL, best.objective)
    rounds = 0
    while time.perf_counter() < deadline:
        rounds += 1
        kick = int(rng.integers(2, 5))
        cand = local_search(perturb(best, rng, kick), deadline, rng)
        key = (cand.staff_excess() <= _FEAS_TOL, cand.objective)
        if key[0] >= best_key[0] and key[1] > best_key[1] + _eps(best_key[1]):
            best, best_key = cand, key
            if progress is not None:
                progress("iterated local search", best.objective)
    return best, rounds


def count_plans(n_free: int, max_extra: int) -> int:
    """Plans with at most ``max_extra`` of ``n_free`` free sites open."""
    return sum(math.comb(n_free, r) for r in range(0, min(n_free, max(max_extra, 0)) + 1))


def exhaustive(kernel: Kernel, max_plans: int = 50_000) -> tuple[PlanValue | None, int]:
    """Best feasible plan by enumerating every subset of free sites; (best, plans evaluated).

    Ties keep the first plan found (fewest sites, then lowest indices). ``None`` if no plan is
    feasible. Refuses more than :data:`EXHAUSTIVE_MAX_FREE_SITES` free candidate sites unless
    ``max_open`` leaves at most ``max_plans`` plans.
    """
    inst = kernel.instance
    free = np.flatnonzero(~inst.must_open)
    n_must = int(inst.must_open.sum())
    n_plans = count_plans(free.size, inst.max_open - n_must)
    if free.size > EXHAUSTIVE_MAX_FREE_SITES and n_plans > max_plans:
        raise ValueError(
            f"exhaustive enumeration needs <= {EXHAUSTIVE_MAX_FREE_SITES} free sites or "
            f"<= {max_plans} plans, got {free.size} free sites and {n_plans} plans"
        )
    best_obj = -np.inf
    best_mask: BoolArray | None = None
    count = 0
    for size in range(0, min(free.size, inst.max_open - n_must) + 1):
        for combo in itertools.combinations(free.tolist(), size):
            mask = inst.must_open.copy()
            mask[list(combo)] = True
            if inst.open_cost[mask].sum() > inst.cost_budget + _eps(inst.cost_budget):
                continue
            count += 1
            _, _, load = _assign(mask, inst.pref_site, kernel.wd, inst.n_sites)
            served, staff = _site_response(
                load,
                mask,
                inst.served_intercept,
                inst.served_slope,
                inst.staff_break_load,
                inst.staff_level,
            )
            pool = np.bincount(inst.staff_pool, weights=staff, minlength=inst.n_pools)
            if np.any(pool > inst.pool_staff_budget + _FEAS_TOL):
                continue
            if staff.sum() > inst.total_staff_budget + _FEAS_TOL:
                continue
            obj = float(served.sum()) - inst.cost_weight * float(inst.open_cost[mask].sum())
            if obj > best_obj + _eps(best_obj if np.isfinite(best_obj) else 0.0):
                best_obj = obj
                best_mask = mask
    if best_mask is None:
        return None, count
    return value_of_state(kernel.state(best_mask)), count
