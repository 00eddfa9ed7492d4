"""The SIP trunk adapter against SIPp: a carrier whose behaviour depends on the number dialed
and agents who answer, both on 127.0.0.1 ports of their own.

Each test builds the adapter on an event loop of its own, as the engine does, places calls
through the Provider port and reads back both sides: the events the adapter reported and the
steps SIPp logged for the same SIP Call-ID.
"""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from outbound.clock import RealClock
from outbound.domain.contacts import Outcome
from outbound.telephony.port import (
    AgentEndpoint,
    CallEvent,
    EventKind,
    HangupReason,
    Leg,
    MenuPrompt,
    OriginateRequest,
    Provider,
)
from outbound.telephony.prompts import APOLOGY, prompt_wav, wav_seconds
from outbound.telephony.registry import ProviderContext, build_provider
from sipp import peer
from sipp.peer import OPT_OUT_AREA, Peer, number

pytestmark = pytest.mark.skipif(peer.missing() is not None, reason=str(peer.missing()))

CALLER_ID = "+14155550100"
_attempts = iter(range(1000, 10**6))


@pytest.fixture(scope="module")
def carrier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    with peer.running("carrier", tmp_path_factory.mktemp("carrier")) as running:
        yield running


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    with peer.running("agents", tmp_path_factory.mktemp("agents")) as running:
        yield running


@dataclass
class Line:
    """A trunk built on a loop of its own, and every event it reported."""

    provider: Provider
    events: list[CallEvent] = field(default_factory=list)

    def of(self, call_id: str, kind: EventKind | None = None) -> list[CallEvent]:
        return [e for e in self.events
                if e.call_id == call_id and (kind is None or e.kind is kind)]

    async def until(self, what: Callable[[], Any], timeout: float, why: str) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (value := what()):
            if loop.time() > deadline:
                pytest.fail(f"timed out after {timeout:g} s waiting for {why}; events: "
                            f"{[(e.call_id[:8], e.kind.value, e.outcome) for e in self.events]}")
            await asyncio.sleep(0.02)
        return value

    async def ended(self, call_id: str, timeout: float = 10) -> CallEvent:
        events = await self.until(lambda: self.of(call_id, EventKind.COMPLETED), timeout,
                                  f"call {call_id} to end")
        return events[0]  # type: ignore[no-any-return]

    async def answered(self, call_id: str, timeout: float = 10) -> None:
        await self.until(lambda: self.of(call_id, EventKind.ANSWERED), timeout,
                         f"call {call_id} to be answered")


