"""The retry policy: what becomes of a contact after each call outcome, and the backoff."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.domain.contacts import (
    ALLOWED,
    AfterCall,
    Backoff,
    ContactStatus,
    Outcome,
    after_call,
)

C, Out = ContactStatus, Outcome

RETRYABLE = [Out.NO_ANSWER, Out.BUSY, Out.PROVIDER_ERROR, Out.UNKNOWN]
FINAL_FAILURES = [Out.INVALID_NUMBER, Out.REJECTED]


def test_exactly_the_documented_outcomes_are_retryable() -> None:
    assert {o for o in Out if o.retryable} == set(RETRYABLE)


@pytest.mark.parametrize("outcome", RETRYABLE)
def test_a_retryable_outcome_queues_a_retry_after_the_backoff_while_attempts_remain(
    outcome: Outcome,
) -> None:
    backoff = Backoff(seconds=60, multiplier=2)

    assert after_call(outcome, 1, 3, backoff, ended_at=1000.0) == AfterCall(
        C.RETRY_QUEUED, 1060.0
    )
    assert after_call(outcome, 2, 3, backoff, ended_at=5000.0) == AfterCall(
        C.RETRY_QUEUED, 5120.0
    )


@pytest.mark.parametrize("outcome", RETRYABLE)
def test_a_retryable_outcome_on_the_last_attempt_fails_the_contact(outcome: Outcome) -> None:
    assert after_call(outcome, 3, 3, Backoff(60, 2), ended_at=1000.0) == AfterCall(
        C.FAILED, None
    )


@pytest.mark.parametrize("outcome", RETRYABLE)
def test_a_single_attempt_campaign_never_retries(outcome: Outcome) -> None:
    assert after_call(outcome, 1, 1, Backoff(60), ended_at=0.0).status is C.FAILED


@pytest.mark.parametrize("outcome", FINAL_FAILURES)
def test_an_invalid_or_rejected_number_fails_at_once_even_with_attempts_left(
    outcome: Outcome,
) -> None:
    assert after_call(outcome, 1, 5, Backoff(60), ended_at=0.0) == AfterCall(C.FAILED, None)


@pytest.mark.parametrize("attempts_made", [1, 3])
def test_a_completed_call_completes_the_contact(attempts_made: int) -> None:
    assert after_call(Out.COMPLETED, attempts_made, 3, Backoff(60), 0.0) == AfterCall(
        C.COMPLETED, None
    )


@pytest.mark.parametrize("attempts_made", [1, 3])
def test_an_abandoned_call_marks_the_contact_abandoned_and_never_retries(
    attempts_made: int,
) -> None:
    assert after_call(Out.ABANDONED, attempts_made, 3, Backoff(60), 0.0) == AfterCall(
        C.ABANDONED, None
    )


def test_the_backoff_multiplier_applies_once_per_further_attempt() -> None:
    backoff = Backoff(seconds=30, multiplier=3)

    assert [backoff.delay(n) for n in (1, 2, 3, 4)] == [30, 90, 270, 810]


def test_without_a_multiplier_every_retry_waits_the_same() -> None:
    assert {Backoff(seconds=45).delay(n) for n in range(1, 6)} == {45}


def test_the_default_backoff_retries_as_soon_as_the_call_ends() -> None:
    assert after_call(Out.BUSY, 1, 2, Backoff(), ended_at=77.5) == AfterCall(C.RETRY_QUEUED, 77.5)


def test_the_backoff_grows_from_the_attempt_that_just_ended() -> None:
    backoff = Backoff(seconds=10, multiplier=2)

    dues = [after_call(Out.NO_ANSWER, n, 5, backoff, ended_at=0.0).due_at for n in (1, 2, 3, 4)]

    assert dues == [10, 20, 40, 80]


def test_no_final_contact_status_has_a_way_out() -> None:
    assert not {(f, t) for (f, t) in ALLOWED if f.terminal}


def test_only_a_waiting_contact_can_be_blocked_by_the_do_not_call_list() -> None:
    assert {f for (f, t) in ALLOWED if t is C.BLOCKED} == {C.PENDING, C.RETRY_QUEUED}


def test_only_an_answered_contact_can_be_abandoned() -> None:
    assert {f for (f, t) in ALLOWED if t is C.ABANDONED} == {C.ANSWERED}


# The in-flight path a call can take before it ends, by how it ended.
ANSWERED_PATHS = [[C.DIALING, C.ANSWERED], [C.DIALING, C.RINGING, C.ANSWERED]]
ANY_PATHS = [[C.DIALING], [C.DIALING, C.RINGING], *ANSWERED_PATHS]


@st.composite
def calls(draw: st.DrawFn) -> tuple[Outcome, list[ContactStatus], float]:
    outcome = draw(st.sampled_from(Out))
    needs_answer = outcome in (Out.COMPLETED, Out.ABANDONED)
    path = draw(st.sampled_from(ANSWERED_PATHS if needs_answer else ANY_PATHS))
    duration = draw(st.floats(min_value=0.0, max_value=600.0))
    return outcome, path, duration


@settings(max_examples=150, deadline=None)
@given(
    max_attempts=st.integers(min_value=1, max_value=5),
    backoff=st.builds(
        Backoff,
        seconds=st.floats(min_value=0.0, max_value=86_400.0),
        multiplier=st.floats(min_value=1.0, max_value=10.0),
    ),
    history=st.lists(calls(), min_size=1, max_size=8),
)
def test_following_the_retry_policy_never_exceeds_attempts_or_leaves_the_state_machine(
    max_attempts: int, backoff: Backoff, history: list[tuple[Outcome, list[ContactStatus], float]]
) -> None:
    status, now = C.PENDING, 0.0
    for attempts, (outcome, path, duration) in enumerate(history, start=1):
        if status.terminal:
            break
        assert attempts <= max_attempts
        for step in path:
            assert (status, step) in ALLOWED
            status = step
        now += duration
        result = after_call(outcome, attempts, max_attempts, backoff, now)
        assert (status, result.status) in ALLOWED
        status = result.status
        if status is C.RETRY_QUEUED:
            assert result.due_at is not None and result.due_at >= now
            assert attempts < max_attempts
            now = result.due_at
        else:
            assert result.due_at is None
    if len(history) >= max_attempts:
        assert status.terminal
