"""The one place where the server calls the engine (the jobs and the scenario reader).

The server stores results as JSON: the jobs' typed results (``abroad.results``) are turned
into their JSON form here, the same form as the CLI's ``--json`` and summary.json.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from abroad.geo.distance import haversine_km
from abroad.io.errors import InputError, Problem
from abroad.io.scenario import list_variants, load_scenario
from abroad.io.tables import read_table
from abroad.model import Scenario, SiteId
from abroad.model.clock import time_text

__all__ = [
    "InputError",
    "PlanOutcome",
    "Problem",
    "Scenario",
    "SiteId",
    "clock",
    "compare",
    "evaluate",
    "list_variants",
    "load_scenario",
    "nearest_km",
    "plan",
    "security_lanes",
    "site_addresses",
    "status_quo",
]

ProgressFn = Callable[[str, float], None]


@dataclass(frozen=True)
class PlanOutcome:
    summary: dict[str, Any]
    report_html: str | None


def plan(
    scenario: Scenario,
    work_dir: Path,
    *,
    time_limit_seconds: float,
    seed: int,
    replications: int,
    progress: ProgressFn,
    base: Scenario | None = None,
) -> PlanOutcome:
    """``abroad plan``: optimise, re-simulate, and render the HTML report into ``work_dir``.
    With ``base`` (the scenario without the variant), the status quo is the base's network."""
    from abroad.jobs.plan import run_plan

    run = run_plan(
        scenario,
        work_dir,
        time_limit_seconds=time_limit_seconds,
        seed=seed,
        replications=replications,
        progress=progress,
        base=base,
    )
    report = run.paths.get("report")
    html = report.read_text(encoding="utf-8") if report is not None else None
    return PlanOutcome(summary=run.summary.to_json_dict(), report_html=html)


def compare(
    base: Scenario,
    variants: Sequence[Scenario],
    *,
    time_limit_seconds: float,
    seed: int,
    progress: ProgressFn,
) -> list[dict[str, Any]]:
    """``abroad compare``: one row per scenario."""
    from abroad.jobs.compare import compare_variants

    result = compare_variants(
        base, variants, time_limit_seconds=time_limit_seconds, seed=seed, progress=progress
    )
    return [row.to_json_dict() for row in result.rows]


def evaluate(scenario: Scenario, open_sites: Sequence[str], *, seed: int) -> dict[str, Any]:
    """``abroad evaluate``: the true value of a fixed plan."""
    from abroad.jobs.evaluate import evaluate_plan

    return evaluate_plan(scenario, [SiteId(s) for s in open_sites], seed=seed).to_json_dict()


def status_quo(scenario: Scenario) -> dict[str, tuple[int, int]]:
    """Today's network: every openable site at the desks and booths its premises allow."""
    from abroad.network.catchments import default_open_sites
    from abroad.network.simulation import status_quo_resources

    res = status_quo_resources(scenario, default_open_sites(scenario))
    return {str(sid): (r.desks, r.booths) for sid, r in res.items()}


def security_lanes(scenario: Scenario, site_id: SiteId) -> int:
    """Door-screening lanes a station at the site runs (0 at venues or without screening)."""
    from abroad.network.simulation import max_security_lanes

    return max_security_lanes(scenario, site_id)


def clock(t: dt.time) -> str:
    """``HH:MM`` of a local clock time (``24:00`` for the end of the day)."""
    return time_text(t)


def site_addresses(folder: Path, sites_file: str) -> dict[str, str]:
    """Street addresses from the sites table's ``address`` column (or ``notes``)."""
    path = folder / sites_file
    if not path.is_file():
        return {}
    table = read_table(path, sites_file)
    column = "address" if "address" in table.columns else "notes"
    return {
        row["site_id"]: row[column].strip()
        for _, row in table.rows
        if row.get(column, "").strip() and row.get("site_id")
    }


def nearest_km(lat: float, lon: float, lats: Sequence[float], lons: Sequence[float]) -> int:
    """Index of the nearest of the points (great circle)."""
    d = haversine_km(lat, lon, np.asarray(lats, np.float64), np.asarray(lons, np.float64))
    return int(np.argmin(d))


def live_station_specs(
    scenario: Scenario, stations: Sequence[tuple[str, int, int, int]]
) -> dict[str, Any]:
    """The simulator's spec (``StationSpec``) of each stored station, keyed by site, under the
    expected demand of the stations open together: (site key, desks, booths, lanes) each."""
    from abroad.network.simulation import Resources, network_specs

    specs = network_specs(
        scenario, {SiteId(k): Resources(d, b, lanes) for k, d, b, lanes in stations}
    )
    return {str(k): v for k, v in specs.items()}
