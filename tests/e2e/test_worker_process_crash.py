"""A real `outbound worker` on the wall clock, SIGKILLed mid-campaign and started again.

The module runs one campaign once (loaded with `campaigns load`, started by the worker at its
scheduled time, the simulated network brisk enough to finish in about a minute) and each test
checks one promise against what the store recorded. The engine's contact leases last 30 s and
its sweeper runs every 10 s, so the orphans of the killed worker are expected back within ~40 s.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from e2e_support import Outbound, wait_for

CONTACTS = 250
PACING = 10
CONCURRENCY = 20
ATTEMPTS = 3
BACKOFF = 1.0
DRAIN_SECONDS = 5.0
IN_FLIGHT = ("dialing", "ringing", "answered")
TERMINAL = ("completed", "failed", "blocked", "abandoned")


def scenario(name: str, start: datetime, contacts: int) -> str:
    return f"""\
seed = 11

[campaign]
name = "{name}"
dial_mode = "customer-first"
pacing = {PACING}
concurrency = {CONCURRENCY}
attempts = {ATTEMPTS}
backoff_seconds = {BACKOFF}
rotation = "round-robin"
numbers = ["+14155550100", "+14155550101"]
transfer = {{ department = "Sales" }}
recording = false
start = "{start.isoformat(timespec="milliseconds")}"

[business_hours]
timezone = "UTC"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
open = "00:00"
close = "24:00"

[contacts]
generate = {contacts}

[[departments]]
name = "Sales"
agents = 40
handle_seconds = [0.5, 2]

[network]
answer = 0.5
busy = 0.1
no_answer = 0.25
invalid = 0.05
rejected = 0.0
provider_error = 0.1
ring_seconds = [0.2, 1.0]
talk_seconds = [0.5, 2]
"""


def in_flight(outbound: Outbound, campaign_id: int) -> list[tuple[int, int]]:
    """(contact id, attempt number) of every contact in flight."""
    rows = outbound.query(
        f"SELECT id, attempts FROM contacts WHERE campaign_id = ? "
        f"AND status IN {IN_FLIGHT!r}", (campaign_id,))
    return [(r["id"], r["attempts"]) for r in rows]


@dataclass(frozen=True)
class CrashRun:
    outbound: Outbound
    campaign_id: int
    start: float  # the scenario's start time
    status_after_load: str
    kill_time: float
    orphans: list[tuple[int, int]]  # in flight when the first worker died
    attempts_before_kill: int
    final: dict[str, object]  # `campaigns show --json` once completed
    term_code: int | None
    term_seconds: float


@pytest.fixture(scope="module")
def crash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashRun]:
    root = tmp_path_factory.mktemp("crash")
    outbound = Outbound(root)
    try:
        yield run_crash(outbound, root)
    finally:
        outbound.close()


def run_crash(outbound: Outbound, root: Path) -> CrashRun:
    outbound.ok("admin", "create-account", "Acme", "--timezone", "UTC")
    start = datetime.now(UTC) + timedelta(seconds=3)
    # The scenario file says the start to the millisecond: compare with what it says.
    start = start.replace(microsecond=start.microsecond // 1000 * 1000)
    path = root / "crash.toml"
    path.write_text(scenario("Crash", start, CONTACTS), encoding="utf-8")
    campaign_id = int(outbound.ok("campaigns", "load", path, "--account", "Acme"))
    status_after_load = outbound.json("campaigns", "show", str(campaign_id))["status"]

    first = outbound.spawn("worker", "--drain-seconds", str(DRAIN_SECONDS),
                           log=root / "worker-1.log")

    def mid_campaign() -> bool:
        made = outbound.scalar("SELECT count(*) FROM call_attempts")
        return made >= 40 and bool(in_flight(outbound, campaign_id))

    wait_for(mid_campaign, 60, "the first worker to have calls in flight mid-campaign")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    kill_time = time.time()
    orphans = in_flight(outbound, campaign_id)
    attempts_before_kill = outbound.scalar("SELECT count(*) FROM call_attempts")

    second = outbound.spawn("worker", "--drain-seconds", str(DRAIN_SECONDS),
                            log=root / "worker-2.log")
    wait_for(lambda: outbound.scalar("SELECT status FROM campaigns WHERE id = ?",
                                     (campaign_id,)) == "completed"
             or second.poll() is not None,
             180, "the campaign to complete after the restart", interval=0.5)
    assert second.poll() is None, (root / "worker-2.log").read_text(encoding="utf-8")
    final = outbound.json("campaigns", "show", str(campaign_id))

    began = time.monotonic()
    second.send_signal(signal.SIGTERM)
    try:
        term_code: int | None = second.wait(timeout=DRAIN_SECONDS + 20)
    except subprocess.TimeoutExpired:
        term_code = None
    return CrashRun(outbound, campaign_id, start.timestamp(), status_after_load, kill_time,
                    orphans, attempts_before_kill, final, term_code,
                    time.monotonic() - began)


def attempts_by_contact(run: CrashRun) -> dict[int, list[sqlite3.Row]]:
    """Each contact's attempts in attempt order."""
    rows = run.outbound.query(
        "SELECT contact_id, attempt, started_at, ended_at, outcome FROM call_attempts "
        "WHERE campaign_id = ? ORDER BY contact_id, attempt", (run.campaign_id,))
    grouped: dict[int, list[sqlite3.Row]] = {}
    for row in rows:
        grouped.setdefault(row["contact_id"], []).append(row)
    return grouped


