"""What the engine benchmarks share: an empty store (a SQLite file, or the PostgreSQL bench
database with its tables dropped), campaigns loaded through the store's bulk insert, an
`outbound worker` process watched through /proc, and the dial starts it recorded.

The bench process sleeps while the worker runs, so on a small machine it takes no CPU from the
process it measures.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import tapped_worker
from psycopg import conninfo, sql
from sqlalchemy import func, insert, select

from outbound.domain.hours import DAY_NAMES, BusinessHours
from outbound.domain.lifecycle import CampaignAction
from outbound.domain.settings import CampaignSettings
from outbound.store import Store
from outbound.store.contacts import NewContact
from outbound.store.db import reading
from outbound.store.schema import agents, call_attempts

POSTGRES_ENV = "OUTBOUND_BENCH_DATABASE_URL"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/outbound_bench"

# Near-instant calls: every call ends within about a second, so the figures measure the
# dialer's work per call and not how long customers talk. The fate mix is the API benchmark's.
NETWORK: dict[str, Any] = {
    "answer": 0.35, "busy": 0.15, "no_answer": 0.5, "invalid": 0.0, "rejected": 0.0,
    "provider_error": 0.0, "ring_seconds": [0.05, 0.3], "talk_seconds": [0.1, 0.5],
}
HANDLE_SECONDS = [0.1, 0.5]  # an agent's talk on a bridged call
DEPARTMENT = "Sales"
CALLER_ID = "+14155550100"
ALWAYS_OPEN = BusinessHours.parse("UTC", list(DAY_NAMES), "00:00", "24:00")
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def postgres_url(given: str | None = None) -> str:
    return given or os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES


def postgres_unavailable(url: str) -> str | None:
    """Why the PostgreSQL server at `url` cannot be used, or None when it answers. The
    database is created when the server answers without it (on a fresh machine)."""
    try:
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError as exc:
            if "does not exist" not in str(exc):
                raise
            create_database(url)
    except psycopg.Error as exc:
        return f"PostgreSQL does not answer at {url}: {' '.join(str(exc).split())}"
    return None


def create_database(url: str) -> None:
    """Create the database `url` names, through the server's `postgres` database."""
    name = conninfo.conninfo_to_dict(url)["dbname"]
    maintenance = conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(maintenance, connect_timeout=3, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))


def empty_store(url: str) -> Store:
    """The store at `url`, emptied (PostgreSQL: every table of `public` dropped) and migrated.
    A SQLite URL must name a file that does not exist yet."""
    if url.startswith("postgresql"):
        with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            tables = [row[0] for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            if tables:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier("public", t) for t in tables)))
    return Store.open(url)


def sqlite_url(directory: Path) -> str:
    """The SQLite store `outbound worker` opens with OUTBOUND_DATA_DIR=directory."""
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'outbound.db'}"


