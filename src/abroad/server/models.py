"""The server's stored nouns (SQLAlchemy 2 declarative models).

Keys (``election_key``, ``site_key``, ``mission_key``, ``station_key``) are the scenario's own
identifiers and appear in URLs; integer ids are internal. Times are stored in UTC; station
hours are local clock times with the station's IANA zone beside them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite gives naive ones back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012  (SQLAlchemy reads it from the class)
        dt.datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


# ---------------------------------------------------------------------------------------------
# Elections and their network


class Election(Base):
    __tablename__ = "elections"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_key: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    citizen_country: Mapped[str] = mapped_column(String(2))
    days: Mapped[list[Any]] = mapped_column(JSON)
    """[{date, open, close}] in each station's local time."""
    site_hours: Mapped[list[Any]] = mapped_column(JSON, default=list)
    adopted_plan_id: Mapped[int | None] = mapped_column(Integer)
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ScenarioFile(Base):
    """The scenario's own files, kept so jobs can load it again on any worker."""

    __tablename__ = "scenario_files"
    __table_args__ = (UniqueConstraint("election_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))


class Mission(Base):
    """A diplomatic mission: it runs its own station and those of nearby venues."""

    __tablename__ = "missions"
    __table_args__ = (UniqueConstraint("election_id", "mission_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    mission_key: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("election_id", "site_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    site_key: Mapped[str] = mapped_column(String(120))
    mission_key: Mapped[str | None] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    available: Mapped[bool] = mapped_column(Boolean)
    host_permits: Mapped[bool] = mapped_column(Boolean)
    max_desks: Mapped[int] = mapped_column(Integer)
    max_booths: Mapped[int] = mapped_column(Integer)
    staff_available: Mapped[int] = mapped_column(Integer)


class VoterPlace(Base):
    __tablename__ = "voter_places"
    __table_args__ = (UniqueConstraint("election_id", "place_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    place_key: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(2))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    eligible_citizens: Mapped[float] = mapped_column(Float)


class Station(Base):
    """A polling station of the election: the adopted plan's, or the status quo's."""

    __tablename__ = "stations"
    __table_args__ = (UniqueConstraint("election_id", "station_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    station_key: Mapped[str] = mapped_column(String(120))
    site_key: Mapped[str] = mapped_column(String(120))
    mission_key: Mapped[str | None] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    days: Mapped[list[Any]] = mapped_column(JSON)
    """[{date, open, close}] in local time of ``timezone``."""
    desks: Mapped[int] = mapped_column(Integer)
    booths: Mapped[int] = mapped_column(Integer)
    lanes: Mapped[int] = mapped_column(Integer)
    """Security screening lanes at the door (0 where there is no screening)."""
    ballots: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))
    """``status_quo`` (after an import) or ``plan`` (after an adoption)."""
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))


# ---------------------------------------------------------------------------------------------
# Plans and jobs


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    variant: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    open_sites: Mapped[list[Any]] = mapped_column(JSON)
    expected_votes_cast: Mapped[float] = mapped_column(Float)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    report_html: Mapped[str | None] = mapped_column(Text)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)
    progress_fraction: Mapped[float] = mapped_column(Float, default=0.0)
    progress_label: Mapped[str] = mapped_column(String(200), default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    plan_id: Mapped[int | None] = mapped_column(Integer)


# ---------------------------------------------------------------------------------------------
# People and access


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    scopes: Mapped[list[UserScope]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserScope.id"
    )


class UserScope(Base):
    """A mission (for mission staff) or a station (for observers) a user may act on."""

    __tablename__ = "user_scopes"
    __table_args__ = (UniqueConstraint("user_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(120))


class ApiToken(Base):
    """A station device's token: only its hash is stored; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    lookup: Mapped[str] = mapped_column(String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    scope_kind: Mapped[str] = mapped_column(String(10))
    scope_key: Mapped[str] = mapped_column(String(120))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class LoginSession(Base):
    """A browser session; the cookie holds a secret whose hash is the key here."""

    __tablename__ = "login_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    username: Mapped[str] = mapped_column(String(120))
    succeeded: Mapped[bool] = mapped_column(Boolean)


# ---------------------------------------------------------------------------------------------
# Audit


class AuditEntry(Base):
    """One link of the audit chain. Append-only: triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    """UTC time in ISO 8601 with microseconds, exactly as hashed."""
    actor: Mapped[str] = mapped_column(String(160))
    event_type: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(300))
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# ---------------------------------------------------------------------------------------------
# Voting days: station reports, nowcasts, alerts


class StationReportRow(Base):
    """A station report as filed (``ops.StationReport``), accepted or in quarantine.

    ``client_id`` is unique per election: resubmitting returns the stored row. ``payload`` is
    the report's JSON exactly as validated; ``content_sha256`` tells a resubmission of the same
    report from a different one under the same id."""

    __tablename__ = "station_reports"
    __table_args__ = (
        UniqueConstraint("election_id", "client_id"),
        Index("ix_station_reports_history", "election_id", "station_key", "status", "taken_at"),
        # the check's neighbours in time: a figure that few reports give (ballots left) is
        # found without walking the station's reports that lack it
        *(
            Index(
                f"ix_station_reports_{name}",
                "election_id",
                "station_key",
                "status",
                "taken_at",
                sqlite_where=text(f"{name} IS NOT NULL"),
                postgresql_where=text(f"{name} IS NOT NULL"),
            )
            for name in ("processed", "ballots_left")
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(100))
    station_key: Mapped[str] = mapped_column(String(120), index=True)
    """The station the report is filed under now (after any re-assignment)."""
    filed_station_key: Mapped[str] = mapped_column(String(120))
    """The station the report named when it was filed."""
    taken_at: Mapped[dt.datetime] = mapped_column(index=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), index=True)
    """``accepted`` or ``quarantined``."""
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """[{reason, message}] of the check that quarantined it (kept after a review)."""
    submitted_by: Mapped[str] = mapped_column(String(160))
    reviewed_by: Mapped[str | None] = mapped_column(String(160))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column()
    processed: Mapped[int | None] = mapped_column(Integer)
    """The payload's ``processed`` (a column, for the indexed look-up of the neighbours in
    time that the consistency check compares a report with)."""
    ballots_left: Mapped[int | None] = mapped_column(Integer)
    """The payload's ``ballots_left`` (as ``processed``)."""


class StationNowcastRow(Base):
    """The latest nowcast of a station (derived data: recomputed, never edited by people)."""

    __tablename__ = "station_nowcasts"
    __table_args__ = (UniqueConstraint("election_id", "station_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    station_key: Mapped[str] = mapped_column(String(120))
    reports_seen: Mapped[int] = mapped_column(Integer, default=0)
    """Highest accepted report id the nowcast was computed from."""
    stale: Mapped[bool] = mapped_column(Boolean, default=True)
    computed_at: Mapped[dt.datetime | None] = mapped_column()
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class StationAlertRow(Base):
    """An alert raised by the rules for a station, with its actions; staff acknowledge and
    resolve it. ``active``: the latest nowcast still raises it."""

    __tablename__ = "station_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    station_key: Mapped[str] = mapped_column(String(120), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    """``open``, ``acknowledged`` or ``resolved``."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    actions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    raised_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    acknowledged_by: Mapped[str | None] = mapped_column(String(160))
    resolved_by: Mapped[str | None] = mapped_column(String(160))


class AlertSettingsRow(Base):
    """An election's alert thresholds as an admin set them (no row: the election's defaults,
    see ``services.alert_settings``). Every change is audited."""

    __tablename__ = "alert_settings"
    __table_args__ = (UniqueConstraint("election_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The thresholds' fields (``services.alert_settings.AlertSettings``)."""
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(160))


class NowcasterBeat(Base):
    """The one running nowcaster's heartbeat (bookkeeping, not audited): which process holds
    the nowcaster lock, since when, and how many passes it has made."""

    __tablename__ = "nowcaster_beats"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    beat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    passes: Mapped[int] = mapped_column(Integer, default=0)
