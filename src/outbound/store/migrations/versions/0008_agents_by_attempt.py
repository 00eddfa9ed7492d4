"""Agents found by the attempt they are on: a call's end frees its agent by index, not by a
scan of every agent of the store

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_agents_busy", "agents", ["busy_attempt_id"],
                    sqlite_where=sa.text("busy_attempt_id IS NOT NULL"),
                    postgresql_where=sa.text("busy_attempt_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_agents_busy", table_name="agents")
