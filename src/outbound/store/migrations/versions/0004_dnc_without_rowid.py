"""On SQLite, the do-not-call table is stored WITHOUT ROWID (clustered on its primary key)

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = "account_id, phone, added_at, added_by, source"


def _rebuild(with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"""
        CREATE TABLE dnc_new (
            account_id INTEGER NOT NULL,
            phone VARCHAR(20) NOT NULL,
            added_at FLOAT NOT NULL,
            added_by VARCHAR(320),
            source VARCHAR(200),
            PRIMARY KEY (account_id, phone),
            FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
        ){"" if with_rowid else " WITHOUT ROWID"}""")
    op.execute(f"INSERT INTO dnc_new ({_COLUMNS}) SELECT {_COLUMNS} FROM dnc")
    op.execute("DROP TABLE dnc")
    op.execute("ALTER TABLE dnc_new RENAME TO dnc")


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)
