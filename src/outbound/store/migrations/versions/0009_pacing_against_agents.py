"""Pacing against agents (issue 14): the account's abandon message, the campaign's binding
limit, and an index to count a campaign's answered calls over its abandon window

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("abandon_message", sa.Text(), nullable=True))
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.add_column(sa.Column("limited_by", sa.String(length=32), nullable=True))
    op.create_index("ix_attempts_answered", "call_attempts", ["campaign_id", "answered_at"],
                    sqlite_where=sa.text("answered_at IS NOT NULL"),
                    postgresql_where=sa.text("answered_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_attempts_answered", table_name="call_attempts")
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.drop_column("limited_by")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("abandon_message")
