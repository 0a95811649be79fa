"""MILP models solved with HiGHS (highspy, used directly): upper bounds and a textbook baseline.

``closest`` model (the bound): binary ``y_s`` (site open), ``x_pk`` in [0, 1] (place ``p`` votes
at its ``k``-th preferred site), station load ``L_s = sum w_p d_pk x_pk``, served votes
``v_s <= a_m y_s + b_m L_s`` for every piece ``m`` of the concave response, staff
``z_s >= c_j y_s + e_j L_s`` for every piece of the lower convex envelope of the staff step
function, staff pools, total staff, cost budget and ``max_open``, and the closest-assignment
inequalities ``sum_{j <= k} x_pj >= y_{s_k}`` (with ``sum_k x_pk <= 1`` they force every place to
its first open site when ``y`` is integral). Any feasible plan with its true assignment is a
feasible point of this model with the same objective (proof in docs/background/planner.md), so
the MILP's dual bound is a valid upper bound on the best true objective.

To keep the model small, only the first ``k_bound`` preferences of each place get ``x``
variables; the rest of a place's list is folded into one variable ``u_p`` whose value is the most
that place could add to any station beyond its head (its weight x decay x the station's largest
marginal rate), which keeps the bound valid because served votes are concave with
``served(0) = 0`` and therefore subadditive.

``free`` model (the textbook baseline): the same without closest-assignment inequalities, so
the optimiser may send voters wherever it likes; its plan is then valued under true behaviour.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import highspy
import numba as nb
import numpy as np
import numpy.typing as npt

from abroad.planning.instance import PlanningInstance
from abroad.planning.rules import FloatArray, IntArray, Lists
from abroad.planning.valuation import Kernel, PlanValue


@dataclass(frozen=True)
class MilpResult:
    """Outcome of one time-limited HiGHS run."""

    model: str
    """"closest" (closest-assignment bound model) or "free" (textbook baseline)."""
    dual_bound: float
    """Proven upper bound on the model's optimum (``inf`` if HiGHS proved nothing)."""
    model_objective: float
    """Objective of HiGHS's best integer solution in the model (``-inf`` if none)."""
    open_mask: npt.NDArray[np.bool_] | None
    status: str
    seconds: float
    n_cols: int
    n_rows: int


def staff_envelope(
    breaks: FloatArray, levels: FloatArray, load_max: float
) -> list[tuple[float, float]]:
    """Pieces ``(intercept, slope)`` of the lower convex envelope of a staff step function.

    The step function is ``levels[j]`` for loads in ``(breaks[j-1], breaks[j]]``; on
    ``[0, load_max]`` it is bounded below by the envelope, so ``staff >= c y + e L`` is valid.
    """
    pts = [(0.0, float(levels[0]))]
    for j, b in enumerate(breaks):
        if not np.isfinite(b) or b >= load_max:
            pts.append((max(load_max, 0.0), float(levels[j])))
            break
        pts.append((float(b), float(levels[j])))
    else:
        pts.append((max(load_max, 0.0), float(levels[len(breaks)])))
    hull: list[tuple[float, float]] = []
    for p in pts:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) <= 0:
                hull.pop()
            else:
                break
        if hull and p[0] <= hull[-1][0] + 1e-12:
            hull[-1] = (hull[-1][0], min(hull[-1][1], p[1]))
            continue
        hull.append(p)
    pieces = [(float(levels[0]), 0.0)]
    for (x1, y1), (x2, y2) in itertools.pairwise(hull):
        e = (y2 - y1) / (x2 - x1)
        if e > 0:
            pieces.append((y1 - e * x1, e))
    return pieces


