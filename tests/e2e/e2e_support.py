"""Helpers for the e2e tier: `outbound` as a user runs it, a subprocess with its own store.

Every test gets a fresh OUTBOUND_DATA_DIR under its tmp_path and runs the command from a
directory of its own, so nothing depends on where pytest was started. The store is read back
with the standard library's sqlite3, read-only, the way an operator would inspect it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

# Every table of the schema: a rejected command must leave each of them exactly as it was.
TABLES = ("accounts", "users", "phone_numbers", "departments", "agents", "voice_menus",
          "campaigns", "contacts", "call_attempts", "dnc", "events")

# A scenario that loads cleanly: the bad-input tests break one thing in it at a time.
GOOD_SCENARIO = """\
seed = 3

[campaign]
name = "Spring lead-qual"
dial_mode = "customer-first"
pacing = 5
concurrency = 10
attempts = 2
backoff_seconds = 60
rotation = "round-robin"
numbers = ["+14155550100", "+14155550101"]
transfer = { department = "Sales" }
recording = true
start = "2026-03-02T08:55:00-05:00"

[business_hours]
timezone = "America/New_York"
days = ["mon", "tue", "wed", "thu", "fri"]
open = "09:00"
close = "19:00"

[contacts]
file = "contacts.csv"
region = "US"

[dnc]
file = "dnc.txt"

[[departments]]
name = "Sales"
agents = 5
handle_seconds = [10, 30]

[[voice_menus]]
name = "confirm"
prompt = "Press 1 to confirm, 2 to cancel."
options = { "1" = "confirm", "2" = "cancel" }

[network]
answer = 0.5
busy = 0.1
no_answer = 0.3
invalid = 0.05
rejected = 0.0
provider_error = 0.05
ring_seconds = [2, 10]
talk_seconds = [5, 20]
"""
GOOD_CONTACTS = 60  # rows in the contacts.csv written next to GOOD_SCENARIO


def contacts_csv(count: int) -> str:
    """A contacts file in national format with a custom column, as users upload them."""
    rows = ["phone,name,segment"]
    rows += [f"(415) 555-{2000 + i:04d},Person {i},{'AB'[i % 2]}" for i in range(count)]
    return "\n".join(rows) + "\n"


def _command() -> list[str]:
    """The installed console script next to this interpreter, else the module."""
    script = shutil.which("outbound", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "outbound.cli"]


class Outbound:
    """Runs `outbound` against one private store, and reads that store back."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.cwd = root / "cwd"
        self.cwd.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("OUTBOUND_") and k not in ("FORCE_COLOR", "COLUMNS")}
        env["OUTBOUND_DATA_DIR"] = str(self.data_dir)
        self.env = env
        self._processes: list[subprocess.Popen[str]] = []

    @property
    def db_path(self) -> Path:
        return self.data_dir / "outbound.db"

    def run(self, *args: str | Path, timeout: float = 120,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*_command(), *map(str, args)], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False,
                              input=input)

    def ok(self, *args: str | Path, timeout: float = 120, input: str | None = None) -> str:
        """Run a command that must succeed (with `input` on its stdin); its stdout."""
        done = self.run(*args, timeout=timeout, input=input)
        assert done.returncode == 0, (
            f"outbound {' '.join(map(str, args))} exited {done.returncode}: {done.stderr}")
        return done.stdout

    def json(self, *args: str | Path) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def spawn(self, *args: str | Path, log: Path, output: bool = False
              ) -> subprocess.Popen[str]:
        """A long-running command (a worker); killed at teardown if the test left it running.
        `log` gets its stderr, and with `output` its stdout too."""
        with log.open("w", encoding="utf-8") as stderr:  # the child keeps its own copy
            process = subprocess.Popen([*_command(), *map(str, args)], cwd=self.cwd,
                                       env=self.env,
                                       stdout=stderr if output else subprocess.DEVNULL,
                                       stderr=stderr, text=True)
        self._processes.append(process)
        return process

    def close(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)

    # -- reading the store ------------------------------------------------------------------

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        uri = f"file:{self.db_path}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=30)) as conn:
            conn.row_factory = sqlite3.Row
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.query(sql, params)[0][0]

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table: what "nothing was written" is checked against."""
        return {table: [tuple(r) for r in self.query(f"SELECT * FROM {table} ORDER BY 1")]
                for table in TABLES}


def wait_for(predicate: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.05) -> Any:
    """Poll until `predicate()` is truthy; its value. Fails naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def store_snapshot(db_path: Path, database_url: str | None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the store (SQLite at `db_path`, else PostgreSQL at
    `database_url`), read beside a running server: for "this request changed nothing"."""
    if database_url is None:
        uri = f"file:{db_path}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=30)) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall()
                    for t in tables}
    import psycopg

    with psycopg.connect(database_url, connect_timeout=5) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall()
                for t in tables}


def one_line(stderr: str) -> str:
    """The single line a refused command printed on stderr (failing if it printed more)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected exactly one line on stderr, got:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]
