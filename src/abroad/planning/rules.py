"""The planner's rules, each written once: what a station serves and the staff it needs at a
load, the tolerance of feasibility and improvement tests, and the structured arguments the
numba kernels take (NamedTuples of instance and state arrays instead of long positional lists).

Pure numpy/numba; imported by the instance, the valuation, the search and the bounds.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FEAS_TOL = 1e-9
"""Absolute tolerance of staff and budget limits (a plan over by less is within them)."""

REL_TOL = 1e-9
"""Relative tolerance of 'better than' and 'within budget' comparisons (see ``rel_tol``)."""


GAP_TOL = 1e-7
"""Relative gap between a plan and a bound below which the plan counts as proven optimal."""


def gap_closed(objective: float, bound: float) -> bool:
    """Whether ``bound`` proves ``objective`` optimal (within ``GAP_TOL``, relative)."""
    return bool(bound - objective <= GAP_TOL * max(1.0, abs(objective)))


@nb.njit(cache=True, inline="always")
def rel_tol(value: float) -> float:
    """Round-off allowance for a comparison with ``value``: ``REL_TOL x max(1, |value|)``."""
    return REL_TOL * max(1.0, abs(value))


class Rules(NamedTuple):
    """An instance's station responses and limits, as the kernels take them.

    ``served_intercept``/``served_slope`` (S, M): served votes are ``min_m(a + b L)``;
    ``staff_break_load`` (S, B) and ``staff_level`` (S, B + 1): the staff step function;
    ``staff_pool`` (S), ``pool_budget`` (G), ``total_budget``; ``open_cost`` (S),
    ``cost_weight`` and ``cost_budget``.
    """

    served_intercept: FloatArray
    served_slope: FloatArray
    staff_break_load: FloatArray
    staff_level: FloatArray
    staff_pool: IntArray
    pool_budget: FloatArray
    total_budget: float
    open_cost: FloatArray
    cost_weight: float
    cost_budget: float


class Lists(NamedTuple):
    """Preference lists with weight x decay, and their CSR inverse (for each site, the
    (place, position, weight x decay) entries that list it, by position)."""

    pref_site: IntArray
    wd: FloatArray
    inv_ptr: IntArray
    inv_place: IntArray
    inv_pos: IntArray
    inv_wd: FloatArray


class Assignment(NamedTuple):
    """A search state's arrays: each place's station and list position, station loads, what
    each station serves and needs, staff per pool and in total."""

    cur_site: IntArray
    cur_pos: IntArray
    load: FloatArray
    site_served: FloatArray
    site_staff: FloatArray
    pool_staff: FloatArray
    total_staff: float


@nb.njit(cache=True, inline="always")
def first_open(pref_site: IntArray, open_mask: BoolArray, p: int, k0: int) -> int:
    """The behaviour rule: position (from ``k0`` on) of the first open site in place ``p``'s
    preference list, or the list length when none is open."""
    k_pref: int = pref_site.shape[1]
    for k in range(k0, k_pref):
        s = pref_site[p, k]
        if s < 0:
            return k_pref
        if open_mask[s]:
            return k
    return k_pref


@nb.njit(cache=True, inline="always")
def served_of(si: FloatArray, ss: FloatArray, s: int, load: float) -> float:
    """The served rule: votes station ``s`` delivers at expected load ``load`` is
    ``min_m(si[s, m] + ss[s, m] * load)`` (concave, nondecreasing). Hot loops bind the arrays
    once and call this; elsewhere use ``served_votes``."""
    best = np.inf
    for m in range(si.shape[1]):
        v = si[s, m] + ss[s, m] * load
        if v < best:
            best = v
    return best


@nb.njit(cache=True, inline="always")
def staff_of(sb: FloatArray, sl: FloatArray, s: int, load: float) -> float:
    """The staff rule: station ``s`` at load ``load`` needs ``sl[s, j]``, ``j`` the number of
    break loads ``sb[s]`` below it."""
    j = 0
    for b in range(sb.shape[1]):
        if sb[s, b] < load:
            j += 1
        else:
            break
    return float(sl[s, j])


@nb.njit(cache=True, inline="always")
def served_votes(rules: Rules, s: int, load: float) -> float:
    """Votes station ``s`` delivers at expected load ``load`` (``served_of``)."""
    return served_of(rules.served_intercept, rules.served_slope, s, load)


@nb.njit(cache=True, inline="always")
def staff_needed(rules: Rules, s: int, load: float) -> float:
    """Staff station ``s`` needs at load ``load`` (``staff_of``)."""
    return staff_of(rules.staff_break_load, rules.staff_level, s, load)


@nb.njit(cache=True)
def pool_excess(pool_staff: FloatArray, rules: Rules) -> float:
    """Staff above budget, summed over the pools that exceed theirs."""
    ex = 0.0
    for g in range(pool_staff.shape[0]):
        e = pool_staff[g] - rules.pool_budget[g]
        if e > FEAS_TOL:
            ex += e
    return ex


@nb.njit(cache=True)
def staff_excess(pool_staff: FloatArray, total_staff: float, rules: Rules) -> float:
    """Pool excess plus total staff above the total budget (0 for a plan within its staff
    limits)."""
    ex = pool_excess(pool_staff, rules)
    e = total_staff - rules.total_budget
    if e > FEAS_TOL:
        ex += e
    return ex
