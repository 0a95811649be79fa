"""The planner's view of a scenario: places, candidate sites, preferences and station responses.

Everything the network search needs, as numpy arrays, and nothing else. The demand model fills
``demand_weight`` and ``pref_decay``; the station sizing fills the response functions
(``served_*`` and ``staff_*``); the scenario fills the constraints. The planner never looks at a
map, a clock or a file.

Behaviour is fixed by the preference lists: place ``p`` votes at the first *open* site of
``pref_site[p, :]`` (nearest first, the must-have behaviour). Lists are padded with ``-1`` and may
be pruned to the ``k`` most preferred sites; a place none of whose listed sites is open does not
vote. A logit choice would replace the "first open" rule in :mod:`abroad.planning.valuation` while
keeping the same arrays (the decay of every listed site is already there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from abroad.planning.rules import BoolArray, FloatArray, IntArray, Rules, served_votes, staff_needed


class InstanceError(ValueError):
    """A planning instance whose arrays do not fit together; lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        n = len(problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the planning instance:"
        super().__init__("\n".join([head, *(f"  {p}" for p in problems)]))


@dataclass(frozen=True, eq=False)
class PlanningInstance:
    """A network design instance (read-only arrays; build with :meth:`build`).

    Shapes: ``P`` places, ``S`` candidate sites (only openable ones), ``K`` preference slots,
    ``M`` served pieces, ``B`` staff breakpoints, ``G`` staff pools.

    - ``demand_weight[P]``: citizens who would vote with a station next door (eligible x base
      turnout), in voters.
    - ``pref_site[P, K]``: site indices by preference, nearest first, ``-1`` padding at the end.
    - ``pref_decay[P, K]``: fraction in [0, 1] of ``demand_weight[p]`` that comes if the station
      is ``pref_site[p, k]`` (travel decay from the demand model); 0 on padding.
    - ``served_intercept[S, M]``, ``served_slope[S, M]``: votes a station delivers at expected
      load ``L`` voters is ``min_m(intercept + slope * L)`` -- concave, nondecreasing, 0 at 0
      (e.g. ``min(L, capacity)`` is pieces ``(0, 1)`` and ``(capacity, 0)``). ``L - served`` are
      the voters lost to queues (turned away, reneged, balked, ballots out).
    - ``staff_break_load[S, B]`` (ascending, ``inf`` padding) and ``staff_level[S, B + 1]``
      (nondecreasing): staff needed at load ``L`` is ``staff_level[s, j]`` where ``j`` is the
      number of breakpoints strictly below ``L`` (a step function: fixed staff + desks needed).
    - ``staff_pool[S]`` (in ``0..G-1``) and ``pool_staff_budget[G]``: each mission's staff
      (venues draw from a shared pool, which is just another pool); ``total_staff_budget``.
    - ``open_cost[S]``, ``cost_budget`` and ``cost_weight`` (votes given up per unit of cost in
      the objective; 0 makes cost a pure budget).
    - ``max_open``: most stations that may open; ``must_open[S]``: sites that open regardless.
    - ``site_ids[S]`` and ``pool_ids[G]``: what violation messages call sites and pools
      (default: ``site 0``, ``pool 0``, ...).
    """

    demand_weight: FloatArray
    pref_site: IntArray
    pref_decay: FloatArray
    served_intercept: FloatArray
    served_slope: FloatArray
    staff_break_load: FloatArray
    staff_level: FloatArray
    staff_pool: IntArray
    pool_staff_budget: FloatArray
    total_staff_budget: float
    open_cost: FloatArray
    cost_budget: float
    cost_weight: float
    max_open: int
    must_open: BoolArray
    site_ids: tuple[str, ...] = field(default=())
    pool_ids: tuple[str, ...] = field(default=())

    def site_id(self, site: int) -> str:
        return self.site_ids[site] if site < len(self.site_ids) else f"site {site}"

    def pool_id(self, pool: int) -> str:
        return self.pool_ids[pool] if pool < len(self.pool_ids) else f"pool {pool}"

    @property
    def n_places(self) -> int:
        return int(self.demand_weight.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.served_intercept.shape[0])

    @property
    def n_pref(self) -> int:
        return int(self.pref_site.shape[1])

    @property
    def n_pools(self) -> int:
        return int(self.pool_staff_budget.shape[0])

    @cached_property
    def rules(self) -> Rules:
        """Station responses and limits as the numba kernels take them."""
        return Rules(
            served_intercept=self.served_intercept,
            served_slope=self.served_slope,
            staff_break_load=self.staff_break_load,
            staff_level=self.staff_level,
            staff_pool=self.staff_pool,
            pool_budget=self.pool_staff_budget,
            total_budget=self.total_staff_budget,
            open_cost=self.open_cost,
            cost_weight=self.cost_weight,
            cost_budget=self.cost_budget,
        )

    def served(self, site: int, load_voters: float) -> float:
        """Votes station ``site`` delivers at expected load ``load_voters``."""
        return float(served_votes(self.rules, site, float(load_voters)))

    def staff(self, site: int, load_voters: float) -> float:
        """Staff station ``site`` needs at expected load ``load_voters``."""
        return float(staff_needed(self.rules, site, float(load_voters)))

    def max_load(self) -> FloatArray:
        """Load each site would get if it were the only station (upper bound on its load)."""
        out = np.zeros(self.n_sites)
        valid = self.pref_site >= 0
        w = (self.demand_weight[:, None] * self.pref_decay)[valid]
        np.add.at(out, self.pref_site[valid], w)
        return out

    @classmethod
    def build(
        cls,
        *,
        demand_weight: npt.ArrayLike,
        pref_site: npt.ArrayLike,
        pref_decay: npt.ArrayLike,
        served_intercept: npt.ArrayLike,
        served_slope: npt.ArrayLike,
        staff_break_load: npt.ArrayLike | None = None,
        staff_level: npt.ArrayLike | None = None,
        staff_pool: npt.ArrayLike | None = None,
        pool_staff_budget: npt.ArrayLike | None = None,
        total_staff_budget: float = float("inf"),
        open_cost: npt.ArrayLike | None = None,
        cost_budget: float = float("inf"),
        cost_weight: float = 0.0,
        max_open: int | None = None,
        must_open: npt.ArrayLike | None = None,
        site_ids: tuple[str, ...] = (),
        pool_ids: tuple[str, ...] = (),
    ) -> PlanningInstance:
        """Check every array and build a read-only instance.

        Raises :class:`InstanceError` listing every problem found (each named by its field and
        index). Defaults: no staff needed, one unlimited pool, no cost, no limit
        on open sites, nothing forced open.
        """
        w = np.array(demand_weight, dtype=np.float64, ndmin=1)
        ps = np.array(pref_site, dtype=np.int64, ndmin=2)
        pd = np.array(pref_decay, dtype=np.float64, ndmin=2)
        si = np.array(served_intercept, dtype=np.float64, ndmin=2)
        ss = np.array(served_slope, dtype=np.float64, ndmin=2)
        n_sites = si.shape[0]
        sb = (
            np.full((n_sites, 0), np.inf)
            if staff_break_load is None
            else np.array(staff_break_load, dtype=np.float64, ndmin=2)
        )
        sl = (
            np.zeros((n_sites, 1))
            if staff_level is None
            else np.array(staff_level, dtype=np.float64, ndmin=2)
        )
        pool = (
            np.zeros(n_sites, dtype=np.int64)
            if staff_pool is None
            else np.array(staff_pool, dtype=np.int64, ndmin=1)
        )
        pool_budget = (
            np.full(int(pool.max(initial=-1)) + 1, np.inf)
            if pool_staff_budget is None
            else np.array(pool_staff_budget, dtype=np.float64, ndmin=1)
        )
        cost = np.zeros(n_sites) if open_cost is None else np.array(open_cost, np.float64, ndmin=1)
        must = (
            np.zeros(n_sites, dtype=np.bool_)
            if must_open is None
            else np.array(must_open, dtype=np.bool_, ndmin=1)
        )
        k_max = n_sites if max_open is None else int(max_open)

        problems: list[str] = []

        def bad(path: str, message: str) -> None:
            problems.append(f"{path}: {message}")

        n_places = w.shape[0]
        if w.ndim != 1:
            bad("demand_weight", f"expected a 1-D array, got shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            idx = np.flatnonzero(~np.isfinite(w) | (w < 0))
            bad(f"demand_weight[{idx[0]}]", f"expected finite voters >= 0 ({idx.size} such)")
        if ps.ndim != 2 or ps.shape[0] != n_places:
            bad("pref_site", f"expected shape ({n_places}, K), got {ps.shape}")
        if pd.shape != ps.shape:
            bad("pref_decay", f"expected the shape of pref_site {ps.shape}, got {pd.shape}")
        if ps.ndim == 2 and ps.size:
            out = (ps < -1) | (ps >= n_sites)
            if np.any(out):
                p, k = np.argwhere(out)[0]
                bad(f"pref_site[{p}][{k}]", f"expected a site index in 0..{n_sites - 1} or -1")
            pad = ps < 0
            if np.any(pad[:, :-1] & ~pad[:, 1:]):
                p = int(np.flatnonzero(np.any(pad[:, :-1] & ~pad[:, 1:], axis=1))[0])
                bad(f"pref_site[{p}]", "expected -1 padding only at the end of the list")
            srt = np.sort(np.where(pad, -1 - np.arange(ps.shape[1])[None, :], ps), axis=1)
            if np.any(srt[:, 1:] == srt[:, :-1]):
                p = int(np.flatnonzero(np.any(srt[:, 1:] == srt[:, :-1], axis=1))[0])
                bad(f"pref_site[{p}]", "expected each site at most once per place")
        if pd.shape == ps.shape and pd.size:
            if not np.all(np.isfinite(pd)) or np.any((pd < 0) | (pd > 1)):
                p, k = np.argwhere(~np.isfinite(pd) | (pd < 0) | (pd > 1))[0]
                bad(f"pref_decay[{p}][{k}]", "expected a fraction in [0, 1]")
            pd = np.where(ps >= 0, pd, 0.0)
        if ss.shape != si.shape or si.ndim != 2 or si.shape[1] == 0:
            bad(
                "served_slope", f"expected the shape of served_intercept {si.shape}, got {ss.shape}"
            )
        else:
            if not (np.all(np.isfinite(si)) and np.all(np.isfinite(ss))):
                bad("served_intercept", "expected finite pieces")
            elif np.any(ss < 0) or np.any(si < 0):
                s = int(np.flatnonzero(np.any((ss < 0) | (si < 0), axis=1))[0])
                bad(f"served_slope[{s}]", "expected nondecreasing pieces (intercept, slope >= 0)")
            elif np.any(np.min(si, axis=1) > 1e-9):
                s = int(np.flatnonzero(np.min(si, axis=1) > 1e-9)[0])
                bad(f"served_intercept[{s}]", "expected served(0) = 0 (one piece with intercept 0)")
        if sb.shape[0] != n_sites or sl.shape != (n_sites, sb.shape[1] + 1):
            bad(
                "staff_level",
                f"expected staff_break_load ({n_sites}, B) and staff_level ({n_sites}, B+1), "
                f"got {sb.shape} and {sl.shape}",
            )
        else:
            desc = np.any(sb[:, 1:] < sb[:, :-1], axis=1) | np.any(np.isnan(sb), axis=1)
            if np.any(desc):
                s = int(np.flatnonzero(desc)[0])
                bad(f"staff_break_load[{s}]", "expected ascending breakpoints (inf padding)")
            if not np.all(np.isfinite(sl)) or np.any(sl < 0) or np.any(np.diff(sl, axis=1) < 0):
                bad("staff_level", "expected finite, nonnegative, nondecreasing staff levels")
        if pool.shape != (n_sites,):
            bad("staff_pool", f"expected {n_sites} pool indices, got shape {pool.shape}")
        elif n_sites and (pool.min() < 0 or pool.max() >= pool_budget.shape[0]):
            bad("staff_pool", f"expected pool indices in 0..{pool_budget.shape[0] - 1}")
        if np.any(np.isnan(pool_budget)) or np.any(pool_budget < 0):
            bad("pool_staff_budget", "expected staff budgets >= 0")
        if not total_staff_budget >= 0:
            bad("total_staff_budget", "expected a staff budget >= 0")
        if cost.shape != (n_sites,) or not np.all(np.isfinite(cost)) or np.any(cost < 0):
            bad("open_cost", f"expected {n_sites} finite costs >= 0")
        if not cost_budget >= 0:
            bad("cost_budget", "expected a budget >= 0")
        if not (np.isfinite(cost_weight) and cost_weight >= 0):
            bad("cost_weight", "expected a finite weight >= 0")
        if must.shape != (n_sites,):
            bad("must_open", f"expected {n_sites} flags, got shape {must.shape}")
        elif k_max < int(must.sum()):
            bad("max_open", f"expected at least the {int(must.sum())} must-open sites")
        if k_max < 0:
            bad("max_open", "expected a count >= 0")
        if site_ids and len(site_ids) != n_sites:
            bad("site_ids", f"expected {n_sites} site ids, got {len(site_ids)}")
        if pool_ids and len(pool_ids) != pool_budget.shape[0]:
            bad("pool_ids", f"expected {pool_budget.shape[0]} pool ids, got {len(pool_ids)}")
        if problems:
            raise InstanceError(problems)

        arrays = [w, ps, pd, si, ss, sb, sl, pool, pool_budget, cost, must]
        for a in arrays:
            a.setflags(write=False)
        return cls(
            demand_weight=w,
            pref_site=ps,
            pref_decay=pd,
            served_intercept=si,
            served_slope=ss,
            staff_break_load=sb,
            staff_level=sl,
            staff_pool=pool,
            pool_staff_budget=pool_budget,
            total_staff_budget=float(total_staff_budget),
            open_cost=cost,
            cost_budget=float(cost_budget),
            cost_weight=float(cost_weight),
            max_open=min(k_max, n_sites),
            must_open=must,
            site_ids=tuple(site_ids),
            pool_ids=tuple(pool_ids),
        )


def preferences_from_distance(
    distance_km: FloatArray, decay: FloatArray, k_nearest: int | None = None
) -> tuple[IntArray, FloatArray]:
    """Nearest-first preference lists from a dense (P, S) distance and decay matrix.

    Keeps the ``k_nearest`` closest sites per place (all if ``None``); ties are broken by site
    index so that the order is deterministic.
    """
    n_sites = distance_km.shape[1]
    k = n_sites if k_nearest is None else min(int(k_nearest), n_sites)
    if k < n_sites:
        part = np.argpartition(distance_km, k - 1, axis=1)[:, :k]
        d_part = np.take_along_axis(distance_km, part, axis=1)
        order = np.lexsort((part, d_part), axis=1)
        idx = np.take_along_axis(part, order, axis=1)
    else:
        idx = np.lexsort((np.broadcast_to(np.arange(n_sites), distance_km.shape), distance_km))
    dec = np.take_along_axis(decay, idx, axis=1)
    return idx.astype(np.int64), dec.astype(np.float64)


def response_from_sizing(
    capacity_by_desks_voters: list[FloatArray],
    staff_by_desks: list[FloatArray],
    *,
    overload_loss_fraction: float = 0.0,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Served pieces and staff steps from a station sizing, for :meth:`PlanningInstance.build`.

    For site ``s``, ``capacity_by_desks_voters[s][d - 1]`` is the load (expected voters) that a
    station with ``d`` desks (and the booths and hours the sizing pairs with them) serves within
    the wait target, nondecreasing in ``d``; ``staff_by_desks[s][d - 1]`` the staff that takes.
    The station is staffed with the fewest desks whose capacity covers its load (the most if
    none does): staff steps at each capacity. It serves ``min(L, c_max)``, or with
    ``overload_loss_fraction = f`` > 0 the concave ``min(L, (1 - f) L + f c_max, c_max)`` read
    as: some voters already lost (reneging, surges) before the station saturates. Returns
    ``served_intercept, served_slope, staff_break_load, staff_level`` padded to equal widths.
    """
    n = len(capacity_by_desks_voters)
    if len(staff_by_desks) != n:
        raise ValueError("capacity_by_desks_voters and staff_by_desks need one entry per site")
    if not 0.0 <= overload_loss_fraction < 1.0:
        raise ValueError("overload_loss_fraction must be in [0, 1)")
    width = max((len(c) for c in capacity_by_desks_voters), default=1)
    si = np.zeros((n, 3))
    ss = np.zeros((n, 3))
    sb = np.full((n, max(width - 1, 0)), np.inf)
    sl = np.zeros((n, width))
    f = overload_loss_fraction
    for s in range(n):
        cap = np.asarray(capacity_by_desks_voters[s], dtype=np.float64)
        staff = np.asarray(staff_by_desks[s], dtype=np.float64)
        if cap.size == 0 or cap.size != staff.size:
            raise ValueError(f"site {s}: expected as many capacities as staff levels (>= 1)")
        if np.any(np.diff(cap) < 0) or np.any(np.diff(staff) < 0):
            raise ValueError(f"site {s}: capacity and staff must be nondecreasing in desks")
        c_max = float(cap[-1])
        si[s] = [0.0, f * c_max, c_max]
        ss[s] = [1.0, 1.0 - f, 0.0]
        sb[s, : cap.size - 1] = cap[:-1]
        sl[s, : cap.size] = staff
        sl[s, cap.size :] = staff[-1]
    return si, ss, sb, sl
