"""The Provider port: a handful of requests out, a stream of call events back.

`originate` returns at once with the provider's call id; `ringing`, `answered`, `digit` and
`completed` arrive later through the event sink the provider was built with. Every adapter
turns its vendor's failures into `outbound.domain.errors.ProviderError` at this edge.

An answered call that found no agent is not hung up but `abandon`ed: the adapter says the
safe-harbour message the engine resolved for its campaign, reports a digit pressed meanwhile
(a 9 opts the number out), then ends the call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from outbound.domain.contacts import Outcome


class Leg(StrEnum):
    CUSTOMER = "customer"  # the call to the contact
    AGENT = "agent"  # agent-first: the call to the agent, placed before the customer's


class EventKind(StrEnum):
    RINGING = "ringing"  # the far end is alerting
    ANSWERED = "answered"  # the far end picked up
    DIGIT = "digit"  # a DTMF digit was pressed during a voice menu or the abandon message
    COMPLETED = "completed"  # the call ended; carries its outcome
    # The network would not place the call for load (Twilio 429/20429 or a 5xx on create; no
    # free call slot in the SIP stack): nothing was dialed. The engine slows the campaign and
    # queues the contact again after `retry_after` without charging an attempt. (A SIP 503
    # final response is a completed provider_error, which slows the campaign too.)
    REFUSED = "refused"


class HangupReason(StrEnum):
    NORMAL = "normal"  # we are done with the call (an abandoned call is `abandon`ed instead)


@dataclass(frozen=True, slots=True)
class AgentEndpoint:
    """Where an agent is reached, and who it is (for the simulator's handle times)."""

    agent_id: int
    name: str
    department: str | None
    phone: str | None
    sip_uri: str | None


@dataclass(frozen=True, slots=True)
class OriginateRequest:
    attempt_id: int  # our idempotency key: the same attempt never becomes two calls
    leg: Leg
    to: str  # E.164 for a customer; the agent's address for an agent leg
    caller_id: str  # E.164 from the rotation
    record: bool
    ring_timeout: float = 30.0  # seconds before giving up on an unanswered call (CANCEL)


@dataclass(frozen=True, slots=True)
class MenuPrompt:
    """A voice menu: the prompt text and the digits it accepts."""

    prompt: str
    options: dict[str, str]


@dataclass(frozen=True, slots=True)
class CallEvent:
    """Something that happened to a call, as the provider reports it."""

    attempt_id: int  # the attempt the call belongs to (echoed from OriginateRequest)
    leg: Leg
    call_id: str
    kind: EventKind
    at: float  # when it happened, POSIX seconds
    outcome: Outcome | None = None  # completed only
    sip_code: int | None = None  # completed only, when the network gave one
    duration: float | None = None  # completed only: seconds talked after the answer
    recording: str | None = None  # completed only: path or URL of the recording
    digit: str | None = None  # digit only
    retry_after: float | None = None  # refused only: seconds the network asked us to wait


EventSink = Callable[[CallEvent], None]


class Provider(Protocol):
    # The carrier's limit on call starts per second for the whole account (all its campaigns
    # together), or None when it has none.
    calls_per_second: float | None

    def originate(self, request: OriginateRequest) -> str:
        """Place a call; returns the provider's call id at once."""
        ...

    def bridge(self, call_id: str, agent: AgentEndpoint, agent_call_id: str | None) -> None:
        """Join an answered call to an agent: dial the agent, or join its existing leg."""
        ...

    def play_menu(self, call_id: str, menu: MenuPrompt) -> None:
        """Play a voice menu on an answered call and report the digit pressed."""
        ...

    def hangup(self, call_id: str, reason: HangupReason) -> None:
        """End a call at once."""
        ...

    def abandon(self, call_id: str, message: str) -> None:
        """An answered call found no agent in time: say `message` (the campaign's
        safe-harbour text) at once, report a digit pressed while it plays as a DIGIT event,
        then hang up. The call's end is reported as usual; the engine counts it abandoned."""
        ...
