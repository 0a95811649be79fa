"""Elections, stations, jobs and plans as the API shows them; submitting, cancelling, adopting."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from abroad.server import audit, engine
from abroad.server.db import Database
from abroad.server.events import EventType
from abroad.server.jobs import end_job, load_election_scenario, write_scenario_files
from abroad.server.models import Election, Job, Plan, Site, Station, utcnow
from abroad.server.schemas import (
    ElectionOut,
    Hours,
    JobIn,
    JobOut,
    JobStatus,
    PlanDetail,
    PlanOut,
    StationDetail,
    StationOut,
)
from abroad.server.services.importer import SITE_PLACE_FIELDS, station_row


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    pass


def election_by_key(session: Session, key: str) -> Election:
    e = session.scalar(select(Election).where(Election.election_key == key))
    if e is None:
        raise NotFound(f"no election {key!r}")
    return e


def election_out(e: Election) -> ElectionOut:
    return ElectionOut(
        election_key=e.election_key,
        name=e.name,
        description=e.description,
        citizen_country=e.citizen_country,
        days=[Hours(**d) for d in e.days],
        adopted_plan_id=e.adopted_plan_id,
        stations_source="plan" if e.adopted_plan_id is not None else "status_quo",
        imported_at=e.imported_at,
        updated_at=e.updated_at,
    )


def station_out(s: Station) -> StationOut:
    return StationOut.model_validate(s, from_attributes=True)


def station_detail(s: Station) -> StationDetail:
    return StationDetail.model_validate(s, from_attributes=True)


def stations_query(election_id: int) -> Select[Station]:
    return select(Station).where(Station.election_id == election_id)


def all_stations(session: Session, election_id: int) -> list[Station]:
    return list(session.scalars(stations_query(election_id).order_by(Station.station_key)))


def job_out(job: Job, election_key: str) -> JobOut:
    return JobOut(
        id=job.id,
        election_key=election_key,
        kind=job.kind,
        params=job.params,
        status=job.status,
        progress_fraction=job.progress_fraction,
        progress_label=job.progress_label,
        cancel_requested=job.cancel_requested,
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        plan_id=job.plan_id,
        result=job.result,
    )


def plan_out(p: Plan, election: Election) -> PlanOut:
    return PlanOut(
        id=p.id,
        election_key=election.election_key,
        job_id=p.job_id,
        variant=p.variant,
        created_at=p.created_at,
        created_by=p.created_by,
        open_sites=list(p.open_sites),
        expected_votes_cast=p.expected_votes_cast,
        adopted=election.adopted_plan_id == p.id,
        has_report=p.report_html is not None,
    )


def plan_detail(p: Plan, election: Election) -> PlanDetail:
    return PlanDetail(**plan_out(p, election).model_dump(), summary=p.summary)


def variant_names(db: Database, election_id: int) -> list[str]:
    """The stored scenario's variants."""
    with tempfile.TemporaryDirectory(prefix="abroad-variants-") as tmp:
        folder = write_scenario_files(db, election_id, Path(tmp))
        return [v.name for v in engine.list_variants(folder)]


def check_job_input(db: Database, election: Election, data: JobIn) -> None:
    """Refuse a job whose variant or sites do not exist, before it is queued."""
    with tempfile.TemporaryDirectory(prefix="abroad-check-") as tmp:
        folder = Path(tmp)
        sc = load_election_scenario(db, election.id, folder, None)
        known = set(sc.variants)
        wanted = ([data.variant] if data.variant else []) + list(data.variants)
        missing = [v for v in wanted if v not in known]
        if missing:
            have = ", ".join(sorted(known)) or "none"
            raise Conflict(f"unknown variant(s) {', '.join(missing)}; the scenario has: {have}")
        if data.kind == "evaluate":
            if not data.open_sites:
                raise Conflict("evaluate needs open_sites")
            sites = {s.site_id for s in sc.sites}
            bad = [s for s in data.open_sites if s not in sites]
            if bad:
                raise Conflict(f"unknown site(s): {', '.join(bad)}")


def submit_job(session: Session, election: Election, data: JobIn, actor: str) -> Job:
    params = data.model_dump(mode="json", exclude={"kind"})
    job = Job(
        election_id=election.id,
        kind=data.kind.value,
        params=params,
        status=JobStatus.QUEUED.value,
        created_by=actor,
        heartbeat_at=utcnow(),
        progress_label="queued",
    )
    session.add(job)
    session.flush()
    audit.append(
        session,
        actor,
        EventType.JOB_SUBMITTED,
        f"job/{job.id}",
        after={"election": election.election_key, "kind": job.kind, "params": params},
    )
    return job


def cancel_job(session: Session, job: Job, actor: str) -> None:
    if JobStatus(job.status).ended or job.cancel_requested:
        return
    job.cancel_requested = True
    audit.append(
        session,
        actor,
        EventType.JOB_CANCEL_REQUESTED,
        f"job/{job.id}",
        before={"status": job.status},
        after={"status": job.status, "cancel_requested": True},
    )
    if job.status == JobStatus.QUEUED.value:
        end_job(session, job, JobStatus.CANCELLED, actor)


def adopt_plan(db: Database, session: Session, plan: Plan, actor: str) -> list[Station]:
    """Make the plan the election's network: its open sites become the stations."""
    election = session.get(Election, plan.election_id)
    assert election is not None
    with tempfile.TemporaryDirectory(prefix="abroad-adopt-") as tmp:
        sc = load_election_scenario(db, election.id, Path(tmp), plan.variant)
    sites = {
        s.site_key: {f: getattr(s, f) for f in SITE_PLACE_FIELDS}
        for s in session.scalars(select(Site).where(Site.election_id == election.id))
    }
    old = session.scalars(select(Station).where(Station.election_id == election.id)).all()
    before = {
        "adopted_plan_id": election.adopted_plan_id,
        "stations": {s.station_key: {"desks": s.desks, "booths": s.booths} for s in old},
    }
    for s in old:
        session.delete(s)
    session.flush()
    new = []
    for st in plan.summary.get("stations", []):
        key = str(st["site_id"])
        if key not in sites:
            raise Conflict(f"the plan opens site {key!r}, which the election no longer has")
        row = station_row(
            sc, key, int(st["desks"]), int(st["booths"]), sites[key], source="plan", plan_id=plan.id
        )
        station = Station(election_id=election.id, station_key=key, **row)
        session.add(station)
        new.append(station)
    election.adopted_plan_id = plan.id
    election.updated_at = utcnow()
    session.flush()
    audit.append(
        session,
        actor,
        EventType.PLAN_ADOPTED,
        f"election/{election.election_key}",
        before=before,
        after={
            "adopted_plan_id": plan.id,
            "stations": {s.station_key: {"desks": s.desks, "booths": s.booths} for s in new},
        },
    )
    return new
