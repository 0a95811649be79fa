"""Lagrangian bound: relax "each place votes once", keep every station and staff choice integral.

Relaxation chain (each step can only raise the optimum, so the last is a valid upper bound on
the best true plan):

1. *True behaviour*: each place votes at its first open listed site.
2. *Free assignment*: place ``p`` may spread over any open listed sites, ``sum_s x_ps <= 1``.
   Every true plan is feasible here with its true value.
3. *Lagrangian*: the constraints ``sum_s x_ps <= 1`` move into the objective with prices
   ``lambda_p >= 0``. The problem splits into

   - one subproblem per site and staff level ``j`` (staff ``staff_level[s, j]``, load at most
     the level's capacity ``U_sj``): ``V_sj = max_x served_s(L) - sum_p lambda_p x_p`` with
     ``L = sum_p w_p d_ps x_p <= U_sj``, ``x`` in [0, 1]. Served votes are concave and buying
     load from places in increasing order of ``lambda_p / (w_p d_ps)`` is the cheapest way to
     reach any load, so ``V_sj`` is the maximum of a concave piecewise-linear function of ``L``
     on ``[0, U_sj]``, found exactly at its breakpoints (:func:`_site_values`);
   - a *master*: choose at most one level per site (``z_sj`` binary) maximising
     ``sum (V_sj - cost_weight * open_cost_s) z_sj`` within the staff pools, the total staff,
     ``max_open``, the cost budget and the must-open sites.

   ``bound(lambda) = master(lambda) + sum_p lambda_p`` is an upper bound for every
   ``lambda >= 0`` (weak duality); with the master solved as an LP the value is larger but
   still valid.

The prices are improved by a preconditioned subgradient method (each place's step scaled by its
largest ``w_p d_ps``, Polyak step towards the best known plan, step halved when the bound stalls),
with the LP master (HiGHS, warm-started from the previous basis since only costs change); the
best prices are finally priced once more with the integral master (HiGHS MILP, its dual bound).
Unlike the textbook LP relaxation, a station cannot be "40 % open" to reach voters cheaply: the
master decides whole stations at whole staff levels.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numba as nb
import numpy as np
import numpy.typing as npt

from abroad.planning.instance import PlanningInstance
from abroad.planning.rules import (
    REL_TOL,
    BoolArray,
    FloatArray,
    IntArray,
    Lists,
    Rules,
    gap_closed,
    rel_tol,
    served_of,
)
from abroad.planning.valuation import Kernel


@dataclass(frozen=True)
class LagrangianResult:
    """Outcome of :func:`lagrangian_bound`."""

    bound: float
    """Proven upper bound on the objective of every feasible plan (``inf`` if none found)."""
    iterations: int
    seconds: float
    open_mask: BoolArray | None
    """Sites the integral master opens at the best prices (a starting plan for the search)."""
    prices: FloatArray
    """Best ``lambda_p`` found (voters; what one more vote of place ``p`` is worth)."""


@nb.njit(cache=True)
def _sorted_entries(
    lists: Lists, price: FloatArray, s: int
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Entries of site ``s`` by increasing price per voter; cumulative load and price."""
    place = lists.inv_place
    wd = lists.inv_wd
    a, b = lists.inv_ptr[s], lists.inv_ptr[s + 1]
    n = b - a
    ratio = np.empty(n)
    for i in range(n):
        w = wd[a + i]
        ratio[i] = price[place[a + i]] / w if w > 0.0 else np.inf
    order = np.argsort(ratio, kind="mergesort")
    cum_load = np.zeros(n + 1)
    cum_price = np.zeros(n + 1)
    for k in range(n):
        e = a + order[k]
        w = wd[e] if ratio[order[k]] < np.inf else 0.0
        cum_load[k + 1] = cum_load[k] + w
        cum_price[k + 1] = cum_price[k] + (price[place[e]] if w > 0.0 else 0.0)
    return order, ratio, cum_load, cum_price