def test_the_loaded_campaign_was_scheduled_and_started_by_itself_at_its_start_time(
    crash: CrashRun
) -> None:
    started_at = crash.outbound.scalar("SELECT started_at FROM campaigns WHERE id = ?",
                                       (crash.campaign_id,))
    first_dial = crash.outbound.scalar("SELECT min(started_at) FROM call_attempts")

    assert crash.status_after_load == "scheduled"
    assert crash.start <= started_at <= crash.start + 10
    assert first_dial >= crash.start


def test_the_worker_was_killed_mid_campaign_with_calls_in_flight(crash: CrashRun) -> None:
    # Guards the test itself: the kill must have left orphans and work to do.
    assert crash.orphans
    assert crash.attempts_before_kill < CONTACTS


def test_every_contact_ends_in_a_terminal_state_after_the_restart(crash: CrashRun) -> None:
    counts = crash.final["contacts"]
    assert isinstance(counts, dict)

    assert crash.final["status"] == "completed"
    assert sum(counts.values()) == CONTACTS
    assert sum(counts[s] for s in TERMINAL) == CONTACTS
    assert crash.outbound.scalar(
        f"SELECT count(*) FROM contacts WHERE status NOT IN {TERMINAL!r}") == 0


def test_no_contact_ever_has_two_attempts_in_flight(crash: CrashRun) -> None:
    grouped = attempts_by_contact(crash)
    stored_attempts = dict(crash.outbound.query("SELECT id, attempts FROM contacts"))

    assert len(grouped) == CONTACTS
    for contact_id, attempts in grouped.items():
        assert [a["attempt"] for a in attempts] == list(range(1, len(attempts) + 1))
        assert len(attempts) == stored_attempts[contact_id]
        for earlier, later in pairwise(attempts):
            assert earlier["ended_at"] is not None
            assert earlier["ended_at"] <= later["started_at"], (dict(earlier), dict(later))
        assert attempts[-1]["ended_at"] is not None, attempts[-1]


def test_the_calls_in_flight_at_the_kill_are_reset_as_unknown_within_60_seconds(
    crash: CrashRun
) -> None:
    for contact_id, attempt in crash.orphans:
        row = crash.outbound.query(
            "SELECT outcome, ended_at, status_after FROM call_attempts "
            "WHERE contact_id = ? AND attempt = ?", (contact_id, attempt))[0]
        assert row["outcome"] == "unknown", (contact_id, dict(row))
        assert crash.kill_time < row["ended_at"] <= crash.kill_time + 60, dict(row)
        assert row["status_after"] in ("retry_queued", "failed")


