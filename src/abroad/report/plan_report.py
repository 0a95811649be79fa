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
from abroad.results import PlanSummary, PlanValueResult, StationSettingsResult


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
    low, high = summary.simulated_votes_cast_interval or (None, None)
    missed = summary.wait_target_violations
    planner_figures = (
        KeyFigure(
            "votes cast (plan)",
            f"{summary.expected_votes_cast:,.0f}",
            f"{summary.status_quo_label} {sq.expected_votes_cast:,.0f} ({gain:+,.0f}); "
            + (
                f"re-simulated {low:,.0f}-{high:,.0f} (95 % interval)"
                if low is not None and high is not None
                else ""
            )
            + ("" if sq.within_budgets else "; the status quo needs more staff than available"),
            tone="good" if gain > 0 else "neutral",
        ),
        KeyFigure(
            f"stations missing the {summary.wait_target_minutes:g}-minute wait target",
            f"{len(missed)}",
            "; ".join(
                f"{w.site_id}: p95 wait {w.predicted_wait_minutes_p95:,.0f} min" for w in missed
            )
            or "every station meets it",
            tone="bad" if missed else "good",
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
    for label, plan in ((summary.status_quo_label, sq), ("plan", summary)):
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
            "Votes cast",
            "Could not vote",
            "Staff",
            "Cost",
        ),
        rows=tuple(rows),
        decimals=0,
    )
    station_rows: list[tuple[Cell, ...]] = [
        (
            st.name,
            st.security_lanes or "-",
            st.desks,
            st.booths,
            st.staff,
            round(st.expected_voters),
            round(st.capacity_voters),
            round(st.expected_votes_cast),
            None if st.simulated_votes_cast is None else round(st.simulated_votes_cast),
            _bottleneck(summary, st.site_id),
            st.ballots_to_send,
            "yes" if st.meets_wait_target else f"no (p95 {st.predicted_wait_minutes_p95:,.0f} min)",
        )
        for st in summary.stations
    ]
    stations = Table(
        title="Planned stations and resources",
        columns=(
            "Station",
            "Screening lanes",
            "Desks",
            "Booths",
            "Staff",
            "Expected voters",
            "Capacity within the wait target",
            "Votes cast",
            "Votes cast, re-simulated",
            "Bottleneck (utilisation)",
            "Ballots to send",
            "Meets the wait target",
        ),
        rows=tuple(station_rows),
        decimals=0,
        note="Votes cast: what the simulator predicts the station delivers at its expected "
        "load and resources (the planner's value). Re-simulated: the same figure measured "
        "again in the simulation of the whole plan. Capacity within the wait target: the "
        "largest load at which the station's most resources meet the target; beyond it the "
        "station still serves voters, late. Ballots to send: the fewest with which the station "
        "runs out with the scenario's stated probability (policies.ballot_run_out_probability).",
    )
    decided = [st for st in summary.stations if st.settings is not None]
    chosen: tuple[Table, ...] = ()
    if decided:
        chosen = (
            Table(
                title="Hours, days and close policy chosen by the planner",
                columns=(
                    "Station",
                    "Opens",
                    "Closes",
                    "Days open",
                    "Close policy",
                    "Hours open (election)",
                    "Votes cast",
                ),
                rows=tuple(
                    (
                        st.name,
                        st.settings.opens or "election's hours",
                        st.settings.closes or "election's hours",
                        ", ".join(st.settings.open_days),
                        close_text(st.settings),
                        st.settings.open_hours,
                        round(st.expected_votes_cast),
                    )
                    for st in decided
                    if st.settings is not None
                ),
                decimals=1,
                note="What policies.planner_decides leaves open, as the planner chose it among "
                "the allowed alternatives: the votes cast at the station's load under each were "
                "simulated, and the cost of its hours counted (policies.cost_per_station_hour).",
            ),
        )
    return dataclasses.replace(
        data,
        key_figures=planner_figures + data.key_figures,
        variants=comparison,
        tables=(stations, *chosen, *data.tables),
    )


def close_text(settings: StationSettingsResult) -> str:
    """``hard close``, ``serve all`` or ``extend 60 min``."""
    if settings.close_policy == "extend":
        return f"extend {settings.extend_minutes:g} min"
    return settings.close_policy.replace("_", " ")


def _bottleneck(summary: PlanSummary, site_id: str) -> str:
    sim = summary.simulation.by_site().get(site_id)
    if sim is None or not sim.bottleneck_stage:
        return "-"
    util = sim.bottleneck_utilisation
    return sim.bottleneck_stage + ("" if util is None else f" ({util:.0%})")


def write_plan_report(
    scenario: Scenario, cs: CatchmentSummary, summary: PlanSummary, path: Path
) -> None:
    write_report(plan_report_data(scenario, cs, summary), path)
