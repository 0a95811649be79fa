"""Alternatives per site that exclude each other: a station's hours, days and close policy.

A :class:`SiteOptions` gives each candidate site of a :class:`PlanningInstance` one or more
*alternatives* (each its own served curve, staff steps and cost); a plan opens sites and picks
exactly one alternative for each open one. Under nearest-station choice a station's load does
not depend on its own alternative (who comes depends on which sites are open, not on their
hours), so for a fixed set of open sites the best alternatives are a multiple-choice knapsack:
each station's best alternative at its load, unless the staff pools, the total staff or the cost
budget bind, then a small MILP (HiGHS) over the alternatives of the open stations
(:func:`choose_alternatives`). Over the open sets:

- :func:`exhaustive_with_options`: every open set, each with its best alternatives: optimal
  (alternatives within ``VOTE_TIE`` votes of a station's best count as equal and the cheaper,
  then the one nearest the scenario's own settings, is taken).
- :func:`plan_with_options`: the planner (:func:`plan_network`) on the *relaxed* instance (each
  site at the concave majorant of its alternatives' curves, the least staff and the least cost
  of any: its bound is a bound on every plan with alternatives) and on the instances with
  every site at its best and at its cheapest alternative; from each of these open sets, a
  local search (add, drop, swap a site) under the exact value of an open set.

Under a logit choice a station's load would depend on its waits and so on its alternative; the
planner refuses logit scenarios (``abroad.jobs.plan.check_planner_supports``).

Pure numpy / scipy; no I/O.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import combinations, pairwise

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, milp

from abroad.planning.instance import InstanceError, PlanningInstance
from abroad.planning.network import checked_bound, plan_network
from abroad.planning.rules import FEAS_TOL, BoolArray, FloatArray, IntArray, rel_tol
from abroad.planning.search import count_plans
from abroad.planning.valuation import Kernel, PlanValue, value_plan

EXHAUSTIVE_MAX_PLANS = 2048
"""Open sets up to which :func:`plan_with_options` enumerates them all (each with its best
alternatives), which is optimal."""
EXHAUSTIVE_SECONDS_PER_PLAN = 0.005
"""Time one open set takes to value with its best alternatives (conservative): enumeration runs
when all of them fit in half the time limit."""
COST_TIE = 1e-7
"""Among alternatives worth the same votes, the cheaper is chosen: cost enters the choice with
this weight per unit (relative to the largest cost), far below a vote."""
VOTE_TIE = 0.05
"""A station's alternatives whose votes differ by at most this (the reported round-off, and
below the simulation's noise) count as equally good: the cheaper is chosen, then the first
listed (the alternatives of a scenario are listed nearest its own settings first)."""


@dataclass(frozen=True, eq=False)
class SiteOptions:
    """Alternatives per candidate site (``O`` in all, grouped by site in site order).

    ``site[O]``: the site of each alternative (ascending, every site at least once);
    ``served_intercept[O, M]`` / ``served_slope[O, M]``, ``staff_break_load[O, B]`` /
    ``staff_level[O, B + 1]`` and ``open_cost[O]`` as in :class:`PlanningInstance`, one row per
    alternative; ``labels[O]`` name them in messages.
    """

    site: IntArray
    served_intercept: FloatArray
    served_slope: FloatArray
    staff_break_load: FloatArray
    staff_level: FloatArray
    open_cost: FloatArray
    labels: tuple[str, ...] = ()

    @property
    def n_options(self) -> int:
        return int(self.site.shape[0])

    def of_site(self, s: int) -> IntArray:
        """Indices of site ``s``'s alternatives."""
        return np.flatnonzero(self.site == s)

    @classmethod
    def build(
        cls,
        *,
        n_sites: int,
        site: npt.ArrayLike,
        served_intercept: npt.ArrayLike,
        served_slope: npt.ArrayLike,
        staff_break_load: npt.ArrayLike,
        staff_level: npt.ArrayLike,
        open_cost: npt.ArrayLike,
        labels: tuple[str, ...] = (),
    ) -> SiteOptions:
        """Check the arrays (each alternative must make a valid instance row) and freeze them."""
        st = np.array(site, dtype=np.int64, ndmin=1)
        problems = []
        if st.size and (np.any(np.diff(st) < 0) or st.min() < 0 or st.max() >= n_sites):
            problems.append(f"site: expected ascending site indices in 0..{n_sites - 1}")
        missing = np.setdiff1d(np.arange(n_sites), st)
        if missing.size:
            problems.append(f"site: sites without an alternative: {missing.tolist()}")
        if labels and len(labels) != st.size:
            problems.append(f"labels: expected {st.size}, got {len(labels)}")
        if problems:
            raise InstanceError(problems)
        arrays = [
            np.array(served_intercept, dtype=np.float64, ndmin=2),
            np.array(served_slope, dtype=np.float64, ndmin=2),
            np.array(staff_break_load, dtype=np.float64, ndmin=2),
            np.array(staff_level, dtype=np.float64, ndmin=2),
            np.array(open_cost, dtype=np.float64, ndmin=1),
        ]
        # Each alternative is checked as the row of an instance with one place.
        PlanningInstance.build(
            demand_weight=[0.0],
            pref_site=[[0]],
            pref_decay=[[1.0]],
            served_intercept=arrays[0],
            served_slope=arrays[1],
            staff_break_load=arrays[2],
            staff_level=arrays[3],
            open_cost=arrays[4],
        )
        for a in (st, *arrays):
            a.setflags(write=False)
        si, ss, sb, sl, cost = arrays
        return cls(st, si, ss, sb, sl, cost, labels=tuple(labels))


