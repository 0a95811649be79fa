"""Background jobs (plan, compare, evaluate): stored, with progress, cancellable.

A job row is the truth: any worker can read its progress and ask it to stop. The worker that
accepted a job runs it on a thread and touches its ``heartbeat_at`` every few seconds; a
queued or running job whose heartbeat has gone silent (its server stopped or crashed) is
marked *interrupted* by whichever worker notices first, never *succeeded*.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import select

from abroad.io.outputs import json_text
from abroad.server import audit, engine
from abroad.server.config import Settings
from abroad.server.db import Database
from abroad.server.events import EventType
from abroad.server.models import Election, Job, Plan, ScenarioFile, utcnow
from abroad.server.schemas import JobKind, JobStatus

log = logging.getLogger("abroad.server.jobs")
ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class Stop(Exception):
    """Raised inside a job's progress callback when it must stop."""


def clean_json(value: Any) -> Any:
    """JSON-ready data with NaN and infinities as null (PostgreSQL's JSON refuses them)."""
    return json.loads(json_text(value))


def end_job(
    session: Any, job: Job, status: JobStatus, actor: str, error: str | None = None
) -> None:
    """Set a job's final status and audit it (inside a write transaction)."""
    before = job.status
    job.status = status.value
    job.finished_at = utcnow()
    job.error = error
    if status is JobStatus.SUCCEEDED:
        job.progress_fraction = 1.0
    audit.append(
        session,
        actor,
        EventType.JOB_ENDED,
        f"job/{job.id}",
        before={"status": before},
        after={"status": job.status, "error": error, "plan_id": job.plan_id},
    )


def sweep_stale(db: Database, settings: Settings) -> int:
    """Mark interrupted every active job whose heartbeat is older than three beats."""
    limit = utcnow() - dt.timedelta(seconds=3 * settings.heartbeat_seconds)
    with db.read() as s:
        stale = s.scalars(
            select(Job.id).where(Job.status.in_(ACTIVE), Job.heartbeat_at < limit)
        ).all()
    if not stale:
        return 0
    n = 0
    with db.write() as s:
        for job in s.scalars(select(Job).where(Job.id.in_(stale), Job.status.in_(ACTIVE))):
            if job.heartbeat_at is not None and job.heartbeat_at < limit:
                end_job(s, job, JobStatus.INTERRUPTED, "system", "the server running it stopped")
                n += 1
    return n


def write_scenario_files(db: Database, election_id: int, folder: Path) -> Path:
    """The election's stored scenario files, written into ``folder``."""
    with db.read() as s:
        for f in s.scalars(select(ScenarioFile).where(ScenarioFile.election_id == election_id)):
            (folder / f.name).write_bytes(f.content)
    return folder


def load_election_scenario(
    db: Database, election_id: int, folder: Path, variant: str | None
) -> engine.Scenario:
    """The election's stored scenario, loaded again from its own files."""
    return engine.load_scenario(write_scenario_files(db, election_id, folder), variant)


