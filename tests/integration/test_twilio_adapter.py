"""The Twilio adapter's REST side against the test carrier, on an asyncio loop like the engine's.

No server here: the carrier's webhooks go to a small receiver that hands them to the adapter
the way `outbound serve` does, so these tests look at what `originate`, `hangup` and the
create errors turn into, event by event.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from outbound.domain.contacts import Outcome
from outbound.telephony.port import CallEvent, EventKind, HangupReason, Leg, OriginateRequest
from outbound.telephony.settings import TwilioProvider
from outbound.telephony.twilio import TwilioNetwork
from outbound.telephony.twiml import HookKind, Webhook, answer_twiml
from twilio_carrier import Carrier, Fate

FATES = {
    "+14155556000": Fate("answer"),
    "+14155556001": Fate("busy", 486),
    "+14155556002": Fate("answer", ring=5.0),  # rings long enough to be hung up
    "+14155556003": Fate("answer", create_errors=5),  # the carrier answers 503
}


class Receiver:
    """Stands in for `outbound serve`: webhooks → the adapter on the loop; TwiML back."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.adapter: TwilioNetwork | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                _, _, account, kind, attempt, leg = urlparse(self.path).path.split("/")
                length = int(self.headers.get("Content-Length") or 0)
                params = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                hook = Webhook(HookKind(kind), int(attempt), Leg(leg), params)
                assert receiver.adapter is not None
                receiver.loop.call_soon_threadsafe(receiver.adapter.on_webhook, hook)
                body = (answer_twiml(int(account), int(attempt), Leg(leg), None)
                        if hook.kind is HookKind.ANSWER else "<Response/>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def carrier() -> Iterator[Carrier]:
    carrier = Carrier(lambda to: FATES.get(to, Fate("answer"))).start()
    yield carrier
    carrier.stop()


async def _until(events: list[CallEvent], predicate: Any, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate(events):
            await asyncio.sleep(0.02)


def _run(carrier: Carrier, scenario: Any, token: str | None = None) -> list[CallEvent]:
    async def main() -> list[CallEvent]:
        loop = asyncio.get_running_loop()
        receiver = Receiver(loop)
        events: list[CallEvent] = []
        config = TwilioProvider(kind="twilio", account_sid=carrier.account_sid,
                                auth_token=token or carrier.auth_token,
                                callback_url=receiver.url,
                                api_url=carrier.url)
        adapter = TwilioNetwork(7, config, events.append, loop.time)
        receiver.adapter = adapter
        try:
            await scenario(adapter, events)
        finally:
            adapter.close()
            receiver.close()
        return events

    return asyncio.run(main())


def _request(attempt: int, to: str) -> OriginateRequest:
    return OriginateRequest(attempt, Leg.CUSTOMER, to, "+14155550100", record=False,
                            ring_timeout=15)


def test_originate_returns_our_id_at_once_and_events_carry_the_call_sid(carrier: Carrier
                                                                        ) -> None:
    async def scenario(adapter: TwilioNetwork, events: list[CallEvent]) -> None:
        call_id = adapter.originate(_request(1, "+14155556001"))
        assert call_id == "tw-1-customer"
        assert adapter.originate(_request(1, "+14155556001")) == call_id  # a retry: same call
        await _until(events, lambda e: any(x.kind is EventKind.COMPLETED for x in e))

    events = _run(carrier, scenario)
    [call] = carrier.calls.values()
    assert [e.kind for e in events] == [EventKind.COMPLETED]
    assert (events[0].outcome, events[0].sip_code, events[0].call_id) == (
        Outcome.BUSY, 486, call.sid)
    assert len(carrier.creates) == 1


def test_a_5xx_on_create_is_a_refusal_not_a_failed_call(carrier: Carrier) -> None:
    async def scenario(adapter: TwilioNetwork, events: list[CallEvent]) -> None:
        adapter.originate(_request(2, "+14155556003"))
        await _until(events, lambda e: bool(e))

    [event] = _run(carrier, scenario)
    assert event.kind is EventKind.REFUSED
    assert event.retry_after == 1.0  # no Retry-After: the default
    assert event.outcome is None


def test_a_429_is_a_refusal_that_honours_retry_after(carrier: Carrier) -> None:
    carrier.calls_per_second = 1

    async def scenario(adapter: TwilioNetwork, events: list[CallEvent]) -> None:
        adapter.originate(_request(3, "+14155556001"))
        adapter.originate(_request(4, "+14155556001"))
        await _until(events, lambda e: any(x.kind is EventKind.REFUSED for x in e))

    events = _run(carrier, scenario)
    refused = [e for e in events if e.kind is EventKind.REFUSED]
    assert len(refused) == 1 and refused[0].retry_after == 1.0
    assert sorted(status for _, _, status in carrier.creates) == [201, 429]


def test_wrong_credentials_fail_the_call_as_a_provider_error(carrier: Carrier) -> None:
    async def scenario(adapter: TwilioNetwork, events: list[CallEvent]) -> None:
        adapter.originate(_request(5, "+14155556000"))
        await _until(events, lambda e: bool(e))

    [event] = _run(carrier, scenario, token="not-the-carriers-token")
    assert not carrier.calls
    assert (event.kind, event.outcome) == (EventKind.COMPLETED, Outcome.PROVIDER_ERROR)


def test_a_hangup_before_twilio_answered_the_create_cancels_the_call(carrier: Carrier
                                                                     ) -> None:
    async def scenario(adapter: TwilioNetwork, events: list[CallEvent]) -> None:
        call_id = adapter.originate(_request(6, "+14155556002"))
        adapter.hangup(call_id, HangupReason.NORMAL)  # the CallSid is not known yet
        await _until(events, lambda e: any(x.kind is EventKind.COMPLETED for x in e))

    events = _run(carrier, scenario)
    [call] = carrier.calls.values()
    assert call.status == "canceled"
    assert call.updates and call.updates[0]["Status"] == ["canceled"]
    assert events[-1].outcome is Outcome.NO_ANSWER and events[-1].sip_code == 487
