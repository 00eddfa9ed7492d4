"""Contact states as a real run walks them, on SQLite and PostgreSQL, in both dial modes.

A brisk scenario with every kind of outcome (answers, busy lines, no-answers, invalid numbers,
rejections, provider errors), too few agents for customer-first to keep up, retries and DNC
matches. Each contact's path is rebuilt from its call attempts and checked step by step
against the state machine's allowed transitions.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from scenario_runs import Run, overlapping, run_scenario, small_scenario

from outbound.domain.contacts import ALLOWED, ContactStatus


def contact_path(contact: Any, attempts: list[Any]) -> list[tuple[str, str]]:
    """The transitions a contact went through, rebuilt from its attempts and final status."""
    state = ContactStatus.PENDING.value
    steps = []

    def go(to: str) -> None:
        nonlocal state
        steps.append((state, to))
        state = to

    for attempt in attempts:
        go(ContactStatus.DIALING.value)
        if attempt.ringing_at is not None:
            go(ContactStatus.RINGING.value)
        if attempt.answered_at is not None:
            go(ContactStatus.ANSWERED.value)
        go(attempt.status_after)
    if contact.status != state:
        go(contact.status)
    return steps


@pytest.fixture(scope="module", params=["customer-first", "agent-first"])
def run(request: pytest.FixtureRequest, store_kind: str, empty_store: Any, scenario_files: Any,
        tmp_path_factory: pytest.TempPathFactory) -> Run:
    scenario = small_scenario(
        campaign={"dial_mode": request.param, "pacing": 4},
        contacts={"generate": 80},
        dnc={"generate": 20, "overlap": 6},
        # Two agents and long handle times: customer-first cannot keep up and abandons.
        departments=[{"name": "Sales", "agents": 2, "handle_seconds": [20, 40]}],
        network={"answer": 0.5, "busy": 0.1, "no_answer": 0.2},
    )
    directory = tmp_path_factory.mktemp(request.param)
    url = empty_store(store_kind, directory)
    return run_scenario(scenario_files(directory, scenario), directory / "out", url)


def test_every_contact_transition_seen_in_a_run_is_allowed(run: Run) -> None:
    attempts = run.attempts_by_contact()
    seen: Counter[tuple[str, str]] = Counter()
    for contact in run.contacts:
        for step in contact_path(contact, attempts.get(contact.id, [])):
            assert (ContactStatus(step[0]), ContactStatus(step[1])) in ALLOWED, (
                f"contact {contact.id} went {step[0]} → {step[1]}")
            seen[step] += 1
    # The run exercised the machine: first dials, retries, answers, failures and blocks.
    for step in [("pending", "dialing"), ("retry_queued", "dialing"), ("pending", "blocked"),
                 ("dialing", "ringing"), ("ringing", "answered"), ("answered", "completed"),
                 ("dialing", "retry_queued"), ("dialing", "failed")]:
        assert seen[step], f"no contact went {step[0]} → {step[1]}: {dict(seen)}"


def test_every_contact_ends_in_a_final_state_when_the_campaign_completes(run: Run) -> None:
    assert run.campaign.status == "completed"
    assert run.campaign.finished_at is not None
    unfinished = [(c.id, c.status) for c in run.contacts if not ContactStatus(c.status).terminal]
    assert not unfinished
    assert all(c.lease_until is None for c in run.contacts)
    assert all(a.ended_at is not None and a.outcome for a in run.attempts)


def test_no_contact_ever_has_two_attempts_overlapping_in_time(run: Run) -> None:
    for contact_id, attempts in run.attempts_by_contact().items():
        spans = [(a.started_at, a.ended_at, a.attempt) for a in attempts]
        assert not overlapping(spans), f"contact {contact_id}: {spans}"
        assert [a.attempt for a in attempts] == list(range(1, len(attempts) + 1))
        assert len(attempts) <= 3


def test_each_attempts_status_after_is_what_the_retry_policy_says(run: Run) -> None:
    retryable = {"no_answer", "busy", "provider_error", "unknown"}
    for attempt in run.attempts:
        if attempt.outcome == "completed":
            expected = "completed"
        elif attempt.outcome == "abandoned":
            expected = "abandoned"
        elif attempt.outcome in retryable and attempt.attempt < 3:
            expected = "retry_queued"
        else:
            expected = "failed"
        assert attempt.status_after == expected, attempt


def test_contacts_on_the_dnc_list_are_blocked_and_never_dialed(run: Run) -> None:
    listed = [c for c in run.contacts if c.phone in run.dnc]
    assert len(listed) == 6
    assert all(c.status == "blocked" and c.attempts == 0 for c in listed)
    assert not {a.phone for a in run.attempts} & run.dnc
    assert run.report["dnc_blocks"] == 6
