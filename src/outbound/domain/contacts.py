"""Contact states, call outcomes and the retry policy that links them.

    pending ─claim─▶ dialing ─▶ ringing ─▶ answered ─▶ completed
                       │  (DNC at claim) ─▶ blocked
       retryable outcome, attempts left ─▶ retry_queued ─(backoff)─▶ dialing
       retryable outcome, none left, or a final outcome ─▶ failed
       customer-first answer with no agent in time ─▶ abandoned
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ContactStatus(StrEnum):
    PENDING = "pending"  # not dialed yet
    DIALING = "dialing"  # a call is being placed
    RINGING = "ringing"  # the phone rings
    ANSWERED = "answered"  # the contact picked up; bridging or talking
    COMPLETED = "completed"  # the call finished successfully
    FAILED = "failed"  # a final outcome, or every attempt used up
    RETRY_QUEUED = "retry_queued"  # waits for its backoff before the next attempt
    BLOCKED = "blocked"  # on the do-not-call list when its dial came up; never called
    ABANDONED = "abandoned"  # answered, but no agent was free within the agent grace (2 s)

    @property
    def in_flight(self) -> bool:
        return self in IN_FLIGHT

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


IN_FLIGHT = frozenset({ContactStatus.DIALING, ContactStatus.RINGING, ContactStatus.ANSWERED})
WAITING = frozenset({ContactStatus.PENDING, ContactStatus.RETRY_QUEUED})
TERMINAL = frozenset(
    {
        ContactStatus.COMPLETED,
        ContactStatus.FAILED,
        ContactStatus.BLOCKED,
        ContactStatus.ABANDONED,
    }
)


class Outcome(StrEnum):
    COMPLETED = "completed"  # answered and finished normally
    NO_ANSWER = "no_answer"  # rang out (retryable)
    BUSY = "busy"  # line busy (retryable)
    PROVIDER_ERROR = "provider_error"  # the network failed the call (retryable)
    UNKNOWN = "unknown"  # the call's fate was lost, e.g. a crash; reset by the sweeper (retryable)
    INVALID_NUMBER = "invalid_number"  # the number does not exist (final)
    REJECTED = "rejected"  # the callee or carrier declined (final)
    ABANDONED = "abandoned"  # answered, no agent in time; we hung up (final)

    @property
    def retryable(self) -> bool:
        return self in RETRYABLE


RETRYABLE = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.PROVIDER_ERROR, Outcome.UNKNOWN})

# Contact transitions the state machine allows (from → to), used by the store's guards and
# by the property tests.
ALLOWED: frozenset[tuple[ContactStatus, ContactStatus]] = frozenset(
    {(w, ContactStatus.DIALING) for w in WAITING}
    | {(w, ContactStatus.BLOCKED) for w in WAITING}
    | {
        (ContactStatus.DIALING, ContactStatus.RINGING),
        (ContactStatus.DIALING, ContactStatus.ANSWERED),
        (ContactStatus.RINGING, ContactStatus.ANSWERED),
    }
    | {
        (f, t)
        for f in IN_FLIGHT
        for t in (ContactStatus.RETRY_QUEUED, ContactStatus.FAILED, ContactStatus.COMPLETED)
    }
    | {(ContactStatus.ANSWERED, ContactStatus.ABANDONED)}
)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Wait before a retry: `seconds` after the first attempt ends, times `multiplier` for
    every further attempt."""

    seconds: float = 0.0
    multiplier: float = 1.0

    def delay(self, attempts_made: int) -> float:
        """Seconds to wait after attempt number `attempts_made` (counting from 1) ended."""
        return self.seconds * self.multiplier ** max(0, attempts_made - 1)


@dataclass(frozen=True, slots=True)
class AfterCall:
    """What becomes of a contact once a call attempt ends."""

    status: ContactStatus  # the contact's status from now on
    due_at: float | None  # when it may be dialed again (retry_queued only)


def after_call(
    outcome: Outcome, attempts_made: int, max_attempts: int, backoff: Backoff, ended_at: float
) -> AfterCall:
    """The retry policy: retryable outcomes retry after the backoff while attempts remain."""
    if outcome is Outcome.COMPLETED:
        return AfterCall(ContactStatus.COMPLETED, None)
    if outcome is Outcome.ABANDONED:
        return AfterCall(ContactStatus.ABANDONED, None)
    if outcome.retryable and attempts_made < max_attempts:
        return AfterCall(ContactStatus.RETRY_QUEUED, ended_at + backoff.delay(attempts_made))
    return AfterCall(ContactStatus.FAILED, None)
