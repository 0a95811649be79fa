"""Alert thresholds per election: the scenario's defaults until an admin sets them.

The rules are ``abroad.ops.alerts``'s; this module stores their thresholds (plus how far
the redirect action looks for another station) once per election. With no stored row an
election has its defaults: ``AlertThresholds``'s, with the wait target from the scenario's
``policies.wait_target.minutes``. A change is a partial update (the fields given), written
with its audit entry; it marks every nowcast of the election stale so that the nowcaster
judges every station again with the new thresholds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from abroad.model.scenario import Policies
from abroad.ops.alerts import AlertThresholds
from abroad.server import audit
from abroad.server.events import EventType
from abroad.server.models import (
    AlertSettingsRow,
    Election,
    ScenarioFile,
    StationNowcastRow,
    utcnow,
)

SCENARIO_FILE = "scenario.yaml"


class AlertSettings(AlertThresholds):
    """An election's alert thresholds, and how far a redirect may send voters."""

    redirect_max_travel_minutes: float = Field(
        default=90.0,
        gt=0,
        le=24 * 60,
        description="Stations farther than this (one-way travel) are not offered as a redirect.",
    )
    redirect_neighbours: int = Field(
        default=2,
        ge=0,
        le=5,
        description="How many of the nearest open stations each alert's actions consider.",
    )

    def thresholds(self) -> AlertThresholds:
        """The rules' thresholds alone (for ``evaluate_alerts``)."""
        return AlertThresholds.model_validate(
            self.model_dump(include=set(AlertThresholds.model_fields))
        )


class AlertSettingsOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    election_key: str
    settings: AlertSettings
    defaults: AlertSettings = Field(description="What the election has when nothing is set.")
    is_default: bool = Field(description="True when no admin has set thresholds yet.")
    updated_at: dt.datetime | None
    updated_by: str | None


def _policies(session: Session, election_id: int) -> Policies:
    """The scenario's policies (the base scenario's; unreadable: the model's defaults)."""
    from abroad.io.yamlio import parse_yaml_text

    content = session.scalar(
        select(ScenarioFile.content).where(
            ScenarioFile.election_id == election_id, ScenarioFile.name == SCENARIO_FILE
        )
    )
    if content is None:
        return Policies()
    try:
        raw = parse_yaml_text(content.decode("utf-8"), SCENARIO_FILE)
        section = raw.get("policies") if isinstance(raw, dict) else None
        return Policies.model_validate(section or {})
    except (ValueError, ValidationError, UnicodeDecodeError):
        # the stored scenario was validated at import; a policy section this version cannot
        # read falls back to the model's defaults rather than blocking the voting day
        return Policies()


def defaults(session: Session, election_id: int) -> AlertSettings:
    """The election's thresholds when none were set."""
    return AlertSettings(wait_target_minutes=_policies(session, election_id).wait_target.minutes)


def _row(session: Session, election_id: int) -> AlertSettingsRow | None:
    return session.scalar(
        select(AlertSettingsRow).where(AlertSettingsRow.election_id == election_id)
    )


def current(session: Session, election_id: int) -> AlertSettings:
    """The thresholds the nowcaster judges the election's stations with."""
    row = _row(session, election_id)
    if row is None:
        return defaults(session, election_id)
    return AlertSettings.model_validate(row.settings)


def settings_out(session: Session, election: Election) -> AlertSettingsOut:
    row = _row(session, election.id)
    base = defaults(session, election.id)
    return AlertSettingsOut(
        election_key=election.election_key,
        settings=base if row is None else AlertSettings.model_validate(row.settings),
        defaults=base,
        is_default=row is None,
        updated_at=None if row is None else row.updated_at,
        updated_by=None if row is None else row.updated_by,
    )


def change(
    session: Session, election: Election, given: dict[str, Any], actor: str
) -> AlertSettingsOut:
    """Set the fields in ``given`` (validated as ``AlertSettings``), keep the others; an
    unchanged result writes nothing. Raises pydantic's ``ValidationError`` on bad values."""
    before = current(session, election.id)
    after = AlertSettings.model_validate({**before.model_dump(), **given})
    if after == before:  # nothing changes: nothing is written (defaults stay defaults)
        return settings_out(session, election)
    row = _row(session, election.id)
    now = utcnow()
    if row is None:
        row = AlertSettingsRow(
            election_id=election.id,
            settings=after.model_dump(mode="json"),
            updated_at=now,
            updated_by=actor,
        )
        session.add(row)
    else:
        row.settings = after.model_dump(mode="json")
        row.updated_at, row.updated_by = now, actor
    session.flush()
    audit.append(
        session,
        actor,
        EventType.ALERT_SETTINGS_CHANGED,
        f"alert_settings/{election.election_key}",
        before=before.model_dump(mode="json"),
        after=after.model_dump(mode="json"),
    )
    session.execute(
        update(StationNowcastRow)
        .where(StationNowcastRow.election_id == election.id)
        .values(stale=True)
    )
    return settings_out(session, election)
