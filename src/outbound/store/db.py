"""Connecting to the store and migrating it: SQLite (WAL) by default, PostgreSQL to scale."""

from __future__ import annotations

import contextlib
import logging
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

log = logging.getLogger(__name__)

# Past this many WAL pages a connection checkpoints in its own commit (SQLite's default: 1,000).
OWN_CHECKPOINT_PAGES = 10_000
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
    # A connection copies the WAL back into the database itself only past 40 MiB: in a
    # worker or server the Checkpointer's thread does that long before.
    cursor.execute(f"PRAGMA wal_autocheckpoint={OWN_CHECKPOINT_PAGES}")
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

    `batch()` opens one write transaction for many small units of work: a `write()` or a
    `read()` inside it is part of it (and reads the batch's own writes), and everything
    commits together at the batch's end, or rolls back together on an error. (So a unit
    that rolls itself back by raising, as a dial does when no agent is free, must not run
    inside a batch.) On SQLite a commit writes every page the transaction touched to the
    WAL, so units that touch the same pages (the tail of the call log, the leases' index)
    cost less together than one by one; on PostgreSQL a batch waits for one synced commit
    instead of many.

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

    def in_batch(self) -> bool:
        return getattr(self._local, "batch", False)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One write transaction for every `write()` and `read()` until the block ends; a
        batch inside a batch is part of it."""
        if self.in_batch():
            yield
            return
        with self._transaction("write"):
            self._local.batch = True
            try:
                yield
            finally:
                self._local.batch = False

    def write(self) -> contextlib.AbstractContextManager[Connection]:
        """A write transaction (on SQLite it holds the write lock from BEGIN); inside a batch,
        part of the batch's."""
        if self.in_batch():
            return contextlib.nullcontext(self._connection("write"))
        return self._transaction("write")

    def read(self) -> contextlib.AbstractContextManager[Connection]:
        """A read transaction that takes no write lock; inside a batch, the batch's own."""
        if self.in_batch():
            return contextlib.nullcontext(self._connection("write"))
        return self._transaction("read")

    def close(self) -> None:
        for kind in ("write", "read"):
            conn = getattr(self._local, kind, None)
            if conn is not None:
                conn.close()
                setattr(self._local, kind, None)


class Checkpointer:
    """Copies a busy SQLite store's WAL back into the database from a thread of its own.

    Left to itself, SQLite checkpoints inside whichever commit takes the WAL past a size:
    that commit copies every page the WAL holds and syncs the file twice, which under a
    high dial rate stalls the engine's loop for milliseconds, dozens of times a second. Here
    a thread checkpoints every few milliseconds instead (PASSIVE: it never blocks a writer,
    and the driver lets go of the GIL while it copies). The next transaction to begin once
    everything is copied starts the WAL over; should the thread fall behind, a connection
    checkpoints itself past OWN_CHECKPOINT_PAGES as before. Nothing to do on PostgreSQL.
    """

    def __init__(self, engine: Engine, interval: float = 0.005) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Checkpointer:
        if self._engine.dialect.name == "sqlite" and self._engine.url.database not in (
                None, "", ":memory:"):
            self._thread = threading.Thread(target=self._run, name="wal-checkpoint",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        raw: Any = self._engine.raw_connection()
        try:
            while not self._stop.wait(self._interval):
                try:
                    raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # busy or locked: the next round tries again
                    log.debug("checkpoint skipped: %s", exc)
        finally:
            raw.close()


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
