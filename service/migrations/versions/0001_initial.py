"""Initial schema: api keys, requests, teams, assignments, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("revoked", sa.Float, nullable=True),
    )
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_code", sa.String(64), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("cell", sa.Integer, nullable=False),
        sa.Column("address_string", sa.String(500), nullable=True),
        sa.Column("media_url", sa.String(2000), nullable=True),
        sa.Column("first_name", sa.String(200), nullable=True),
        sa.Column("last_name", sa.String(200), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(64), nullable=True),
        sa.Column("device_id", sa.String(200), nullable=True),
        sa.Column("account_id", sa.String(200), nullable=True),
        sa.Column("status_notes", sa.Text, nullable=True),
        sa.Column("agency_responsible", sa.String(200), nullable=True),
        sa.Column("service_notice", sa.String(500), nullable=True),
        sa.Column("requested", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        sa.Column("expected", sa.Float, nullable=True),
        sa.Column("deadline", sa.Float, nullable=False),
        sa.Column("priority", sa.Float, nullable=False),
        sa.Column("work_seconds", sa.Float, nullable=False),
        sa.Column("idem_owner", sa.Integer, nullable=True),
        sa.Column("idem_key", sa.String(200), nullable=True),
        sa.Column("idem_hash", sa.String(64), nullable=True),
        sa.UniqueConstraint("idem_owner", "idem_key", name="uq_requests_idempotency"),
    )
    op.create_index("ix_requests_requested", "requests", ["requested"])
    op.create_index("ix_requests_stage", "requests", ["stage"])
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("cell", sa.Integer, nullable=False),
        sa.Column("skills", sa.String(1000), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("shift_start", sa.Float, nullable=False),
        sa.Column("shift_end", sa.Float, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("free_at", sa.Float, nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("assigned", sa.Float, nullable=False),
        sa.Column("eta", sa.Float, nullable=True),
        sa.Column("cost", sa.Float, nullable=True),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_index("ix_assignments_state", "assignments", ["state"])
    op.create_index("ix_assignments_request", "assignments", ["request_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer, nullable=True),
        sa.Column("team_id", sa.Integer, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_events_request", "events", ["request_id"])


def downgrade() -> None:
    for name in ("events", "assignments", "teams", "requests", "api_keys"):
        op.drop_table(name)
