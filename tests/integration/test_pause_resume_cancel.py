"""Pause stops new dials while calls in flight finish; resume continues in list order; cancel
is terminal. Scripted with [[events]] in a scenario, run on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from scenario_runs import Run, posix, run_scenario, small_scenario

from outbound.domain.contacts import ContactStatus

PAUSE = "2026-03-02T09:00:20-05:00"
RESUME = "2026-03-02T09:01:30-05:00"
CANCEL = "2026-03-02T09:00:25-05:00"


@pytest.fixture(scope="module")
def paused_run(store_kind: str, empty_store: Any, scenario_files: Any,
               tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("pause")
    scenario = small_scenario(
        contacts={"generate": 100},
        # Retries come due during the pause (backoff 30 s): they must wait for the resume too.
        campaign={"backoff_seconds": 30},
        events=[{"at": PAUSE, "action": "pause"}, {"at": RESUME, "action": "resume"}],
    )
    url = empty_store(store_kind, directory)
    return run_scenario(scenario_files(directory, scenario), directory / "out", url)


def test_no_dial_starts_while_the_campaign_is_paused(paused_run: Run) -> None:
    pause, resume = posix(PAUSE), posix(RESUME)
    during = [a.id for a in paused_run.attempts if pause <= a.started_at < resume]
    assert not during
    assert any(a.started_at < pause for a in paused_run.attempts)
    assert any(a.started_at >= resume for a in paused_run.attempts)
    assert paused_run.event_times("paused") == [pause]
    assert paused_run.event_times("running") == [resume]
    assert not paused_run.event_times("script_skipped")


def test_calls_in_flight_at_the_pause_still_finish_normally(paused_run: Run) -> None:
    pause = posix(PAUSE)
    in_flight = [a for a in paused_run.attempts if a.started_at < pause < a.ended_at]
    assert len(in_flight) >= 3, "the pause caught no call in flight: the test proves little"
    for attempt in in_flight:
        assert attempt.outcome != "unknown", attempt
        assert attempt.sip_code is not None, attempt
    # Answered calls kept talking through the pause.
    assert any(a.answered_at is not None and a.ended_at > pause for a in in_flight)


def test_a_retry_due_during_the_pause_waits_for_the_resume(paused_run: Run) -> None:
    pause, resume = posix(PAUSE), posix(RESUME)
    by_contact = paused_run.attempts_by_contact()
    delayed = 0
    for attempts in by_contact.values():
        for previous, attempt in itertools.pairwise(attempts):
            due = previous.ended_at + 30
            if pause <= due < resume:
                assert attempt.started_at >= resume
                delayed += 1
    assert delayed, "no retry came due during the pause: the test proves little"


def test_pending_contacts_are_first_dialed_in_list_order_across_the_pause(
        paused_run: Run) -> None:
    firsts = sorted((a for a in paused_run.attempts if a.attempt == 1),
                    key=lambda a: (a.started_at, a.id))
    position = {c.id: c.position for c in paused_run.contacts}
    order = [position[a.contact_id] for a in firsts]
    assert order == sorted(order)
    resume = posix(RESUME)
    assert any(a.started_at >= resume for a in firsts), "every contact was dialed before the pause"


def test_the_paused_campaign_completes_after_the_resume(paused_run: Run) -> None:
    assert paused_run.campaign.status == "completed"
    assert all(ContactStatus(c.status).terminal for c in paused_run.contacts)


@pytest.fixture(scope="module")
def cancelled_run(store_kind: str, empty_store: Any, scenario_files: Any,
                  tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("cancel")
    scenario = small_scenario(contacts={"generate": 100},
                              events=[{"at": CANCEL, "action": "cancel"}])
    url = empty_store(store_kind, directory)
    return run_scenario(scenario_files(directory, scenario), directory / "out", url)


def test_a_cancelled_campaign_dials_nothing_more_and_lets_calls_in_flight_finish(
        cancelled_run: Run) -> None:
    cancel = posix(CANCEL)
    assert cancelled_run.campaign.status == "cancelled"
    assert cancelled_run.campaign.finished_at == cancel
    assert all(a.started_at < cancel for a in cancelled_run.attempts)
    in_flight = [a for a in cancelled_run.attempts if a.ended_at > cancel]
    assert in_flight
    assert all(a.outcome != "unknown" for a in in_flight)
    assert not [c for c in cancelled_run.contacts if ContactStatus(c.status).in_flight]
    # The contacts never reached stay pending: cancel ends the campaign, not the contacts.
    assert any(c.status == "pending" for c in cancelled_run.contacts)