def instance_with(
    base: PlanningInstance, options: SiteOptions, choice: npt.ArrayLike
) -> PlanningInstance:
    """``base`` with each site's response and cost those of its chosen alternative
    (``choice[s]`` an index into ``options``)."""
    ch = np.asarray(choice, dtype=np.int64)
    if ch.shape != (base.n_sites,) or np.any(options.site[ch] != np.arange(base.n_sites)):
        raise ValueError("expected one alternative of its own site for every site")
    return _with_rows(
        base,
        options.served_intercept[ch],
        options.served_slope[ch],
        options.staff_break_load[ch],
        options.staff_level[ch],
        options.open_cost[ch],
    )


def _with_rows(
    base: PlanningInstance,
    si: FloatArray,
    ss: FloatArray,
    sb: FloatArray,
    sl: FloatArray,
    cost: FloatArray,
) -> PlanningInstance:
    return PlanningInstance.build(
        demand_weight=base.demand_weight,
        pref_site=base.pref_site,
        pref_decay=base.pref_decay,
        served_intercept=si,
        served_slope=ss,
        staff_break_load=sb,
        staff_level=sl,
        staff_pool=base.staff_pool,
        pool_staff_budget=base.pool_staff_budget,
        total_staff_budget=base.total_staff_budget,
        open_cost=cost,
        cost_budget=base.cost_budget,
        cost_weight=base.cost_weight,
        max_open=base.max_open,
        must_open=base.must_open,
        site_ids=base.site_ids,
        pool_ids=base.pool_ids,
    )


def _served(options: SiteOptions, o: int, load: float) -> float:
    return float(np.min(options.served_intercept[o] + options.served_slope[o] * load))


def _staff(options: SiteOptions, o: int, load: float) -> float:
    j = int(np.sum(options.staff_break_load[o] < load))
    return float(options.staff_level[o, j])


def _kinks(a: FloatArray, b: FloatArray, upto: float) -> list[float]:
    """Loads in ``[0, upto]`` where ``min_m(a_m + b_m L)`` may bend (pairwise crossings)."""
    out = [0.0, upto]
    for i in range(a.size):
        for j in range(i + 1, a.size):
            if b[i] != b[j]:
                x = (a[j] - a[i]) / (b[i] - b[j])
                if 0.0 < x < upto:
                    out.append(float(x))
    return out