class JobRunner:
    """Runs this worker's jobs on a small thread pool and keeps their heartbeats."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._pool = ThreadPoolExecutor(max(settings.job_threads, 1), thread_name_prefix="job")
        self._mine: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name="job-heartbeat", daemon=True)
        self._beat.start()

    def submit(self, job_id: int) -> None:
        if not self.settings.run_jobs:
            with self._lock:
                self._mine[job_id] = threading.Event()
            return
        with self._lock:
            self._mine[job_id] = threading.Event()
        self._pool.submit(self._run, job_id)

    def _heartbeat(self) -> None:
        while not self._closing.wait(self.settings.heartbeat_seconds):
            with self._lock:
                ids = list(self._mine)
            if not ids:
                continue
            try:
                with self.db.write() as s:
                    for job in s.scalars(select(Job).where(Job.id.in_(ids))):
                        job.heartbeat_at = utcnow()
                        if job.cancel_requested and job.id in self._mine:
                            self._mine[job.id].set()
            except Exception:  # the next beat tries again
                log.exception("heartbeat failed")

    def close(self) -> None:
        """Stop: running jobs end as interrupted (a restart never reports them done)."""
        self._closing.set()
        with self._lock:
            for ev in self._mine.values():
                ev.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            left = list(self._mine)
            self._mine.clear()
        if left:
            with self.db.write() as s:
                for job in s.scalars(select(Job).where(Job.id.in_(left), Job.status.in_(ACTIVE))):
                    end_job(s, job, JobStatus.INTERRUPTED, "system", "the server was stopped")

    def _progress(self, job_id: int, stop: threading.Event) -> engine.ProgressFn:
        last = [0.0]
        shown = [0.0]

        def tell(label: str, fraction: float) -> None:
            if stop.is_set():
                raise Stop
            # Never backwards, and 100 % only when the job has ended (end_job sets it): the
            # planner's estimate can overshoot when a phase runs past its time limit.
            shown[0] = max(shown[0], min(fraction, 0.99))
            now = utcnow().timestamp()
            if now - last[0] < 0.3 and fraction < 1.0:
                return
            last[0] = now
            with self.db.write() as s:
                job = s.get(Job, job_id)
                if job is not None:
                    job.progress_fraction = round(shown[0], 4)
                    job.progress_label = label[:200]
                    job.heartbeat_at = utcnow()
                    if job.cancel_requested:
                        stop.set()
            if stop.is_set():
                raise Stop

        return tell

    def _run(self, job_id: int) -> None:
        stop = self._mine.get(job_id, threading.Event())
        try:
            self._run_job(job_id, stop)
        except Exception:
            log.exception("job %s crashed", job_id)
        finally:
            with self._lock:
                self._mine.pop(job_id, None)

    def _run_job(self, job_id: int, stop: threading.Event) -> None:
        with self.db.write() as s:
            job = s.get(Job, job_id)
            if job is None or job.status != JobStatus.QUEUED.value:
                return
            if job.cancel_requested or stop.is_set():
                end_job(s, job, JobStatus.CANCELLED, "system")
                return
            job.status = JobStatus.RUNNING.value
            job.started_at = job.heartbeat_at = utcnow()
            kind, params, election_id = JobKind(job.kind), dict(job.params), job.election_id
            creator = job.created_by
        status, error, plan_id, result = JobStatus.SUCCEEDED, None, None, None
        try:
            with tempfile.TemporaryDirectory(prefix="abroad-job-") as tmp:
                folder = Path(tmp) / "scenario"
                folder.mkdir()
                progress = self._progress(job_id, stop)
                sc = load_election_scenario(self.db, election_id, folder, params.get("variant"))
                if kind is JobKind.PLAN:
                    out = engine.plan(
                        sc,
                        Path(tmp) / "out",
                        time_limit_seconds=params["time_limit_seconds"],
                        seed=params["seed"],
                        replications=params["replications"],
                        progress=progress,
                        base=(
                            engine.load_scenario(folder, None) if params.get("variant") else None
                        ),
                    )
                    plan_id = self._store_plan(job_id, election_id, creator, params, out)
                elif kind is JobKind.COMPARE:
                    names = params.get("variants") or [v.name for v in engine.list_variants(folder)]
                    others = [engine.load_scenario(folder, n) for n in names]
                    rows = engine.compare(
                        sc,
                        others,
                        time_limit_seconds=params["time_limit_seconds"],
                        seed=params["seed"],
                        progress=progress,
                    )
                    result = clean_json({"rows": rows})
                else:
                    progress("evaluating", 0.1)
                    result = clean_json(
                        engine.evaluate(sc, params["open_sites"], seed=params["seed"])
                    )
                progress("done", 1.0)
        except Stop:
            status = JobStatus.INTERRUPTED if self._closing.is_set() else JobStatus.CANCELLED
        except engine.InputError as exc:
            status, error = JobStatus.FAILED, str(exc)
        except ValueError as exc:
            status, error = JobStatus.FAILED, str(exc)
        except Exception as exc:
            log.exception("job %s failed", job_id)
            status, error = JobStatus.FAILED, f"internal error: {type(exc).__name__}"
        with self.db.write() as s:
            job = s.get(Job, job_id)
            if job is None or job.status != JobStatus.RUNNING.value:
                return
            job.plan_id = plan_id
            job.result = result
            end_job(s, job, status, "system", error)

    def _store_plan(
        self,
        job_id: int,
        election_id: int,
        creator: str,
        params: dict[str, Any],
        out: engine.PlanOutcome,
    ) -> int:
        summary = clean_json(out.summary)
        with self.db.write() as s:
            plan = Plan(
                election_id=election_id,
                job_id=job_id,
                variant=params.get("variant"),
                created_by=creator,
                open_sites=list(summary.get("open_sites", [])),
                expected_votes_cast=float(summary.get("expected_votes_cast") or 0.0),
                summary=summary,
                report_html=out.report_html,
            )
            s.add(plan)
            s.flush()
            election = s.get(Election, election_id)
            audit.append(
                s,
                creator,
                EventType.PLAN_STORED,
                f"plan/{plan.id}",
                after={
                    "election": election.election_key if election else None,
                    "job": job_id,
                    "variant": plan.variant,
                    "open_sites": plan.open_sites,
                    "expected_votes_cast": plan.expected_votes_cast,
                },
            )
            return plan.id