@nb.njit(cache=True)
def _price_of_load(
    cum_load: FloatArray, cum_price: FloatArray, ratio_sorted: FloatArray, load: float
) -> float:
    """Cheapest total price of ``load`` voters (linear between cumulative points)."""
    k = np.searchsorted(cum_load, load)  # first index with cum_load >= load
    if k == 0:
        return 0.0
    if k >= cum_load.shape[0]:
        return float(cum_price[-1])
    return float(cum_price[k - 1] + (load - cum_load[k - 1]) * ratio_sorted[k - 1])


@nb.njit(cache=True)
def _site_values(
    lists: Lists,
    price: FloatArray,
    rules: Rules,
    level_cap: FloatArray,
    value: FloatArray,
    best_load: FloatArray,
    entry_order: IntArray,
) -> None:
    """``value[s, j]`` = the site-level subproblem's optimum, ``best_load[s, j]`` its load.

    Levels with ``level_cap < 0`` are absent. ``f(L) = served(L) - cheapest price of L`` is
    concave, so its maximum on ``[0, U]`` is at a breakpoint (cumulative loads, crossings of
    the served pieces) or at ``U`` itself.
    """
    ptr = lists.inv_ptr
    si = rules.served_intercept
    ss = rules.served_slope
    n_sites, n_levels = level_cap.shape
    n_pieces = si.shape[1]
    for s in range(n_sites):
        order, ratio, cum_load, cum_price = _sorted_entries(lists, price, s)
        n = order.shape[0]
        entry_order[ptr[s] : ptr[s + 1]] = ptr[s] + order
        ratio_sorted = np.empty(n)
        for k in range(n):
            ratio_sorted[k] = ratio[order[k]]
        total = cum_load[n]
        # f at cumulative points, running maximum (and where it is reached).
        run_max = np.empty(n + 1)
        run_arg = np.empty(n + 1)
        for k in range(n + 1):
            f = served_of(si, ss, s, cum_load[k]) - cum_price[k]
            if k == 0 or f > run_max[k - 1]:
                run_max[k] = f
                run_arg[k] = cum_load[k]
            else:
                run_max[k] = run_max[k - 1]
                run_arg[k] = run_arg[k - 1]
        for j in range(n_levels):
            cap = level_cap[s, j]
            if cap < 0.0:
                value[s, j] = -np.inf
                best_load[s, j] = 0.0
                continue
            u = min(cap, total)
            k = np.searchsorted(cum_load, u, side="right") - 1  # last point <= u
            best = run_max[k]
            arg = run_arg[k]
            f_u = served_of(si, ss, s, u) - _price_of_load(cum_load, cum_price, ratio_sorted, u)
            if f_u > best:
                best, arg = f_u, u
            for m1 in range(n_pieces):
                for m2 in range(m1 + 1, n_pieces):
                    d_slope = ss[s, m1] - ss[s, m2]
                    if d_slope == 0.0:
                        continue
                    x = (si[s, m2] - si[s, m1]) / d_slope
                    if 0.0 < x < u:
                        f_x = served_of(si, ss, s, x) - _price_of_load(
                            cum_load, cum_price, ratio_sorted, x
                        )
                        if f_x > best:
                            best, arg = f_x, x
            value[s, j] = max(best, 0.0)
            best_load[s, j] = arg if best > 0.0 else 0.0


@nb.njit(cache=True)
def _coverage(
    lists: Lists,
    entry_order: IntArray,
    sites: IntArray,
    loads: FloatArray,
    weights: FloatArray,
    n_places: int,
) -> FloatArray:
    """``sum_s x_ps`` for the chosen (site, load, master weight) triples: the subgradient's
    ingredient (each site buys its load from its cheapest places, in the order
    :func:`_site_values` sorted them into ``entry_order``)."""
    ptr = lists.inv_ptr
    place = lists.inv_place
    wd = lists.inv_wd
    x = np.zeros(n_places)
    for q in range(sites.shape[0]):
        s = sites[q]
        target = loads[q]
        load = 0.0
        for k in range(ptr[s], ptr[s + 1]):
            e = entry_order[k]
            if load >= target * (1.0 - 1e-12) or wd[e] <= 0.0:
                break
            take = min(1.0, (target - load) / wd[e])
            x[place[e]] += take * weights[q]
            load += take * wd[e]
    return x


