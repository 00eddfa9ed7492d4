"""The Alembic migrations build exactly the schema the code declares, on both stores."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from outbound.store import Store
from outbound.store.schema import metadata


def test_the_migrations_create_exactly_the_declared_schema(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        with store.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        store.close()
    assert differences == []


def test_migrating_twice_changes_nothing(store_url: str) -> None:
    Store.open(store_url).close()
    store = Store.open(store_url)
    try:
        with store.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == "0009"
    finally:
        store.close()
