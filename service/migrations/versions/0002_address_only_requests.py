"""Requests located by address only: ``lat``, ``lon`` and ``cell`` may be empty until a
dispatcher places the request; ``address_id`` is stored.

Open311 lets a request give ``address_string`` or ``address_id`` instead of ``lat`` and
``long``. Such a request waits (it is not dispatched) until it has a point.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot alter a column in place (the table is copied)
    with op.batch_alter_table("requests") as table:
        table.alter_column("lat", existing_type=sa.Float, nullable=True)
        table.alter_column("lon", existing_type=sa.Float, nullable=True)
        table.alter_column("cell", existing_type=sa.Integer, nullable=True)
        table.add_column(sa.Column("address_id", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requests") as table:
        table.drop_column("address_id")
        table.alter_column("cell", existing_type=sa.Integer, nullable=False)
        table.alter_column("lon", existing_type=sa.Float, nullable=False)
        table.alter_column("lat", existing_type=sa.Float, nullable=False)
