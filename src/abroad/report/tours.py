"""Outputs of a tours plan: itinerary table, XLSX, host notifications, calendar, HTML report.

Everything is computed from ``TourPlan`` values (``abroad.tours.plan``); this module only lays
them out. The HTML report is one self-contained file: the map library and US outlines are
inlined from the package's offline assets (as in ``abroad.report.html``), no network needed.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup

from abroad.model.tours import Tours
from abroad.tours.demand import KINDS
from abroad.tours.network import TourNetwork
from abroad.tours.plan import TourPlan

TEAM_COLOURS = ("#4e79a7", "#e15759", "#59a14f", "#b07aa1", "#f28e2b", "#76b7b2", "#9c755f")
MISSIONS_REGION = "near a mission"


@dataclass(frozen=True)
class RegionRow:
    """Cases over the horizon in one region, and what each itinerary serves there.

    A region is the area whose places are nearest to one candidate city (or, for
    ``MISSIONS_REGION``, the places a working mission serves).
    """

    region: str
    need: float
    served: tuple[float, ...]
    """One entry per itinerary, in the order given."""


def region_rows(network: TourNetwork, plans: list[TourPlan]) -> list[RegionRow]:
    """Cases and cases served per region, largest need first."""
    d = network.demand
    names = [c.name for c in network.cities]
    need = d.need.sum(axis=1)
    out = []
    for r in range(-1, len(names)):
        mask = d.place_city == r
        if not mask.any():
            continue
        served = tuple(float(p.outcome.served_by_place[mask].sum()) for p in plans)
        out.append(
            RegionRow(MISSIONS_REGION if r < 0 else names[r], float(need[mask].sum()), served)
        )
    out.sort(key=lambda row: -row.need)
    return out


def visit_rows(plan: TourPlan, tours: Tours) -> list[dict[str, Any]]:
    """The itinerary, one row per visit (the table, CSV and XLSX share it)."""
    trips = {t.trip_id: t for t in plan.outcome.trips}
    rows = []
    for v in plan.outcome.visits:
        trip = trips[v.trip_id]
        city = tours.cities[v.city]
        row: dict[str, Any] = {
            "team": v.team_id,
            "trip": v.trip_id,
            "trip_start": trip.start.isoformat(),
            "trip_end": trip.end.isoformat(),
            "city": city.name,
            "venue": f"rented hall in {city.name}",
            "first_day": v.first_date.isoformat(),
            "last_day": v.last_date.isoformat(),
            "service_days": v.days,
            "diplomats": trip.diplomats,
        }
        for kind, cases in zip(KINDS, v.cases_by_kind, strict=True):
            row[f"cases_{kind.value}"] = round(cases, 1)
        row["cases_total"] = round(v.cases, 1)
        row["appointment_slots_per_day"] = v.slots_per_day
        row["walk_ins_per_day"] = v.walk_ins_per_day
        row["venue_cost"] = round(city.venue_cost_per_day * v.days, 2)
        rows.append(row)
    return rows


def notification_rows(plan: TourPlan, tours: Tours) -> list[dict[str, Any]]:
    """The host-notification list: one row per trip with the date the host must be told by."""
    rows = []
    for t in plan.outcome.trips:
        rows.append(
            {
                "trip": t.trip_id,
                "team": t.team_id,
                "from": t.start.isoformat(),
                "to": t.end.isoformat(),
                "cities": "; ".join(tours.cities[v.city].name for v in t.visits),
                "team_size": t.diplomats,
                "notify_host_by": t.notify_by.isoformat(),
            }
        )
    return rows


def summary(plan: TourPlan) -> dict[str, Any]:
    o = plan.outcome
    return {
        "name": plan.name,
        "engine": plan.engine,
        "teams": [
            {"team_id": t.team_id, "diplomats": t.diplomats, "days_available": t.days_available}
            for t in plan.teams
        ],
        "cases_served": round(o.cases_served, 1),
        "cases_by_kind": {
            k.value: round(v, 1) for k, v in zip(KINDS, o.served_by_kind, strict=True)
        },
        "weighted_cases": round(o.served_weighted, 1),
        "solver_estimate": round(plan.solver_prize, 1),
        "trips": len(o.trips),
        "visits": len(o.visits),
        "cities": len({v.city for v in o.visits}),
        "staff_days": o.staff_days,
        "cost": round(o.cost, 2),
        "unscheduled": [
            {"team": u.trip.team_id, "days": sum(s.days for s in u.trip.stops), "reason": u.reason}
            for u in o.unscheduled
        ],
        "seconds": round(plan.seconds, 2),
    }


# ---------------------------------------------------------------------------------------------
# Files


def _write_csv(path: Path, rows: list[dict[str, Any]], header: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)


def _write_xlsx(path: Path, sheets: dict[str, tuple[list[str], list[list[Any]]]]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, (header, rows) in sheets.items():
        ws = wb.create_sheet(name[:31])
        ws.append(header)
        for row in rows:
            ws.append(row)
        ws.freeze_panes = "A2"
    wb.save(path)


def ical_text(plan: TourPlan, tours: Tours) -> bytes:
    """An iCalendar (RFC 5545) file: one all-day event per visit."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//abroad//tours plan//EN")
    cal.add("version", "2.0")
    stamp = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    for v in plan.outcome.visits:
        city = tours.cities[v.city]
        ev = Event()
        ev.add("uid", f"{v.trip_id}-{city.city_id}-{v.first_date.isoformat()}@abroad")
        ev.add("dtstamp", stamp)
        ev.add("summary", f"Consular visit: {city.name} ({v.team_id})")
        ev.add("dtstart", v.first_date)
        ev.add("dtend", v.last_date + dt.timedelta(days=1))
        ev.add(
            "description",
            f"{v.days} service days, about {v.cases:.0f} cases; "
            f"{v.slots_per_day} appointment slots and {v.walk_ins_per_day} walk-ins a day",
        )
        ev.add("location", city.name)
        cal.add_component(ev)
    return bytes(cal.to_ical())


