"""CRM webhooks: events written with the call's end are delivered to a real local HTTP
receiver, signed, retried while it is down, and none is lost or applied twice."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from sqlalchemy import func, select

from outbound import delivery
from outbound.clock import VirtualClock
from outbound.domain.contacts import Backoff, Outcome, after_call
from outbound.domain.settings import CampaignSettings
from outbound.store import Store
from outbound.store.contacts import NewContact
from outbound.store.dialing import AttemptRef
from outbound.store.schema import outbox

NOW = 1_800_000_000.0
SECRET = "a-shared-secret-of-some-length"
NUMBERS = [f"+1415555{n:04d}" for n in range(20, 32)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """A CRM endpoint that checks signatures and dedupes on the event id."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.events: dict[str, dict[str, Any]] = {}
        self.posts = 0
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                stamp = self.headers["X-Outbound-Timestamp"]
                expected = "sha256=" + hmac.new(SECRET.encode(), f"{stamp}.{body}".encode(),
                                                hashlib.sha256).hexdigest()
                receiver.posts += 1
                if not hmac.compare_digest(expected, self.headers["X-Outbound-Signature"]):
                    receiver.bad_signatures += 1
                    self.send_response(401)
                else:
                    receiver.events.setdefault(self.headers["X-Outbound-Event-Id"],
                                               json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def finished_calls(store: Store, webhook_url: str | None) -> list[str]:
    """An account (with a webhook, if given) and a campaign whose calls end: the events."""
    account_id = store.accounts.create("Acme", timezone="UTC", region="US", now=NOW)
    if webhook_url is not None:
        store.webhooks.register(account_id, webhook_url, SECRET, NOW)
    campaign_id = store.campaigns.create(account_id, CampaignSettings.parse(
        {"name": "Hooks", "numbers": ["+14155550100"], "transfer": {"department": "S"}}), NOW)
    with store.engine.begin() as conn:
        store.contacts.insert_many(conn, campaign_id, 0, [
            NewContact(n, None, {}, None) for n in NUMBERS], set(), NOW)
    events = []
    for _ in NUMBERS:
        with store.engine.begin() as conn:
            claimed = store.dialing.claim(conn, campaign_id, account_id, NOW, NOW + 30,
                                          retry=False)
            assert claimed is not None
            attempt_id = store.dialing.start_attempt(conn, campaign_id, claimed,
                                                     "+14155550100", NOW)
        ref = AttemptRef(attempt_id, campaign_id, claimed.contact_id, claimed.attempt, None,
                         False)
        after = after_call(Outcome.COMPLETED, 1, 3, Backoff(), NOW + 5)
        assert store.dialing.finish(ref, Outcome.COMPLETED, after, NOW + 5, sip_code=200,
                                    duration=4.0, phone=claimed.phone)
        events.append(f"call.completed:{attempt_id}")
    return events


def deliver(store: Store, clock: VirtualClock) -> int:
    async def once() -> int:
        async with httpx.AsyncClient(timeout=2.0) as client:
            return await delivery.deliver_once(store, clock, client)
    return asyncio.run(once())


def test_events_wait_while_the_receiver_is_down_and_all_arrive_signed_when_it_is_back(
        store_url: str) -> None:
    store = Store.open(store_url)
    port = free_port()
    try:
        expected = finished_calls(store, f"http://127.0.0.1:{port}/hook")
        clock = VirtualClock(NOW + 10)

        assert deliver(store, clock) == 0  # nobody listens: every event is kept for later
        assert len(store.webhooks.due(NOW + 10 + 3600)) == len(expected)

        with Receiver(port) as receiver:
            clock.call_at(NOW + 100, lambda: None)
            clock.run_next()
            assert deliver(store, clock) == len(expected)
            assert deliver(store, clock) == 0  # delivered once, not again

        assert sorted(receiver.events) == sorted(expected)
        assert receiver.bad_signatures == 0
        assert receiver.posts == len(expected)
        first = receiver.events[expected[0]]
        assert first["type"] == "call.completed" and first["outcome"] == "completed"
        assert first["phone"] in NUMBERS and first["sip_code"] == 200
    finally:
        store.close()


def test_an_account_without_a_webhook_writes_no_events(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        finished_calls(store, None)
        with store.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 0
    finally:
        store.close()


def test_the_backoff_doubles_up_to_an_hour() -> None:
    from outbound.store.webhooks import next_delay

    assert [next_delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert next_delay(40) == 3600.0
