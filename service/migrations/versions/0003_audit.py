"""The audit trail: every event records who did it (the key's public id and role;
``system`` for the dispatch loop).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as table:
        table.add_column(sa.Column("key_id", sa.String(32), nullable=True))
        table.add_column(sa.Column("role", sa.String(16), nullable=True))
        table.create_index("ix_events_at", ["at"])


def downgrade() -> None:
    with op.batch_alter_table("events") as table:
        table.drop_index("ix_events_at")
        table.drop_column("role")
        table.drop_column("key_id")
