"""Voting days: station reports (accepted or in quarantine), nowcasts, alerts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 00:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "station_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("station_key", sa.String(length=120), nullable=False),
        sa.Column("filed_station_key", sa.String(length=120), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("submitted_by", sa.String(length=160), nullable=False),
        sa.Column("reviewed_by", sa.String(length=160), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["elections.id"],
            name=op.f("fk_station_reports_election_id_elections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_reports")),
        sa.UniqueConstraint(
            "election_id", "client_id", name=op.f("uq_station_reports_election_id")
        ),
    )
    op.create_index(
        op.f("ix_station_reports_station_key"), "station_reports", ["station_key"], unique=False
    )
    op.create_index(
        op.f("ix_station_reports_taken_at"), "station_reports", ["taken_at"], unique=False
    )
    op.create_index(op.f("ix_station_reports_status"), "station_reports", ["status"], unique=False)
    op.create_table(
        "station_nowcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("station_key", sa.String(length=120), nullable=False),
        sa.Column("reports_seen", sa.Integer(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["elections.id"],
            name=op.f("fk_station_nowcasts_election_id_elections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_nowcasts")),
        sa.UniqueConstraint(
            "election_id", "station_key", name=op.f("uq_station_nowcasts_election_id")
        ),
    )
    op.create_table(
        "station_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("station_key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=160), nullable=True),
        sa.Column("resolved_by", sa.String(length=160), nullable=True),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["elections.id"],
            name=op.f("fk_station_alerts_election_id_elections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_alerts")),
    )
    op.create_index(
        op.f("ix_station_alerts_station_key"), "station_alerts", ["station_key"], unique=False
    )
    op.create_index(op.f("ix_station_alerts_status"), "station_alerts", ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("station_alerts")
    op.drop_table("station_nowcasts")
    op.drop_index(op.f("ix_station_reports_status"), table_name="station_reports")
    op.drop_index(op.f("ix_station_reports_taken_at"), table_name="station_reports")
    op.drop_index(op.f("ix_station_reports_station_key"), table_name="station_reports")
    op.drop_table("station_reports")
