"""Writing a plan for planners: plan.xlsx (one sheet per table) and plan.geojson (for GIS);
reading a plan folder's network back (``abroad replay --plan``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from abroad.io.errors import InputError, Problem, ProblemCollector
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


class _PlanStationFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    site_id: str = Field(min_length=1)
    desks: int = Field(ge=1)
    booths: int = Field(ge=1)
    security_lanes: int = Field(default=0, ge=0)


class _PlanSummaryFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    scenario: str
    variant: str | None = None
    stations: list[_PlanStationFile]


@dataclass(frozen=True)
class PlanNetwork:
    """The network a plan folder (``abroad plan --out``) opens: what a replay plays."""

    folder: Path
    scenario: str
    """The name of the scenario the plan was made for."""
    variant: str | None
    stations: tuple[tuple[str, int, int, int], ...]
    """(site id, desks, booths, security lanes) of each open station, in the plan's order."""


def read_plan_network(folder: Path) -> PlanNetwork:
    """The stations of a plan folder's summary.json; InputError with the file and field of
    every problem (a missing file, bad JSON, a station without desks, a site twice)."""
    path = folder / "summary.json"
    name = str(path)
    if not folder.is_dir():
        raise InputError(
            [Problem(str(folder), "not a folder (expected the output of `abroad plan`)")]
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            [Problem(name, "no such file: a plan folder holds summary.json (`abroad plan --out`)")]
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError([Problem(name, f"cannot read it as JSON: {exc}")]) from None
    problems = ProblemCollector()
    try:
        plan = _PlanSummaryFile.model_validate(raw)
    except ValidationError as exc:
        problems.add_validation_error(name, exc)
        problems.raise_if_any()
        raise AssertionError("unreachable") from None
    seen: set[str] = set()
    for i, st in enumerate(plan.stations):
        if st.site_id in seen:
            problems.add(
                name, f"site {st.site_id!r} is opened twice", path=f"stations[{i}].site_id"
            )
        seen.add(st.site_id)
    if not plan.stations:
        problems.add(name, "the plan opens no station", path="stations")
    problems.raise_if_any()
    return PlanNetwork(
        folder=folder,
        scenario=plan.scenario,
        variant=plan.variant,
        stations=tuple((s.site_id, s.desks, s.booths, s.security_lanes) for s in plan.stations),
    )
