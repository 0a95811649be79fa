"""Import a scenario folder into an election: idempotent, returning what changed.

Rows are matched by the scenario's own ids; an unchanged re-import writes nothing. Until a
plan is adopted, the election's stations are the scenario's status quo (every available,
permitted site at the desks and booths its premises allow).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from abroad.server import audit, engine
from abroad.server.events import EventType
from abroad.server.models import (
    Election,
    Mission,
    ScenarioFile,
    Site,
    Station,
    VoterPlace,
    utcnow,
)
from abroad.server.schemas import Change, FieldChange, ImportResult

SCENARIO_SUFFIXES = {".yaml", ".yml", ".csv", ".xlsx", ".md", ".geojson", ".json"}
MAX_LISTED_CHANGES = 200
"""An import lists at most this many row changes per kind; counts are always complete."""

Rows = dict[str, dict[str, Any]]
SITE_PLACE_FIELDS = ("mission_key", "name", "address", "city", "country", "lat", "lon", "timezone")
"""What a station takes from its site."""


def scenario_files(folder: Path) -> dict[str, bytes]:
    """The scenario folder's own files (top level, known kinds)."""
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix.lower() in SCENARIO_SUFFIXES and not p.name.startswith(".")
    }


def _sites_file(folder: Path) -> str | None:
    raw = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    ref = raw.get("sites") if isinstance(raw, dict) else None
    if isinstance(ref, dict) and isinstance(ref.get("table"), str):
        return str(ref["table"])
    return ref if isinstance(ref, str) else None


def _hours(days: Any) -> list[dict[str, str]]:
    return [
        {"date": d.date.isoformat(), "open": f"{d.open:%H:%M}", "close": f"{d.close:%H:%M}"}
        for d in days
    ]


def desired_state(sc: engine.Scenario, folder: Path) -> dict[str, Rows]:
    """Every row the election should have after importing ``sc``, keyed by kind and id."""
    sites_file = _sites_file(folder)
    addresses = engine.site_addresses(folder, sites_file) if sites_file else {}
    missions = [s for s in sc.sites if s.kind.is_mission]
    mission_of: dict[str, str | None] = {}
    for s in sc.sites:
        if s.kind.is_mission:
            mission_of[s.site_id] = s.site_id
            continue
        pool = [m for m in missions if m.country == s.country] or missions
        if not pool:
            mission_of[s.site_id] = None
            continue
        k = engine.nearest_km(s.lat, s.lon, [m.lat for m in pool], [m.lon for m in pool])
        mission_of[s.site_id] = pool[k].site_id
    election: Rows = {
        sc.name: {
            "name": sc.election.name,
            "description": sc.description,
            "citizen_country": sc.citizen_country,
            "days": _hours(sc.election.days),
            "site_hours": [
                {
                    "site_id": h.site_id,
                    "date": h.date.isoformat(),
                    "open": f"{h.open:%H:%M}",
                    "close": f"{h.close:%H:%M}",
                }
                for h in sc.election.site_hours
            ],
        }
    }
    sites: Rows = {
        s.site_id: {
            "mission_key": mission_of[s.site_id],
            "name": s.name,
            "kind": s.kind.value,
            "country": s.country,
            "city": s.city,
            "address": addresses.get(s.site_id),
            "lat": s.lat,
            "lon": s.lon,
            "timezone": s.timezone,
            "available": s.available,
            "host_permits": s.host_permits,
            "max_desks": s.max_desks,
            "max_booths": s.max_booths,
            "staff_available": s.staff_available,
        }
        for s in sc.sites
    }
    mission_rows: Rows = {
        m.site_id: {
            "name": m.name,
            "country": m.country,
            "city": m.city,
            "timezone": m.timezone,
        }
        for m in missions
    }
    places: Rows = {
        p.place_id: {
            "name": p.name,
            "country": p.country,
            "lat": p.lat,
            "lon": p.lon,
            "timezone": p.timezone,
            "eligible_citizens": p.eligible_citizens,
        }
        for p in sc.places
    }
    stations: Rows = {
        key: station_row(sc, key, desks, booths, sites[key], source="status_quo", plan_id=None)
        for key, (desks, booths) in engine.status_quo(sc).items()
    }
    return {
        "election": election,
        "mission": mission_rows,
        "site": sites,
        "place": places,
        "station": stations,
    }


def station_row(
    sc: engine.Scenario,
    site_key: str,
    desks: int,
    booths: int,
    site: Mapping[str, Any],
    *,
    source: str,
    plan_id: int | None,
) -> dict[str, Any]:
    """A station's stored fields: the site's place and address, the day's local hours."""
    site_id = engine.SiteId(site_key)
    lanes = engine.security_lanes(sc, site_id)
    days = []
    for d in sc.election.days:
        o, c = sc.election.hours(site_id, d)
        days.append({"date": d.date.isoformat(), "open": engine.clock(o), "close": engine.clock(c)})
    return {
        "site_key": site_key,
        **{f: site[f] for f in SITE_PLACE_FIELDS},
        "days": days,
        "desks": desks,
        "booths": booths,
        "lanes": lanes,
        "ballots": sc.policies.ballot_cap_per_station,
        "source": source,
        "plan_id": plan_id,
    }


_MODELS: dict[str, tuple[type[Any], str]] = {
    "mission": (Mission, "mission_key"),
    "site": (Site, "site_key"),
    "place": (VoterPlace, "place_key"),
    "station": (Station, "station_key"),
}


def _current(session: Session, election_id: int, kind: str, fields: list[str]) -> Rows:
    model, key_col = _MODELS[kind]
    rows = session.scalars(select(model).where(model.election_id == election_id)).all()
    return {getattr(r, key_col): {f: getattr(r, f) for f in fields} for r in rows}


