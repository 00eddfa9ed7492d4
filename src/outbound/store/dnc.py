"""The per-account do-not-call list."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Row

from outbound.store.db import Pinned, reading
from outbound.store.fast import run, run_many
from outbound.store.schema import dnc

_BATCH = 5000


_LISTED = select(dnc.c.phone).where(dnc.c.account_id == bindparam("p_account_id"),
                                    dnc.c.phone == bindparam("p_phone"))


_ADD_KEYS = ("p_account_id", "p_phone", "p_added_at", "p_added_by", "p_source")
_ADD_SQLITE = sqlite_insert(dnc).values(
    account_id=bindparam("p_account_id"), phone=bindparam("p_phone"),
    added_at=bindparam("p_added_at"), added_by=bindparam("p_added_by"),
    source=bindparam("p_source"),
).on_conflict_do_nothing(index_elements=["account_id", "phone"])


class DncRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pinned = Pinned(engine)

    def add(self, account_id: int, numbers: Iterable[str], now: float, *,
            added_by: str | None = None, source: str | None = None,
            conn: Connection | None = None) -> int:
        """Add E.164 numbers (already normalized); those already listed are kept as they were.

        Returns how many were new."""
        if conn is None:
            with self.engine.begin() as own:
                return self.add(account_id, numbers, now, added_by=added_by, source=source,
                                conn=own)
        if conn.dialect.name == "sqlite":
            return self._add_sqlite(conn, account_id, numbers, now, added_by, source)
        added = 0
        batch: list[dict[str, Any]] = []

        def flush() -> int:
            if not batch:
                return 0
            # Count the rows RETURNING gives back: an executemany's rowcount is not reliable
            # across drivers (psycopg reports 0 for it here).
            result = conn.execute(
                pg_insert(dnc).on_conflict_do_nothing(index_elements=["account_id", "phone"])
                .returning(dnc.c.phone),
                batch,
            )
            count = len(result.all())
            batch.clear()
            return count

        for number in numbers:
            batch.append({"account_id": account_id, "phone": number, "added_at": now,
                          "added_by": added_by, "source": source})
            if len(batch) >= _BATCH:
                added += flush()
        added += flush()
        return added

    def _add_sqlite(self, conn: Connection, account_id: int, numbers: Iterable[str],
                    now: float, added_by: str | None, source: str | None) -> int:
        """SQLite: one driver executemany per batch, counted by the connection's changes."""
        driver = conn.connection.driver_connection
        assert driver is not None
        before = driver.total_changes
        batch: list[tuple[Any, ...]] = []
        for number in numbers:
            batch.append((account_id, number, now, added_by, source))
            if len(batch) >= _BATCH:
                run_many(conn, _ADD_SQLITE, _ADD_KEYS, batch)
                batch = []
        run_many(conn, _ADD_SQLITE, _ADD_KEYS, batch)
        return int(driver.total_changes - before)

    def is_listed(self, account_id: int, phone: str) -> bool:
        """One number's lookup: the primary key (account_id, phone) answers it."""
        with self.pinned.read() as conn:
            return run(conn, _LISTED, {"p_account_id": account_id, "p_phone": phone}
                       ).first() is not None

    def contains(self, conn: Connection, account_id: int, numbers: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(numbers), 500):
            chunk = numbers[i:i + 500]
            found.update(conn.execute(select(dnc.c.phone).where(
                dnc.c.account_id == account_id, dnc.c.phone.in_(chunk))).scalars())
        return found

    def remove(self, account_id: int, numbers: Iterable[str]) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(delete(dnc).where(
                dnc.c.account_id == account_id, dnc.c.phone.in_(list(numbers)))).rowcount)

    def search(self, account_id: int, prefix: str, limit: int = 100) -> list[Row[Any]]:
        with reading(self.engine) as conn:
            return list(conn.execute(select(dnc).where(
                dnc.c.account_id == account_id, dnc.c.phone.startswith(prefix, autoescape=True),
            ).order_by(dnc.c.phone).limit(limit)))

    def count(self, account_id: int) -> int:
        with reading(self.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(dnc).where(
                dnc.c.account_id == account_id)).scalar_one())

    def all(self, account_id: int) -> Iterable[Row[Any]]:
        with reading(self.engine) as conn:
            yield from conn.execution_options(yield_per=5000).execute(
                select(dnc).where(dnc.c.account_id == account_id).order_by(dnc.c.phone))
