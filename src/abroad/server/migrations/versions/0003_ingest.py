"""Report ingest: the figures the consistency check compares, as indexed columns.

``station_reports`` gets ``processed`` and ``ballots_left`` (copied from each stored report's
payload) and an index on (election, station, status, time taken), plus one per figure over
the reports that give it, so that a report is checked against its accepted neighbours in
time with a few index look-ups instead of loading the station's whole history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 02:00:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FIGURES = ("processed", "ballots_left")


def _figure(payload: Any, name: str) -> int | None:
    data = json.loads(payload) if isinstance(payload, str) else payload
    value = (data or {}).get(name)
    return int(value) if value is not None else None


def upgrade() -> None:
    with op.batch_alter_table("station_reports") as batch:
        batch.add_column(sa.Column("processed", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ballots_left", sa.Integer(), nullable=True))
    op.create_index(
        "ix_station_reports_history",
        "station_reports",
        ["election_id", "station_key", "status", "taken_at"],
        unique=False,
    )
    for name in FIGURES:
        op.create_index(
            f"ix_station_reports_{name}",
            "station_reports",
            ["election_id", "station_key", "status", "taken_at"],
            unique=False,
            sqlite_where=sa.text(f"{name} IS NOT NULL"),
            postgresql_where=sa.text(f"{name} IS NOT NULL"),
        )
    conn = op.get_bind()
    reports = sa.table(
        "station_reports",
        sa.column("id", sa.Integer()),
        sa.column("payload", sa.JSON()),
        sa.column("processed", sa.Integer()),
        sa.column("ballots_left", sa.Integer()),
    )
    rows = conn.execute(sa.select(reports.c.id, reports.c.payload)).all()
    for rid, payload in rows:
        processed, ballots = _figure(payload, "processed"), _figure(payload, "ballots_left")
        if processed is not None or ballots is not None:
            conn.execute(
                reports.update()
                .where(reports.c.id == rid)
                .values(processed=processed, ballots_left=ballots)
            )


def downgrade() -> None:
    for name in FIGURES:
        op.drop_index(f"ix_station_reports_{name}", table_name="station_reports")
    op.drop_index("ix_station_reports_history", table_name="station_reports")
    with op.batch_alter_table("station_reports") as batch:
        batch.drop_column("ballots_left")
        batch.drop_column("processed")