@dataclass(frozen=True)
class _Levels:
    cap: FloatArray
    """(S, J) capacity of each staff level, -1 where absent."""
    site: IntArray
    """Master column -> site (columns are the present levels, by site then level)."""
    level: IntArray
    """Master column -> level."""


def _levels(instance: PlanningInstance, load_max: FloatArray) -> _Levels:
    n_sites = instance.n_sites
    n_breaks = instance.staff_break_load.shape[1]
    cap = np.full((n_sites, n_breaks + 1), -1.0)
    for s in range(n_sites):
        for j in range(n_breaks + 1):
            b = float(instance.staff_break_load[s, j]) if j < n_breaks else math.inf
            if j > 0 and instance.staff_level[s, j] <= instance.staff_level[s, j - 1]:
                cap[s, j - 1] = -1.0  # same staff, more room: the lower level is dominated
            cap[s, j] = min(b, float(load_max[s]))
            if not b < load_max[s]:
                break
    site, level = np.nonzero(cap >= 0.0)
    return _Levels(cap=cap, site=site.astype(np.int64), level=level.astype(np.int64))


def _master(
    instance: PlanningInstance, lv: _Levels, *, integral: bool, threads: int
) -> highspy.Highs:
    """The master over level columns (costs are set per call); rows never change."""
    n = int(lv.site.shape[0])
    staff = np.asarray(instance.staff_level, dtype=np.float64)[lv.site, lv.level]
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.addVars(n, np.zeros(n), np.ones(n))
    starts: list[int] = []
    index: list[npt.NDArray[np.int64]] = []
    value: list[FloatArray] = []
    lower: list[float] = []
    upper: list[float] = []
    nnz = 0

    def row(idx: npt.NDArray[np.int64], val: FloatArray, lo: float, hi: float) -> None:
        nonlocal nnz
        starts.append(nnz)
        index.append(idx)
        value.append(val)
        lower.append(lo)
        upper.append(hi)
        nnz += int(idx.shape[0])

    site_start = np.searchsorted(lv.site, np.arange(instance.n_sites + 1))
    for s in range(instance.n_sites):
        idx = np.arange(site_start[s], site_start[s + 1], dtype=np.int64)
        if idx.size:
            row(idx, np.ones(idx.size), 1.0 if instance.must_open[s] else -math.inf, 1.0)
    for g in range(instance.n_pools):
        if math.isfinite(float(instance.pool_staff_budget[g])):
            idx = np.flatnonzero(instance.staff_pool[lv.site] == g).astype(np.int64)
            row(idx, staff[idx], -math.inf, float(instance.pool_staff_budget[g]))
    every = np.arange(n, dtype=np.int64)
    if math.isfinite(instance.total_staff_budget):
        row(every, staff, -math.inf, instance.total_staff_budget)
    row(every, np.ones(n), -math.inf, float(instance.max_open))
    if math.isfinite(instance.cost_budget):
        row(every, instance.open_cost[lv.site], -math.inf, instance.cost_budget)
    h.addRows(
        len(starts),
        np.array(lower),
        np.array(upper),
        nnz,
        np.array(starts, dtype=np.int32),
        np.concatenate(index).astype(np.int32),
        np.concatenate(value),
    )
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    if integral:
        h.changeColsIntegrality(
            n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger)
        )
    return h


def _solve_master(
    h: highspy.Highs, cost: FloatArray, *, integral: bool, time_limit_seconds: float
) -> tuple[float, FloatArray | None]:
    """(upper bound on the master's optimum, its solution or ``None``)."""
    n = int(cost.shape[0])
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
    h.setOptionValue("time_limit", max(0.05, float(time_limit_seconds)))
    h.run()
    info = h.getInfo()
    status = h.getModelStatus()
    if integral:
        bound = float(info.mip_dual_bound)
        if not math.isfinite(bound) or abs(bound) >= 1e30:
            return math.inf, None
        has_sol = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        return bound, (np.asarray(h.getSolution().col_value) if has_sol else None)
    if status != highspy.HighsModelStatus.kOptimal:
        return math.inf, None
    return float(info.objective_function_value), np.asarray(h.getSolution().col_value)


