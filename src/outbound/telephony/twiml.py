"""Twilio's half of a call that is not REST: the webhook URLs we give Twilio, the TwiML we
answer with, and what Twilio's reports mean as the port's events.

Pure functions and records, shared by the adapter (`telephony/twilio.py`) and the webhook
routes (`api/twilio_hooks.py`); only the SDK's TwiML builder is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from outbound.domain.contacts import Outcome
from outbound.telephony.port import AgentEndpoint, CallEvent, EventKind, Leg, MenuPrompt
from outbound.telephony.settings import TwilioProvider

API_BASE = "https://api.twilio.com"
HOLD_SECONDS = 30  # an answered customer waits in silence this long for the engine's TwiML
THANKS = "Thank you. Goodbye."
# SIP final responses → outcomes (the same table as the SIP trunk's).
_SIP_OUTCOMES = {
    486: Outcome.BUSY, 600: Outcome.BUSY,
    480: Outcome.NO_ANSWER, 408: Outcome.NO_ANSWER, 487: Outcome.NO_ANSWER,
    404: Outcome.INVALID_NUMBER, 484: Outcome.INVALID_NUMBER, 604: Outcome.INVALID_NUMBER,
    403: Outcome.REJECTED, 603: Outcome.REJECTED,
}
_MACHINE = ("machine", "fax")  # AnsweredBy prefixes that are no person


class HookKind(StrEnum):
    STATUS = "status"  # call progress: initiated, ringing, in-progress, and how it ended
    ANSWER = "answer"  # the call was answered: Twilio asks for its TwiML (the call's `url`)
    GATHER = "gather"  # the digit pressed during a voice menu or the abandon message
    RECORDING = "recording"  # a call's recording is ready to fetch


@dataclass(frozen=True, slots=True)
class Webhook:
    """One request of Twilio's to this server, its signature already checked."""

    kind: HookKind
    attempt_id: int
    leg: Leg
    params: Mapping[str, str]


def hook_url(callback_url: str, account_id: int, kind: HookKind, attempt_id: int,
             leg: Leg) -> str:
    """Where Twilio reaches this server about one call leg: what it signs and we check."""
    return f"{callback_url.rstrip('/')}/twilio/{account_id}/{kind.value}/{attempt_id}/{leg.value}"


def recordings_prefix(config: TwilioProvider) -> str:
    """Every recording of the account lives under this URL, and only those are ever fetched
    (with the account's credentials) or stored."""
    base = (config.api_url or API_BASE).rstrip("/")
    return f"{base}/2010-04-01/Accounts/{config.account_sid}/Recordings/"


def client_identity(name: str) -> str:
    """An agent's name as a Twilio Client identity (letters, digits and underscores)."""
    return "".join(c if c.isalnum() else "_" for c in name)


def room(account_id: int, attempt_id: int) -> str:
    """The conference that joins an agent-first attempt's two legs."""
    return f"outbound-{account_id}-{attempt_id}"


# -- TwiML ---------------------------------------------------------------------------------


def answer_twiml(account_id: int, attempt_id: int, leg: Leg, answered_by: str | None) -> str:
    """What an answered leg does until the engine decides: the agent (agent-first) waits in
    the attempt's conference; the customer holds in silence for the bridge or the menu."""
    response = VoiceResponse()
    if answered_by and answered_by.startswith(_MACHINE):
        response.hangup()
    elif leg is Leg.AGENT:
        dial = Dial()
        dial.conference(room(account_id, attempt_id), start_conference_on_enter=True,
                        end_conference_on_exit=True, beep=False, wait_url="")
        response.append(dial)
    else:
        response.pause(length=HOLD_SECONDS)
        response.hangup()
    return str(response)


