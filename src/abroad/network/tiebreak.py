"""Among plans with equal votes cast, prefer the one that reaches more voters, then the cheaper.

"Equal" means equal as reported (within ``TIE_VOTES``, the round-off of one decimal). The
planner returns one best plan; this step looks at the plans one move away from it (close one
station, open one, or swap one for another) that are as good, and picks by the tie-breaks in
order: more expected voters after travel (people reached, whether or not the queues let them
vote), then lower cost. It says which rule decided, or that none was needed. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abroad.planning import PlanningInstance, PlanValue
from abroad.planning.valuation import Kernel, value_plan

TIE_VOTES = 0.05
"""Plans whose votes cast differ by at most this much are equal (the reported round-off)."""


@dataclass(frozen=True)
class TieBreak:
    plan: PlanValue
    decided_by: str
    """What chose the plan: ``"votes cast"`` (no equal plan), ``"more voters reached"`` or
    ``"lower cost"``, with the figures."""


def _key(v: PlanValue) -> tuple[float, float]:
    return (round(v.demand_voters, 1), -round(v.cost, 2))


def break_ties(instance: PlanningInstance, best: PlanValue) -> TieBreak:
    """The preferred plan among ``best`` and its equally good neighbours."""
    kernel = Kernel(instance)
    chosen = set(best.open_sites)
    closed = [s for s in range(instance.n_sites) if s not in chosen]
    neighbours: list[list[int]] = []
    neighbours += [sorted(chosen - {s}) for s in chosen if len(chosen) > 1]
    neighbours += [sorted(chosen | {s}) for s in closed]
    neighbours += [sorted((chosen - {a}) | {b}) for a in chosen for b in closed]
    ties = [best]
    for plan in neighbours:
        v = value_plan(instance, np.array(plan, dtype=np.int64), kernel)
        if v.feasible and abs(v.objective - best.objective) <= TIE_VOTES:
            ties.append(v)
    if len(ties) == 1:
        return TieBreak(best, "votes cast (no other plan one move away is as good)")
    pick = max(ties, key=_key)
    if pick is best or _key(pick) == _key(best):
        return TieBreak(
            best,
            f"votes cast, then voters reached and cost ({len(ties) - 1} equal plan(s) one move "
            "away reach no more voters at no lower cost)",
        )
    if round(pick.demand_voters, 1) > round(best.demand_voters, 1):
        why = (
            f"more voters reached ({pick.demand_voters:,.1f} against {best.demand_voters:,.1f} "
            "with the same votes cast)"
        )
    else:
        why = f"lower cost ({pick.cost:,.0f} against {best.cost:,.0f} with the same votes cast)"
    return TieBreak(pick, why)
