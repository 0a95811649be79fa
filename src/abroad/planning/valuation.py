"""True value of a plan under voters' behaviour, and fast incremental moves.

A plan is a set of open sites. Each place votes at its first open site in preference order
(:mod:`abroad.planning.instance`); station ``s`` then has load ``L_s`` (expected voters after
travel decay), delivers ``served_s(L_s)`` votes and needs ``staff_s(L_s)`` staff. The plan's value
is the sum of served votes; it is feasible when every staff pool, the total staff, the cost
budget and ``max_open`` hold and every must-open site is open.

The kernels here are numba-compiled loops over a CSR "inverse" of the preference lists (for each
site, the places that list it and at which position), so the effect of opening one site on every
station can be computed in time proportional to the places that list it. One pass over all
candidates costs about one full evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np
import numpy.typing as npt

from abroad.planning.instance import PlanningInstance
from abroad.planning.rules import (
    FEAS_TOL,
    Assignment,
    BoolArray,
    FloatArray,
    IntArray,
    Lists,
    Rules,
    first_open,
    pool_excess,
    rel_tol,
    served_of,
    staff_excess,
    staff_of,
)


@nb.njit(cache=True)
def _assign(
    open_mask: BoolArray, lists: Lists, n_sites: int
) -> tuple[IntArray, IntArray, FloatArray]:
    pref_site = lists.pref_site
    wd = lists.wd
    n_places, k_pref = pref_site.shape
    cur_site = np.full(n_places, -1, dtype=np.int64)
    cur_pos = np.full(n_places, k_pref, dtype=np.int64)
    load = np.zeros(n_sites)
    for p in range(n_places):
        k = first_open(pref_site, open_mask, p, 0)
        if k < k_pref:
            s = pref_site[p, k]
            cur_site[p] = s
            cur_pos[p] = k
            load[s] += wd[p, k]
    return cur_site, cur_pos, load


@nb.njit(cache=True)
def _drop(
    s_drop: int,
    open_mask: BoolArray,
    lists: Lists,
    cur_site: IntArray,
    cur_pos: IntArray,
    load: FloatArray,
) -> tuple[IntArray, IntArray, FloatArray]:
    """State after closing ``s_drop`` (copies); ``open_mask[s_drop]`` must already be False."""
    pref_site = lists.pref_site
    wd = lists.wd
    inv_ptr = lists.inv_ptr
    inv_place = lists.inv_place
    k_pref = pref_site.shape[1]
    cs = cur_site.copy()
    cp = cur_pos.copy()
    ld = load.copy()
    for i in range(inv_ptr[s_drop], inv_ptr[s_drop + 1]):
        p = inv_place[i]
        if cs[p] != s_drop:
            continue
        ld[s_drop] -= wd[p, cp[p]]
        k = first_open(pref_site, open_mask, p, cp[p] + 1)
        cp[p] = k
        cs[p] = pref_site[p, k] if k < k_pref else -1
        if k < k_pref:
            ld[cs[p]] += wd[p, k]
    ld[s_drop] = 0.0
    return cs, cp, ld


class Pairs(NamedTuple):
    """(place, position) pairs grouped by the site that would take them: pair ``i`` brings
    ``gain[i]`` voters and takes ``lost[i]`` from station ``source[i]`` (-1: the place did not
    vote); site row ``r`` owns pairs ``start[r]:start[r + 1]``."""

    start: IntArray
    gain: FloatArray
    source: IntArray
    lost: FloatArray


@nb.njit(cache=True)
def _deltas_from_pairs(
    sites: IntArray, rows: IntArray, pairs: Pairs, state: Assignment, rules: Rules
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(objective change, staff excess after, votes change) of opening each of ``sites``;
    site ``sites[q]`` takes the pairs of row ``rows[q]``."""
    # Bind every field once: the loops below then keep them in registers.
    start, gain, source, lost = pairs
    _, _, load, site_served, site_staff, pool_staff, total_staff = state
    si, ss, sb, sl, staff_pool, pool_budget, total_budget, open_cost, cost_weight, _ = rules
    n_sites = load.shape[0]
    n_pools = pool_budget.shape[0]
    m = sites.shape[0]
    d_obj = np.empty(m)
    d_votes = np.empty(m)
    excess_after = np.empty(m)
    dec = np.zeros(n_sites)
    touched = np.empty(n_sites, dtype=np.int64)
    pool_delta = np.zeros(n_pools)
    pool_touched = np.empty(n_pools, dtype=np.int64)
    pool_mark = np.zeros(n_pools, dtype=np.bool_)
    base_pool_excess = pool_excess(pool_staff, rules)
    for q in range(m):
        t = sites[q]
        r = rows[q]
        new_load = 0.0
        n_touched = 0
        for i in range(start[r], start[r + 1]):
            new_load += gain[i]
            o = source[i]
            if o >= 0:
                if dec[o] == 0.0:
                    touched[n_touched] = o
                    n_touched += 1
                dec[o] += lost[i]
        dv = served_of(si, ss, t, new_load)
        st = staff_of(sb, sl, t, new_load)
        dtot = st
        g = staff_pool[t]
        pool_delta[g] += st
        pool_mark[g] = True
        pool_touched[0] = g
        n_pt = 1
        for j in range(n_touched):
            o = touched[j]
            nl = load[o] - dec[o]
            if nl < 0.0:
                nl = 0.0
            dv += served_of(si, ss, o, nl) - site_served[o]
            dst = staff_of(sb, sl, o, nl) - site_staff[o]
            dtot += dst
            g = staff_pool[o]
            pool_delta[g] += dst
            if not pool_mark[g]:
                pool_mark[g] = True
                pool_touched[n_pt] = g
                n_pt += 1
            dec[o] = 0.0
        ex_sum = base_pool_excess
        for j in range(n_pt):
            g = pool_touched[j]
            old = pool_staff[g] - pool_budget[g]
            new = old + pool_delta[g]
            if old > FEAS_TOL:
                ex_sum -= old
            if new > FEAS_TOL:
                ex_sum += new
            pool_delta[g] = 0.0
            pool_mark[g] = False
        tot_ex = total_staff + dtot - total_budget
        if tot_ex > FEAS_TOL:
            ex_sum += tot_ex
        d_votes[q] = dv
        d_obj[q] = dv - cost_weight * open_cost[t]
        excess_after[q] = ex_sum
    return d_obj, excess_after, d_votes