def on_a_line(carrier: Peer, tmp_path: Path, script: Callable[[Line], Any],
              **settings: Any) -> None:
    """Build a SIP trunk to `carrier` on a fresh event loop and run `script(line)` there."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        line = Line(provider=None)  # type: ignore[arg-type]
        context = ProviderContext(1, RealClock(loop), line.events.append, tmp_path / "rec")
        line.provider = build_provider(context, {"kind": "sip", "proxy": carrier.proxy,
                                                 **settings})
        try:
            await script(line)
        finally:
            close = getattr(line.provider, "close", None)
            if close is not None:
                close()

    asyncio.run(main())


def customer(to: str, *, record: bool = False, ring_timeout: float = 15.0,
             attempt: int | None = None) -> OriginateRequest:
    return OriginateRequest(attempt or next(_attempts), Leg.CUSTOMER, to, CALLER_ID, record,
                            ring_timeout)


async def carrier_logged(carrier: Peer, call_id: str, line: Line) -> peer.Call:
    return await line.until(lambda: (c := carrier.calls().get(call_id)) and c.done and c, 5,
                            f"the carrier to log the end of {call_id}")  # type: ignore[no-any-return]


# -- final responses ------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "outcome", "code"), [
    ("busy", Outcome.BUSY, 486),
    ("busy_everywhere", Outcome.BUSY, 600),
    ("not_found", Outcome.INVALID_NUMBER, 404),
    ("decline", Outcome.REJECTED, 603),
    ("unavailable", Outcome.NO_ANSWER, 480),
    ("overloaded", Outcome.PROVIDER_ERROR, 503),
])
def test_a_final_response_ends_the_call_with_its_outcome_and_keeps_the_sip_code(
    carrier: Peer, tmp_path: Path, kind: str, outcome: Outcome, code: int,
) -> None:
    async def script(line: Line) -> None:
        call_id = line.provider.originate(customer(number(kind, 1)))
        done = await line.ended(call_id)
        assert (done.outcome, done.sip_code) == (outcome, code)
        assert done.duration is None and done.recording is None
        logged = await carrier_logged(carrier, call_id, line)
        assert logged.who == number(kind, 1)
        assert logged.last == str(code)

    on_a_line(carrier, tmp_path, script)


def test_a_call_still_ringing_at_the_ring_timeout_is_cancelled_as_no_answer(
    carrier: Peer, tmp_path: Path,
) -> None:
    async def script(line: Line) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        call_id = line.provider.originate(customer(number("ring", 1), ring_timeout=1.5))
        await line.until(lambda: line.of(call_id, EventKind.RINGING), 5, "ringing")
        done = await line.ended(call_id)
        assert 1.4 <= loop.time() - began < 4
        assert (done.outcome, done.sip_code) == (Outcome.NO_ANSWER, 487)
        assert [e.kind for e in line.of(call_id)] == [EventKind.RINGING, EventKind.COMPLETED]
        logged = await carrier_logged(carrier, call_id, line)
        assert logged.steps == ["invite", "487"]  # the carrier saw our CANCEL
        assert carrier.requests("CANCEL")

    on_a_line(carrier, tmp_path, script)


def test_the_invite_carries_the_caller_id_the_number_and_offers_session_timers(
    carrier: Peer, tmp_path: Path,
) -> None:
    async def script(line: Line) -> None:
        call_id = line.provider.originate(customer(number("busy", 7)))
        await line.ended(call_id)
        invite = next(r for r in carrier.requests("INVITE") if call_id in r)
        headers = dict(h.split(":", 1) for h in invite.splitlines()[1:] if ":" in h)
        assert invite.startswith(f"INVITE sip:{number('busy', 7)}@127.0.0.1:{carrier.port} ")
        assert f"<sip:{CALLER_ID}@" in headers["From"]
        assert f"<sip:{CALLER_ID}@" in headers["P-Asserted-Identity"]
        assert "timer" in headers["Supported"]
        assert int(headers["Session-Expires"]) >= 90

    on_a_line(carrier, tmp_path, script, p_asserted_identity=True)


def test_with_credentials_the_trunk_registers_and_answers_digest_challenges(
    tmp_path: Path,
) -> None:
    with peer.running("registrar", tmp_path / "registrar") as registrar:
        async def script(line: Line) -> None:
            await line.until(lambda: any(c.last == "register-ok"
                                         for c in registrar.calls().values()), 5,
                             "the REGISTER to be accepted")
            call_id = line.provider.originate(customer(number("busy", 3)))
            done = await line.ended(call_id)
            assert (done.outcome, done.sip_code) == (Outcome.BUSY, 486)
            steps = await line.until(lambda: (c := registrar.calls().get(call_id)) and c.done
                                     and c.steps, 5, "the registrar's log")
            assert steps == ["invite", "auth-ok", "486"]

        on_a_line(registrar, tmp_path, script, username="acme", password="s3cret-pass",
                  register=True, domain="127.0.0.1")


def test_over_tcp_the_same_outcomes_come_back(tmp_path: Path) -> None:
    with peer.running("carrier", tmp_path / "tcp", transport="tcp") as tcp:
        async def script(line: Line) -> None:
            busy = line.provider.originate(customer(number("decline", 5)))
            assert (await line.ended(busy)).outcome is Outcome.REJECTED
            answered = line.provider.originate(customer(number("short", 5)))
            assert (await line.ended(answered)).outcome is Outcome.COMPLETED
            assert all("SIP/2.0/TCP" in i for i in tcp.requests("INVITE"))

        on_a_line(tcp, tmp_path, script, transport="tcp")


# -- answered calls -------------------------------------------------------------------------


def test_an_answered_call_the_customer_ends_is_completed_with_its_duration_and_recording(
    carrier: Peer, tmp_path: Path,
) -> None:
    async def script(line: Line) -> None:
        call_id = line.provider.originate(customer(number("short", 1), record=True))
        await line.answered(call_id)
        done = await line.ended(call_id)
        assert [e.kind for e in line.of(call_id)] == [
            EventKind.RINGING, EventKind.ANSWERED, EventKind.COMPLETED]
        assert (done.outcome, done.sip_code) == (Outcome.COMPLETED, 200)
        assert done.duration is not None and 0.1 < done.duration < 2
        assert done.recording is not None
        with wave.open(done.recording) as wav:
            assert wav.getnframes() > 0
        logged = await carrier_logged(carrier, call_id, line)
        assert logged.steps == ["invite", "answered", "bye-sent"]

    on_a_line(carrier, tmp_path, script)


def test_customer_first_a_bridged_call_dials_the_agent_and_ends_both_legs(
    carrier: Peer, agents: Peer, tmp_path: Path,
) -> None:
    async def script(line: Line) -> None:
        call_id = line.provider.originate(customer(number("answer", 1), record=True))
        await line.answered(call_id)
        line.provider.bridge(call_id, AgentEndpoint(7, "alice", "Sales", None,
                                                    agents.uri("alice")), None)
        done = await line.ended(call_id)  # the carrier hangs up after 3 s
        assert (done.outcome, done.sip_code) == (Outcome.COMPLETED, 200)
        assert [e.call_id for e in line.events] == [call_id] * 3  # no agent-leg events
        agent_calls = await line.until(
            lambda: [c for c in agents.calls().values() if c.who == "alice" and c.done], 5,
            "the agent's call to end")
        assert agent_calls[-1].steps == ["invite", "answered", "bye-received"]
        assert done.recording is not None
        with wave.open(done.recording) as wav:
            assert wav.getnframes() / wav.getframerate() > 2  # the joined conversation

    on_a_line(carrier, tmp_path, script)


def test_agent_first_the_agent_is_answered_before_the_customer_is_dialed_then_joined(
    carrier: Peer, agents: Peer, tmp_path: Path,
) -> None:
    async def script(line: Line) -> None:
        attempt = next(_attempts)
        provider = line.provider
        agent_id = provider.originate(OriginateRequest(attempt, Leg.AGENT, agents.uri("bob"),
                                                       CALLER_ID, False, 15))
        await line.answered(agent_id)
        call_id = provider.originate(customer(number("short", 2), attempt=attempt))
        await line.answered(call_id)
        provider.bridge(call_id, AgentEndpoint(8, "bob", None, None, agents.uri("bob")),
                        agent_id)
        done = await line.ended(call_id)
        assert done.outcome is Outcome.COMPLETED
        # The customer's end ends the agent's leg (the engine asks too; once is enough).
        provider.hangup(agent_id, HangupReason.NORMAL)
        agent_done = await line.ended(agent_id)
        assert (agent_done.leg, agent_done.outcome) == (Leg.AGENT, Outcome.COMPLETED)
        bob = agents.calls()[agent_id]
        assert bob.steps[:2] == ["invite", "answered"]
        assert (await carrier_logged(carrier, call_id, line)).last == "bye-sent"

    on_a_line(carrier, tmp_path, script)


def test_a_session_refreshed_by_the_carrier_is_kept_up(tmp_path: Path) -> None:
    with peer.running("session_timer", tmp_path / "timer") as carrier:
        async def script(line: Line) -> None:
            call_id = line.provider.originate(customer(number("answer", 9)))
            await line.answered(call_id)
            done = await line.ended(call_id)
            assert done.outcome is Outcome.COMPLETED
            assert done.duration is not None and done.duration > 1.4  # past the refresh
            steps = carrier.calls()[call_id].steps
            assert steps == ["invite", "answered", "refreshed-90", "bye-sent"]

        on_a_line(carrier, tmp_path, script)


def test_a_voice_menu_plays_and_reports_the_rfc4733_digit_then_hangs_up(
    carrier: Peer, tmp_path: Path,
) -> None:
    async def script(line: Line) -> None:
        call_id = line.provider.originate(customer(number("menu", 1), record=True))
        await line.answered(call_id)
        line.provider.play_menu(call_id, MenuPrompt("Press 1 to confirm, 2 to cancel.",
                                                    {"1": "confirm", "2": "cancel"}))
        digits = await line.until(lambda: line.of(call_id, EventKind.DIGIT), 5, "the digit")
        assert [d.digit for d in digits] == ["1"]
        done = await line.ended(call_id)
        assert done.outcome is Outcome.COMPLETED
        assert (await carrier_logged(carrier, call_id, line)).last == "bye-received"

    on_a_line(carrier, tmp_path, script)


def apology_seconds(tmp_path: Path) -> float:
    """How long the apology plays here: spoken where espeak-ng is installed, else tones."""
    return wav_seconds(prompt_wav(APOLOGY, tmp_path / "probe"))


# Short enough to end before the carrier's own BYE (15 s after its digit; the default wording
# takes espeak-ng ~17 s), long enough to still play when its 9 comes (3 s after the answer;
# 24 words make the longest tone sequence where espeak-ng is missing).
ABANDON_MESSAGE = (f"This is Acme. We are sorry, no agent was free now. To call us back, dial "
                   f"{CALLER_ID}. To stop our calls, press 9. Goodbye.")


def test_an_abandoned_call_hears_its_message_before_the_bye(
    carrier: Peer, tmp_path: Path,
) -> None:
    spoken = wav_seconds(prompt_wav(ABANDON_MESSAGE, tmp_path / "probe"))

    async def script(line: Line) -> None:
        loop = asyncio.get_running_loop()
        # A number that holds the line longer than the message (espeak-ng's takes ~11 s);
        # the 1 it presses after 1.5 s is not the opt-out digit and changes nothing.
        call_id = line.provider.originate(customer(number("menu", 2)))
        await line.answered(call_id)
        asked = loop.time()
        line.provider.abandon(call_id, ABANDON_MESSAGE)
        done = await line.ended(call_id, timeout=20)
        assert done.outcome is Outcome.ABANDONED
        assert line.of(call_id, EventKind.DIGIT) == []
        assert loop.time() - asked >= spoken - 0.2  # it played to the end first
        assert (await carrier_logged(carrier, call_id, line)).last == "bye-received"

    on_a_line(carrier, tmp_path, script)


def test_a_9_pressed_during_the_abandon_message_is_reported_and_the_call_ends_abandoned(
    carrier: Peer, tmp_path: Path,
) -> None:
    async def script(line: Line) -> None:
        # Presses 9 (RFC 4733) 3 s after the answer, while the message plays.
        call_id = line.provider.originate(customer(number("menu", 4, area=OPT_OUT_AREA)))
        await line.answered(call_id)
        line.provider.abandon(call_id, ABANDON_MESSAGE)
        digits = await line.until(lambda: line.of(call_id, EventKind.DIGIT), 5, "the 9")
        assert [d.digit for d in digits] == ["9"]
        done = await line.ended(call_id)
        assert done.outcome is Outcome.ABANDONED
        assert (await carrier_logged(carrier, call_id, line)).last == "bye-received"

    on_a_line(carrier, tmp_path, script)


def test_an_agent_who_cannot_be_reached_leaves_the_customer_abandoned_with_the_apology(
    carrier: Peer, tmp_path: Path,
) -> None:
    async def script(line: Line) -> None:
        loop = asyncio.get_running_loop()
        call_id = line.provider.originate(customer(number("menu", 3)))  # holds for 15 s
        await line.answered(call_id)
        asked = loop.time()
        nobody = f"sip:nobody@127.0.0.1:{peer.free_port()}"  # no one listens there
        line.provider.bridge(call_id, AgentEndpoint(9, "ghost", None, None, nobody), None)
        done = await line.ended(call_id)
        assert done.outcome is Outcome.ABANDONED
        # The abandon window (2 s) for the agent to answer, then the apology.
        assert 2.5 <= loop.time() - asked < 4 + apology_seconds(tmp_path)
        assert (await carrier_logged(carrier, call_id, line)).last == "bye-received"

    on_a_line(carrier, tmp_path, script)


# -- the port's promises --------------------------------------------------------------------


def test_a_retried_originate_of_the_same_attempt_is_the_same_call(
    carrier: Peer, tmp_path: Path,
) -> None:
    async def script(line: Line) -> None:
        request = customer(number("busy", 2))
        first = line.provider.originate(request)
        assert line.provider.originate(request) == first
        await line.ended(first)
        assert line.provider.originate(request) == first  # after its end too
        await asyncio.sleep(0.3)
        assert sum(1 for c in carrier.calls().values() if c.who == number("busy", 2)) == 1

    on_a_line(carrier, tmp_path, script)


def test_an_originate_beyond_the_librarys_call_slots_is_refused_and_nothing_is_dialed(
    carrier: Peer, tmp_path: Path,
) -> None:
    async def script(line: Line) -> None:
        ringing = [line.provider.originate(customer(number("ring", 10 + i), ring_timeout=3))
                   for i in range(2)]
        extra = line.provider.originate(customer(number("busy", 30)))
        refused = await line.until(lambda: line.of(extra, EventKind.REFUSED), 5, "a refusal")
        assert refused[0].retry_after is not None and refused[0].retry_after > 0
        for call_id in ringing:
            assert (await line.ended(call_id)).outcome is Outcome.NO_ANSWER
        assert number("busy", 30) not in {c.who for c in carrier.calls().values()}

    on_a_line(carrier, tmp_path, script)


def test_a_number_that_is_not_e164_is_refused_at_once(carrier: Peer, tmp_path: Path) -> None:
    from outbound.domain.errors import ProviderError

    async def script(line: Line) -> None:
        with pytest.raises(ProviderError, match=r"E\.164"):
            line.provider.originate(customer("4155550123"))

    on_a_line(carrier, tmp_path, script)
