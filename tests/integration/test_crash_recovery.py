"""A process death mid-campaign loses nobody and double-dials nobody.

A scripted `crash` drops the engine, its timers and every simulated call in flight at that
instant, and boots a new engine on the same store. The calls in flight are orphans: their
contacts' leases run out and the sweeper must reset them, attempt counted as `unknown`, within
a minute. Both dial modes, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

import pytest
from scenario_runs import (
    Run,
    attempt_span,
    most_in_window,
    overlapping,
    peak_level,
    posix,
    run_scenario,
    small_scenario,
)

from outbound.domain.contacts import ContactStatus

CRASH = "2026-03-02T09:00:20-05:00"
PACING, CONCURRENCY, ATTEMPTS = 3, 12, 3


@pytest.fixture(scope="module", params=["customer-first", "agent-first"])
def run(request: pytest.FixtureRequest, store_kind: str, empty_store: Any,
        scenario_files: Any, tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp(f"crash-{request.param}")
    scenario = small_scenario(
        campaign={"dial_mode": request.param, "pacing": PACING, "concurrency": CONCURRENCY,
                  "attempts": ATTEMPTS, "backoff_seconds": 30},
        contacts={"generate": 90},
        departments=[{"name": "Sales", "agents": 6, "handle_seconds": [5, 20]}],
        network={"answer": 0.5, "busy": 0.1, "no_answer": 0.2, "ring_seconds": [2, 10]},
        events=[{"at": CRASH, "action": "crash"}],
    )
    url = empty_store(store_kind, directory)
    return run_scenario(scenario_files(directory, scenario), directory / "out", url)


def orphans(run: Run) -> list[Any]:
    """The attempts in flight at the crash: started before it, not ended by it."""
    crash = posix(CRASH)
    return [a for a in run.attempts if a.started_at < crash < a.ended_at]


def test_the_crash_happened_with_calls_in_flight(run: Run) -> None:
    assert run.result.crashes == 1
    assert len(orphans(run)) >= 3, "the crash caught few calls in flight: it proves little"
    crash = posix(CRASH)
    assert any(a.started_at > crash for a in run.attempts), "nothing was dialed after it"


def test_the_orphans_are_reset_as_unknown_within_a_minute_of_the_crash(run: Run) -> None:
    crash = posix(CRASH)
    lost = orphans(run)
    for attempt in lost:
        assert attempt.outcome == "unknown", attempt
        assert attempt.ended_at - crash <= 60, attempt
        assert attempt.status_after in ("retry_queued", "failed")
    # Only the orphans: every call placed after the restart had a real outcome.
    unknown = [a.id for a in run.attempts if a.outcome == "unknown"]
    assert sorted(unknown) == sorted(a.id for a in lost)
    resets = [e for e in run.events if e.kind == "lease_expired"]
    assert sorted(e.contact_id for e in resets) == sorted(a.contact_id for a in lost)


def test_every_contact_ends_in_a_final_state_after_the_crash(run: Run) -> None:
    assert run.campaign.status == "completed"
    assert all(ContactStatus(c.status).terminal for c in run.contacts)
    assert all(c.lease_until is None for c in run.contacts)


def test_no_contact_is_dialed_twice_at_once_or_beyond_the_attempt_limit(run: Run) -> None:
    for contact_id, attempts in run.attempts_by_contact().items():
        spans = [(*attempt_span(a), a.attempt) for a in attempts]
        assert not overlapping(spans), f"contact {contact_id}: {spans}"
        assert [a.attempt for a in attempts] == list(range(1, len(attempts) + 1))
        assert len(attempts) <= ATTEMPTS
    stored = {c.id: c.attempts for c in run.contacts}
    counted = Counter(a.contact_id for a in run.attempts)
    assert all(stored[k] == counted[k] for k in stored)


def test_pacing_concurrency_and_rotation_hold_across_the_restart(run: Run) -> None:
    assert most_in_window((a.started_at for a in run.attempts), 1.0) <= math.ceil(PACING)
    # The orphans count against the limit until the sweeper resets them.
    assert peak_level(attempt_span(a) for a in run.attempts) <= CONCURRENCY
    per_number = Counter(a.caller_id for a in run.attempts)
    assert max(per_number.values()) - min(per_number.values()) <= 1


def test_no_agent_is_on_two_calls_at_once_across_the_restart(run: Run) -> None:
    agent_first = run.campaign.settings["dial_mode"] == "agent-first"
    per_agent: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for attempt in run.attempts:
        if attempt.agent is None:
            continue
        # Agent-first holds the agent from the dial on; customer-first from the bridge.
        held_from = attempt.started_at if agent_first else attempt.bridged_at
        per_agent[attempt.agent].append((held_from, attempt.ended_at, attempt.id))
    assert per_agent
    for agent, spans in per_agent.items():
        assert not overlapping(spans), agent