def write_outputs(
    out: Path,
    network: TourNetwork,
    tours: Tours,
    plans: list[TourPlan],
    compare: TourPlan | None,
    scenario_name: str,
) -> dict[str, Path]:
    """Write itinerary.csv, notifications.csv, tours.ics, tours.xlsx, summary.json, report.html.

    ``plans[0]`` is the main plan; the others (staffing alternatives) and ``compare`` appear in
    the summary, the workbook and the report.
    """
    out.mkdir(parents=True, exist_ok=True)
    main = plans[0]
    everything = [*plans, *([compare] if compare is not None else [])]
    paths = {
        "itinerary": out / "itinerary.csv",
        "notifications": out / "notifications.csv",
        "calendar": out / "tours.ics",
        "workbook": out / "tours.xlsx",
        "summary": out / "summary.json",
        "report": out / "report.html",
    }
    visits = visit_rows(main, tours)
    header = list(visits[0]) if visits else ["team", "trip", "city"]
    _write_csv(paths["itinerary"], visits, header)
    notes = notification_rows(main, tours)
    note_header = ["trip", "team", "from", "to", "cities", "team_size", "notify_host_by"]
    _write_csv(paths["notifications"], notes, note_header)
    paths["calendar"].write_bytes(ical_text(main, tours))
    regions = region_rows(network, everything)
    sheets: dict[str, tuple[list[str], list[list[Any]]]] = {
        "itinerary": (header, [list(r.values()) for r in visits]),
        "notifications": (note_header, [list(r.values()) for r in notes]),
        "regions": (
            ["region", "cases_in_horizon", *[f"served_{p.name}" for p in everything]],
            [[r.region, round(r.need, 1), *[round(s, 1) for s in r.served]] for r in regions],
        ),
        "summary": (
            ["itinerary", "cases_served", "staff_days", "cost", "trips", "cities", "unscheduled"],
            [
                [
                    p.name,
                    round(p.outcome.cases_served, 1),
                    p.outcome.staff_days,
                    round(p.outcome.cost, 2),
                    len(p.outcome.trips),
                    len({v.city for v in p.outcome.visits}),
                    len(p.outcome.unscheduled),
                ]
                for p in everything
            ],
        ),
    }
    for p in plans[1:]:
        rows = visit_rows(p, tours)
        sheets[f"itinerary {p.name}"] = (header, [list(r.values()) for r in rows])
    if compare is not None:
        rows = visit_rows(compare, tours)
        sheets[f"itinerary {compare.name}"] = (header, [list(r.values()) for r in rows])
    _write_xlsx(paths["workbook"], sheets)
    payload = {
        "scenario": scenario_name,
        "plans": [summary(p) for p in plans],
        "compare": None if compare is None else summary(compare),
        "regions": [
            {
                "region": r.region,
                "cases_in_horizon": round(r.need, 1),
                "served": [round(s, 1) for s in r.served],
            }
            for r in regions
        ],
    }
    paths["summary"].write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    paths["report"].write_text(
        render_html(network, tours, plans, compare, regions, scenario_name), encoding="utf-8"
    )
    return paths


