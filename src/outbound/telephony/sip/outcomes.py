"""What the network said: the outcome of an unanswered SIP call from its final response.

Plain rules, no pjsua2: importable and testable where the SIP library is not installed.
"""

from __future__ import annotations

from outbound.domain.contacts import Outcome

_BUSY = frozenset({486, 600})
_NO_ANSWER = frozenset({408, 480})
_INVALID = frozenset({404, 484, 604})
_REJECTED = frozenset({403, 603})


def outcome_for(code: int) -> Outcome:
    """The outcome of a call the network ended with final response `code`, unanswered."""
    if code in _BUSY:
        return Outcome.BUSY
    if code in _NO_ANSWER:
        return Outcome.NO_ANSWER
    if code in _INVALID:
        return Outcome.INVALID_NUMBER
    if code in _REJECTED:
        return Outcome.REJECTED
    return Outcome.PROVIDER_ERROR
