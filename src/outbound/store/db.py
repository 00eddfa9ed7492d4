"""Connecting to the store and migrating it: SQLite (WAL) by default, PostgreSQL to scale."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from outbound.domain.errors import OutboundError

MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(OutboundError):
    """The database could not be reached or refused a statement."""


def connect(url: str) -> Engine:
    """An Engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        # Writers take the write lock at BEGIN, so a transaction never fails half-way on a
        # lock another connection took after its first read; readers (`reading`) do not.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 16 MiB of page cache (the default is 2 MiB): imports write into the phone indexes in
    # random order, and the engine's working set is the front of a large contacts table.
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    if conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        return  # a Pinned transaction began it on the driver
    if conn.get_execution_options().get("outbound_read"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only: on SQLite it does not take the write lock."""
    with engine.connect() as conn:
        conn.execution_options(outbound_read=True)
        yield conn


class Pinned:
    """Connections kept open per thread for a hot loop (the engine's): opening a connection
    and its transaction costs more than the statements the engine runs in it.

    A connection that failed is dropped and replaced on next use.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        self._sqlite = engine.dialect.name == "sqlite"

    def _connection(self, kind: str) -> Connection:
        conn: Connection | None = getattr(self._local, kind, None)
        if conn is None or conn.closed:
            conn = self.engine.connect()
            if kind == "read":
                conn.execution_options(outbound_read=True)
            setattr(self._local, kind, conn)
        return conn

    @contextmanager
    def _transaction(self, kind: str) -> Iterator[Connection]:
        conn = self._connection(kind)
        try:
            if self._sqlite:
                with self._on_driver(conn, kind):
                    yield conn
            else:
                with conn.begin():
                    yield conn
        except DBAPIError:
            conn.invalidate()
            conn.close()
            setattr(self._local, kind, None)
            raise

    @staticmethod
    @contextmanager
    def _on_driver(conn: Connection, kind: str) -> Iterator[None]:
        """BEGIN and COMMIT straight on the SQLite driver: SQLAlchemy's begin, events and
        commit cost more than the engine's small transactions. A statement run through
        SQLAlchemy inside still works: its autobegin sees the driver's transaction and only
        marks itself begun, and its commit or rollback ends the driver's transaction."""
        raw: Any = conn.connection.driver_connection
        try:
            raw.execute("BEGIN" if kind == "read" else "BEGIN IMMEDIATE")
            yield
            if conn.in_transaction():
                conn.commit()
            else:
                raw.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction():
                conn.rollback()
            elif raw.in_transaction:
                raw.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):  # as SQLAlchemy would have raised it
                raise DBAPIError(None, None, exc) from exc
            raise

    def write(self) -> contextlib.AbstractContextManager[Connection]:
        """A write transaction (on SQLite it holds the write lock from BEGIN)."""
        return self._transaction("write")

    def read(self) -> contextlib.AbstractContextManager[Connection]:
        """A read transaction that takes no write lock."""
        return self._transaction("read")

    def close(self) -> None:
        for kind in ("write", "read"):
            conn = getattr(self._local, kind, None)
            if conn is not None:
                conn.close()
                setattr(self._local, kind, None)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def sqlite_url(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'outbound.db'}"