class _Rows:
    """Row builder in CSR form."""

    def __init__(self) -> None:
        self.lower: list[FloatArray] = []
        self.upper: list[FloatArray] = []
        self.starts: list[IntArray] = []
        self.index: list[IntArray] = []
        self.value: list[FloatArray] = []
        self.n = 0
        self.nnz = 0

    def add(
        self,
        lengths: IntArray,
        index: IntArray,
        value: FloatArray,
        lower: FloatArray | float,
        upper: FloatArray | float,
    ) -> None:
        n = int(lengths.shape[0])
        if n == 0:
            return
        starts = np.zeros(n, dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        self.starts.append(starts + self.nnz)
        self.index.append(index.astype(np.int32))
        self.value.append(value.astype(np.float64))
        self.lower.append(np.broadcast_to(np.asarray(lower, np.float64), (n,)).copy())
        self.upper.append(np.broadcast_to(np.asarray(upper, np.float64), (n,)).copy())
        self.n += n
        self.nnz += int(index.shape[0])

    def maximising_model(
        self,
        lb: FloatArray,
        ub: FloatArray,
        cost: FloatArray,
        *,
        time_limit_seconds: float,
        threads: int,
        mip_rel_gap: float,
    ) -> highspy.Highs:
        """A quiet, seeded HiGHS model maximising ``cost @ x`` subject to these rows."""
        n_cols = int(cost.shape[0])
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", max(0.1, time_limit_seconds))
        h.setOptionValue("threads", int(threads))
        h.setOptionValue("mip_rel_gap", mip_rel_gap)
        h.setOptionValue("random_seed", 0)
        h.addVars(n_cols, lb, ub)
        h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)
        h.addRows(
            self.n,
            np.concatenate(self.lower),
            np.concatenate(self.upper),
            self.nnz,
            np.concatenate(self.starts).astype(np.int32),
            np.concatenate(self.index).astype(np.int32),
            np.concatenate(self.value),
        )
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        return h


def _solution_vector(
    kernel: Kernel,
    plan: PlanValue,
    k_bound: int,
    cols: dict[str, int],
    n_cols: int,
    staff_pieces: list[list[tuple[float, float]]],
) -> FloatArray:
    inst = kernel.instance
    sol = np.zeros(n_cols)
    mask = np.zeros(inst.n_sites, dtype=np.bool_)
    mask[list(plan.open_sites)] = True
    sol[cols["y"] : cols["y"] + inst.n_sites] = mask
    head = inst.pref_site[:, :k_bound] >= 0
    x_index = np.full(head.shape, -1, dtype=np.int64)
    x_index[head] = np.arange(int(head.sum()))
    for p in range(inst.n_places):
        s = plan.station_of_place[p]
        if s < 0:
            continue
        k = int(np.flatnonzero(inst.pref_site[p] == s)[0])
        if k < k_bound:
            sol[cols["x"] + x_index[p, k]] = 1.0
    # Loads as the model sees them (head assignments only), then v and z from them.
    wd = kernel.wd[:, :k_bound]
    load = np.zeros(inst.n_sites)
    xs = sol[cols["x"] : cols["x"] + int(head.sum())]
    np.add.at(load, inst.pref_site[:, :k_bound][head], wd[head] * xs)
    sol[cols["L"] : cols["L"] + inst.n_sites] = load
    v = np.where(
        mask, np.min(inst.served_intercept + inst.served_slope * load[:, None], axis=1), 0.0
    )
    sol[cols["v"] : cols["v"] + inst.n_sites] = v
    z = np.array(
        [
            max(c * float(mask[s]) + e * load[s] for c, e in staff_pieces[s]) if mask[s] else 0.0
            for s in range(inst.n_sites)
        ]
    )
    sol[cols["z"] : cols["z"] + inst.n_sites] = z
    return sol


