"""The catalogue of audit events: every event type the server may write, declared once.

docs/reference/audit-events.md is generated from this module (``python -m
abroad.server.events > docs/reference/audit-events.md``); a test fails when it is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EventType(StrEnum):
    ELECTION_IMPORTED = "election.imported"
    ELECTION_UPDATED = "election.updated"
    STATIONS_REPLACED = "stations.replaced"
    JOB_SUBMITTED = "job.submitted"
    JOB_CANCEL_REQUESTED = "job.cancel_requested"
    JOB_ENDED = "job.ended"
    PLAN_STORED = "plan.stored"
    PLAN_ADOPTED = "plan.adopted"
    USER_CREATED = "user.created"
    USER_DISABLED = "user.disabled"
    USER_ROLE_CHANGED = "user.role_changed"
    TOKEN_ISSUED = "token.issued"
    TOKEN_REVOKED = "token.revoked"
    LOGIN_SUCCEEDED = "auth.login_succeeded"
    LOGIN_FAILED = "auth.login_failed"
    ACCOUNT_LOCKED = "auth.account_locked"
    LOGGED_OUT = "auth.logged_out"
    REPORT_ACCEPTED = "report.accepted"
    REPORT_QUARANTINED = "report.quarantined"
    REPORT_REVIEWED = "report.reviewed"
    ALERT_RAISED = "alert.raised"
    ALERT_ACKNOWLEDGED = "alert.acknowledged"
    ALERT_RESOLVED = "alert.resolved"
    ALERT_SETTINGS_CHANGED = "alert_settings.changed"


class Category(StrEnum):
    DATA = "change to stored data"
    SECURITY = "security event"


@dataclass(frozen=True)
class EventSpec:
    category: Category
    subject: str
    """What the entry's ``subject`` names."""
    description: str
    before_after: str
    """What ``before`` and ``after`` hold."""


