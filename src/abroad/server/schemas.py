"""The API's request and response models (pydantic), shared by the routes and the CLI."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------
# Errors


class ErrorDetail(_Out):
    loc: list[str | int] = Field(description="Where: file, row, column or field path.")
    msg: str


class ErrorBody(_Out):
    code: str = Field(description="Stable machine-readable code, e.g. not_found, invalid_input.")
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(_Out):
    error: ErrorBody


class Page(_Out, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


# ---------------------------------------------------------------------------------------------
# Roles and people


class Role(StrEnum):
    ADMIN = "admin"
    PLANNER = "planner"
    MISSION_STAFF = "mission_staff"
    OBSERVER = "observer"
    DEVICE = "device"
    """A station or mission device holding an API token (no account)."""
    PUBLIC = "public"
    """Anyone, with or without an account."""


ACCOUNT_ROLES = (Role.ADMIN, Role.PLANNER, Role.MISSION_STAFF, Role.OBSERVER)


class UserOut(_Out):
    id: int
    username: str
    role: Role
    missions: list[str]
    stations: list[str]
    disabled: bool
    created_at: dt.datetime


class UserIn(_In):
    username: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=10, max_length=200)
    role: Literal["admin", "planner", "mission_staff", "observer"]
    missions: list[str] = []
    stations: list[str] = []


class RoleIn(_In):
    role: Literal["admin", "planner", "mission_staff", "observer"]
    missions: list[str] = []
    stations: list[str] = []


class LoginIn(_In):
    username: str = Field(max_length=120)
    password: str = Field(max_length=200)


class SessionOut(_Out):
    user: UserOut
    csrf_token: str = Field(description="Send it as X-CSRF-Token on every unsafe request.")


class TokenIn(_In):
    name: str = Field(min_length=1, max_length=200)
    scope_kind: Literal["station", "mission"]
    scope_key: str = Field(min_length=1, max_length=120)
    expires_in_days: float = Field(default=30.0, gt=0, le=366)


class TokenOut(_Out):
    id: int
    name: str
    lookup: str = Field(description="Public first characters of the token, for recognising it.")
    scope_kind: str
    scope_key: str
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


class IssuedToken(TokenOut):
    token: str = Field(description="The secret: shown this once, stored only as a hash.")


# ---------------------------------------------------------------------------------------------
# Elections and network


class Hours(_Out):
    date: dt.date
    open: str = Field(description="Local clock time HH:MM in the station's time zone.")
    close: str


class ElectionOut(_Out):
    election_key: str
    name: str
    description: str
    citizen_country: str
    days: list[Hours]
    adopted_plan_id: int | None
    stations_source: Literal["status_quo", "plan"]
    imported_at: dt.datetime
    updated_at: dt.datetime


class MissionOut(_Out):
    mission_key: str
    name: str
    country: str
    city: str | None
    timezone: str


class SiteOut(_Out):
    site_key: str
    mission_key: str | None
    name: str
    kind: str
    country: str
    city: str | None
    address: str | None
    lat: float
    lon: float
    timezone: str
    available: bool
    host_permits: bool
    max_desks: int
    max_booths: int
    staff_available: int


class StationOut(_Out):
    """A polling station as the public sees it (no personal data)."""

    station_key: str
    mission_key: str | None
    name: str
    address: str | None
    city: str | None
    country: str
    lat: float
    lon: float
    timezone: str = Field(description="IANA time zone of the hours.")
    days: list[Hours]
    source: Literal["status_quo", "plan"]


class StationDetail(StationOut):
    """A station with its resources, for planners, its mission's staff and observers."""

    site_key: str
    desks: int
    booths: int
    lanes: int
    ballots: int | None
    plan_id: int | None


class FieldChange(_Out):
    before: Any
    after: Any


class Change(_Out):
    kind: Literal["election", "file", "mission", "site", "place", "station"]
    key: str
    action: Literal["added", "removed", "changed"]
    fields: dict[str, FieldChange] = {}


class ImportResult(_Out):
    election_key: str
    created: bool
    changed: bool
    counts: dict[str, int]
    changes: list[Change]


# ---------------------------------------------------------------------------------------------
# Jobs and plans


class JobKind(StrEnum):
    PLAN = "plan"
    COMPARE = "compare"
    EVALUATE = "evaluate"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def ended(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


class JobIn(_In):
    kind: JobKind
    variant: str | None = Field(default=None, max_length=120)
    variants: list[str] = Field(default=[], description="compare: the variants (default: all).")
    open_sites: list[str] = Field(default=[], description="evaluate: the sites of the plan.")
    time_limit_seconds: float = Field(default=10.0, gt=0, le=3600)
    replications: int = Field(default=10, ge=1, le=200)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class JobOut(_Out):
    id: int
    election_key: str
    kind: JobKind
    params: dict[str, Any]
    status: JobStatus
    progress_fraction: float = Field(ge=0, le=1)
    progress_label: str
    cancel_requested: bool
    created_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None
    plan_id: int | None
    result: dict[str, Any] | None = Field(description="compare and evaluate results.")


class PlanOut(_Out):
    id: int
    election_key: str
    job_id: int | None
    variant: str | None
    created_at: dt.datetime
    created_by: str
    open_sites: list[str]
    expected_votes_cast: float
    adopted: bool
    has_report: bool


class PlanDetail(PlanOut):
    summary: dict[str, Any]


class AuditOut(_Out):
    seq: int
    at: str
    actor: str
    event_type: str
    subject: str
    before: Any
    after: Any
    prev_hash: str
    hash: str


class VerifyOut(_Out):
    ok: bool
    entries: int
    head_hash: str
    broken_seq: int | None
    reason: str | None