@nb.njit(cache=True)
def _add_deltas(
    candidate: BoolArray, lists: Lists, state: Assignment, rules: Rules
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """For each candidate site: objective change, staff excess after, votes change if opened.

    Place-major: only the sites a place ranks above its current station can take it, so those
    (place, position) pairs, grouped by site, give every candidate's new load and the stations
    it takes voters from (work = sum of current positions + stations touched).
    """
    pref_site = lists.pref_site
    wd = lists.wd
    cur_site = state.cur_site
    cur_pos = state.cur_pos
    n_sites = candidate.shape[0]
    n_places, k_pref = pref_site.shape
    # (place, position) pairs ranked above the place's station, grouped by the site there.
    count = np.zeros(n_sites + 1, dtype=np.int64)
    for p in range(n_places):
        for k in range(min(cur_pos[p], k_pref)):
            t = pref_site[p, k]
            if t < 0:
                break
            count[t + 1] += 1
    start = np.cumsum(count)
    fill = start[:-1].copy()
    n_pairs = start[-1]
    gain = np.empty(n_pairs)
    source = np.empty(n_pairs, dtype=np.int64)
    lost = np.empty(n_pairs)
    for p in range(n_places):
        o = cur_site[p]
        w_o = wd[p, cur_pos[p]] if o >= 0 else 0.0
        for k in range(min(cur_pos[p], k_pref)):
            t = pref_site[p, k]
            if t < 0:
                break
            i = fill[t]
            fill[t] += 1
            gain[i] = wd[p, k]
            source[i] = o
            lost[i] = w_o
    sites = np.flatnonzero(candidate)
    d_c, ex_c, dv_c = _deltas_from_pairs(
        sites, sites, Pairs(start, gain, source, lost), state, rules
    )
    d_obj = np.full(n_sites, -np.inf)
    d_votes = np.zeros(n_sites)
    excess_after = np.full(n_sites, np.inf)
    d_obj[sites] = d_c
    excess_after[sites] = ex_c
    d_votes[sites] = dv_c
    return d_obj, excess_after, d_votes


@nb.njit(cache=True)
def _add_deltas_of(
    sites: IntArray, lists: Lists, state: Assignment, rules: Rules
) -> tuple[FloatArray, FloatArray]:
    """``_add_deltas`` for a short list of closed sites, site-major (their inverse lists):
    (objective change, staff excess after) per listed site."""
    cur_site = state.cur_site
    cur_pos = state.cur_pos
    wd = lists.wd
    inv_ptr = lists.inv_ptr
    inv_place = lists.inv_place
    inv_pos = lists.inv_pos
    inv_wd = lists.inv_wd
    m = sites.shape[0]
    start = np.zeros(m + 1, dtype=np.int64)
    for q in range(m):
        t = sites[q]
        n = 0
        for i in range(inv_ptr[t], inv_ptr[t + 1]):
            if inv_pos[i] < cur_pos[inv_place[i]]:
                n += 1
        start[q + 1] = start[q] + n
    gain = np.empty(start[m])
    source = np.empty(start[m], dtype=np.int64)
    lost = np.empty(start[m])
    j = 0
    for q in range(m):
        t = sites[q]
        for i in range(inv_ptr[t], inv_ptr[t + 1]):
            p = inv_place[i]
            if inv_pos[i] < cur_pos[p]:
                o = cur_site[p]
                gain[j] = inv_wd[i]
                source[j] = o
                lost[j] = wd[p, cur_pos[p]] if o >= 0 else 0.0
                j += 1
    d_obj, excess_after, _ = _deltas_from_pairs(
        sites, np.arange(m), Pairs(start, gain, source, lost), state, rules
    )
    return d_obj, excess_after


@nb.njit(cache=True)
def _site_response(
    load: FloatArray, open_mask: BoolArray, rules: Rules
) -> tuple[FloatArray, FloatArray]:
    si, ss = rules.served_intercept, rules.served_slope
    sb, sl = rules.staff_break_load, rules.staff_level
    n = load.shape[0]
    served = np.zeros(n)
    staff = np.zeros(n)
    for s in range(n):
        if open_mask[s]:
            served[s] = served_of(si, ss, s, load[s])
            staff[s] = staff_of(sb, sl, s, load[s])
    return served, staff


@nb.njit(cache=True)
def _responses_of(
    load: FloatArray, open_mask: BoolArray, rules: Rules
) -> tuple[FloatArray, FloatArray, FloatArray, float, float]:
    """What each open station serves and needs, staff per pool and in total, and the staff
    excess: one pass for a state."""
    served, staff = _site_response(load, open_mask, rules)
    pool = np.zeros(rules.pool_budget.shape[0])
    staff_pool = rules.staff_pool
    total = 0.0
    for s in range(staff.shape[0]):
        pool[staff_pool[s]] += staff[s]
        total += staff[s]
    return served, staff, pool, total, staff_excess(pool, total, rules)


def build_lists(instance: PlanningInstance) -> Lists:
    """Weight x decay matrix and the CSR inverse of the preference lists."""
    wd = np.ascontiguousarray(instance.demand_weight[:, None] * instance.pref_decay)
    ps = instance.pref_site
    valid = ps >= 0
    places, positions = np.nonzero(valid)
    sites = ps[valid]
    order = np.lexsort((positions, sites))  # by site, then by position in the lists
    counts = np.bincount(sites, minlength=instance.n_sites)
    ptr = np.zeros(instance.n_sites + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return Lists(
        pref_site=ps,
        wd=wd,
        inv_ptr=ptr,
        inv_place=places[order].astype(np.int64),
        inv_pos=positions[order].astype(np.int64),
        inv_wd=np.ascontiguousarray(wd[places[order], positions[order]]),
    )


@dataclass(frozen=True)
class PlanValue:
    """A plan's true value and what it takes (per-site arrays have length ``n_sites``)."""

    open_sites: tuple[int, ...]
    votes: float
    """Expected votes cast: sum of what stations serve."""
    objective: float
    """``votes - cost_weight * cost``: what the planner maximises."""
    cost: float
    load_voters: FloatArray
    """Expected voters arriving at each station (after travel decay); 0 where closed."""
    served_voters: FloatArray
    lost_voters: FloatArray
    """Voters lost to queues at each station: load - served."""
    staff: FloatArray
    pool_staff: FloatArray
    total_staff: float
    station_of_place: IntArray
    """Station each place votes at (-1: none of its listed sites is open)."""
    feasible: bool
    violations: tuple[str, ...]

    @property
    def demand_voters(self) -> float:
        """Voters who come after travel decay (before queue losses)."""
        return float(self.load_voters.sum())


class State:
    """Mutable search state: open set, assignment, loads, and per-site/pool responses."""

    def __init__(self, instance: PlanningInstance, open_mask: BoolArray, kernel: Kernel) -> None:
        self.instance = instance
        self.kernel = kernel
        self.open_mask = open_mask.copy()
        self.recompute()

    def recompute(self) -> None:
        self.cur_site, self.cur_pos, self.load = _assign(
            self.open_mask, self.kernel.lists, self.instance.n_sites
        )
        self._responses()

    def _responses(self) -> None:
        (
            self.site_served,
            self.site_staff,
            self.pool_staff,
            self.total_staff,
            self._staff_excess,
        ) = _responses_of(self.load, self.open_mask, self.kernel.rules)
        self.assignment = Assignment(
            self.cur_site,
            self.cur_pos,
            self.load,
            self.site_served,
            self.site_staff,
            self.pool_staff,
            self.total_staff,
        )
        """The state's arrays, as the kernels take them."""

    @property
    def votes(self) -> float:
        return float(self.site_served.sum())

    @property
    def cost(self) -> float:
        return float(self.instance.open_cost[self.open_mask].sum())

    @property
    def objective(self) -> float:
        return self.votes - self.instance.cost_weight * self.cost

    @property
    def n_open(self) -> int:
        return int(self.open_mask.sum())

    def staff_excess(self) -> float:
        """Staff above the pool and total budgets (0 within them)."""
        return self._staff_excess

    def within_limits(self) -> bool:
        """Staff pools, total staff and the cost budget hold (what the searches compare
        plans on before their objective)."""
        budget = self.instance.cost_budget
        return self._staff_excess <= FEAS_TOL and self.cost <= budget + rel_tol(budget)

    def add_deltas(self, candidate: BoolArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(objective change, staff excess after, votes change) of opening each candidate."""
        k = self.kernel
        result: tuple[FloatArray, FloatArray, FloatArray] = _add_deltas(
            candidate, k.lists, self.assignment, k.rules
        )
        return result

    def without(self, site: int) -> State:
        """A new state with ``site`` closed (incremental: only its places move)."""
        new = State.__new__(State)
        new.instance = self.instance
        new.kernel = self.kernel
        new.open_mask = self.open_mask.copy()
        new.open_mask[site] = False
        new.cur_site, new.cur_pos, new.load = _drop(
            site, new.open_mask, self.kernel.lists, self.cur_site, self.cur_pos, self.load
        )
        new._responses()
        return new

    def open_site(self, site: int) -> None:
        self.open_mask[site] = True
        self.recompute()

    def close_site(self, site: int) -> None:
        self.open_mask[site] = False
        self.recompute()


class Kernel:
    """Precomputed arrays shared by every evaluation of one instance."""

    def __init__(self, instance: PlanningInstance) -> None:
        self.instance = instance
        self.lists = build_lists(instance)
        self.rules = instance.rules

    @property
    def wd(self) -> FloatArray:
        """Weight x decay per (place, preference position)."""
        return self.lists.wd

    def state(self, open_sites: npt.ArrayLike) -> State:
        return State(self.instance, open_mask_of(self.instance, open_sites), self)


def open_mask_of(instance: PlanningInstance, open_sites: npt.ArrayLike) -> BoolArray:
    """Boolean mask of length ``n_sites`` from a mask or a list of site indices."""
    arr = np.asarray(open_sites)
    if arr.dtype == np.bool_ and arr.shape == (instance.n_sites,):
        return arr.copy()
    idx = arr.astype(np.int64).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= instance.n_sites):
        raise ValueError(f"open site index out of range 0..{instance.n_sites - 1}: {idx}")
    mask = np.zeros(instance.n_sites, dtype=np.bool_)
    mask[idx] = True
    return mask


def value_of_state(state: State) -> PlanValue:
    """Freeze a search state into a :class:`PlanValue` with its feasibility checked."""
    inst = state.instance
    mask = state.open_mask
    violations: list[str] = []
    missing = np.flatnonzero(inst.must_open & ~mask)
    if missing.size:
        names = ", ".join(inst.site_id(int(s)) for s in missing)
        violations.append(f"must-open sites closed: {names}")
    if state.n_open > inst.max_open:
        violations.append(f"{state.n_open} sites open, at most {inst.max_open} allowed")
    if state.cost > inst.cost_budget + rel_tol(inst.cost_budget):
        violations.append(f"cost {state.cost:.6g} over budget {inst.cost_budget:.6g}")
    for g in np.flatnonzero(state.pool_staff > inst.pool_staff_budget + FEAS_TOL):
        violations.append(
            f"staff pool {inst.pool_id(int(g))}: {state.pool_staff[g]:.6g} needed, "
            f"{inst.pool_staff_budget[g]:.6g} available"
        )
    if state.total_staff > inst.total_staff_budget + FEAS_TOL:
        violations.append(
            f"total staff {state.total_staff:.6g} over budget {inst.total_staff_budget:.6g}"
        )
    load = np.where(mask, state.load, 0.0)
    return PlanValue(
        open_sites=tuple(int(s) for s in np.flatnonzero(mask)),
        votes=state.votes,
        objective=state.objective,
        cost=state.cost,
        load_voters=load,
        served_voters=state.site_served.copy(),
        lost_voters=np.maximum(load - state.site_served, 0.0),
        staff=state.site_staff.copy(),
        pool_staff=state.pool_staff.copy(),
        total_staff=state.total_staff,
        station_of_place=state.cur_site.copy(),
        feasible=not violations,
        violations=tuple(violations),
    )


def value_plan(
    instance: PlanningInstance, open_sites: npt.ArrayLike, kernel: Kernel | None = None
) -> PlanValue:
    """True value of opening ``open_sites`` (indices or a boolean mask) under nearest-open choice.

    Pass a :class:`Kernel` built once to evaluate many plans of the same instance quickly.
    """
    k = kernel if kernel is not None else Kernel(instance)
    return value_of_state(k.state(open_sites))