def bridge_twiml(account_id: int, attempt_id: int, agent: AgentEndpoint,
                 agent_leg: bool) -> str:
    """Join the customer to the agent: the agent-first conference, or a <Dial> to the agent's
    SIP URI, number or client (in that order, as the engine's agent-first leg picks)."""
    response = VoiceResponse()
    dial = Dial()
    if agent_leg:
        dial.conference(room(account_id, attempt_id), start_conference_on_enter=True,
                        end_conference_on_exit=True, beep=False)
    elif agent.sip_uri:
        dial.sip(agent.sip_uri)
    elif agent.phone:
        dial.number(agent.phone)
    else:
        dial.client(client_identity(agent.name))
    response.append(dial)
    return str(response)


def menu_twiml(action: str, menu: MenuPrompt) -> str:
    """The prompt inside a one-digit <Gather> whose digit is posted to `action`."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=action, method="POST", timeout=5)
    gather.say(menu.prompt)
    response.append(gather)
    response.say(THANKS)
    response.hangup()
    return str(response)


def abandon_twiml(action: str, message: str) -> str:
    """The abandon message inside a one-digit <Gather> whose digit (a 9 opts out) is posted
    to `action`, then <Hangup/>: said whether or not a digit comes."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=action, method="POST", timeout=1)
    gather.say(message)
    response.append(gather)
    response.hangup()
    return str(response)


def goodbye_twiml(message: str = THANKS) -> str:
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response)


def empty_twiml() -> str:
    return str(VoiceResponse())


# -- what Twilio reports, as the port's events ------------------------------------------------


def outcome_of(status: str, sip_code: int | None, answered_by: str | None
               ) -> tuple[Outcome, int | None]:
    """A final CallStatus (and the SipResponseCode Twilio gave) as an outcome and a SIP code."""
    if status == "completed":
        if answered_by and answered_by.startswith(_MACHINE):
            return Outcome.NO_ANSWER, sip_code or 200  # a machine: try the person again later
        return Outcome.COMPLETED, sip_code or 200
    if status == "busy":
        return Outcome.BUSY, sip_code or 486
    if status == "no-answer":
        return Outcome.NO_ANSWER, sip_code or 480
    if status == "canceled":  # we gave up first (ring timeout, hang-up before the answer)
        return Outcome.NO_ANSWER, sip_code or 487
    if sip_code is not None and sip_code in _SIP_OUTCOMES:
        return _SIP_OUTCOMES[sip_code], sip_code
    return Outcome.PROVIDER_ERROR, sip_code


FINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def events_for(hook: Webhook, call_id: str, at: float, *, machine_detection: bool,
               recording_prefix: str) -> list[CallEvent]:
    """The port's events one webhook means (most mean one, some none)."""
    params = hook.params

    def event(kind: EventKind, **extra: Any) -> CallEvent:
        return CallEvent(hook.attempt_id, hook.leg, call_id, kind, at, **extra)

    if hook.kind is HookKind.ANSWER:
        answered_by = params.get("AnsweredBy")
        if answered_by and answered_by.startswith(_MACHINE):
            return []
        return [event(EventKind.ANSWERED)]
    if hook.kind is HookKind.GATHER:
        digit = (params.get("Digits") or "")[:1]
        return [event(EventKind.DIGIT, digit=digit)] if digit and digit in "0123456789*#" else []
    if hook.kind is not HookKind.STATUS:
        return []
    status = params.get("CallStatus", "")
    if status == "ringing":
        return [event(EventKind.RINGING)]
    if status == "in-progress":
        # With machine detection the answer counts once Twilio knows who answered: the
        # call's TwiML request (HookKind.ANSWER) carries AnsweredBy.
        return [] if machine_detection else [event(EventKind.ANSWERED)]
    if status not in FINAL_STATUSES:
        return []
    outcome, sip = outcome_of(status, _int(params.get("SipResponseCode")),
                              params.get("AnsweredBy"))
    duration = _int(params.get("CallDuration")) if status == "completed" else None
    recording = params.get("RecordingUrl") or None
    if recording is not None and not recording.startswith(recording_prefix):
        recording = None
    return [event(EventKind.COMPLETED, outcome=outcome, sip_code=sip,
                  duration=float(duration) if duration is not None else None,
                  recording=recording)]