def test_each_reset_is_recorded_as_a_lease_expired_event(crash: CrashRun) -> None:
    events = crash.outbound.query(
        "SELECT contact_id, at, json_extract(detail, '$.attempt') AS attempt FROM events "
        "WHERE kind = 'lease_expired' AND campaign_id = ?", (crash.campaign_id,))

    assert sorted((e["contact_id"], e["attempt"]) for e in events) == sorted(crash.orphans)
    assert all(crash.kill_time < e["at"] <= crash.kill_time + 60 for e in events)


def test_only_the_orphans_of_the_dead_worker_are_reset(crash: CrashRun) -> None:
    unknown = crash.outbound.query(
        "SELECT contact_id, attempt FROM call_attempts WHERE outcome = 'unknown'")

    assert sorted((r["contact_id"], r["attempt"]) for r in unknown) == sorted(crash.orphans)


def test_attempts_never_exceed_the_campaigns_limit(crash: CrashRun) -> None:
    assert crash.outbound.scalar("SELECT max(attempt) FROM call_attempts") <= ATTEMPTS
    assert crash.outbound.scalar("SELECT max(attempts) FROM contacts") <= ATTEMPTS


def test_pacing_concurrency_and_backoff_hold_across_the_crash(crash: CrashRun) -> None:
    spans = [(r["started_at"], r["ended_at"]) for r in crash.outbound.query(
        "SELECT started_at, ended_at FROM call_attempts WHERE campaign_id = ?",
        (crash.campaign_id,))]
    starts = sorted(s for s, _ in spans)
    # At most `pacing` dials start in any half-open one-second window.
    lo = 0
    for hi, t in enumerate(starts):
        while starts[lo] <= t - 1.0:
            lo += 1
        assert hi - lo + 1 <= PACING, f"{hi - lo + 1} dials in the second before {t}"
    # Never more calls in flight than the concurrency limit (an end before a start at a tie).
    level = peak = 0
    for _, delta in sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans]):
        level += delta
        peak = max(peak, level)
    assert peak <= CONCURRENCY
    # A retry never starts sooner than the backoff after the attempt before it ended.
    for attempts in attempts_by_contact(crash).values():
        for earlier, later in pairwise(attempts):
            gap = later["started_at"] - earlier["ended_at"]
            assert gap >= BACKOFF - 1e-6, (dict(earlier), dict(later))


def test_the_restarted_worker_exits_0_on_sigterm_within_its_drain_time(
    crash: CrashRun
) -> None:
    assert crash.term_code == 0
    assert crash.term_seconds <= DRAIN_SECONDS + 5


# -- a graceful stop ----------------------------------------------------------------------


def test_a_worker_stopped_with_sigterm_finishes_its_calls_dials_nothing_new_and_lets_go(
    outbound: Outbound, tmp_path: Path
) -> None:
    outbound.ok("admin", "create-account", "Acme", "--timezone", "UTC")
    path = tmp_path / "drain.toml"
    path.write_text(scenario("Drain", datetime.now(UTC), 150), encoding="utf-8")
    campaign_id = int(outbound.ok("campaigns", "load", path, "--account", "Acme", "--draft"))
    outbound.ok("campaigns", "start", "Drain")
    worker = outbound.spawn("worker", "--drain-seconds", "8", log=tmp_path / "worker.log")
    wait_for(lambda: len(in_flight(outbound, campaign_id)) >= 5, 60,
             "five calls in flight")

    stopped_at = time.time()
    worker.send_signal(signal.SIGTERM)
    code = worker.wait(timeout=30)
    took = time.time() - stopped_at

    assert code == 0, (tmp_path / "worker.log").read_text(encoding="utf-8")
    assert took <= 8 + 5
    assert in_flight(outbound, campaign_id) == []
    assert outbound.scalar("SELECT count(*) FROM call_attempts WHERE ended_at IS NULL "
                           "OR outcome = 'unknown'") == 0
    assert outbound.scalar("SELECT max(started_at) FROM call_attempts") < stopped_at + 0.5
    campaign = outbound.query("SELECT status, owner FROM campaigns WHERE id = ?",
                              (campaign_id,))[0]
    assert (campaign["status"], campaign["owner"]) == ("running", None)
    assert outbound.scalar("SELECT count(*) FROM contacts WHERE status = 'pending'") > 0