def lagrangian_bound(
    kernel: Kernel,
    *,
    time_limit_seconds: float = 15.0,
    target_objective: float | None = None,
    max_iterations: int = 300,
    threads: int = 1,
) -> LagrangianResult:
    """Upper bound on the best true objective by Lagrangian relaxation (module docstring).

    ``target_objective`` (the best known plan's objective) sets the Polyak step and stops the
    run once the bound reaches it (the plan is then proven optimal). Deterministic apart from
    the time limit. Stops after ``max_iterations``, when the step has shrunk to nothing, or at
    the time limit (a fifth of which is kept for the integral master).
    """
    t0 = time.perf_counter()
    inst = kernel.instance
    lists = kernel.lists
    lv = _levels(inst, inst.max_load())
    n_cols = int(lv.site.shape[0])
    open_cost = inst.cost_weight * inst.open_cost[lv.site]
    scale = kernel.wd.max(axis=1, initial=0.0)
    price = 0.5 * scale
    value = np.zeros(lv.cap.shape)
    best_load = np.zeros(lv.cap.shape)
    entry_order = np.empty(lists.inv_place.shape[0], dtype=np.int64)
    lp = _master(inst, lv, integral=False, threads=threads)
    deadline = t0 + float(time_limit_seconds)
    lp_deadline = t0 + 0.8 * float(time_limit_seconds)

    def solve_master(
        lam: FloatArray, *, integral: bool, h: highspy.Highs, limit: float
    ) -> tuple[float, FloatArray | None]:
        _site_values(lists, lam, kernel.rules, lv.cap, value, best_load, entry_order)
        cost = value[lv.site, lv.level] - open_cost
        master, z = _solve_master(h, cost, integral=integral, time_limit_seconds=limit)
        return master + float(lam.sum()), z

    best = math.inf
    best_price = price.copy()
    theta = 1.0
    stall = 0
    iterations = 0
    target = target_objective
    while iterations < max_iterations and time.perf_counter() < lp_deadline:
        iterations += 1
        bound, z = solve_master(
            price, integral=False, h=lp, limit=lp_deadline - time.perf_counter()
        )
        if z is None:
            break
        if bound < best - (rel_tol(best) if math.isfinite(best) else REL_TOL):
            best, best_price, stall = bound, price.copy(), 0
        else:
            stall += 1
            if stall >= 5:
                theta, stall = theta / 2.0, 0
        if target is not None and gap_closed(target, best):
            break
        if theta < 1e-3:
            break
        chosen = np.flatnonzero(z > 1e-9)
        x = _coverage(
            lists,
            entry_order,
            lv.site[chosen],
            best_load[lv.site[chosen], lv.level[chosen]],
            z[chosen],
            inst.n_places,
        )
        grad = 1.0 - x
        grad = np.where((price <= 0.0) & (grad > 0.0), 0.0, grad)
        norm = float((scale * grad * grad).sum())
        if norm <= 1e-12:
            break  # complementary: this bound equals the free-assignment optimum
        aim = target if target is not None else 0.95 * bound
        step = theta * max(bound - aim, 1e-6 * abs(bound)) / norm
        price = np.maximum(0.0, price - step * scale * grad)

    mask: BoolArray | None = None
    if math.isfinite(best) or iterations == 0:
        mip = _master(inst, lv, integral=True, threads=threads)
        remaining = max(0.5, deadline - time.perf_counter())
        mip_bound, z = solve_master(best_price, integral=True, h=mip, limit=remaining)
        best = min(best, mip_bound)
        if z is not None:
            mask = np.zeros(inst.n_sites, dtype=np.bool_)
            mask[lv.site[z[:n_cols] > 0.5]] = True
    return LagrangianResult(
        bound=best,
        iterations=iterations,
        seconds=time.perf_counter() - t0,
        open_mask=mask,
        prices=best_price,
    )


__all__ = ["LagrangianResult", "lagrangian_bound"]
