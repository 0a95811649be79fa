"""The report of ``abroad demo``: turns the demo's typed results into a ``ReportData``.

An adapter only: it picks, labels and formats figures the jobs already computed (the catchment
summary, ``DemandResult`` and ``SimulationResult``); the report itself stays free of job logic.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from abroad.model import Scenario, Site
from abroad.network.catchments import CatchmentSummary
from abroad.report.data import (
    Cell,
    Chart,
    KeyFigure,
    ReportData,
    Series,
    Table,
    Tone,
    map_from_arrays,
)
from abroad.report.html import write_report
from abroad.results import DemandResult, DemoSummary, SimulationResult, StationSimulationResult

DISTANCE_BANDS_KM = (0.0, 25.0, 100.0, 300.0, 800.0)
MAX_ARRIVAL_SERIES = 6
MAX_FAR_ROWS = 20


def _site_status(site: Site, is_open: bool) -> str:
    if is_open:
        return ""
    if not site.available:
        return "not available"
    if not site.host_permits:
        return "host country does not permit voting here"
    return "not opened in this plan"


def _arrivals_chart(demand: DemandResult | None, names: dict[str, str]) -> Chart | None:
    if demand is None or not demand.stations:
        return None
    stations = sorted(demand.stations, key=lambda s: -s.voters)[:MAX_ARRIVAL_SERIES]
    rows = np.array([s.arrivals_per_local_hour[0] for s in stations], dtype=np.float64)
    active = np.flatnonzero(rows.sum(axis=0) > 0)
    if active.size == 0:
        return None
    hours = range(int(active[0]), int(active[-1]) + 1)
    day = demand.days[0] if demand.days else "day 1"
    more = len(demand.stations) - len(stations)
    return Chart(
        title=f"Expected arrivals per local clock hour, {day}",
        x=tuple(float(h) for h in hours),
        series=tuple(
            Series(names.get(s.site_id, s.site_id), tuple(float(r[h]) for h in hours))
            for s, r in zip(stations, rows, strict=True)
        ),
        x_label="local time at the station (hour)",
        y_label="voters per hour",
        x_tick_labels=tuple(f"{h:02d}:00" for h in hours),
        note=(f"The {len(stations)} busiest stations" + (f"; {more} more" if more else "") + "."),
    )


def _num(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _wait_chart(
    sims: list[StationSimulationResult], names: dict[str, str], target: float
) -> Chart | None:
    if not sims:
        return None
    hours = sorted({h.hour for s in sims for h in s.wait_by_local_hour if h.day == 0})
    if not hours:
        return None

    def series(sim: StationSimulationResult) -> Series:
        by_hour = {h.hour: h for h in sim.wait_by_local_hour if h.day == 0}
        values = tuple(
            _num(by_hour[h].wait_minutes_mean) if h in by_hour else float("nan") for h in hours
        )
        return Series(names.get(sim.site_id, sim.site_id), values)

    return Chart(
        title="Mean wait of voters by the hour they arrived (simulated), day 1",
        x=tuple(float(h) for h in hours),
        series=tuple(series(s) for s in sims[:MAX_ARRIVAL_SERIES]),
        x_label="arrival hour, local time at the station",
        y_label="wait in minutes (served voters)",
        x_tick_labels=tuple(f"{h:02d}:00" for h in hours),
        reference=(target, f"target {target:.0f} min"),
        note="Hours with no voter served (all turned away or gave up) are left blank.",
    )


def _distance_chart(cs: CatchmentSummary, citizens: np.ndarray[Any, Any]) -> Chart:
    d = cs.catchment.distance_km
    edges = (*DISTANCE_BANDS_KM, np.inf)
    totals = [float(citizens[(d >= lo) & (d < hi)].sum()) for lo, hi in itertools.pairwise(edges)]
    labels = tuple(
        f"{lo:.0f}–{hi:.0f} km" if np.isfinite(hi) else f"{lo:.0f} km +"
        for lo, hi in itertools.pairwise(edges)
    )
    return Chart(
        title="Citizens by distance to their nearest station",
        x=tuple(float(i) for i in range(len(totals))),
        series=(Series("citizens", tuple(totals)),),
        kind="bar",
        x_tick_labels=labels,
        y_label="citizens",
        reference=None,
    )


def demo_report_data(
    scenario: Scenario,
    cs: CatchmentSummary,
    *,
    title: str,
    demand: DemandResult | None,
    simulation: SimulationResult | None,
    generated_at: dt.datetime | None = None,
) -> ReportData:
    """The report content from the scenario, its catchments, demand and simulated queues."""
    open_ids = set(cs.open_site_ids)
    site_open = [s.site_id in open_ids for s in scenario.sites]
    demand_by_site = {s.site_id: s for s in (demand.stations if demand is not None else ())}
    voters = np.array(
        [
            demand_by_site[s.site_id].voters if s.site_id in demand_by_site else np.nan
            for s in scenario.sites
        ]
    )
    sims = simulation.by_site() if simulation is not None else {}
    wait_p95 = np.array(
        [
            _num(sims[s.site_id].wait_minutes_p95) if s.site_id in sims else np.nan
            for s in scenario.sites
        ]
    )
    lost = np.array(
        [sims[s.site_id].total.lost if s.site_id in sims else np.nan for s in scenario.sites]
    )
    pa = scenario.place_arrays
    map_data = map_from_arrays(
        site_wait_minutes=wait_p95,
        site_turned_away=lost,
        site_ids=[s.site_id for s in scenario.sites],
        site_names=[s.name for s in scenario.sites],
        site_kinds=[s.kind.value for s in scenario.sites],
        site_lat_deg=scenario.site_lat_deg,
        site_lon_deg=scenario.site_lon_deg,
        site_open=site_open,
        site_status=[_site_status(s, o) for s, o in zip(scenario.sites, site_open, strict=True)],
        site_voters=voters,
        place_names=[p.name for p in scenario.places],
        place_lat_deg=pa.lat_deg,
        place_lon_deg=pa.lon_deg,
        place_citizens=pa.eligible_citizens,
        place_site_index=cs.catchment.site_index,
        place_distance_km=cs.catchment.distance_km,
        far_km=cs.far_km,
        wait_target_minutes=scenario.policies.wait_target.minutes,
    )
    total = cs.total_citizens
    far_share = cs.citizens_beyond_far_km / total if total > 0 else 0.0
    far_tone: Tone = "bad" if far_share > 0.10 else "warn" if far_share > 0 else "good"
    figures = [
        KeyFigure(
            "citizens (eligible, estimated)",
            f"{total:,.0f}",
            f"in {len(scenario.places):,d} places",
        ),
        KeyFigure("open stations", f"{len(open_ids)}", f"of {len(scenario.sites)} sites"),
    ]
    if simulation is not None and sims:
        served = simulation.simulated_votes_cast
        lost_total = simulation.simulated_lost
        worst = max(_num(v.wait_minutes_p95) for v in sims.values())
        target_min = scenario.policies.wait_target.minutes
        figures.append(
            KeyFigure(
                "voters who could not vote (simulated)",
                f"{lost_total:,.0f}",
                f"turned away or gave up; {served:,.0f} votes cast (simulated)",
                tone="bad" if lost_total > 0.01 * (served + lost_total) else "good",
            )
        )
        figures.append(
            KeyFigure(
                "worst station's 95th percentile wait",
                f"{worst:,.0f} min",
                f"target {target_min:.0f} min",
                tone="bad" if worst > 2 * target_min else "warn" if worst > target_min else "good",
            )
        )
    if demand is not None:
        figures.append(
            KeyFigure(
                "expected voters (demand model)",
                f"{demand.total_voters:,.0f}",
                f"over {len(demand.days)} day(s)",
            )
        )
    figures += [
        KeyFigure(
            "median distance to station",
            f"{cs.distance_km_p50:,.0f} km",
            "half the citizens live closer",
        ),
        KeyFigure(
            "90th percentile distance",
            f"{cs.distance_km_p90:,.0f} km",
            tone="warn" if cs.distance_km_p90 > cs.far_km else "neutral",
        ),
        KeyFigure(
            f"citizens farther than {cs.far_km:,.0f} km",
            f"{cs.citizens_beyond_far_km:,.0f}",
            f"{far_share:.1%} of all",
            tone=far_tone,
        ),
    ]
    names: dict[str, str] = {str(s.site_id): s.name for s in scenario.sites}
    station_rows: list[tuple[Cell, ...]] = []
    for st in cs.stations:
        dem = demand_by_site.get(st.site_id)
        station_rows.append(
            (
                st.name,
                st.kind.replace("_", " "),
                st.places,
                round(st.citizens),
                None if dem is None else round(dem.voters),
                None if dem is None else f"{dem.peak_local_hour[0]:02d}:00",
                st.distance_km_p50,
                st.distance_km_p90,
                round(st.citizens_beyond_far_km),
            )
        )
    stations_table = Table(
        title="Stations and their catchments",
        columns=(
            "Station",
            "Kind",
            "Places",
            "Citizens",
            "Expected voters",
            "Peak hour",
            "Median km",
            "90th pct km",
            f"Citizens > {cs.far_km:,.0f} km",
        ),
        rows=tuple(station_rows),
        decimals=0,
        note="Each voter place goes to its nearest open station (great-circle distance).",
    )
    d = cs.catchment.distance_km
    far_idx = [int(i) for i in np.flatnonzero(d > cs.far_km)]
    far_idx.sort(key=lambda i: -float(pa.eligible_citizens[i]))
    far_rows: list[tuple[Cell, ...]] = [
        (
            scenario.places[i].name,
            scenario.places[i].country,
            round(float(pa.eligible_citizens[i])),
            names[scenario.sites[int(cs.catchment.site_index[i])].site_id],
            round(float(d[i])),
        )
        for i in far_idx[:MAX_FAR_ROWS]
    ]
    tables = [stations_table]
    if simulation is not None and sims:
        queue_rows: list[tuple[Cell, ...]] = []
        for st in cs.stations:
            sim = sims.get(st.site_id)
            if sim is None:
                continue
            t = sim.total

            def mean(e: Any) -> float:
                return _num(e.mean)

            queue_rows.append(
                (
                    st.name,
                    sim.security_lanes or "-",
                    sim.desks,
                    sim.booths,
                    sim.bottleneck_stage or "-",
                    None
                    if sim.bottleneck_utilisation is None
                    else round(100 * sim.bottleneck_utilisation),
                    round(mean(t.arrivals)),
                    round(mean(t.served)),
                    round(mean(t.turned_away_at_close)),
                    round(mean(t.reneged) + mean(t.balked)),
                    round(mean(t.turned_away_cap)),
                    round(mean(t.wait_minutes.p50)),
                    round(mean(t.wait_minutes.p95)),
                    round(mean(t.max_line)),
                )
            )
        tables.append(
            Table(
                title="Queues (simulated)",
                columns=(
                    "Station",
                    "Screening lanes",
                    "Desks",
                    "Booths",
                    "Bottleneck",
                    "Bottleneck utilisation %",
                    "Arrivals",
                    "Votes cast",
                    "Turned away at close",
                    "Gave up",
                    "Turned away (line cap)",
                    "Median wait min",
                    "95th pct wait min",
                    "Longest line",
                ),
                rows=tuple(queue_rows),
                decimals=0,
                note=(
                    f"Means over {simulation.replications} "
                    "replications; summary.json has 95 % intervals. Bottleneck: the stage "
                    "busiest while the station is open. Each station at the resources "
                    "listed (the status quo: the most its premises allow)."
                ),
            )
        )
    if far_rows:
        tables.append(
            Table(
                title=f"Largest places farther than {cs.far_km:,.0f} km from a station",
                columns=("Place", "Country", "Citizens", "Nearest station", "Distance km"),
                rows=tuple(far_rows),
                note=f"{len(far_idx):,d} places in all; the {len(far_rows)} largest shown.",
            )
        )
    target = scenario.policies.wait_target.minutes
    charts = [
        c
        for c in (
            _arrivals_chart(demand, names),
            _wait_chart(list(sims.values()), names, target),
        )
        if c is not None
    ]
    charts.append(_distance_chart(cs, pa.eligible_citizens))
    variant = f" (variant {scenario.variant})" if scenario.variant else ""
    return ReportData(
        title=title,
        scenario_name=scenario.name + variant,
        generated_at=generated_at or dt.datetime.now(dt.UTC).replace(second=0, microsecond=0),
        subtitle=scenario.description.strip().split("\n")[0] if scenario.description else "",
        key_figures=tuple(figures),
        map=map_data,
        tables=tuple(tables),
        charts=tuple(charts),
        notes=(
            "Distances are great-circle distances between a place's centre and the station.",
            "Citizens per place are estimates; see the scenario's README for their sources.",
            "Station markers are coloured by the simulated 95th percentile wait.",
        ),
    )


def write_demo_report(
    scenario: Scenario, cs: CatchmentSummary, summary: DemoSummary, path: Path
) -> None:
    """Write the demo's report.html (see ``demo_report_data``)."""
    data = demo_report_data(
        scenario, cs, title=summary.title, demand=summary.demand, simulation=summary.simulation
    )
    write_report(data, path)
