"""A number added to the do-not-call list while a campaign runs is never dialed afterwards: the
claim reads the list at the moment of each dial, not the list as it was at import."""

from __future__ import annotations

from typing import Any

import pytest
from scenario_runs import Run, contacts_csv, posix, run_scenario, small_scenario

from outbound.scenario import generate_numbers

ADDED_AT = "2026-03-02T09:00:15-05:00"
NUMBERS = generate_numbers(80, seed=5)
# Dialed before the addition (and, most of them, queued for a retry): positions 0–3.
EARLY = [0, 1, 2, 3]
# Not reached yet when they are added: at 2 calls/s position 60 comes up after 30 s.
LATE = [60, 61, 62]


@pytest.fixture(scope="module")
def run(store_kind: str, empty_store: Any, scenario_files: Any,
        tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("dnc")
    scenario = small_scenario(
        campaign={"pacing": 2, "backoff_seconds": 60},
        contacts={"file": "contacts.csv"},
        # Mostly unanswered: the early contacts are queued for a retry when they are listed.
        network={"answer": 0.2, "busy": 0.0, "no_answer": 0.8, "invalid": 0.0,
                 "rejected": 0.0, "provider_error": 0.0},
        events=[{"at": ADDED_AT, "action": "dnc_add",
                 "numbers": [NUMBERS[i] for i in EARLY + LATE]}],
    )
    url = empty_store(store_kind, directory)
    path = scenario_files(directory, scenario, files={"contacts.csv": contacts_csv(NUMBERS)})
    return run_scenario(path, directory / "out", url)


def test_a_number_added_to_dnc_mid_run_is_never_dialed_afterwards(run: Run) -> None:
    added_at = posix(ADDED_AT)
    listed = {NUMBERS[i] for i in EARLY + LATE}
    assert listed <= run.dnc
    late_dials = [(a.phone, a.started_at) for a in run.attempts
                  if a.phone in listed and a.started_at >= added_at]
    assert not late_dials
    # The early ones were dialed before they were listed: the list did not stop time.
    dialed_before = {a.phone for a in run.attempts if a.started_at < added_at}
    assert {NUMBERS[i] for i in EARLY} <= dialed_before


def test_a_contact_listed_before_its_first_dial_ends_blocked_and_uncalled(run: Run) -> None:
    by_phone = {c.phone: c for c in run.contacts}
    for i in LATE:
        contact = by_phone[NUMBERS[i]]
        assert contact.status == "blocked", (i, contact.status)
        assert contact.attempts == 0
        assert not contact.dnc_flagged  # it was not on the list at import
    blocks = {e.contact_id for e in run.events if e.kind == "dnc_block"}
    assert {by_phone[NUMBERS[i]].id for i in LATE} <= blocks


def test_a_contact_waiting_for_a_retry_when_listed_ends_blocked(run: Run) -> None:
    by_phone = {c.phone: c for c in run.contacts}
    attempts = run.attempts_by_contact()
    waiting = []
    for i in EARLY:
        contact = by_phone[NUMBERS[i]]
        last = attempts[contact.id][-1]
        if last.status_after == "retry_queued":
            waiting.append(i)
            assert contact.status == "blocked", (i, contact.status)
        else:  # finished for good (answered, or out of attempts) before its next dial
            assert contact.status == last.status_after
    assert waiting, "no listed contact was waiting for a retry: the test proves little"


def test_the_rest_of_the_campaign_goes_on_and_completes(run: Run) -> None:
    assert run.campaign.status == "completed"
    assert run.report["dnc_blocks"] == len(EARLY + LATE) - sum(
        1 for c in run.contacts
        if c.phone in {NUMBERS[i] for i in EARLY} and c.status != "blocked")
    unlisted = [c for c in run.contacts if c.phone not in run.dnc]
    assert all(c.attempts >= 1 for c in unlisted)
