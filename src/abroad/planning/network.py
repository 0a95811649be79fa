"""Public entry: choose which sites open, report the plan's true value and a proven bound.

Pipeline of :func:`plan_network` (each phase logged with its value and time):

1. ``exhaustive`` when few enough plans fit within ``max_open`` (at most
   ``exhaustive_max_free_sites`` free sites or ``exhaustive_max_plans`` plans) and enumerating
   them takes at most half the time limit (with ``exhaustive_max_free_sites = 0`` never): the
   result is optimal.
2. ``greedy``: add the best site under true behaviour until nothing improves.
3. ``local search``: add / drop / swap under true behaviour to a local optimum.
4. ``bound``: a cheap valid bound, the Lagrangian bound (each place's "votes once" priced,
   stations and staff levels chosen whole; :mod:`abroad.planning.lagrangian`), the site-level
   resource MILP (staff vs served votes), then, on small models, the closest-assignment MILP
   (HiGHS) warm-started from the plan; the smallest is the proven bound, and the plans the
   Lagrangian master and the MILP pick, valued in truth and polished by local search, compete
   with ours.
5. ``iterated local search``: seeded random kicks + local search for the remaining time,
   accepting slightly worse local optima to move between them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from abroad.planning.bounds import resource_bound, simple_bound, solve_milp
from abroad.planning.instance import PlanningInstance
from abroad.planning.lagrangian import lagrangian_bound
from abroad.planning.rules import gap_closed
from abroad.planning.search import (
    EXHAUSTIVE_MAX_FREE_SITES,
    count_plans,
    exhaustive,
    greedy,
    iterated_local_search,
    local_search,
)
from abroad.planning.valuation import Kernel, PlanValue, State, value_of_state

ENUMERATION_SCANS_PER_SECOND = 5e7
"""Place scans per second assumed when deciding whether to enumerate every plan."""


@dataclass(frozen=True)
class Phase:
    """One logged phase of a planning run."""

    name: str
    objective: float
    """Best true objective after the phase (``-inf`` if no feasible plan yet)."""
    bound: float
    """Best proven upper bound after the phase (``inf`` if none)."""
    seconds: float
    """Wall time since the start of the run."""
    detail: str = ""


@dataclass(frozen=True)
class ProgressEvent:
    """What a progress callback receives."""

    phase: str
    best_objective: float
    bound: float
    elapsed_seconds: float
    time_limit_seconds: float


ProgressCallback = Callable[[ProgressEvent], None]

BOUND_ROUND_OFF = 1e-6
"""Relative amount by which a plan may exceed the proven bound (solver round-off) before the
bound is declared wrong."""


class BoundViolatedError(RuntimeError):
    """The final plan is better than the proven bound beyond round-off: the bound is wrong."""


@dataclass(frozen=True)
class PlanResult:
    """The plan chosen, its true value, the proven bound and how the run went."""

    plan: PlanValue
    bound: float
    """Proven upper bound on the objective of any feasible plan of the instance."""
    seconds: float
    phases: tuple[Phase, ...]
    method: str
    """The phases that actually ran, joined by `` + `` (skipped ones left out)."""

    @property
    def open_sites(self) -> tuple[int, ...]:
        return self.plan.open_sites

    @property
    def votes(self) -> float:
        return self.plan.votes

    @property
    def objective(self) -> float:
        return self.plan.objective

    @property
    def gap(self) -> float:
        """``(bound - objective) / objective``: how much better any plan could possibly be."""
        if not math.isfinite(self.bound):
            return math.inf
        return (self.bound - self.objective) / max(abs(self.objective), 1e-9)

    @property
    def proven_optimal(self) -> bool:
        return gap_closed(self.objective, self.bound)


def _key(state: State) -> tuple[bool, float]:
    return (state.within_limits(), state.objective)


def exhaustive_best(
    instance: PlanningInstance, kernel: Kernel | None = None, max_plans: int = 50_000
) -> PlanResult:
    """Best plan by enumerating every feasible subset (at most 24 free candidate sites, or at
    most ``max_plans`` plans within ``max_open``)."""
    t0 = time.perf_counter()
    k = kernel if kernel is not None else Kernel(instance)
    best, count = exhaustive(k, max_plans=max_plans)
    seconds = time.perf_counter() - t0
    if best is None:
        raise ValueError("no feasible plan: the must-open sites alone break a staff or cost limit")
    phase = Phase("exhaustive", best.objective, best.objective, seconds, f"{count} plans")
    return PlanResult(best, best.objective, seconds, (phase,), "exhaustive")


def plan_network(
    instance: PlanningInstance,
    time_limit_seconds: float = 60.0,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    *,
    bound_share: float = 0.4,
    k_bound: int | None = None,
    milp_max_entries: int = 40_000,
    exhaustive_max_free_sites: int = EXHAUSTIVE_MAX_FREE_SITES,
    exhaustive_max_plans: int = 30_000,
    threads: int = 1,
) -> PlanResult:
    """Choose the open sites: best true value found within the time limit, with a proven bound.

    Each bound phase may take ``bound_share`` of the time that remains when it starts (the
    Lagrangian bound at most 20 s, the resource bound 5 s; the closest-assignment MILP is
    skipped when it would have more than ``milp_max_entries`` assignment variables, and
    ``k_bound`` preferences per place get assignment variables: all if there are at most 30,
    else 20). Bound phases stop as soon as the gap is closed. Deterministic for a given
    ``seed`` apart from the time limits.

    Example::

        result = plan_network(instance, time_limit_seconds=30, seed=1)
        result.open_sites, result.votes, result.bound, result.gap
    """
    t0 = time.perf_counter()
    deadline = t0 + float(time_limit_seconds)
    kernel = Kernel(instance)
    phases: list[Phase] = []
    ran: list[str] = []
    best_bound = math.inf

    def log(name: str, objective: float, detail: str = "", *, skipped: bool = False) -> None:
        if not skipped:
            ran.append(name)
        phases.append(Phase(name, objective, best_bound, time.perf_counter() - t0, detail))
        if progress is not None:
            progress(
                ProgressEvent(
                    name, objective, best_bound, time.perf_counter() - t0, time_limit_seconds
                )
            )

    n_free = int((~instance.must_open).sum())
    max_extra = instance.max_open - int(instance.must_open.sum())
    n_plans = count_plans(n_free, max_extra)
    # Enumeration costs about n_plans x n_places place scans; allow half the time limit at a
    # conservative rate (about a third of what a 2-core laptop does), always for tiny cases.
    work_seconds = min(n_plans, 10**15) * max(instance.n_places, 1) / ENUMERATION_SCANS_PER_SECOND
    if (
        exhaustive_max_free_sites > 0
        and (n_free <= exhaustive_max_free_sites or n_plans <= exhaustive_max_plans)
        and (n_plans <= 4096 or work_seconds <= 0.5 * time_limit_seconds)
    ):
        result = exhaustive_best(instance, kernel, max_plans=n_plans)
        if progress is not None:
            progress(
                ProgressEvent(
                    "exhaustive",
                    result.objective,
                    result.bound,
                    result.seconds,
                    time_limit_seconds,
                )
            )
        return result

    rng = np.random.default_rng(seed)
    state = greedy(kernel, deadline)
    log("greedy", state.objective, f"{state.n_open} sites open")
    state = local_search(state, deadline, rng)
    log("local search", state.objective, f"{state.n_open} sites open")

    best_bound = simple_bound(kernel)
    log("simple bound", state.objective)

    remaining = deadline - time.perf_counter()
    if remaining > 0.2 and not gap_closed(state.objective, best_bound):
        lag = lagrangian_bound(
            kernel,
            time_limit_seconds=min(remaining * bound_share, 20.0),
            target_objective=state.objective if _key(state)[0] else None,
            threads=threads,
        )
        best_bound = min(best_bound, lag.bound)
        detail = f"{lag.iterations} price updates"
        if lag.open_mask is not None and time.perf_counter() < deadline:
            cand = local_search(kernel.state(lag.open_mask | instance.must_open), deadline, rng)
            if _key(cand) > _key(state):
                state = cand
                detail += "; its plan improved ours"
        log("Lagrangian bound", state.objective, detail)

    remaining = deadline - time.perf_counter()
    if remaining > 0.2 and not gap_closed(state.objective, best_bound):
        res = resource_bound(
            kernel, time_limit_seconds=min(remaining * bound_share, 5.0), threads=threads
        )
        best_bound = min(best_bound, res.dual_bound)
        log("resource bound", state.objective, f"HiGHS {res.status}, {res.n_cols} cols")

    kb = k_bound if k_bound is not None else (instance.n_pref if instance.n_pref <= 30 else 20)
    n_entries = int((instance.pref_site[:, :kb] >= 0).sum())
    remaining = deadline - time.perf_counter()
    if gap_closed(state.objective, best_bound):
        log("MILP bound", state.objective, "skipped (gap already closed)", skipped=True)
    elif n_entries <= milp_max_entries and remaining > 0.5:
        milp = solve_milp(
            kernel,
            model="closest",
            time_limit_seconds=remaining * bound_share,
            k_bound=kb,
            warm_start=value_of_state(state) if _key(state)[0] else None,
            threads=threads,
        )
        best_bound = min(best_bound, milp.dual_bound)
        detail = f"HiGHS {milp.status}, {milp.n_cols} cols, {milp.n_rows} rows"
        if milp.open_mask is not None:
            cand = local_search(kernel.state(milp.open_mask), deadline, rng)
            if _key(cand) > _key(state):
                state = cand
                detail += "; its plan improved ours"
        log("MILP bound", state.objective, detail)
    else:
        log(
            "MILP bound",
            state.objective,
            f"skipped ({n_entries} assignment variables)",
            skipped=True,
        )

    if time.perf_counter() < deadline and not gap_closed(state.objective, best_bound):
        state, rounds = iterated_local_search(kernel, state, deadline, rng)
        log("iterated local search", state.objective, f"{rounds} kicks")

    plan = value_of_state(state)
    seconds = time.perf_counter() - t0
    if plan.feasible:
        best_bound = checked_bound(plan.objective, best_bound)
    return PlanResult(plan, best_bound, seconds, tuple(phases), " + ".join(ran))


def checked_bound(objective: float, bound: float) -> float:
    """The bound to report for a feasible plan of value ``objective``: ``bound`` itself, raised
    to ``objective`` when the plan exceeds it by solver round-off only. A plan better than the
    bound beyond round-off means the bound is wrong: :class:`BoundViolatedError`."""
    if objective <= bound:
        return bound
    if objective - BOUND_ROUND_OFF * max(1.0, abs(objective)) <= bound:
        return objective
    raise BoundViolatedError(
        f"the plan's value {objective:.6g} exceeds the proven bound {bound:.6g} by more than "
        "round-off: the bound is wrong (please report this with the scenario)"
    )