# ---------------------------------------------------------------------------------------------
# HTML


def _script_json(obj: Any) -> Markup:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c"))


def _map_payload(network: TourNetwork, tours: Tours, plans: list[TourPlan]) -> dict[str, Any]:
    main = plans[0]
    d = main.outcome.demand
    need = network.demand.need.sum(axis=1)
    served = main.outcome.served_by_place.sum(axis=1)
    unserved = np.maximum(need - served, 0.0)
    places = []
    for i in range(need.shape[0]):
        if network.demand.place_city[i] < 0 or need[i] < 1:
            continue
        places.append(
            [
                round(float(network.place_lat[i]), 4),
                round(float(network.place_lon[i]), 4),
                round(float(need[i]), 1),
                round(float(served[i]), 1),
                round(float(unserved[i]), 1),
            ]
        )
    del d
    itineraries = []
    for p in plans:
        teams = sorted({t.team_id for t in p.teams})
        trips = []
        for t in p.outcome.trips:
            home = network.homes[
                network.home_location(next(x.home for x in p.teams if x.team_id == t.team_id))
            ]
            pts = [[home.lat, home.lon]]
            pts += [[tours.cities[v.city].lat, tours.cities[v.city].lon] for v in t.visits]
            pts.append([home.lat, home.lon])
            trips.append(
                {
                    "id": t.trip_id,
                    "colour": TEAM_COLOURS[teams.index(t.team_id) % len(TEAM_COLOURS)],
                    "points": pts,
                    "label": f"{t.trip_id}: {t.start:%d %b} – {t.end:%d %b}, "
                    + ", ".join(tours.cities[v.city].name for v in t.visits),
                }
            )
        visits = [
            {
                "city": tours.cities[v.city].name,
                "lat": tours.cities[v.city].lat,
                "lon": tours.cities[v.city].lon,
                "cases": round(v.cases),
                "days": v.days,
                "trip": v.trip_id,
            }
            for v in p.outcome.visits
        ]
        itineraries.append({"name": p.name, "trips": trips, "visits": visits})
    return {
        "places": places,
        "itineraries": itineraries,
        "homes": [[h.lat, h.lon, h.name] for h in network.homes],
    }


def render_html(
    network: TourNetwork,
    tours: Tours,
    plans: list[TourPlan],
    compare: TourPlan | None,
    regions: list[RegionRow],
    scenario_name: str,
) -> str:
    """The self-contained report page."""
    from abroad.report.assets_loader import load_assets

    assets = load_assets()
    everything = [*plans, *([compare] if compare is not None else [])]
    shown = [*plans[:1], *([compare] if compare is not None else []), *plans[1:]]
    template_text = (
        resources.files("abroad.report").joinpath("templates/tours.html.j2").read_text("utf-8")
    )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    top_regions = [r for r in regions if r.region != MISSIONS_REGION][:15]
    max_need = max((r.need for r in top_regions), default=1.0) or 1.0
    unserved = sorted(
        ((r.region, r.need - r.served[0]) for r in regions if r.region != MISSIONS_REGION),
        key=lambda x: -x[1],
    )[:10]
    return env.from_string(template_text).render(
        scenario=scenario_name,
        plans=everything,
        shown=shown,
        main=plans[0],
        compare=compare,
        tours=tours,
        summaries=[summary(p) for p in everything],
        regions=top_regions,
        region_total=[sum(r.served[i] for r in regions) for i in range(len(everything))],
        region_need=sum(r.need for r in regions if r.region != MISSIONS_REGION),
        max_need=max_need,
        unserved=unserved,
        visits=visit_rows(plans[0], tours),
        notes=notification_rows(plans[0], tours),
        kinds=[k.value.replace("_", " ") for k in KINDS],
        payload=_script_json(_map_payload(network, tours, shown)),
        us_states=Markup(assets.us_states_geojson.replace("<", "\\u003c")),
        leaflet_js=Markup(assets.leaflet_js),
        leaflet_css=Markup(assets.leaflet_css),
        notice=assets.notice,
        team_colours=TEAM_COLOURS,
    )
