"""Running the engine's prebuilt statements straight on the driver.

The dial loop runs a handful of fixed statements thousands of times. SQLAlchemy's execution
path (cache key, parameter processing, result set-up) costs about five times what SQLite takes
to run such a statement, so these statements are compiled once per dialect and executed on the
driver's cursor, inside the transaction the SQLAlchemy Connection manages. Only long-lived,
module-level statements without IN lists (expanding parameters) belong here: the cache is keyed
by the statement object.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement

_compiled: dict[tuple[int, str], Any] = {}
_row_types: dict[tuple[str, ...], Any] = {}


class FastResult:
    """The part of a result the engine uses: rows by attribute, rowcount, scalars."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self.rowcount: int = cursor.rowcount

    def _row_type(self) -> Any:
        names = tuple(d[0] for d in self._cursor.description)
        row_type = _row_types.get(names)
        if row_type is None:
            row_type = _row_types[names] = namedtuple("Row", names)
        return row_type

    def first(self) -> Any:
        row = self._cursor.fetchone()
        return None if row is None else self._row_type()(*row)

    def all(self) -> list[Any]:
        row_type = self._row_type()
        return [row_type(*row) for row in self._cursor.fetchall()]

    def scalar(self) -> Any:
        row = self._cursor.fetchone()
        return None if row is None else row[0]

    def scalar_one(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise LookupError("the statement returned no row")
        return row[0]

    def scalars(self) -> Iterator[Any]:
        return (row[0] for row in self._cursor.fetchall())


_Entry = tuple[ClauseElement, str, tuple[str, ...] | None, dict[str, Any]]


def _entry(conn: Connection, statement: ClauseElement) -> _Entry:
    """The statement compiled for this dialect: SQL text, parameter order, literal values.
    The statement itself is kept in the entry so that its id is never reused."""
    key = (id(statement), conn.dialect.name)
    entry = _compiled.get(key)
    if entry is None:
        compiled: Any = statement.compile(dialect=conn.dialect)
        entry = (statement, str(compiled), compiled.positiontup, dict(compiled.params))
        _compiled[key] = entry
    return entry


def run(conn: Connection, statement: ClauseElement, params: Mapping[str, Any]) -> FastResult:
    """Execute a prebuilt statement with `params` in `conn`'s current transaction."""
    _, sql, names, defaults = _entry(conn, statement)
    values = {**defaults, **params}
    args: Any = tuple(values[n] for n in names) if names is not None else values
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(sql, args)
    return FastResult(cursor)


def run_many(conn: Connection, statement: ClauseElement, keys: tuple[str, ...],
             rows: list[tuple[Any, ...]]) -> None:
    """Execute a prebuilt statement once per row; each row gives the values of `keys`, in
    that order (the statement's own literal values are filled in)."""
    if not rows:
        return
    _, sql, names, defaults = _entry(conn, statement)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if names is None:
        cursor.executemany(sql, [{**defaults, **dict(zip(keys, row, strict=True))}
                                 for row in rows])
    elif tuple(names) == keys:
        cursor.executemany(sql, rows)
    else:
        where = [keys.index(n) if n in keys else None for n in names]
        cursor.executemany(sql, [tuple(defaults[n] if i is None else row[i]
                                       for n, i in zip(names, where, strict=True))
                                 for row in rows])
