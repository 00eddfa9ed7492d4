"""What Twilio's reports mean to Outbound, and the TwiML Outbound answers with."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from outbound.domain.contacts import Outcome
from outbound.telephony.port import AgentEndpoint, EventKind, Leg, MenuPrompt
from outbound.telephony.settings import TwilioProvider
from outbound.telephony.twilio import retry_after
from outbound.telephony.twiml import (
    HookKind,
    Webhook,
    abandon_twiml,
    answer_twiml,
    bridge_twiml,
    events_for,
    goodbye_twiml,
    hook_url,
    menu_twiml,
    outcome_of,
    recordings_prefix,
)

PREFIX = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/"


@pytest.mark.parametrize(("status", "sip", "expected"), [
    ("completed", None, (Outcome.COMPLETED, 200)),
    ("busy", None, (Outcome.BUSY, 486)),
    ("no-answer", None, (Outcome.NO_ANSWER, 480)),
    ("canceled", None, (Outcome.NO_ANSWER, 487)),
    ("failed", 404, (Outcome.INVALID_NUMBER, 404)),
    ("failed", 484, (Outcome.INVALID_NUMBER, 484)),
    ("failed", 604, (Outcome.INVALID_NUMBER, 604)),
    ("failed", 403, (Outcome.REJECTED, 403)),
    ("failed", 603, (Outcome.REJECTED, 603)),
    ("failed", 486, (Outcome.BUSY, 486)),
    ("failed", 600, (Outcome.BUSY, 600)),
    ("failed", 480, (Outcome.NO_ANSWER, 480)),
    ("failed", 408, (Outcome.NO_ANSWER, 408)),
    ("failed", 500, (Outcome.PROVIDER_ERROR, 500)),
    ("failed", 503, (Outcome.PROVIDER_ERROR, 503)),
    ("failed", None, (Outcome.PROVIDER_ERROR, None)),
])
def test_twilio_statuses_and_sip_codes_map_to_outcomes(status: str, sip: int | None,
                                                        expected: tuple[Outcome, int]) -> None:
    assert outcome_of(status, sip, None) == expected


def test_a_machine_that_answered_is_tried_again_later() -> None:
    assert outcome_of("completed", 200, "machine_start")[0] is Outcome.NO_ANSWER
    assert outcome_of("completed", 200, "human")[0] is Outcome.COMPLETED


def _events(kind: HookKind, machine_detection: bool = False, **params: str) -> list[tuple]:
    hook = Webhook(kind, 9, Leg.CUSTOMER, params)
    return [(e.kind, e.outcome, e.sip_code, e.duration, e.recording, e.digit)
            for e in events_for(hook, "CA1", 100.0, machine_detection=machine_detection,
                                recording_prefix=PREFIX)]


def test_status_callbacks_become_the_ports_events() -> None:
    assert _events(HookKind.STATUS, CallStatus="initiated") == []
    assert _events(HookKind.STATUS, CallStatus="ringing") == [
        (EventKind.RINGING, None, None, None, None, None)]
    assert _events(HookKind.STATUS, CallStatus="in-progress") == [
        (EventKind.ANSWERED, None, None, None, None, None)]
    assert _events(HookKind.STATUS, CallStatus="completed", CallDuration="42",
                   SipResponseCode="200", RecordingUrl=PREFIX + "RE1") == [
        (EventKind.COMPLETED, Outcome.COMPLETED, 200, 42.0, PREFIX + "RE1", None)]


def test_a_recording_url_outside_the_accounts_recordings_is_not_kept() -> None:
    [event] = _events(HookKind.STATUS, CallStatus="completed",
                      RecordingUrl="https://elsewhere.example/RE1")
    assert event[4] is None


def test_with_machine_detection_the_answer_waits_for_who_answered() -> None:
    assert _events(HookKind.STATUS, machine_detection=True, CallStatus="in-progress") == []
    assert _events(HookKind.ANSWER, machine_detection=True, AnsweredBy="human")[0][0] is (
        EventKind.ANSWERED)
    assert _events(HookKind.ANSWER, machine_detection=True, AnsweredBy="machine_start") == []


def test_a_gathered_digit_is_one_dtmf_key() -> None:
    assert _events(HookKind.GATHER, Digits="1")[0][5] == "1"
    assert _events(HookKind.GATHER, Digits="") == []
    assert _events(HookKind.GATHER, Digits="x") == []


@pytest.mark.parametrize(("value", "seconds"), [
    (None, 1.0), ("", 1.0), ("3", 3.0), ("0.5", 0.5), ("-4", 0.0), ("100000", 300.0),
    ("nonsense", 1.0), ("Thu, 01 Jan 1970 00:00:10 GMT", 6.0),
])
def test_retry_after_is_read_as_seconds_or_a_date(value: str | None, seconds: float) -> None:
    assert retry_after(value, now=4.0) == seconds


def test_hook_urls_and_the_recordings_prefix() -> None:
    assert hook_url("https://dialer.example/base/", 3, HookKind.STATUS, 12, Leg.AGENT) == (
        "https://dialer.example/base/twilio/3/status/12/agent")
    config = TwilioProvider(kind="twilio", account_sid="AC" + "0" * 32, auth_token="x" * 8,
                            callback_url="https://dialer.example", api_url="http://127.0.0.1:9/")
    assert recordings_prefix(config) == (
        f"http://127.0.0.1:9/2010-04-01/Accounts/AC{'0' * 32}/Recordings/")


def _verbs(twiml: str) -> list[str]:
    return [el.tag for el in ET.fromstring(twiml).iter()][1:]


def test_twiml_for_each_moment_of_a_call() -> None:
    assert _verbs(answer_twiml(1, 2, Leg.CUSTOMER, None)) == ["Pause", "Hangup"]
    assert _verbs(answer_twiml(1, 2, Leg.CUSTOMER, "fax")) == ["Hangup"]
    agent_leg = ET.fromstring(answer_twiml(1, 2, Leg.AGENT, None))
    assert agent_leg.find("Dial/Conference").text == "outbound-1-2"
    ann = AgentEndpoint(1, "Ann Lee", "Sales", "+14155550901", None)
    assert ET.fromstring(bridge_twiml(1, 2, ann, False)).find("Dial/Number").text == (
        "+14155550901")
    sip = AgentEndpoint(1, "Bob", "Sales", "+14155550902", "sip:bob@example.com")
    assert ET.fromstring(bridge_twiml(1, 2, sip, False)).find("Dial/Sip").text == (
        "sip:bob@example.com")
    client = AgentEndpoint(1, "Ann Lee", None, None, None)
    assert ET.fromstring(bridge_twiml(1, 2, client, False)).find("Dial/Client").text == (
        "Ann_Lee")
    assert ET.fromstring(bridge_twiml(1, 2, ann, True)).find("Dial/Conference").text == (
        "outbound-1-2")
    menu = ET.fromstring(menu_twiml("https://x/gather", MenuPrompt("Press 1 & go", {"1": "a"})))
    gather = menu.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action") == "https://x/gather"
    assert gather.find("Say").text == "Press 1 & go"
    goodbye = ET.fromstring(goodbye_twiml())
    assert [el.tag for el in goodbye] == ["Say", "Hangup"]
    abandon = ET.fromstring(abandon_twiml("https://x/gather", "Acme here & sorry. Press 9."))
    assert [el.tag for el in abandon] == ["Gather", "Hangup"]
    gather = abandon.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action") == "https://x/gather"
    assert gather.find("Say").text == "Acme here & sorry. Press 9."