def solve_milp(
    kernel: Kernel,
    *,
    model: str = "closest",
    time_limit_seconds: float = 30.0,
    k_bound: int = 20,
    warm_start: PlanValue | None = None,
    relax_integrality: bool = False,
    threads: int = 1,
    mip_rel_gap: float = 1e-6,
    exact_staff: bool = True,
) -> MilpResult:
    """Build and solve the ``closest`` (bound) or ``free`` (baseline) model with HiGHS."""
    if model not in ("closest", "free"):
        raise ValueError(f"model must be 'closest' or 'free', got {model!r}")
    t0 = time.perf_counter()
    inst = kernel.instance
    n_sites, n_places = inst.n_sites, inst.n_places
    kb = min(k_bound, inst.n_pref)
    ps = inst.pref_site[:, :kb]
    head = ps >= 0
    n_x = int(head.sum())
    x_index = np.full(ps.shape, -1, dtype=np.int64)
    x_index[head] = np.arange(n_x)
    max_slope = inst.served_slope.max(axis=1)
    tail_value = np.zeros(n_places)
    if inst.n_pref > kb and model == "closest":
        tail_ps = inst.pref_site[:, kb:]
        tail_ok = tail_ps >= 0
        contrib = np.where(
            tail_ok, kernel.wd[:, kb:] * max_slope[np.where(tail_ok, tail_ps, 0)], 0.0
        )
        tail_value = contrib.max(axis=1)
    has_tail = tail_value > 0
    n_u = int(has_tail.sum())
    u_of = np.full(n_places, -1, dtype=np.int64)
    u_of[has_tail] = np.arange(n_u)

    wd_head = kernel.wd[:, :kb][head]
    load_max = np.bincount(ps[head], weights=wd_head, minlength=n_sites)
    # Staff steps that a load in [0, load_max] can cross: one binary each (exact staff).
    step_site: list[int] = []
    step_break: list[float] = []
    step_rise: list[float] = []
    if exact_staff:
        for s in range(n_sites):
            for j, b in enumerate(inst.staff_break_load[s]):
                if not (np.isfinite(b) and b < load_max[s]):
                    break
                rise = float(inst.staff_level[s, j + 1] - inst.staff_level[s, j])
                if rise > 0:
                    step_site.append(s)
                    step_break.append(float(b))
                    step_rise.append(rise)
    n_d = len(step_site)

    cols = {"y": 0, "x": n_sites, "u": n_sites + n_x}
    cols["L"] = cols["u"] + n_u
    cols["v"] = cols["L"] + n_sites
    cols["z"] = cols["v"] + n_sites
    cols["d"] = cols["z"] + n_sites
    n_cols = cols["d"] + n_d

    lb = np.zeros(n_cols)
    ub = np.full(n_cols, np.inf)
    cost = np.zeros(n_cols)
    lb[:n_sites] = inst.must_open.astype(np.float64)
    ub[: n_sites + n_x + n_u] = 1.0
    ub[cols["d"] :] = 1.0
    cost[:n_sites] = -inst.cost_weight * inst.open_cost
    cost[cols["u"] : cols["u"] + n_u] = tail_value[has_tail]
    cost[cols["v"] : cols["v"] + n_sites] = 1.0

    rows = _Rows()
    y_of_x = ps[head]
    x_ids = np.arange(n_x)
    # A: sum_k x_pk + u_p <= 1
    lengths = head.sum(axis=1) + has_tail
    idx_a = np.full(ps.shape[0] * (kb + 1), -1, dtype=np.int64).reshape(ps.shape[0], kb + 1)
    idx_a[:, :kb] = np.where(head, cols["x"] + x_index, -1)
    idx_a[:, kb] = np.where(has_tail, cols["u"] + u_of, -1)
    keep = idx_a >= 0
    rows.add(lengths.astype(np.int64), idx_a[keep], np.ones(int(keep.sum())), -np.inf, 1.0)
    # B: x_pk - y_s <= 0
    idx_b = np.stack([cols["x"] + x_ids, y_of_x], axis=1).ravel()
    val_b = np.tile([1.0, -1.0], n_x)
    rows.add(np.full(n_x, 2, dtype=np.int64), idx_b, val_b, -np.inf, 0.0)
    if model == "closest":
        # C: sum_{j<=k} x_pj - y_{s_k} >= 0
        pos = np.nonzero(head)[1]
        lengths_c = pos + 2
        total = int(lengths_c.sum())
        idx_c = np.empty(total, dtype=np.int64)
        val_c = np.empty(total)
        places = np.nonzero(head)[0]
        offsets = np.zeros(n_x, dtype=np.int64)
        np.cumsum(lengths_c[:-1], out=offsets[1:])
        for k in range(kb):
            sel = np.flatnonzero(pos == k)
            if sel.size == 0:
                continue
            base = offsets[sel]
            for j in range(k + 1):
                idx_c[base + j] = cols["x"] + x_index[places[sel], j]
                val_c[base + j] = 1.0
            idx_c[base + k + 1] = y_of_x[sel]
            val_c[base + k + 1] = -1.0
        rows.add(lengths_c.astype(np.int64), idx_c, val_c, 0.0, np.inf)
    # D: L_s - sum wd x = 0
    order = np.argsort(y_of_x, kind="stable")
    counts = np.bincount(y_of_x, minlength=n_sites)
    idx_d = np.concatenate([np.array([cols["L"] + s]) for s in range(n_sites)])
    starts = np.zeros(n_sites + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    all_idx: list[IntArray] = []
    all_val: list[FloatArray] = []
    for s in range(n_sites):
        members = order[starts[s] : starts[s + 1]]
        all_idx.append(np.concatenate([[idx_d[s]], cols["x"] + members]))
        all_val.append(np.concatenate([[1.0], -wd_head[members]]))
    rows.add(
        (counts + 1).astype(np.int64), np.concatenate(all_idx), np.concatenate(all_val), 0.0, 0.0
    )
    # E: v_s - b_m L_s - a_m y_s <= 0
    n_m = inst.served_intercept.shape[1]
    s_rep = np.repeat(np.arange(n_sites), n_m)
    idx_e = np.stack([cols["v"] + s_rep, cols["L"] + s_rep, s_rep], axis=1).ravel()
    val_e = np.stack(
        [np.ones(s_rep.size), -inst.served_slope.ravel(), -inst.served_intercept.ravel()], axis=1
    ).ravel()
    rows.add(np.full(s_rep.size, 3, dtype=np.int64), idx_e, val_e, -np.inf, 0.0)
    # F: c y_s + e L_s - z_s <= 0
    staff_pieces = [
        staff_envelope(inst.staff_break_load[s], inst.staff_level[s], float(load_max[s]))
        for s in range(n_sites)
    ]
    f_idx: list[int] = []
    f_val: list[float] = []
    n_f = 0
    for s, pieces in enumerate(staff_pieces):
        for c, e in pieces:
            f_idx += [s, cols["L"] + s, cols["z"] + s]
            f_val += [c, e, -1.0]
            n_f += 1
    rows.add(
        np.full(n_f, 3, dtype=np.int64),
        np.array(f_idx, dtype=np.int64),
        np.array(f_val),
        -np.inf,
        0.0,
    )
    if n_d:
        d_site = np.array(step_site, dtype=np.int64)
        d_ids = cols["d"] + np.arange(n_d)
        # L_s - (load_max_s - b) d <= b ; d - y_s <= 0
        rows.add(
            np.full(n_d, 2, dtype=np.int64),
            np.stack([cols["L"] + d_site, d_ids], axis=1).ravel(),
            np.stack([np.ones(n_d), -(load_max[d_site] - np.array(step_break))], axis=1).ravel(),
            -np.inf,
            np.array(step_break),
        )
        rows.add(
            np.full(n_d, 2, dtype=np.int64),
            np.stack([d_ids, d_site], axis=1).ravel(),
            np.tile([1.0, -1.0], n_d),
            -np.inf,
            0.0,
        )
        # z_s - level0 y_s - sum rise d >= 0
        for s in range(n_sites):
            mine = np.flatnonzero(d_site == s)
            rows.add(
                np.array([mine.size + 2], dtype=np.int64),
                np.concatenate([[cols["z"] + s, s], d_ids[mine]]),
                np.concatenate([[1.0, -float(inst.staff_level[s, 0])], -np.array(step_rise)[mine]]),
                0.0,
                np.inf,
            )
    # G: staff pools and total
    for g in range(inst.n_pools):
        if np.isfinite(inst.pool_staff_budget[g]):
            members = np.flatnonzero(inst.staff_pool == g)
            rows.add(
                np.array([members.size], dtype=np.int64),
                cols["z"] + members,
                np.ones(members.size),
                -np.inf,
                float(inst.pool_staff_budget[g]),
            )
    if np.isfinite(inst.total_staff_budget):
        rows.add(
            np.array([n_sites], dtype=np.int64),
            cols["z"] + np.arange(n_sites),
            np.ones(n_sites),
            -np.inf,
            inst.total_staff_budget,
        )
    # H: max_open, cost budget
    rows.add(
        np.array([n_sites], dtype=np.int64),
        np.arange(n_sites),
        np.ones(n_sites),
        -np.inf,
        float(inst.max_open),
    )
    if np.isfinite(inst.cost_budget):
        rows.add(
            np.array([n_sites], dtype=np.int64),
            np.arange(n_sites),
            inst.open_cost.copy(),
            -np.inf,
            inst.cost_budget,
        )

    h = rows.maximising_model(
        lb,
        ub,
        cost,
        time_limit_seconds=float(time_limit_seconds) - (time.perf_counter() - t0),
        threads=threads,
        mip_rel_gap=float(mip_rel_gap),
    )
    if not relax_integrality:
        int_cols = np.concatenate([np.arange(n_sites), cols["d"] + np.arange(n_d)])
        h.changeColsIntegrality(
            int_cols.size,
            int_cols.astype(np.int32),
            np.full(int_cols.size, highspy.HighsVarType.kInteger),
        )
    if warm_start is not None and not relax_integrality:
        sol = highspy.HighsSolution()
        vec = _solution_vector(kernel, warm_start, kb, cols, n_cols, staff_pieces)
        if n_d:
            load_ws = vec[cols["L"] : cols["L"] + n_sites]
            step = load_ws[d_site] > np.array(step_break)
            vec[cols["d"] :] = step
            rise_sum = np.bincount(d_site, weights=step * np.array(step_rise), minlength=n_sites)
            y_ws = vec[:n_sites]
            z_ws = vec[cols["z"] : cols["z"] + n_sites]
            vec[cols["z"] : cols["z"] + n_sites] = np.maximum(
                z_ws, y_ws * inst.staff_level[:, 0] + rise_sum
            )
        sol.col_value = vec.tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    mask: npt.NDArray[np.bool_] | None = None
    if relax_integrality:
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            bound = float(info.objective_function_value)
        else:
            bound = float("inf")
        obj = float("-inf")
    else:
        bound = float(info.mip_dual_bound)
        if not np.isfinite(bound) or abs(bound) >= 1e30:
            bound = float("inf")
        has_sol = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        obj = float(info.objective_function_value) if has_sol else float("-inf")
        if has_sol:
            y = np.asarray(h.getSolution().col_value[:n_sites])
            mask = y > 0.5
    return MilpResult(
        model=model,
        dual_bound=bound,
        model_objective=obj,
        open_mask=mask,
        status=status,
        seconds=time.perf_counter() - t0,
        n_cols=n_cols,
        n_rows=rows.n,
    )


def simple_bound(kernel: Kernel) -> float:
    """Cheap valid bound: best ``max_open`` stations each at the load of its whole catchment.

    Every station's true load is at most the load it would get alone (``max_load``), served is
    nondecreasing, so the value is at most the sum of the largest ``max_open`` such responses,
    and at most the weight x best decay of every place times the largest marginal rate.
    """
    inst = kernel.instance
    load_max = inst.max_load()
    served_max = np.array([inst.served(s, float(load_max[s])) for s in range(inst.n_sites)])
    top = np.sort(served_max)[::-1][: inst.max_open].sum()
    per_place = float(kernel.wd.max(axis=1, initial=0.0).sum()) * float(
        inst.served_slope.max(initial=0.0)
    )
    must_cost = float(inst.open_cost[inst.must_open].sum())
    return min(float(top), per_place) - inst.cost_weight * must_cost


def plain_milp_plan(
    kernel: Kernel, time_limit_seconds: float, k_bound: int = 20, threads: int = 1
) -> MilpResult:
    """The textbook baseline: free assignment, solved by HiGHS; value its plan in truth later."""
    return solve_milp(
        kernel,
        model="free",
        time_limit_seconds=time_limit_seconds,
        k_bound=k_bound,
        threads=threads,
    )


__all__ = [
    "MilpResult",
    "PlanningInstance",
    "plain_milp_plan",
    "simple_bound",
    "solve_milp",
    "staff_envelope",
]


def resource_bound(
    kernel: Kernel,
    time_limit_seconds: float = 10.0,
    threads: int = 1,
    neighbourhood_sizes: tuple[int, ...] = (2, 3, 5, 8),
    designations: tuple[int, ...] = (0, 1),
) -> MilpResult:
    """Site-level bound: stations compete for staff, each serves at most its whole catchment.

    Binary ``y_s``, served votes ``v_s <= served_s(max_load_s) y_s``, and the staff that serving
    ``v_s`` takes: a station that serves more than ``served_s(b)`` must have load above ``b``,
    hence at least the staff of the next step (one binary per step). Staff pools, total staff,
    cost budget, ``max_open`` and, for the set of all sites and for each site's neighbourhoods
    (the sites sharing most voters with it), ``sum_{s in A} v_s <= sum_p max_{s in A}
    (w_p d_ps rate_s)`` (every place votes at most once; ``rate`` is the largest marginal rate
    of the served function, so ``served(L) <= rate L``) complete the model. Any feasible plan
    maps to a feasible point with its true objective, so HiGHS's dual bound is valid. Small
    (sites x steps binaries) and strong when staff, not geography, limits the plan.
    """
    t0 = time.perf_counter()
    inst = kernel.instance
    n_sites = inst.n_sites
    load_max = inst.max_load()
    served = inst.served
    v_max = np.array([served(s, float(load_max[s])) for s in range(n_sites)])
    si, ss = inst.served_intercept, inst.served_slope
    rate = ss.max(axis=1)
    valid = inst.pref_site >= 0
    per_entry = np.where(valid, kernel.wd * rate[np.where(valid, inst.pref_site, 0)], 0.0)
    demand_cap = float(per_entry.max(axis=1, initial=0.0).sum())

    steps: list[tuple[int, float, float]] = []  # (site, served at break, staff rise)
    for s in range(n_sites):
        for j, b in enumerate(inst.staff_break_load[s]):
            if not (np.isfinite(b) and b < load_max[s]):
                break
            rise = float(inst.staff_level[s, j + 1] - inst.staff_level[s, j])
            if rise > 0:
                steps.append((s, served(s, float(b)), rise))
    n_d = len(steps)
    col_y, col_v, col_z, col_d = 0, n_sites, 2 * n_sites, 3 * n_sites
    col_l = col_d + n_d
    n_cols = col_l + n_sites
    lb = np.zeros(n_cols)
    ub = np.full(n_cols, np.inf)
    lb[:n_sites] = inst.must_open
    ub[:n_sites] = 1.0
    ub[col_v : col_v + n_sites] = v_max
    ub[col_d:col_l] = 1.0
    ub[col_l:] = load_max
    cost = np.zeros(n_cols)
    cost[:n_sites] = -inst.cost_weight * inst.open_cost
    cost[col_v : col_v + n_sites] = 1.0

    rows = _Rows()

    def row(idx: list[int], val: list[float], lo: float, hi: float) -> None:
        rows.add(
            np.array([len(idx)], dtype=np.int64),
            np.array(idx, dtype=np.int64),
            np.array(val, dtype=np.float64),
            lo,
            hi,
        )

    for s in range(n_sites):
        row([col_v + s, col_y + s], [1.0, -float(v_max[s])], -np.inf, 0.0)
        # served pieces on the load variable: v_s <= a_m y_s + b_m L_s
        for m in range(si.shape[1]):
            row(
                [col_v + s, col_y + s, col_l + s],
                [1.0, -float(si[s, m]), -float(ss[s, m])],
                -np.inf,
                0.0,
            )
    # Load upper bounds: a place listing s leaves it when a site it prefers is open. Each place
    # is designated to one preferred site (a partition), so
    # L_s + sum_t C_st y_t <= Lmax_s is valid for every designation rule.
    for rule in designations:
        c_mat = _leave_matrix(kernel, rule)
        for s in range(n_sites):
            nz = np.flatnonzero(c_mat[s] > 0)
            if nz.size:
                row(
                    [col_l + s, *(int(t) for t in nz)],
                    [1.0, *c_mat[s, nz].tolist()],
                    -np.inf,
                    float(load_max[s]),
                )
    by_site: dict[int, list[int]] = {}
    for i, (s, v_at_break, _rise) in enumerate(steps):
        # v_s - (v_max - v_at_break) d <= v_at_break ; d <= y_s
        row([col_v + s, col_d + i], [1.0, -(float(v_max[s]) - v_at_break)], -np.inf, v_at_break)
        row([col_d + i, col_y + s], [1.0, -1.0], -np.inf, 0.0)
        by_site.setdefault(s, []).append(i)
    for s in range(n_sites):
        mine = by_site.get(s, [])
        row(
            [col_z + s, col_y + s, *(col_d + i for i in mine)],
            [1.0, -float(inst.staff_level[s, 0]), *(-steps[i][2] for i in mine)],
            0.0,
            np.inf,
        )
    for g in range(inst.n_pools):
        if np.isfinite(inst.pool_staff_budget[g]):
            members = np.flatnonzero(inst.staff_pool == g)
            row(
                [col_z + int(s) for s in members],
                [1.0] * members.size,
                -np.inf,
                float(inst.pool_staff_budget[g]),
            )
    if np.isfinite(inst.total_staff_budget):
        row([col_z + s for s in range(n_sites)], [1.0] * n_sites, -np.inf, inst.total_staff_budget)
    row(list(range(n_sites)), [1.0] * n_sites, -np.inf, float(inst.max_open))
    if np.isfinite(inst.cost_budget):
        row(list(range(n_sites)), inst.open_cost.tolist(), -np.inf, inst.cost_budget)
    row([col_v + s for s in range(n_sites)], [1.0] * n_sites, -np.inf, demand_cap)
    # Neighbourhood caps: sites sharing voters cannot together serve more than those voters.
    for members, cap in neighbourhood_caps(kernel, rate, sizes=neighbourhood_sizes):
        row([col_v + int(t) for t in members], [1.0] * len(members), -np.inf, cap)

    h = rows.maximising_model(
        lb,
        ub,
        cost,
        time_limit_seconds=float(time_limit_seconds),
        threads=threads,
        mip_rel_gap=1e-6,
    )
    int_cols = np.concatenate([np.arange(n_sites), col_d + np.arange(n_d)]).astype(np.int32)
    h.changeColsIntegrality(
        int_cols.size, int_cols, np.full(int_cols.size, highspy.HighsVarType.kInteger)
    )
    h.run()
    info = h.getInfo()
    bound = float(info.mip_dual_bound)
    if not np.isfinite(bound) or abs(bound) >= 1e30:
        bound = float("inf")
    has_sol = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    mask: npt.NDArray[np.bool_] | None = None
    if has_sol:
        mask = np.asarray(h.getSolution().col_value[:n_sites]) > 0.5
    return MilpResult(
        model="resource",
        dual_bound=bound,
        model_objective=float(info.objective_function_value) if has_sol else float("-inf"),
        open_mask=mask,
        status=h.modelStatusToString(h.getModelStatus()),
        seconds=time.perf_counter() - t0,
        n_cols=n_cols,
        n_rows=rows.n,
    )


@nb.njit(cache=True)
def _set_cap(members: IntArray, lists: Lists, rate: FloatArray, scratch: FloatArray) -> float:
    """Most the voters of a set of sites can give to it (each place once, at its best member)."""
    inv_ptr = lists.inv_ptr
    inv_place = lists.inv_place
    inv_wd = lists.inv_wd
    total = 0.0
    for t in members:
        for i in range(inv_ptr[t], inv_ptr[t + 1]):
            p = inv_place[i]
            v = inv_wd[i] * rate[t]
            if v > scratch[p]:
                total += v - scratch[p]
                scratch[p] = v
    for t in members:
        for i in range(inv_ptr[t], inv_ptr[t + 1]):
            scratch[inv_place[i]] = 0.0
    return total


def neighbourhood_caps(
    kernel: Kernel, rate: FloatArray, sizes: tuple[int, ...] = (2, 3, 5, 8)
) -> list[tuple[IntArray, float]]:
    """For each site and size m: the site and its m-1 neighbours sharing most voters, and the
    most those voters can give to the set (each place counted once, at its best member)."""
    inst = kernel.instance
    if not sizes or inst.n_sites < 2:
        return []
    # Shared demand between sites listed by the same place (pairs within the first 10 slots).
    k_pair = min(10, inst.n_pref)
    ps = inst.pref_site[:, :k_pair]
    wd = kernel.wd[:, :k_pair]
    a_idx, b_idx = np.triu_indices(k_pair, 1)
    sa, sb = ps[:, a_idx].ravel(), ps[:, b_idx].ravel()
    w = np.minimum(wd[:, a_idx], wd[:, b_idx]).ravel()
    ok = (sa >= 0) & (sb >= 0)
    n = inst.n_sites
    shared = np.zeros((n, n)) if n <= 3000 else None
    if shared is None:
        return []
    np.add.at(shared, (sa[ok], sb[ok]), w[ok])
    shared = shared + shared.T
    scratch = np.zeros(inst.n_places)
    caps: list[tuple[IntArray, float]] = []
    order = np.argsort(-shared, axis=1, kind="stable")
    for s in range(n):
        for m in sizes:
            if m > n:
                continue
            neigh = [int(t) for t in order[s] if t != s and shared[s, t] > 0][: m - 1]
            if len(neigh) < m - 1:
                continue
            members = np.array([s, *neigh], dtype=np.int64)
            cap = float(_set_cap(members, kernel.lists, rate, scratch))
            caps.append((members, cap))
    return caps


def _leave_matrix(kernel: Kernel, rule: int) -> FloatArray:
    """``C[s, t]``: load that site ``s`` loses for sure when ``t`` opens, under one designation.

    Every entry (place ``p``, position ``k > 0``, site ``s``) is designated to the site at
    position ``min(rule, k - 1)`` of ``p``'s list, which ``p`` prefers to ``s``; each entry is
    designated once, so summing over open designated sites never subtracts a voter twice.
    """
    inst = kernel.instance
    ps = inst.pref_site
    n_places, k_pref = ps.shape
    pos = np.broadcast_to(np.arange(k_pref), ps.shape)
    ok = (ps >= 0) & (pos > 0)
    target_pos = np.minimum(rule, pos - 1)
    p_idx = np.broadcast_to(np.arange(n_places)[:, None], ps.shape)
    t = ps[p_idx[ok], target_pos[ok]]
    c = np.zeros((inst.n_sites, inst.n_sites))
    np.add.at(c, (ps[ok], t), kernel.wd[ok])
    return c