CATALOGUE: dict[EventType, EventSpec] = {
    EventType.ELECTION_IMPORTED: EventSpec(
        Category.DATA,
        "election/KEY",
        "A scenario was imported for the first time (CLI `abroad import` or an upload).",
        "before: null; after: the election's days, counts of sites, missions, places, the "
        "SHA-256 of each scenario file",
    ),
    EventType.ELECTION_UPDATED: EventSpec(
        Category.DATA,
        "election/KEY",
        "A scenario was imported again and something changed (an unchanged re-import writes "
        "nothing).",
        "before/after: the changed sites, missions, places, days and files, keyed by id",
    ),
    EventType.STATIONS_REPLACED: EventSpec(
        Category.DATA,
        "election/KEY",
        "The election's stations were recomputed from the status quo after an import.",
        "before/after: the stations, each with desks, booths, lanes, ballots and hours",
    ),
    EventType.JOB_SUBMITTED: EventSpec(
        Category.DATA,
        "job/ID",
        "A planner started a background job (plan, compare or evaluate).",
        "before: null; after: kind and parameters",
    ),
    EventType.JOB_CANCEL_REQUESTED: EventSpec(
        Category.DATA,
        "job/ID",
        "Someone asked a running or queued job to stop.",
        "before/after: the job's status",
    ),
    EventType.JOB_ENDED: EventSpec(
        Category.DATA,
        "job/ID",
        "A job ended: succeeded, failed, cancelled, or interrupted by a server restart.",
        "before: the status it had; after: its final status, error and stored plan id",
    ),
    EventType.PLAN_STORED: EventSpec(
        Category.DATA,
        "plan/ID",
        "A plan job's result was stored.",
        "before: null; after: variant, open sites, expected votes cast",
    ),
    EventType.PLAN_ADOPTED: EventSpec(
        Category.DATA,
        "election/KEY",
        "A plan was adopted as the election's network; its stations replace the previous ones.",
        "before/after: the adopted plan id and the stations",
    ),
    EventType.USER_CREATED: EventSpec(
        Category.SECURITY,
        "user/NAME",
        "An account was created.",
        "before: null; after: role and scopes (never the password or its hash)",
    ),
    EventType.USER_DISABLED: EventSpec(
        Category.SECURITY,
        "user/NAME",
        "An account was disabled; its sessions end at once.",
        "before/after: the disabled flag",
    ),
    EventType.USER_ROLE_CHANGED: EventSpec(
        Category.SECURITY,
        "user/NAME",
        "An account's role or scopes changed.",
        "before/after: role and scopes",
    ),
    EventType.TOKEN_ISSUED: EventSpec(
        Category.SECURITY,
        "token/ID",
        "An API token was issued for a station or mission device.",
        "before: null; after: name, scope, expiry, public lookup prefix (never the secret)",
    ),
    EventType.TOKEN_REVOKED: EventSpec(
        Category.SECURITY,
        "token/ID",
        "An API token was revoked.",
        "before/after: the revocation time",
    ),
    EventType.LOGIN_SUCCEEDED: EventSpec(
        Category.SECURITY,
        "user/NAME",
        "A password login succeeded; a new session was created.",
        "after: the client address",
    ),
    EventType.LOGIN_FAILED: EventSpec(
        Category.SECURITY,
        "user/NAME",
        "A password login failed (unknown user, wrong password, disabled or locked account).",
        "after: the client address, the reason and the count of consecutive failures",
    ),
    EventType.ACCOUNT_LOCKED: EventSpec(
        Category.SECURITY,
        "user/NAME",
        "Too many consecutive failures: the account is locked for a while.",
        "after: locked until (UTC)",
    ),
    EventType.LOGGED_OUT: EventSpec(
        Category.SECURITY,
        "user/NAME",
        "A user logged out; the session was deleted.",
        "before/after: null",
    ),
    EventType.REPORT_ACCEPTED: EventSpec(
        Category.DATA,
        "report/ELECTION/CLIENT_ID",
        "A station report passed the checks and was stored as accepted (a resubmission of the "
        "same report writes nothing).",
        "before: null; after: station, time taken, the report's fields, submitted by",
    ),
    EventType.REPORT_QUARANTINED: EventSpec(
        Category.DATA,
        "report/ELECTION/CLIENT_ID",
        "A station report failed a check (unknown station, outside the days and hours, "
        "inconsistent with earlier reports) and was stored in quarantine for review.",
        "before: null; after: station, time taken, the report's fields and every reason",
    ),
    EventType.REPORT_REVIEWED: EventSpec(
        Category.DATA,
        "report/ELECTION/CLIENT_ID",
        "An admin reviewed a quarantined report: accepted it, or re-assigned it to another "
        "station (it is then checked again).",
        "before/after: station and status",
    ),
    EventType.ALERT_RAISED: EventSpec(
        Category.DATA,
        "alert/ID",
        "The nowcast of a station raised a new alert (actor `system:nowcast`).",
        "before: null; after: station, kind, message, value, threshold",
    ),
    EventType.ALERT_ACKNOWLEDGED: EventSpec(
        Category.DATA,
        "alert/ID",
        "Staff acknowledged an alert.",
        "before/after: the alert's status",
    ),
    EventType.ALERT_RESOLVED: EventSpec(
        Category.DATA,
        "alert/ID",
        "Staff resolved an alert (a later nowcast that raises it again opens a new one).",
        "before/after: the alert's status",
    ),
    EventType.ALERT_SETTINGS_CHANGED: EventSpec(
        Category.DATA,
        "alert_settings/ELECTION",
        "An admin changed the election's alert thresholds (people left at closing, wait "
        "target, ballots, line cap, silent minutes, redirect reach); every station's nowcast "
        "is judged again with them.",
        "before/after: every threshold (before: the defaults when none were set)",
    ),
}


def render_markdown() -> str:
    """The reference page of every audit event, generated from ``CATALOGUE``."""
    lines = [
        "# Audit events",
        "",
        "<!-- Generated by `python -m abroad.server.events`; do not edit by hand. -->",
        "",
        "Every change to stored data and every security event appends one entry to the audit",
        "log: who (`actor`), when (`at`, UTC), what (`event_type`, one of the types below), on",
        "what (`subject`), and the `before`/`after` of what changed. Each entry carries the",
        "SHA-256 of the previous one (`prev_hash`); `abroad audit verify` recomputes the chain.",
        "",
        "Not audited, because they are bookkeeping rather than data: a running job's progress",
        "and heartbeat, login-attempt counters (their outcome is audited) and session rows",
        "(logins and logouts are audited), and a station's nowcast (derived from the accepted",
        "reports, recomputed, never edited; the alerts it raises are audited).",
        "",
        "| event type | kind | subject | when | before / after |",
        "| --- | --- | --- | --- | --- |",
    ]
    for event in EventType:
        spec = CATALOGUE[event]
        lines.append(
            f"| `{event.value}` | {spec.category.value} | `{spec.subject}` | "
            f"{spec.description} | {spec.before_after} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
