"""The compare job: plan the scenario and each variant, one row each (``abroad compare``)."""

from __future__ import annotations

from collections.abc import Sequence

from abroad.jobs.plan import Progress, run_plan
from abroad.model import Scenario
from abroad.results import ComparisonResult, VariantComparison


def compare_variants(
    base: Scenario,
    variants: Sequence[Scenario],
    *,
    time_limit_seconds: float = 10.0,
    seed: int = 0,
    replications: int = 10,
    progress: Progress | None = None,
) -> ComparisonResult:
    """Plan each scenario (base first) and return one comparison row per scenario. Every row's
    status quo is the base scenario's network as it is (in that variant's world)."""
    rows = []
    scenarios = [base, *variants]
    for k, sc in enumerate(scenarios):
        if progress is not None:
            progress(f"planning {sc.variant or 'base'}", k / len(scenarios))
        s = run_plan(
            sc,
            None,
            time_limit_seconds=time_limit_seconds,
            seed=seed,
            replications=replications,
            base=base,
        ).summary
        waits = [w for w in (st.wait_minutes_p95 for st in s.simulation.stations) if w is not None]
        rows.append(
            VariantComparison(
                variant=sc.variant or "base",
                status_quo_expected_votes_cast=s.status_quo.expected_votes_cast,
                status_quo_feasible=s.status_quo.within_budgets,
                status_quo_violations=s.status_quo.violations,
                planned_open_sites=s.open_sites,
                planned_expected_votes_cast=s.expected_votes_cast,
                bound=s.bound,
                gap=s.gap,
                planned_lost_to_queues=s.lost_to_queues,
                planned_simulated_votes_cast=s.simulated_votes_cast,
                planned_simulated_lost=s.simulation.simulated_lost,
                worst_wait_minutes_p95=max(waits) if waits else None,
                staff=s.staff,
                cost=s.cost,
                planned_missing_wait_target=tuple(w.site_id for w in s.wait_target_violations),
                tie_break=s.tie_break,
            )
        )
    if progress is not None:
        progress("done", 1.0)
    return ComparisonResult(scenario=base.name, rows=tuple(rows))
