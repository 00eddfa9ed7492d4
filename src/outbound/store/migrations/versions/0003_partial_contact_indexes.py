"""Partial indexes for retry due times and leases: only contacts that have them are indexed

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_contacts_due", table_name="contacts")
    op.drop_index("ix_contacts_lease", table_name="contacts")
    op.create_index("ix_contacts_due", "contacts", ["campaign_id", "status", "due_at"],
                    sqlite_where=sa.text("due_at IS NOT NULL"),
                    postgresql_where=sa.text("due_at IS NOT NULL"))
    op.create_index("ix_contacts_lease", "contacts", ["status", "lease_until"],
                    sqlite_where=sa.text("lease_until IS NOT NULL"),
                    postgresql_where=sa.text("lease_until IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_contacts_due", table_name="contacts")
    op.drop_index("ix_contacts_lease", table_name="contacts")
    op.create_index("ix_contacts_due", "contacts", ["campaign_id", "status", "due_at"])
    op.create_index("ix_contacts_lease", "contacts", ["status", "lease_until"])
