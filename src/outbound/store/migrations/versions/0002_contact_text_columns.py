"""contacts.name and contacts.agent hold any cell an upload allows

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.alter_column("name", type_=sa.Text(), existing_type=sa.String(length=200))
        batch_op.alter_column("agent", type_=sa.Text(), existing_type=sa.String(length=200))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.alter_column("name", type_=sa.String(length=200), existing_type=sa.Text())
        batch_op.alter_column("agent", type_=sa.String(length=200), existing_type=sa.Text())