def kind(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def store_settings(store: Store) -> dict[str, str]:
    """What bounds a commit: the server's durability settings, SQLite's journal and sync."""
    names: tuple[str, ...]
    if store.engine.dialect.name == "postgresql":
        names = ("server_version", "synchronous_commit", "fsync", "wal_sync_method",
                 "shared_buffers")
        statement = "SHOW {}"
    else:
        names = ("journal_mode", "synchronous", "wal_autocheckpoint", "cache_size")
        statement = "PRAGMA {}"
    with reading(store.engine) as conn:
        found = {n: str(conn.exec_driver_sql(statement.format(n)).scalar()) for n in names}
    if store.engine.dialect.name == "sqlite":
        found["sqlite_version"] = sqlite3.sqlite_version
    return found


# -- loading -------------------------------------------------------------------------------


def create_account(store: Store, *, agents_count: int, name: str = "Bench") -> int:
    """An account on the near-instant simulated network with one department of agents."""
    now = time.time()
    account_id = store.accounts.create(
        name, timezone="UTC", region="US", now=now, business_hours=ALWAYS_OPEN,
        provider={"kind": "sim", "network": NETWORK,
                  "handle_seconds": {DEPARTMENT: HANDLE_SECONDS}})
    store.accounts.add_numbers(account_id, [CALLER_ID])
    department_id = store.accounts.add_department(account_id, DEPARTMENT)
    with store.engine.begin() as conn:  # one statement, not a transaction per agent
        conn.execute(insert(agents), [
            {"account_id": account_id, "name": f"{DEPARTMENT}-{n}",
             "department_id": department_id, "availability": "available", "idle_since": now}
            for n in range(1, agents_count + 1)])
    return account_id


def create_campaign(store: Store, account_id: int, name: str, *, pacing: float,
                    contacts: int, first_number: int, concurrency: int = 50,
                    start: bool = True) -> int:
    """A customer-first campaign at a fixed pace (the engine's dial rate, whatever the
    agents), open around the clock, one attempt per contact, recording off, with `contacts`
    distinct numbers from `first_number` on; started unless told not."""
    now = time.time()
    settings = CampaignSettings.parse({
        "name": name, "pacing": pacing, "concurrency": concurrency, "attempts": 1,
        "numbers": [CALLER_ID], "transfer": {"department": DEPARTMENT}, "recording": False,
        "business_hours": ALWAYS_OPEN, "dialing": "fixed"})
    campaign_id = store.campaigns.create(account_id, settings, now)
    add_contacts(store, campaign_id, contacts, first_number)
    if start:
        store.campaigns.act(campaign_id, CampaignAction.START, now)
    return campaign_id


def add_contacts(store: Store, campaign_id: int, count: int, first_number: int,
                 batch: int = 50_000) -> None:
    """Pending contacts straight through the store's bulk insert (no normalization)."""
    now = time.time()
    with store.engine.begin() as conn:
        for begin in range(0, count, batch):
            rows = [NewContact(phone_number(first_number + n), None, {}, None)
                    for n in range(begin, min(count, begin + batch))]
            store.contacts.insert_many(conn, campaign_id, begin, rows, set(), now)


def phone_number(n: int) -> str:
    """The n-th number of a block of distinct, well-formed US numbers."""
    return f"+1212{2_000_000 + n:07d}"


# -- reading back ----------------------------------------------------------------------------


def first_dial(store: Store) -> float | None:
    with reading(store.engine) as conn:  # a plain connection would take SQLite's write lock
        value = conn.execute(select(func.min(call_attempts.c.started_at))).scalar()
    return None if value is None else float(value)


def dial_starts(store: Store) -> dict[int, list[float]]:
    """Every attempt's start, per campaign, in order."""
    starts: dict[int, list[float]] = {}
    with reading(store.engine) as conn:
        rows = conn.execute(select(call_attempts.c.campaign_id, call_attempts.c.started_at)
                            .order_by(call_attempts.c.started_at))
        for campaign_id, started_at in rows:
            starts.setdefault(campaign_id, []).append(float(started_at))
    return starts


def originates(store: Store, path: Path) -> dict[int, list[float]]:
    """Every call's wall-clock moment of leaving for the network (the tap's), per campaign,
    in order."""
    with reading(store.engine) as conn:
        rows = conn.execute(select(call_attempts.c.id, call_attempts.c.campaign_id))
        campaign_of = {attempt_id: campaign_id for attempt_id, campaign_id in rows}
    moments: dict[int, list[float]] = {}
    for line in path.read_text().splitlines():
        attempt_id, moment = line.split()
        moments.setdefault(campaign_of[int(attempt_id)], []).append(float(moment))
    for times in moments.values():
        times.sort()
    return moments


def max_in_window(times: list[float], width: float = 1.0) -> int:
    """The most of the sorted `times` in any half-open window [t, t + width)."""
    best, j = 0, 0
    for i, t in enumerate(times):
        j = max(j, i)
        while j < len(times) and times[j] < t + width:
            j += 1
        best = max(best, j - i)
    return best


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0–100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
    return ordered[int(rank) - 1]


# -- the machine and the worker ------------------------------------------------------------


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already inside user time
    return total - idle, total


@dataclass(slots=True)
class MachineLoad:
    """How busy the machine was between `start()` and `stop()`, and how much of that was
    others' work: what every figure from a shared machine needs beside it."""

    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
    ours: float = 0.0  # CPU seconds of our own processes in the interval (set by the caller)
    _began: float = 0.0
    _busy: int = 0
    _total: int = 0
    busy_cores: float = 0.0
    wall: float = 0.0

    def start(self) -> MachineLoad:
        self._began = time.perf_counter()
        self._busy, self._total = _busy_jiffies()
        return self

    def stop(self) -> MachineLoad:
        self.wall = time.perf_counter() - self._began
        busy, total = _busy_jiffies()
        if total > self._total:
            self.busy_cores = self.cpus * (busy - self._busy) / (total - self._total)
        return self

    def to_dict(self) -> dict[str, float]:
        ours = self.ours / self.wall if self.wall else 0.0
        return {"cpus": self.cpus, "machine_busy_cores": round(self.busy_cores, 2),
                "our_cores": round(ours, 2),
                "others_cores": round(max(0.0, self.busy_cores - ours), 2),
                "loadavg_1m": round(os.getloadavg()[0], 2)}


@contextmanager
def section_load() -> Iterator[MachineLoad]:
    """The machine's load over a section; our own CPU is this process and its reaped
    children (run every child to its end inside the block)."""
    before = os.times()
    load = MachineLoad().start()
    yield load
    after = os.times()
    load.stop()
    load.ours = sum(after[:4]) - sum(before[:4])


@dataclass(frozen=True, slots=True)
class ProcessCounters:
    """A process's running totals, from /proc; subtract two to get an interval's."""

    user: float  # CPU seconds
    system: float  # CPU seconds in the kernel (writes, fsyncs, sockets)
    waits: int  # voluntary context switches: how often it blocked (I/O, locks, sleeps)
    written: int  # bytes passed to write(): SQLite's WAL and its checkpoints, logs

    @classmethod
    def of(cls, pid: int | str = "self") -> ProcessCounters:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        waits = next(int(line.split()[1]) for line in
                     Path(f"/proc/{pid}/status").read_text().splitlines()
                     if line.startswith("voluntary_ctxt_switches:"))
        written = next(int(line.split()[1]) for line in
                       Path(f"/proc/{pid}/io").read_text().splitlines()
                       if line.startswith("wchar:"))
        return cls(int(stat[11]) / _CLK_TCK, int(stat[12]) / _CLK_TCK, waits, written)

    def __sub__(self, other: ProcessCounters) -> ProcessCounters:
        return ProcessCounters(self.user - other.user, self.system - other.system,
                               self.waits - other.waits, self.written - other.written)

    @property
    def cpu(self) -> float:
        return self.user + self.system


class Worker:
    """`outbound worker` as a child process on the store the environment names, with the
    originate tap of tapped_worker.py writing to `work`/originates.txt at exit."""

    def __init__(self, env: dict[str, str], work: Path, drain_seconds: float = 5.0) -> None:
        self.env = {**env, tapped_worker.ENV: str(work / "originates.txt")}
        self.log = work / "worker.log"
        self.originates_file = work / "originates.txt"
        self.drain_seconds = drain_seconds
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, tapped_worker.__file__, "worker", "--drain-seconds",
                 str(self.drain_seconds)], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def counters(self) -> ProcessCounters:
        return ProcessCounters.of(self.pid)

    def memory_mib(self) -> tuple[float, float]:
        """(resident now, peak resident) in MiB."""
        values = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
        return values["VmRSS"], values["VmHWM"]

    def check(self) -> None:
        if not self.alive():
            raise RuntimeError(f"the worker exited early; its log:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM (the worker drains for `drain_seconds`), then wait; killed if it hangs."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """py-spy recording `pid` for `seconds` into `out` (raw collapsed stacks; idle stacks
    included, so the event loop's wait shows how much of the time it had nothing to do)."""
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(spy), "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
         "--format", "raw", "--output", str(out), "--nonblocking", "--idle"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def worker_env(data_dir: Path, url: str) -> dict[str, str]:
    """The environment of a worker whose store is `url` (recordings, if any, in data_dir)."""
    env = {**os.environ, "OUTBOUND_DATA_DIR": str(data_dir), "OUTBOUND_LOG_LEVEL": "WARNING"}
    env.pop("OUTBOUND_DATABASE_URL", None)
    if kind(url) == "postgresql":
        env["OUTBOUND_DATABASE_URL"] = url
    return env


def wait_for_first_dial(store: Store, worker: Worker, timeout: float = 60.0) -> float:
    """The first dial's start, polled for while the worker boots and adopts its campaigns."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.check()
        began = first_dial(store)
        if began is not None:
            return began
        time.sleep(0.1)
    raise RuntimeError(f"no dial within {timeout:.0f} s; the worker's log:\n{worker.tail()}")


def sleep_until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        time.sleep(delay)


@dataclass(frozen=True, slots=True)
class Watched:
    """What a worker did over a window that opened `warmup` seconds after its first dial."""

    first_dial: float
    opens: float
    closes: float
    counters: ProcessCounters  # the window's
    machine: MachineLoad
    rss_mib: float  # at the window's end
    peak_rss_mib: float  # since the worker started
    exit_code: int

    @property
    def cores(self) -> float:
        return self.counters.cpu / self.machine.wall


def watch(store: Store, worker: Worker, *, warmup: float, seconds: float,
          profile_to: Path | None = None) -> Watched:
    """Sleep through the worker's window, read /proc at its edges, then stop the worker."""
    try:
        first = wait_for_first_dial(store, worker)
        opens, closes = first + warmup, first + warmup + seconds
        sleep_until(opens)
        worker.check()
        before = worker.counters()
        machine = MachineLoad().start()
        spy = profile(worker.pid, seconds, profile_to) if profile_to else None
        sleep_until(closes)
        worker.check()
        machine.stop()
        counters = worker.counters() - before
        rss, peak = worker.memory_mib()
        if spy is not None:
            spy.wait()
    finally:
        exit_code = worker.stop()
    machine.ours = counters.cpu
    return Watched(first, opens, closes, counters, machine, rss, peak, exit_code)
