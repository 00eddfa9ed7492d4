"""The safe-harbour message's rules (which text a campaign's abandoned calls hear, when a
campaign cannot start for want of one, the account's setting) and the simulated network's
side of it: it says the text, presses 9 when its profile says so, and hangs up on silence."""

from __future__ import annotations

from typing import Any

import pytest

from outbound.clock import VirtualClock
from outbound.domain.contacts import Outcome
from outbound.domain.errors import InvalidInput
from outbound.domain.settings import (
    ABANDON_MESSAGE_MAX,
    OPT_OUT_DIGIT,
    CampaignSettings,
    abandon_message,
    account_abandon_message,
    default_abandon_message,
)
from outbound.telephony.port import CallEvent, EventKind, Leg, OriginateRequest
from outbound.telephony.sim import NetworkProfile, SimulatedNetwork

POOL = ["+14155550100", "+14155550101"]


def settings(**changes: Any) -> CampaignSettings:
    return CampaignSettings.parse({"name": "Spring", "numbers": POOL,
                                   "transfer": {"department": "Sales"}} | changes, "US")


def test_the_campaigns_message_wins_then_the_accounts_then_the_default() -> None:
    own = settings(abandon_message="Spring sale. Press 9 to stop.")
    assert abandon_message(own, "Acme's own.", "Acme") == "Spring sale. Press 9 to stop."
    assert abandon_message(settings(), "Acme's  own.", "Acme") == "Acme's own."
    default = abandon_message(settings(), None, "Acme")
    assert default == default_abandon_message("Acme", POOL[0])
    assert "Acme" in default and POOL[0] in default and f"press {OPT_OUT_DIGIT}" in default


def test_a_customer_first_campaign_with_an_empty_message_lacks_abandon_message() -> None:
    empty = abandon_message(settings(), "", "Acme")
    assert empty == ""
    assert any("abandon_message" in m for m in settings().missing_to_start(empty))
    assert settings(dial_mode="agent-first").missing_to_start(empty) == []
    assert settings().missing_to_start("Hello.") == []
    assert settings().missing_to_start() == []  # not known: not checked


@pytest.mark.parametrize(("given", "kept"), [
    (None, None), ("", ""), ("   ", ""),
    ("  Acme:\n call 415 555 0100.  ", "Acme: call 415 555 0100."),
    ("x" * ABANDON_MESSAGE_MAX, "x" * ABANDON_MESSAGE_MAX),
])
def test_an_accounts_message_keeps_empty_text_as_none_wanted(given: Any, kept: Any) -> None:
    assert account_abandon_message(given) == kept


@pytest.mark.parametrize("given", ["x" * (ABANDON_MESSAGE_MAX + 1), 42, ["a"]])
def test_an_accounts_message_over_500_characters_or_not_text_is_refused(given: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        account_abandon_message(given)
    assert refused.value.field == "abandon_message"
    assert str(ABANDON_MESSAGE_MAX) in refused.value.message


# -- the simulated network ------------------------------------------------------------------

ALWAYS_ANSWERS = {"answer": 1.0, "busy": 0.0, "no_answer": 0.0, "invalid": 0.0,
                  "rejected": 0.0, "provider_error": 0.0, "ring_seconds": [2, 2],
                  "talk_seconds": [5, 5]}


def answered_call(**network: Any) -> tuple[SimulatedNetwork, VirtualClock, list[CallEvent],
                                           str]:
    clock = VirtualClock(1_000_000.0)
    events: list[CallEvent] = []
    sim = SimulatedNetwork(clock, NetworkProfile.parse(ALWAYS_ANSWERS | network),
                           events.append, seed=3)
    call_id = sim.originate(OriginateRequest(7, Leg.CUSTOMER, "+14155552000", POOL[0],
                                             record=False))
    while not any(e.kind is EventKind.ANSWERED for e in events):
        assert clock.run_next()
    return sim, clock, events, call_id


def run_out(clock: VirtualClock) -> None:
    while clock.run_next():
        pass


@pytest.mark.parametrize(("opt_out", "digits"), [(0.0, []), (1.0, [OPT_OUT_DIGIT])])
def test_the_simulator_says_the_message_then_ends_the_call_abandoned(
        opt_out: float, digits: list[str]) -> None:
    sim, clock, events, call_id = answered_call(opt_out=opt_out)
    said_at = clock.now()
    sim.abandon(call_id, "Acme here. Press 9 to stop.")
    run_out(clock)
    assert [(p.attempt_id, p.call_id, p.text, p.at) for p in sim.played] == [
        (7, call_id, "Acme here. Press 9 to stop.", said_at)]
    pressed = [e for e in events if e.kind is EventKind.DIGIT]
    assert [e.digit for e in pressed] == digits
    (end,) = [e for e in events if e.kind is EventKind.COMPLETED]
    assert end.outcome is Outcome.ABANDONED
    assert all(e.at < end.at for e in pressed)  # pressed while the message played


def test_a_customer_hears_silence_for_their_patience_then_hangs_up() -> None:
    sim, clock, events, _ = answered_call(patience=1.5)
    answered = clock.now()
    run_out(clock)
    (end,) = [e for e in events if e.kind is EventKind.COMPLETED]
    assert end.at == pytest.approx(answered + 1.5)
    assert not sim.played


@pytest.mark.parametrize(("key", "value"), [("opt_out", 1.5), ("patience", 0),
                                            ("patience", "long")])
def test_a_bad_opt_out_share_or_patience_is_refused_naming_it(key: str, value: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        NetworkProfile.parse({key: value})
    assert refused.value.field == key
