"""Alembic environment: runs on the connection handed in by `outbound.store.db.migrate`."""

from alembic import context

from outbound.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations always run through db.migrate
    raise RuntimeError("run migrations through outbound.store.db.migrate")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
