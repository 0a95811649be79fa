"""Search under the true behavioural evaluation: greedy add, local search, exhaustive enumeration.

Every move is valued with the real rule (each place votes at its first open site), through the
incremental kernels of :mod:`abroad.planning.valuation`. Moves that break a staff, cost or
``max_open`` limit are never taken from a feasible plan; from an infeasible start (must-open
sites that already exceed a staff pool) the search first takes moves that reduce the excess.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numba as nb
import numpy as np

from abroad.planning.rules import (
    FEAS_TOL,
    Assignment,
    BoolArray,
    FloatArray,
    IntArray,
    Lists,
    Rules,
    first_open,
    rel_tol,
    served_of,
    staff_excess,
    staff_of,
)
from abroad.planning.valuation import (
    Kernel,
    PlanValue,
    State,
    _add_deltas,
    _add_deltas_of,
    _drop,
    _site_response,
    value_of_state,
)

ProgressFn = Callable[[str, float], None]
"""``progress(phase, best_objective)`` called after each improvement."""

EXHAUSTIVE_MAX_FREE_SITES = 24


def _pick(d_obj: FloatArray, excess: FloatArray, cur_excess: float, min_gain: float) -> int:
    """Index of the best move, or -1: feasible and improving, or repairing an infeasible plan."""
    if cur_excess > FEAS_TOL:
        better = excess < cur_excess - FEAS_TOL
        if not np.any(better):
            return -1
        ex = np.where(better, excess, np.inf)
        best_ex = ex.min()
        ties = (ex <= best_ex + FEAS_TOL) & better
        return int(np.argmax(np.where(ties, d_obj, -np.inf)))
    ok = (excess <= FEAS_TOL) & (d_obj > min_gain)
    if not np.any(ok):
        return -1
    return int(np.argmax(np.where(ok, d_obj, -np.inf)))


def _add_candidates(state: State, exclude: int = -1, cost_freed: float = 0.0) -> BoolArray:
    inst = state.instance
    room = inst.cost_budget - (state.cost - cost_freed)
    cand = ~state.open_mask & (inst.open_cost <= room + rel_tol(room))
    if exclude >= 0:
        cand[exclude] = False
    return cand


@nb.njit(cache=True)
def _scan_drops(
    order: IntArray,
    open_mask: BoolArray,
    lists: Lists,
    state: Assignment,
    rules: Rules,
    cur_cost: float,
    cur_obj: float,
    cur_ex: float,
    local: bool,
) -> tuple[int, int, int]:
    """First improving drop or swap over ``order``: (0 none | 1 drop | 2 swap, drop, add).

    For each site ``s`` in turn: close it, then find the best site to open instead (one
    incremental pass over all candidates, or with ``local`` only over the sites its voters
    prefer to their new station). A drop wins over the best swap when it gains at least as
    much; from an infeasible plan, moves that reduce the staff excess are taken.
    """
    pref_site = lists.pref_site
    inv_ptr = lists.inv_ptr
    inv_place = lists.inv_place
    cur_site = state.cur_site
    staff_pool = rules.staff_pool
    open_cost = rules.open_cost
    n_sites = open_mask.shape[0]
    n_pools = rules.pool_budget.shape[0]
    eps = rel_tol(cur_obj)
    for q in range(order.shape[0]):
        s = order[q]
        mask = open_mask.copy()
        mask[s] = False
        cs, cp, ld = _drop(s, mask, lists, cur_site, state.cur_pos, state.load)
        served, staff = _site_response(ld, mask, rules)
        pool = np.zeros(n_pools)
        for t in range(n_sites):
            pool[staff_pool[t]] += staff[t]
        total = staff.sum()
        after = Assignment(cs, cp, ld, served, staff, pool, total)
        cost = cur_cost - open_cost[s]
        drop_gain = served.sum() - rules.cost_weight * cost - cur_obj
        drop_ex = staff_excess(pool, total, rules)
        room = rules.cost_budget - cost
        room_eps = rel_tol(room)
        cand = np.zeros(n_sites, dtype=np.bool_)
        any_cand = False
        if local:
            # the sites the dropped station's voters prefer to where they went
            for i in range(inv_ptr[s], inv_ptr[s + 1]):
                p = inv_place[i]
                if cur_site[p] != s:
                    continue
                for k in range(cp[p] if cp[p] < pref_site.shape[1] else pref_site.shape[1]):
                    t = pref_site[p, k]
                    if t < 0:
                        break
                    if not mask[t] and t != s and open_cost[t] <= room + room_eps:
                        cand[t] = True
                        any_cand = True
        else:
            for t in range(n_sites):
                if not mask[t] and t != s and open_cost[t] <= room + room_eps:
                    cand[t] = True
                    any_cand = True
        swap_gain = -np.inf
        swap_to = -1
        swap_ex = np.inf
        if any_cand:
            limit = max(cur_ex - FEAS_TOL, FEAS_TOL) if cur_ex > FEAS_TOL else FEAS_TOL
            if local:
                listed = np.flatnonzero(cand)
                d_loc, ex_loc = _add_deltas_of(listed, lists, after, rules)
                for q in range(listed.shape[0]):
                    if ex_loc[q] <= limit and drop_gain + d_loc[q] > swap_gain:
                        swap_gain = drop_gain + d_loc[q]
                        swap_to = listed[q]
                        swap_ex = ex_loc[q]
            else:
                d_obj, excess, _ = _add_deltas(cand, lists, after, rules)
                for t in range(n_sites):
                    if cand[t] and excess[t] <= limit and drop_gain + d_obj[t] > swap_gain:
                        swap_gain = drop_gain + d_obj[t]
                        swap_to = t
                        swap_ex = excess[t]
        drop_ok = drop_ex <= FEAS_TOL or drop_ex < cur_ex - FEAS_TOL
        if drop_ok and drop_gain > eps and drop_gain >= swap_gain:
            return 1, s, -1
        if swap_to >= 0 and (swap_gain > eps or swap_ex < cur_ex - FEAS_TOL):
            return 2, s, swap_to
        if cur_ex > FEAS_TOL and drop_ok:
            return 1, s, -1
    return 0, -1, -1


def greedy(kernel: Kernel, deadline: float = np.inf, *, start: BoolArray | None = None) -> State:
    """Open the site that adds most to the objective, until nothing improves or limits bind."""
    inst = kernel.instance
    state = kernel.state(inst.must_open if start is None else start | inst.must_open)
    while state.n_open < inst.max_open and time.perf_counter() < deadline:
        cand = _add_candidates(state)
        if not np.any(cand):
            break
        d_obj, excess, _ = state.add_deltas(cand)
        best = _pick(d_obj, excess, state.staff_excess(), rel_tol(state.objective))
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
    focus: BoolArray | None = None,
) -> State:
    """Add / drop / swap moves under the true evaluation until a local optimum or the deadline.

    Drop sites are visited in a seeded random order; for each, the best site to open instead is
    found with one incremental pass over all candidates (first improvement over drops, best
    improvement over adds). With ``focus``, only those sites are considered for dropping (the
    neighbourhood of a kick; sites a move changes join it).
    """
    focus = None if focus is None else focus.copy()
    inst = state.instance
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        if state.n_open < inst.max_open:
            cand = _add_candidates(state)
            if np.any(cand):
                d_obj, excess, _ = state.add_deltas(cand)
                best = _pick(d_obj, excess, state.staff_excess(), rel_tol(state.objective))
                if best >= 0:
                    state.open_site(best)
                    improved = True
                    if progress is not None:
                        progress(phase, state.objective)
                    continue
        movable = state.open_mask & ~inst.must_open
        droppable = rng.permutation(np.flatnonzero(movable if focus is None else movable & focus))
        if time.perf_counter() >= deadline or droppable.size == 0:
            break
        kind, s, t = _scan_drops(
            droppable.astype(np.int64),
            state.open_mask,
            state.kernel.lists,
            state.assignment,
            state.kernel.rules,
            state.cost,
            state.objective,
            state.staff_excess(),
            focus is not None,
        )
        if kind == 0:
            break
        before = state.load
        state = state.without(s)
        if kind == 2:
            state.open_site(t)
        if focus is not None:
            focus |= np.abs(state.load - before) > FEAS_TOL
        improved = True
        if progress is not None:
            progress(phase, state.objective)
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
        # Open instead a closed site that the voters of s rank among their first four (one
        # the cost budget still allows).
        room = inst.cost_budget - float(inst.open_cost[mask].sum())
        affordable = inst.open_cost <= room + rel_tol(room)
        near = np.unique(ps[state.cur_site == s])
        near = near[near >= 0]
        near = near[~mask[near] & (near != s) & affordable[near]]
        anywhere = np.flatnonzero(~mask & (np.arange(mask.size) != s) & affordable)
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
    *,
    accept_worse: float = 0.002,
    restart_probability: float = 0.02,
    max_rounds: int | None = None,
) -> tuple[State, int]:
    """Local search, then random kicks + local search while time remains (and, with
    ``max_rounds``, for at most that many kicks); returns best, rounds.

    The walk moves on from a kicked local optimum when it is feasible and within
    ``accept_worse`` (relative) of the current one, so that it can cross shallow ridges
    between local optima; the best plan seen is kept, and the walk returns to it with
    ``restart_probability`` after each round.
    """
    best = local_search(start, deadline, rng, progress)
    best_key = (best.within_limits(), best.objective)
    current = best
    rounds = 0
    while time.perf_counter() < deadline and (max_rounds is None or rounds < max_rounds):
        rounds += 1
        kick = int(rng.integers(1, 4))
        kicked = perturb(current, rng, kick)
        # Search around the kick only: the sites whose load it changed.
        focus = (np.abs(kicked.load - current.load) > FEAS_TOL) | (
            kicked.open_mask != current.open_mask
        )
        cand = local_search(kicked, deadline, rng, focus=focus)
        key = (cand.within_limits(), cand.objective)
        if key[0] >= best_key[0] and key[1] > best_key[1] + rel_tol(best_key[1]):
            cand = local_search(cand, deadline, rng)  # a full local optimum
            key = (cand.within_limits(), cand.objective)
            best, best_key = cand, key
            if progress is not None:
                progress("iterated local search", best.objective)
        cur_feasible = current.within_limits()
        if key[0] >= cur_feasible and key[1] >= current.objective - accept_worse * abs(
            current.objective
        ):
            current = cand
        if rng.random() < restart_probability:
            current = best
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
    best_mask, count = _enumerate(
        free.astype(np.int64),
        inst.must_open,
        min(free.size, inst.max_open - n_must),
        kernel.lists,
        kernel.rules,
    )
    if count < 0:
        return None, -count
    return value_of_state(kernel.state(best_mask)), count


@nb.njit(cache=True)
def _enumerate(
    free: IntArray, must_open: BoolArray, max_extra: int, lists: Lists, rules: Rules
) -> tuple[BoolArray, int]:
    """Best feasible plan over every subset of ``free`` with at most ``max_extra`` sites (by
    size, then lexicographically; ties keep the first). Returns (mask, plans evaluated), the
    count negated when no plan is feasible."""
    pref_site, wd, _, _, _, _ = lists
    si, ss, sb, sl, staff_pool, pool_budget, total_budget, open_cost, cost_weight, _ = rules
    n_sites = must_open.shape[0]
    n_places, k_pref = pref_site.shape
    n_pools = pool_budget.shape[0]
    n_free = free.shape[0]
    best_mask = must_open.copy()
    best_obj = -np.inf
    found = False
    count = 0
    mask = np.empty(n_sites, dtype=np.bool_)
    load = np.empty(n_sites)
    pool = np.empty(n_pools)
    combo = np.empty(max(max_extra, 1), dtype=np.int64)
    cost_budget = rules.cost_budget
    budget_eps = rel_tol(cost_budget)
    for size in range(0, max_extra + 1):
        for i in range(size):
            combo[i] = i
        while True:
            mask[:] = must_open
            for i in range(size):
                mask[free[combo[i]]] = True
            cost = 0.0
            for t in range(n_sites):
                if mask[t]:
                    cost += open_cost[t]
            if cost <= cost_budget + budget_eps:
                count += 1
                load[:] = 0.0
                for p in range(n_places):
                    k = first_open(pref_site, mask, p, 0)
                    if k < k_pref:
                        load[pref_site[p, k]] += wd[p, k]
                pool[:] = 0.0
                served = 0.0
                total = 0.0
                for t in range(n_sites):
                    if mask[t]:
                        served += served_of(si, ss, t, load[t])
                        st = staff_of(sb, sl, t, load[t])
                        pool[staff_pool[t]] += st
                        total += st
                ok = total <= total_budget + FEAS_TOL
                for g in range(n_pools):
                    if pool[g] > pool_budget[g] + FEAS_TOL:
                        ok = False
                if ok:
                    obj = served - cost_weight * cost
                    eps = rel_tol(best_obj) if found else 0.0
                    if not found or obj > best_obj + eps:
                        best_obj = obj
                        best_mask[:] = mask
                        found = True
            # next combination of `size` out of n_free
            i = size - 1
            while i >= 0 and combo[i] == n_free - size + i:
                i -= 1
            if i < 0:
                break
            combo[i] += 1
            for j in range(i + 1, size):
                combo[j] = combo[j - 1] + 1
    return best_mask, count if found else -count