def upper_hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The upper concave hull of the points, left to right (of points at the same abscissa
    the highest): the vertices of their least concave majorant over their range."""
    hull: list[tuple[float, float]] = []
    for p in sorted(points):
        if hull and p[0] == hull[-1][0]:
            if p[1] <= hull[-1][1]:
                continue
            hull.pop()
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (y2 - y1) * (p[0] - x1) <= (p[1] - y1) * (x2 - x1):
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


def relaxed_instance(base: PlanningInstance, options: SiteOptions) -> PlanningInstance:
    """Each site at the concave majorant of its alternatives' served curves (up to the most
    load it can get), the least staff any alternative needs at each load and the least cost:
    every plan with alternatives is a plan of this instance worth at least as much, so its
    bounds bound them all."""
    top = base.max_load() + 1.0
    rows: list[list[tuple[float, float]]] = []
    staff_rows: list[tuple[list[float], list[float]]] = []
    cost = np.zeros(base.n_sites)
    for s in range(base.n_sites):
        own = options.of_site(s)
        pts = []
        for o in own:
            a, b = options.served_intercept[o], options.served_slope[o]
            pts += [(x, _served(options, int(o), x)) for x in _kinks(a, b, float(top[s]))]
        hull = upper_hull(pts)
        pieces = []
        for (x1, y1), (x2, y2) in pairwise(hull):
            slope = max((y2 - y1) / (x2 - x1), 0.0)
            pieces.append((max(y1 - slope * x1, 0.0), slope))
        pieces.append((hull[-1][1], 0.0))
        rows.append(pieces)
        breaks = sorted({float(x) for o in own for x in options.staff_break_load[o] if x < np.inf})
        probe = [*breaks, (breaks[-1] + 1.0) if breaks else 1.0]
        levels = [min(_staff(options, int(o), x) for o in own) for x in probe]
        staff_rows.append((breaks, list(np.maximum.accumulate(levels))))
        cost[s] = float(options.open_cost[own].min())
    m = max(len(r) for r in rows)
    si = np.zeros((base.n_sites, m))
    ss = np.zeros((base.n_sites, m))
    for s, r in enumerate(rows):
        for k in range(m):
            si[s, k], ss[s, k] = r[min(k, len(r) - 1)]
    nb = max((len(b) for b, _ in staff_rows), default=0)
    sb = np.full((base.n_sites, nb), np.inf)
    sl = np.zeros((base.n_sites, nb + 1))
    for s, (b, lv) in enumerate(staff_rows):
        sb[s, : len(b)] = b
        sl[s, : len(lv)] = lv
        sl[s, len(lv) :] = lv[-1]
    return _with_rows(base, si, ss, sb, sl, cost)


def choose_alternatives(
    base: PlanningInstance,
    options: SiteOptions,
    open_mask: BoolArray,
    load_voters: FloatArray,
    previous: IntArray | None = None,
) -> IntArray | None:
    """Best alternative for every open site at its load, within the staff pools, the total
    staff and the cost budget (``None`` if none fits); closed sites keep ``previous`` (default:
    their first alternative). Maximises votes minus ``cost_weight`` x cost: each station's best
    alternative (within ``VOTE_TIE`` the cheaper, then the first listed) when together they
    fit; else exactly, by MILP (among equal votes the cheaper)."""
    choice = (
        np.array([int(options.of_site(s)[0]) for s in range(base.n_sites)], dtype=np.int64)
        if previous is None
        else np.array(previous, dtype=np.int64)
    )
    sites = np.flatnonzero(open_mask)
    if sites.size == 0:
        return choice
    cols: list[int] = []
    value: list[float] = []
    staff: list[float] = []
    cost_scale = max(float(options.open_cost.max(initial=0.0)), 1.0)
    for s in sites:
        for o in _kept(base, options, int(s), float(load_voters[s])):
            cols.append(int(o))
            c = float(options.open_cost[o])
            value.append(
                _served(options, int(o), float(load_voters[s]))
                - base.cost_weight * c
                - COST_TIE * c / cost_scale
            )
            staff.append(_staff(options, int(o), float(load_voters[s])))
    col = np.array(cols)
    val = np.array(value)
    stf = np.array(staff)
    cst = options.open_cost[col]
    owner = options.site[col]
    # Each station's best alternative on its own, if together they fit every limit.
    best = np.array(
        [_best_alone(base, options, int(s), float(load_voters[s])) for s in sites],
        dtype=np.int64,
    )
    pick = np.isin(col, best)
    if _fits(base, owner[pick], stf[pick], cst[pick]):
        choice[sites] = best
        return choice
    rows = [np.array([owner == s for s in sites], dtype=np.float64)]
    lo = [np.ones(sites.size)]
    hi = [np.ones(sites.size)]
    for g in range(base.n_pools):
        if np.isfinite(base.pool_staff_budget[g]):
            rows.append((stf * (base.staff_pool[owner] == g))[None, :])
            lo.append(np.array([-np.inf]))
            hi.append(np.array([base.pool_staff_budget[g] + FEAS_TOL]))
    if np.isfinite(base.total_staff_budget):
        rows.append(stf[None, :])
        lo.append(np.array([-np.inf]))
        hi.append(np.array([base.total_staff_budget + FEAS_TOL]))
    if np.isfinite(base.cost_budget):
        rows.append(cst[None, :])
        lo.append(np.array([-np.inf]))
        hi.append(np.array([base.cost_budget + rel_tol(base.cost_budget)]))
    res = milp(
        -val,
        integrality=np.ones(col.size),
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(np.vstack(rows), np.concatenate(lo), np.concatenate(hi)),
        options={"mip_rel_gap": 1e-9, "presolve": True},
    )
    if res.x is None:
        return None
    chosen = col[res.x > 0.5]
    choice[options.site[chosen]] = chosen
    return choice


def _kept(base: PlanningInstance, options: SiteOptions, s: int, load: float) -> IntArray:
    """Site ``s``'s alternatives at ``load`` less those no better than a kept one (within
    ``VOTE_TIE`` votes) that costs no more and needs no more staff: taken cheapest first, then
    with the least staff, then as listed (nearest the scenario's own settings first). Each one
    left out is within ``VOTE_TIE`` of a kept one, so nothing is lost beyond the tie."""
    own = options.of_site(s)
    cost = options.open_cost[own]
    worth = np.array([_served(options, int(o), load) for o in own]) - base.cost_weight * cost
    staff = np.array([_staff(options, int(o), load) for o in own])
    kept: list[int] = []
    for i in np.lexsort((np.arange(own.size), staff, cost)):
        if not any(
            cost[k] <= cost[i] + rel_tol(float(cost[i]))
            and staff[k] <= staff[i] + FEAS_TOL
            and worth[k] >= worth[i] - VOTE_TIE
            for k in kept
        ):
            kept.append(int(i))
    out: IntArray = own[np.sort(np.array(kept, dtype=np.int64))]
    return out


def _best_alone(base: PlanningInstance, options: SiteOptions, s: int, load: float) -> int:
    """Site ``s``'s best alternative at ``load`` on its own (budgets aside): among the kept
    ones (:func:`_kept`), the most votes less ``cost_weight`` x cost, the first listed of
    equals."""
    kept = _kept(base, options, s, load)
    worth = [_served(options, int(o), load) - base.cost_weight * options.open_cost[o] for o in kept]
    return int(kept[int(np.argmax(worth))])


def _fits(base: PlanningInstance, owner: IntArray, staff: FloatArray, cost: FloatArray) -> bool:
    pools = np.bincount(base.staff_pool[owner], weights=staff, minlength=base.n_pools)
    return bool(
        np.all(pools <= base.pool_staff_budget + FEAS_TOL)
        and staff.sum() <= base.total_staff_budget + FEAS_TOL
        and cost.sum() <= base.cost_budget + rel_tol(base.cost_budget)
    )


@dataclass(frozen=True)
class OptionPlan:
    """Open sites, the alternative chosen for every site and the plan's true value."""

    plan: PlanValue
    """The plan valued in the instance at the chosen alternatives."""
    choice: IntArray
    """Chosen alternative per site (closed sites: the one they would open with)."""
    bound: float
    """Proven upper bound on the objective of any plan with any alternatives."""
    method: str
    seconds: float

    @property
    def objective(self) -> float:
        return self.plan.objective


def _loads(kernel: Kernel, mask: BoolArray) -> FloatArray:
    return kernel.state(mask).load


def exhaustive_with_options(
    base: PlanningInstance, options: SiteOptions, max_plans: int = 50_000
) -> OptionPlan:
    """Every open set within ``max_open`` (must-open sites always open), each with its best
    alternatives: the optimum (up to ``VOTE_TIE`` votes a station, the tie between
    alternatives). Ties keep the first (fewest sites, then lowest indices)."""
    t0 = time.perf_counter()
    free = np.flatnonzero(~base.must_open)
    max_extra = min(free.size, base.max_open - int(base.must_open.sum()))
    if count_plans(free.size, max_extra) > max_plans:
        raise ValueError(f"more than {max_plans} open sets to enumerate")
    exact = _Exact(base, options)
    best: tuple[float, BoolArray, IntArray] | None = None
    for size in range(max_extra + 1):
        for extra in combinations(free.tolist(), size):
            mask = base.must_open.copy()
            mask[list(extra)] = True
            got = exact(mask)
            if got is not None and (best is None or got[0] > best[0] + rel_tol(best[0])):
                best = (got[0], mask, got[1])
    if best is None:
        raise ValueError("no feasible plan: the must-open sites alone break a staff or cost limit")
    _, mask, choice = best
    plan = value_plan(instance_with(base, options, choice), mask)
    return OptionPlan(plan, choice, plan.objective, "exhaustive", time.perf_counter() - t0)


class _Exact:
    """Open sets valued with their best alternatives (memoised): the true objective of an
    open set when the planner also chooses the alternatives."""

    def __init__(self, base: PlanningInstance, options: SiteOptions) -> None:
        self.base = base
        self.options = options
        self.kernel = Kernel(base)
        self.memo: dict[bytes, tuple[float, IntArray] | None] = {}

    def __call__(self, mask: BoolArray) -> tuple[float, IntArray] | None:
        key = np.packbits(mask).tobytes()
        if key not in self.memo:
            self.memo[key] = self._value(mask)
        return self.memo[key]

    def _value(self, mask: BoolArray) -> tuple[float, IntArray] | None:
        base = self.base
        if np.any(base.must_open & ~mask) or int(mask.sum()) > base.max_open:
            return None
        load = _loads(self.kernel, mask)
        choice = choose_alternatives(base, self.options, mask, load)
        if choice is None:
            return None
        sites = np.flatnonzero(mask)
        votes = sum(_served(self.options, int(choice[t]), float(load[t])) for t in sites)
        cost = float(self.options.open_cost[choice[sites]].sum())
        return votes - base.cost_weight * cost, choice


def _polish(exact: _Exact, mask: BoolArray, deadline: float) -> BoolArray:
    """Add, drop and swap sites (first improvement) under the exact value of open sets."""
    base = exact.base
    current = exact(mask)
    if current is None:
        return mask
    mask = mask.copy()
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        opened = np.flatnonzero(mask & ~base.must_open)
        closed = np.flatnonzero(~mask)
        moves: list[tuple[int, int]] = [(-1, int(t)) for t in closed]
        moves += [(int(s), -1) for s in opened]
        moves += [(int(s), int(t)) for s in opened for t in closed]
        for drop, add in moves:
            if time.perf_counter() >= deadline:
                break
            cand = mask.copy()
            if drop >= 0:
                cand[drop] = False
            if add >= 0:
                cand[add] = True
            got = exact(cand)
            if got is not None and got[0] > current[0] + rel_tol(current[0]):
                mask, current, improved = cand, got, True
                break
    return mask


def _cheapest(base: PlanningInstance, options: SiteOptions) -> IntArray:
    """Each site's cheapest alternative (the one worth most at its largest load among equally
    cheap ones)."""
    top = base.max_load()
    out = []
    for s in range(base.n_sites):
        own = options.of_site(s)
        cost = options.open_cost[own]
        cheap = own[cost <= cost.min() + rel_tol(float(cost.min()))]
        out.append(int(cheap[int(np.argmax([_served(options, int(o), top[s]) for o in cheap]))]))
    return np.array(out, dtype=np.int64)


def plan_with_options(
    base: PlanningInstance,
    options: SiteOptions,
    time_limit_seconds: float = 60.0,
    seed: int = 0,
    *,
    exhaustive_max_plans: int = EXHAUSTIVE_MAX_PLANS,
) -> OptionPlan:
    """Open sites and choose every open station's alternative: the best plan found, with a
    proven bound.

    Up to ``exhaustive_max_plans`` open sets: all of them, each with its best alternatives.
    Beyond: the relaxed instance's plan (which gives the bound), the plans of the instance with
    every site at its best alternative on its own and at its cheapest, each then improved by
    adding, dropping and swapping sites under the exact value (each open set with its best
    alternatives, :func:`choose_alternatives`).
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_seconds
    free = int((~base.must_open).sum())
    max_extra = min(free, base.max_open - int(base.must_open.sum()))
    n_plans = count_plans(free, max_extra)
    if n_plans <= exhaustive_max_plans and (
        n_plans <= 64 or n_plans * EXHAUSTIVE_SECONDS_PER_PLAN <= 0.5 * time_limit_seconds
    ):
        return exhaustive_with_options(base, options, exhaustive_max_plans)
    exact = _Exact(base, options)
    relaxed = plan_network(
        relaxed_instance(base, options), time_limit_seconds=0.3 * time_limit_seconds, seed=seed
    )
    bound = relaxed.bound
    top = base.max_load()
    starts = [_mask(base, relaxed.open_sites)]
    choices = (
        np.array([_best_alone(base, options, s, float(top[s])) for s in range(base.n_sites)]),
        _cheapest(base, options),
    )
    for choice in choices:
        fixed = plan_network(
            instance_with(base, options, choice),
            time_limit_seconds=0.15 * time_limit_seconds,
            seed=seed,
        )
        starts.append(_mask(base, fixed.open_sites))
    best: tuple[float, BoolArray, IntArray] | None = None
    for k, start in enumerate(starts):
        share = (deadline - time.perf_counter()) / (len(starts) - k)
        mask = _polish(exact, start, time.perf_counter() + share)
        got = exact(mask)
        if got is not None and (best is None or got[0] > best[0] + rel_tol(best[0])):
            best = (got[0], mask, got[1])
    if best is None:  # no start fits the limits with any alternatives: climb from the least
        mask = _polish(exact, base.must_open.copy(), max(deadline, time.perf_counter() + 1.0))
        got = exact(mask)
        if got is not None:
            best = (got[0], mask, got[1])
    if best is None:
        raise ValueError("no feasible plan: the must-open sites alone break a staff or cost limit")
    _, mask, choice = best
    plan = value_plan(instance_with(base, options, choice), mask)
    return OptionPlan(
        plan,
        choice,
        checked_bound(plan.objective, bound),
        f"relaxed plan ({relaxed.method}) + fixed-alternative plans + exact local search",
        time.perf_counter() - t0,
    )


def _mask(base: PlanningInstance, sites: tuple[int, ...]) -> BoolArray:
    mask = np.zeros(base.n_sites, dtype=np.bool_)
    mask[list(sites)] = True
    return mask | base.must_open
