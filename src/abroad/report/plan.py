"""The report of ``abroad plan``: the planned network, its simulated queues, and the status quo
beside it. An adapter over the demo report: it only picks and labels computed figures."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from abroad.report.data import Cell, KeyFigure, ReportData, Table
from abroad.report.demo import demo_report_data
from abroad.report.html import write_report

if TYPE_CHECKING:
    from abroad.model import Scenario
    from abroad.pipeline import CatchmentSummary


def plan_report_data(
    scenario: Scenario, cs: CatchmentSummary, summary: dict[str, Any]
) -> ReportData:
    """Report content for a plan (``summary`` as written to the plan's summary.json)."""
    base = dict(summary.get("catchments") or {})
    base["simulation"] = summary.get("simulation")
    base["demand"] = summary.get("demand")
    base["wait_target_minutes"] = scenario.policies.wait_target.minutes
    base["title"] = f"{scenario.name}: planned network"
    data = demo_report_data(scenario, cs, base)
    sq = summary["status_quo"]
    gain = summary["expected_votes_cast"] - sq["expected_votes_cast"]
    gap = summary.get("gap")
    planner_figures = (
        KeyFigure(
            "expected votes cast (plan)",
            f"{summary['expected_votes_cast']:,.0f}",
            f"status quo {sq['expected_votes_cast']:,.0f} ({gain:+,.0f})"
            + ("" if sq["feasible"] else "; the status quo needs more staff than available"),
            tone="good" if gain > 0 else "neutral",
        ),
        KeyFigure(
            "proven bound",
            f"{summary['bound']:,.0f}",
            "no plan can do better"
            if gap is not None and gap <= 1e-9
            else f"gap {gap:.1%}"
            if gap is not None
            else "",
        ),
        KeyFigure("staff used", f"{summary['staff']:,.0f}", f"status quo {sq['staff']:,.0f}"),
    )
    rows: list[tuple[Cell, ...]] = []
    for label, plan in (("status quo", sq), ("plan", summary)):
        rows.append(
            (
                label,
                ", ".join(plan["open_sites"]),
                round(plan["expected_voters_after_travel"]),
                round(plan["expected_votes_cast"]),
                round(plan["lost_to_queues"]),
                plan["staff"],
                round(plan["cost"]),
            )
        )
    comparison = Table(
        title="Status quo and plan (the planner's evaluation, nearest-station behaviour)",
        columns=(
            "Network",
            "Stations",
            "Voters after travel",
            "Votes cast",
            "Lost to queues",
            "Staff",
            "Cost",
        ),
        rows=tuple(rows),
        decimals=0,
    )
    station_rows: list[tuple[Cell, ...]] = [
        (
            st["name"],
            st["desks"],
            st["booths"],
            st["staff"],
            round(st["expected_voters"]),
            round(st["capacity_voters"]),
            round(st["expected_votes_cast"]),
        )
        for st in summary["stations"]
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
            "Votes cast",
        ),
        rows=tuple(station_rows),
        decimals=0,
        note="Capacity: the most voters served within the wait target at the station's "
        "most resources (by simulation).",
    )
    return dataclasses.replace(
        data,
        key_figures=planner_figures + data.key_figures,
        variants=comparison,
        tables=(stations, *data.tables),
    )


def write_plan_report(
    scenario: Scenario, cs: CatchmentSummary, summary: dict[str, Any], path: Path
) -> None:
    write_report(plan_report_data(scenario, cs, summary), path)
