"""Among plans with equal votes cast: more voters reached, then cheaper; the rule is named."""

from __future__ import annotations

import numpy as np

from abroad.network.tiebreak import break_ties
from abroad.planning import PlanningInstance
from abroad.planning.valuation import value_plan

CAPPED = {"served_intercept": [[0.0, 100.0]] * 2, "served_slope": [[1.0, 0.0]] * 2}
"""Two sites, each casting at most 100 votes."""


def test_equal_votes_prefer_the_plan_that_reaches_more_voters() -> None:
    # p1 (100) may vote at A or B; p2 (50) only at B. One station: A or B cast 100 each, but
    # B reaches 150 voters.
    inst = PlanningInstance.build(
        demand_weight=[100.0, 50.0],
        pref_site=[[0, 1], [1, -1]],
        pref_decay=[[1.0, 1.0], [1.0, 0.0]],
        max_open=1,
        **CAPPED,
    )
    tie = break_ties(inst, value_plan(inst, np.array([0])))
    assert tie.plan.open_sites == (1,)
    assert tie.decided_by.startswith("more voters reached")


def test_equal_votes_and_reach_prefer_the_cheaper_plan() -> None:
    inst = PlanningInstance.build(
        demand_weight=[100.0],
        pref_site=[[0, 1]],
        pref_decay=[[1.0, 1.0]],
        open_cost=[10.0, 0.0],
        max_open=1,
        **CAPPED,
    )
    tie = break_ties(inst, value_plan(inst, np.array([0])))
    assert tie.plan.open_sites == (1,)
    assert tie.decided_by.startswith("lower cost")


def test_no_tie_keeps_the_plan_and_says_votes_decided() -> None:
    inst = PlanningInstance.build(
        demand_weight=[100.0, 80.0],
        pref_site=[[0, -1], [1, -1]],
        pref_decay=[[1.0, 0.0], [1.0, 0.0]],
        max_open=1,
        **CAPPED,
    )
    best = value_plan(inst, np.array([0]))
    tie = break_ties(inst, best)
    assert tie.plan is best and tie.decided_by.startswith("votes cast (no other plan")
