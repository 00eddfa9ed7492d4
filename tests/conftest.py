"""Fixtures shared by every tier: a real store to run against, and scenario files.

`store_url` gives each test an empty store: a fresh SQLite file, and — whenever a PostgreSQL
server answers at OUTBOUND_TEST_DATABASE_URL (else postgresql://postgres@127.0.0.1:5432/test) —
the same test again on PostgreSQL with every table of its `public` schema dropped first. Where
no server answers, the PostgreSQL cases are reported as skipped with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any

import pytest

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("OUTBOUND_TEST_DATABASE_URL") or DEFAULT_PG_URL


@cache
def postgres_unavailable(url: str) -> str | None:
    """Why the PostgreSQL server at `url` cannot be used, or None when it answers."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        why = " ".join(str(exc).split()) or type(exc).__name__
        return f"PostgreSQL does not answer at {url}: {why}"
    return None


def reset_postgres(url: str) -> None:
    """Drop every table (alembic_version included) in the `public` schema of `url`."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
        # A connection left inside a transaction would make DROP wait forever: fail instead.
        conn.execute("SET lock_timeout = '20s'")
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        if tables:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
                sql.SQL(", ").join(sql.Identifier("public", t) for t in tables)))


STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def empty_store_url(kind: str, directory: Path) -> str:
    """An empty store of `kind`: a new SQLite file under `directory`, or the test PostgreSQL
    database with its tables dropped (the test is skipped, with the reason, if none answers)."""
    if kind == "sqlite":
        data = directory / "store"
        data.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{data / 'outbound.db'}"
    url = postgres_url()
    why = postgres_unavailable(url)
    if why is not None:
        pytest.skip(why)
    reset_postgres(url)
    return url


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store for this test: SQLite, then PostgreSQL."""
    return empty_store_url(request.param, tmp_path)


@pytest.fixture(scope="module", params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The kind of store, once per module: for a scenario run once and checked by many tests.

    Get the store itself from `empty_store(store_kind, directory)` inside the module fixture
    that runs the scenario. Other tests empty the PostgreSQL database meanwhile, so read what
    the run left in the store right after it (`scenario_runs.run_scenario` does).
    """
    return str(request.param)


@pytest.fixture(scope="session")
def empty_store() -> Callable[[str, Path], str]:
    """`empty_store_url(kind, directory)`, for fixtures wider than one test."""
    return empty_store_url


# -- scenario files ---------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else _toml_value(key)


def to_toml(data: Mapping[str, Any]) -> str:
    """A scenario dict as TOML: top-level values, then [tables], then [[arrays of tables]]."""
    lines: list[str] = []
    tables = []
    arrays = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            arrays.append((key, value))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, table in tables:
        lines.append(f"\n[{key}]")
        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items())
    for key, items in arrays:
        for item in items:
            lines.append(f"\n[[{key}]]")
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"


def write_scenario_file(directory: Path, scenario: Mapping[str, Any] | str, *,
                        name: str = "scenario.toml",
                        files: Mapping[str, str] | None = None) -> Path:
    """Write a scenario (a dict or TOML text) and the files it refers to into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for file_name, text in (files or {}).items():
        (directory / file_name).write_text(text, encoding="utf-8")
    path = directory / name
    path.write_text(scenario if isinstance(scenario, str) else to_toml(scenario),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def scenario_files() -> Callable[..., Path]:
    """`write_scenario_file(directory, scenario, name=…, files=…)`, for module fixtures."""
    return write_scenario_file


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    """Write a scenario into tmp_path from a dict or TOML text; returns the file's path.

    Extra files the scenario refers to (a contacts CSV, a DNC list) go beside it:
    `write_scenario(data, files={"contacts.csv": "phone,name\\n…"})`.
    """

    def write(scenario: Mapping[str, Any] | str, *, name: str = "scenario.toml",
              files: Mapping[str, str] | None = None) -> Path:
        return write_scenario_file(tmp_path, scenario, name=name, files=files)

    return write
