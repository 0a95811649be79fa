"""The main job, step by step: scenario -> catchments -> (demand -> plan -> simulate) -> report.

Each step is a plain function on typed values; ``run_demo`` chains them. Later steps are added
here without changing the earlier ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from abroad.demand import DemandModel, demand_summary
from abroad.geo.catchment import Catchment, nearest_open_site, weighted_quantile
from abroad.io.outputs import write_json
from abroad.model import Scenario, Site, SiteId
from abroad.network_sim import StationSimulation, simulate_network, status_quo_resources

FAR_KM = 300.0
"""Citizens farther than this from their station are reported as 'beyond reach'."""


@dataclass(frozen=True)
class StationCatchment:
    """One open station and the citizens for whom it is the nearest."""

    site_id: SiteId
    name: str
    kind: str
    lat: float
    lon: float
    places: int
    citizens: float
    distance_km_p50: float
    distance_km_p90: float
    citizens_beyond_far_km: float


@dataclass(frozen=True)
class CatchmentSummary:
    """Who is nearest to which open station, and how far they live from it."""

    open_site_ids: tuple[SiteId, ...]
    catchment: Catchment
    stations: tuple[StationCatchment, ...]
    total_citizens: float
    distance_km_p50: float
    distance_km_p90: float
    citizens_beyond_far_km: float
    far_km: float = FAR_KM


def default_open_sites(scenario: Scenario) -> tuple[SiteId, ...]:
    """The status quo: every site where a station may open (available, permitted by the host)."""
    return tuple(s.site_id for s in scenario.openable_sites)


def catchments(
    scenario: Scenario, open_site_ids: tuple[SiteId, ...] | None = None, far_km: float = FAR_KM
) -> CatchmentSummary:
    """Assign every voter place to its nearest open station and summarise travel distances."""
    ids = default_open_sites(scenario) if open_site_ids is None else open_site_ids
    mask = np.zeros(len(scenario.sites), dtype=bool)
    for sid in ids:
        mask[scenario.site_index[sid]] = True
    pa = scenario.place_arrays
    c = nearest_open_site(
        pa.lat_deg, pa.lon_deg, scenario.site_lat_deg, scenario.site_lon_deg, mask
    )
    citizens = pa.eligible_citizens
    stations = []
    for sid in ids:
        idx = scenario.site_index[sid]
        site: Site = scenario.sites[idx]
        mine = c.site_index == idx
        w = citizens[mine]
        d = c.distance_km[mine]
        stations.append(
            StationCatchment(
                site_id=sid,
                name=site.name,
                kind=site.kind.value,
                lat=site.lat,
                lon=site.lon,
                places=int(mine.sum()),
                citizens=float(w.sum()),
                distance_km_p50=weighted_quantile(d, w, 0.5),
                distance_km_p90=weighted_quantile(d, w, 0.9),
                citizens_beyond_far_km=float(w[d > far_km].sum()),
            )
        )
    return CatchmentSummary(
        open_site_ids=tuple(ids),
        catchment=c,
        stations=tuple(stations),
        total_citizens=float(citizens.sum()),
        distance_km_p50=weighted_quantile(c.distance_km, citizens, 0.5),
        distance_km_p90=weighted_quantile(c.distance_km, citizens, 0.9),
        citizens_beyond_far_km=float(citizens[c.distance_km > far_km].sum()),
        far_km=far_km,
    )


# ---------------------------------------------------------------------------------------------
# The demo job


@dataclass(frozen=True)
class DemoResult:
    """What ``run_demo`` produced: the summary (as written to summary.json) and file paths."""

    summary: dict[str, Any]
    summary_path: Path
    report_path: Path


def catchment_summary_dict(scenario: Scenario, cs: CatchmentSummary) -> dict[str, Any]:
    """The catchment part of summary.json (schema: docs/reference/outputs.md)."""
    return {
        "title": f"{scenario.name}: stations, catchments and queues",
        "scenario": scenario.name,
        "variant": scenario.variant,
        "far_km": cs.far_km,
        "open_sites": list(cs.open_site_ids),
        "stations": [
            {
                "site_id": s.site_id,
                "name": s.name,
                "kind": s.kind,
                "lat": s.lat,
                "lon": s.lon,
                "places": s.places,
                "citizens": round(s.citizens, 1),
                "distance_km_p50": round(s.distance_km_p50, 1),
                "distance_km_p90": round(s.distance_km_p90, 1),
                "citizens_beyond_far_km": round(s.citizens_beyond_far_km, 1),
            }
            for s in cs.stations
        ],
        "totals": {
            "citizens": round(cs.total_citizens, 1),
            "places": len(scenario.places),
            "distance_km_p50": round(cs.distance_km_p50, 1),
            "distance_km_p90": round(cs.distance_km_p90, 1),
            "citizens_beyond_far_km": round(cs.citizens_beyond_far_km, 1),
        },
    }


def simulation_summary_dict(sims: tuple[StationSimulation, ...]) -> dict[str, Any]:
    """The queue part of summary.json: per station, outcomes with 95 % intervals."""
    stations = []
    for sim in sims:
        total = sim.outcome.total.as_dict()
        total.pop("line_over_time", None)
        stations.append(
            {
                "site_id": sim.site_id,
                "desks": sim.resources.desks,
                "booths": sim.resources.booths,
                "stages": [st.name for st in sim.spec.stages],
                "total": total,
                "days": [d.as_dict() for d in sim.outcome.days],
                "wait_by_local_hour": [
                    {
                        "day": h.day,
                        "hour": h.hour,
                        "arrivals": round(h.arrivals, 1),
                        "wait_minutes_mean": h.wait_minutes_mean,
                        "wait_minutes_p90": h.wait_minutes_p90,
                        "not_served": round(h.not_served, 1),
                    }
                    for h in sim.wait_by_hour
                ],
            }
        )
    return {
        "replications": sims[0].outcome.replications if sims else 0,
        "stations": stations,
    }


def run_demo(
    scenario: Scenario,
    out_dir: Path,
    *,
    seed: int = 0,
    replications: int = 20,
    progress: Progress | None = None,
) -> DemoResult:
    """The main job on the status-quo network: catchments, demand, queues, summary, report."""
    n_open = len(default_open_sites(scenario))
    task = progress.add_task("demo", total=3 + n_open) if progress is not None else None

    def advance(label: str) -> None:
        if progress is not None and task is not None:
            progress.update(task, advance=1, description=label)

    cs = catchments(scenario)
    summary = catchment_summary_dict(scenario, cs)
    summary["seed"] = seed
    summary["wait_target_minutes"] = scenario.policies.wait_target.minutes
    advance("catchments")
    demand_model = DemandModel.from_scenario(scenario)
    demand = demand_model.evaluate(cs.open_site_ids)
    summary["demand"] = demand_summary(demand_model, demand)
    advance("demand")
    sims = simulate_network(
        scenario,
        demand_model,
        demand,
        status_quo_resources(scenario, cs.open_site_ids),
        replications=replications,
        seed=seed,
        on_station=lambda sid: advance(f"queues: {sid}"),
    )
    summary["simulation"] = simulation_summary_dict(sims)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = out_dir / "summary.json"
    report_path = out_dir / "report.html"
    write_json(summary_path, summary)
    from abroad.report.demo import write_demo_report

    write_demo_report(scenario, cs, summary, report_path)
    advance("report")
    return DemoResult(summary=summary, summary_path=summary_path, report_path=report_path)