def _diff(kind: str, old: Rows, new: Rows) -> list[Change]:
    changes = []
    for key in sorted(new.keys() - old.keys()):
        changes.append(Change(kind=kind, key=key, action="added"))
    for key in sorted(old.keys() - new.keys()):
        changes.append(Change(kind=kind, key=key, action="removed"))
    for key in sorted(old.keys() & new.keys()):
        fields = {
            f: FieldChange(before=old[key].get(f), after=v)
            for f, v in new[key].items()
            if old[key].get(f) != v
        }
        if fields:
            changes.append(Change(kind=kind, key=key, action="changed", fields=fields))
    return changes


def _apply(session: Session, election_id: int, kind: str, new: Rows, changes: list[Change]) -> None:
    model, key_col = _MODELS[kind]
    removed = [c.key for c in changes if c.action == "removed"]
    if removed:
        session.execute(
            delete(model).where(
                model.election_id == election_id, getattr(model, key_col).in_(removed)
            )
        )
    changed = {c.key for c in changes if c.action == "changed"}
    if changed:
        for row in session.scalars(
            select(model).where(
                model.election_id == election_id, getattr(model, key_col).in_(changed)
            )
        ):
            for f, v in new[getattr(row, key_col)].items():
                setattr(row, f, v)
    for c in changes:
        if c.action == "added":
            session.add(model(election_id=election_id, **{key_col: c.key}, **new[c.key]))


def _audit_view(changes: list[Change]) -> tuple[dict[str, Any], dict[str, Any]]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for c in changes:
        tag = f"{c.kind}/{c.key}"
        if c.action == "added":
            after[tag] = "added"
        elif c.action == "removed":
            before[tag] = "present"
        else:
            before[tag] = {f: fc.before for f, fc in c.fields.items()}
            after[tag] = {f: fc.after for f, fc in c.fields.items()}
    return before, after


def import_scenario(
    session: Session, folder: Path, actor: str, sc: engine.Scenario | None = None
) -> ImportResult:
    """Store the scenario at ``folder`` (loaded and validated here unless ``sc`` is given).

    Runs inside the caller's write transaction; validation raises ``InputError`` with every
    located problem, so nothing is stored.
    """
    if sc is None:
        sc = engine.load_scenario(folder)
    files = scenario_files(folder)
    state = desired_state(sc, folder)
    election = session.scalar(select(Election).where(Election.election_key == sc.name))
    created = election is None
    if election is None:
        election = Election(election_key=sc.name, **state["election"][sc.name])
        session.add(election)
        session.flush()
        old_election: Rows = {}
    else:
        fields = list(state["election"][sc.name])
        old_election = {sc.name: {f: getattr(election, f) for f in fields}}
    changes: list[Change] = [] if created else _diff("election", old_election, state["election"])
    for c in changes:
        for f, fc in c.fields.items():
            setattr(election, f, fc.after)

    old_files = {
        f.name: {"sha256": f.sha256}
        for f in session.scalars(
            select(ScenarioFile).where(ScenarioFile.election_id == election.id)
        )
    }
    new_files = {name: {"sha256": hashlib.sha256(data).hexdigest()} for name, data in files.items()}
    file_changes = _diff("file", old_files, new_files)
    for c in file_changes:
        if c.action != "added":
            session.execute(
                delete(ScenarioFile).where(
                    ScenarioFile.election_id == election.id, ScenarioFile.name == c.key
                )
            )
        if c.action != "removed":
            session.add(
                ScenarioFile(
                    election_id=election.id,
                    name=c.key,
                    content=files[c.key],
                    sha256=new_files[c.key]["sha256"],
                )
            )
    session.flush()
    changes += file_changes

    kinds = ["mission", "site", "place"]
    if election.adopted_plan_id is None:
        kinds.append("station")
    station_changes: list[Change] = []
    for kind in kinds:
        new = state[kind]
        fields = list(next(iter(new.values()))) if new else []
        old = _current(session, election.id, kind, fields) if fields else {}
        kind_changes = _diff(kind, old, new)
        _apply(session, election.id, kind, new, kind_changes)
        if kind == "station":
            station_changes = kind_changes
        else:
            changes += kind_changes
    session.flush()

    counts = {kind: len(state[kind]) for kind in ("mission", "site", "place", "station")}
    counts["file"] = len(files)
    changed = created or bool(changes) or bool(station_changes)
    if changed:
        election.updated_at = utcnow()
    subject = f"election/{sc.name}"
    if created:
        audit.append(
            session,
            actor,
            EventType.ELECTION_IMPORTED,
            subject,
            after={
                "days": state["election"][sc.name]["days"],
                "counts": counts,
                "files": new_files,
            },
        )
    elif changes:
        before, after = _audit_view(changes)
        audit.append(
            session, actor, EventType.ELECTION_UPDATED, subject, before=before, after=after
        )
    if station_changes:
        audit.append(
            session,
            actor,
            EventType.STATIONS_REPLACED,
            subject,
            before=_audit_view(station_changes)[0],
            after={
                c.key: _station_audit(state["station"][c.key])
                for c in station_changes
                if c.action != "removed"
            },
        )
    listed = _limit(changes + station_changes)
    return ImportResult(
        election_key=sc.name, created=created, changed=changed, counts=counts, changes=listed
    )


def _station_audit(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("desks", "booths", "lanes", "ballots", "days", "source")}


def _limit(changes: list[Change]) -> list[Change]:
    out: list[Change] = []
    per_kind: dict[str, int] = {}
    for c in changes:
        per_kind[c.kind] = per_kind.get(c.kind, 0) + 1
        if per_kind[c.kind] <= MAX_LISTED_CHANGES:
            out.append(c)
    return out
