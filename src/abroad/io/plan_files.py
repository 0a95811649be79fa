"""Writing a plan for planners: plan.xlsx (one sheet per table) and plan.geojson (for GIS)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from abroad.model import Scenario
from abroad.network.catchments import CatchmentSummary
from abroad.results import PlannedStation, PlanSummary, Result

SUMMARY_FIELDS = (
    "scenario",
    "variant",
    "expected_votes_cast",
    "bound",
    "gap",
    "simulated_votes_cast",
    "expected_voters_after_travel",
    "lost_to_queues",
    "staff",
    "cost",
    "feasible",
    "method",
    "solve_seconds",
    "seed",
)
"""Rows of the Summary sheet: field names of summary.json, so that both say the same."""


def _scalars(result: Result) -> dict[str, Any]:
    """A result's top-level scalar fields (nested objects and lists left out)."""
    return {
        k: v for k, v in result.to_json_dict().items() if not isinstance(v, dict | list | tuple)
    }


def _settings_cells(station: PlannedStation) -> dict[str, Any]:
    """The hours, days and close policy the planner chose, as cells (none when it chose
    none)."""
    st = station.settings
    if st is None:
        return {}
    return {
        "opens": st.opens,
        "closes": st.closes,
        "open_days": ", ".join(st.open_days),
        "close_policy": st.close_policy,
        "extend_minutes": st.extend_minutes,
        "open_hours": st.open_hours,
    }


def write_plan_xlsx(path: Path, summary: PlanSummary) -> None:
    """Sheets: Summary, Stations, Status quo, Losses, Phases (columns named as in summary.json)."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "Summary"
    values = summary.to_json_dict()
    for key in SUMMARY_FIELDS:
        ws.append([key, values[key]])
    ws.append(["open_sites", ", ".join(summary.open_sites)])

    def sheet(title: str, rows: Sequence[dict[str, Any]]) -> None:
        s = book.create_sheet(title)
        if not rows:
            s.append(["(none)"])
            return
        columns = list(dict.fromkeys(c for r in rows for c in r))
        s.append(columns)
        for cell in s[1]:
            cell.font = Font(bold=True)
        for r in rows:
            s.append([r.get(c) for c in columns])

    sheet("Stations", [{**_scalars(st), **_settings_cells(st)} for st in summary.stations])
    sheet(
        "Status quo",
        [{**_scalars(st), **_settings_cells(st)} for st in summary.status_quo.stations],
    )
    sheet(
        "Losses",
        [{"cause": k, "simulated_voters": v} for k, v in summary.voters_lost_by_cause.items()],
    )
    sheet("Phases", [p.to_json_dict() for p in summary.phases])
    book.save(path)


def write_plan_geojson(
    path: Path, scenario: Scenario, cs: CatchmentSummary, summary: PlanSummary
) -> None:
    """Stations (with their planned resources) and voter places (with their station)."""
    stations: dict[str, PlannedStation] = {s.site_id: s for s in summary.stations}
    features: list[dict[str, Any]] = []
    for site in scenario.sites:
        st = stations.get(site.site_id)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]},
                "properties": {
                    "layer": "site",
                    "site_id": site.site_id,
                    "name": site.name,
                    "kind": site.kind.value,
                    "open": st is not None,
                    **(_scalars(st) if st is not None else {}),
                },
            }
        )
    for i, place in enumerate(scenario.places):
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [place.lon, place.lat]},
                "properties": {
                    "layer": "place",
                    "place_id": place.place_id,
                    "name": place.name,
                    "eligible_citizens": place.eligible_citizens,
                    "station": scenario.sites[int(cs.catchment.site_index[i])].site_id,
                    "distance_km": round(float(cs.catchment.distance_km[i]), 1),
                },
            }
        )
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
