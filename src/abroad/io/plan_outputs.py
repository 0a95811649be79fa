"""Writing a plan for planners: plan.xlsx (one sheet per table) and plan.geojson (for GIS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from abroad.model import Scenario
    from abroad.pipeline import CatchmentSummary


def write_plan_xlsx(path: Path, summary: dict[str, Any]) -> None:
    """Sheets: Summary, Stations, Status quo, Losses, Phases."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "Summary"
    for key in (
        "scenario",
        "variant",
        "expected_votes_cast",
        "bound",
        "gap",
        "expected_voters_after_travel",
        "lost_to_queues",
        "staff",
        "cost",
        "feasible",
        "solve_seconds",
        "seed",
    ):
        ws.append([key, summary.get(key)])
    ws.append(["open_sites", ", ".join(summary.get("open_sites", []))])

    def sheet(title: str, rows: list[dict[str, Any]]) -> None:
        s = book.create_sheet(title)
        if not rows:
            s.append(["(none)"])
            return
        columns = [c for c in rows[0] if not isinstance(rows[0][c], dict | list)]
        s.append(columns)
        for cell in s[1]:
            cell.font = Font(bold=True)
        for r in rows:
            s.append([r.get(c) for c in columns])

    sheet("Stations", summary.get("stations", []))
    sheet("Status quo", summary.get("status_quo", {}).get("stations", []))
    sheet(
        "Losses",
        [{"cause": k, "voters": v} for k, v in summary.get("voters_lost_by_cause", {}).items()],
    )
    sheet("Phases", summary.get("phases", []))
    book.save(path)


def write_plan_geojson(
    path: Path, scenario: Scenario, cs: CatchmentSummary, summary: dict[str, Any]
) -> None:
    """Stations (with their planned resources) and voter places (with their station)."""
    stations = {s["site_id"]: s for s in summary.get("stations", [])}
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
                    **(
                        {k: v for k, v in st.items() if not isinstance(v, dict | list)}
                        if st
                        else {}
                    ),
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
