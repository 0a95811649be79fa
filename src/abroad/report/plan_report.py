"""The report of ``abroad plan``: the planned network, its simulated queues, and the status quo
beside it. An adapter over the demo report: it only picks and labels computed figures."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from abroad.model import Scenario
from abroad.network.catchments import CatchmentSummary
from abroad.report.data import Cell, KeyFigure, ReportData, Table
from abroad.report.demo_report import demo_report_data
from abroad.report.html import write_report
from abroad.results import PlanSummary, PlanValueResult


def plan_report_data(scenario: Scenario, cs: CatchmentSummary, summary: PlanSummary) -> ReportData:
    """Report content for a plan (the plan's summary.json, typed)."""
    data = demo_report_data(
        scenario,
        cs,
        title=f"{scenario.name}: planned network",
        demand=summary.demand,
        simulation=summary.simulation,
    )
    sq = summary.status_quo
    gain = summary.expected_votes_cast - sq.expected_votes_cast
    gap = summary.gap
    planner_figures = (
        KeyFigure(
            "expected votes cast, planner's value (plan)",
            f"{summary.expected_votes_cast:,.0f}",
            f"status quo {sq.expected_votes_cast:,.0f} ({gain:+,.0f}); "
            f"{summary.simulated_votes_cast:,.0f} votes cast in the simulation of the plan"
            + ("" if sq.feasible else "; the status quo needs more staff than available"),
            tone="good" if gain > 0 else "neutral",
        ),
        KeyFigure(
            "proven bound",
            "" if summary.bound is None else f"{summary.bound:,.0f}",
            "no plan can do better"
            if gap is not None and gap <= 1e-9
            else f"gap {gap:.1%}"
            if gap is not None
            else "",
        ),
        KeyFigure("staff used", f"{summary.staff:,.0f}", f"status quo {sq.staff:,.0f}"),
    )
    rows: list[tuple[Cell, ...]] = []
    plan: PlanValueResult
    for label, plan in (("status quo", sq), ("plan", summary)):
        rows.append(
            (
                label,
                ", ".join(plan.open_sites),
                round(plan.expected_voters_after_travel),
                round(plan.expected_votes_cast),
                round(plan.lost_to_queues),
                plan.staff,
                round(plan.cost),
            )
        )
    comparison = Table(
        title="Status quo and plan (the planner's evaluation, nearest-station behaviour)",
        columns=(
            "Network",
            "Stations",
            "Expected voters after travel",
            "Expected votes cast (planner)",
            "Lost to queues (planner)",
            "Staff",
            "Cost",
        ),
        rows=tuple(rows),
        decimals=0,
    )
    station_rows: list[tuple[Cell, ...]] = [
        (
            st.name,
            st.desks,
            st.booths,
            st.staff,
            round(st.expected_voters),
            round(st.capacity_voters),
            round(st.expected_votes_cast),
            None if st.simulated_votes_cast is None else round(st.simulated_votes_cast),
        )
        for st in summary.stations
    ]
    stations = Table(
        title="Planned stations and resources",
        columns=(
            "Station",
            "Desks",
            "Booths",
            "Staff",
            "Expected voters",
            "Capacity",
            "Expected votes cast (planner)",
            "Votes cast (simulated)",
        ),
        rows=tuple(station_rows),
        decimals=0,
        note="Capacity: the most voters served within the wait target at the station's "
        "most resources (by simulation). Expected votes cast (planner): expected voters up to "
        "the capacity. Votes cast (simulated): voters served in the re-simulation of the plan, "
        "whatever their wait.",
    )
    return dataclasses.replace(
        data,
        key_figures=planner_figures + data.key_figures,
        variants=comparison,
        tables=(stations, *data.tables),
    )


def write_plan_report(
    scenario: Scenario, cs: CatchmentSummary, summary: PlanSummary, path: Path
) -> None:
    write_report(plan_report_data(scenario, cs, summary), path)
