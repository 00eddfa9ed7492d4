"""Delivering CRM webhook events from the outbox: signed, retried, never lost.

Each event is POSTed as the JSON written into the outbox with the state change, with
`X-Outbound-Event-Id` (stable per event: receivers dedupe on it), `X-Outbound-Timestamp` and
`X-Outbound-Signature: sha256=HEX`, the HMAC-SHA256 of "TIMESTAMP.BODY" under the webhook's
secret. A 2xx marks it delivered; anything else is retried with exponential backoff for 24 h.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging

import httpx

from outbound.clock import Clock
from outbound.store import Store
from outbound.store.webhooks import Delivery

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


def signature(secret: str, timestamp: str, body: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return "sha256=" + mac.hexdigest()


async def deliver_once(store: Store, clock: Clock, client: httpx.AsyncClient) -> int:
    """Send every event due now; returns how many were delivered."""
    due = await asyncio.to_thread(store.webhooks.due, clock.now())
    results = await asyncio.gather(*(_send(store, clock, client, d) for d in due))
    return sum(results)


async def _send(store: Store, clock: Clock, client: httpx.AsyncClient,
                delivery: Delivery) -> int:
    timestamp = f"{clock.now():.3f}"
    headers = {
        "Content-Type": "application/json",
        "X-Outbound-Event-Id": delivery.event_id,
        "X-Outbound-Timestamp": timestamp,
        "X-Outbound-Signature": signature(delivery.secret, timestamp, delivery.payload),
    }
    try:
        response = await client.post(delivery.url, content=delivery.payload, headers=headers)
        ok = 200 <= response.status_code < 300
        error = "" if ok else f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        ok, error = False, f"{type(exc).__name__}: {exc}"
    if ok:
        await asyncio.to_thread(store.webhooks.delivered, delivery.outbox_id, clock.now())
        return 1
    log.info("webhook delivery %s failed: %s", delivery.event_id, error)
    await asyncio.to_thread(store.webhooks.retry_later, delivery, error, clock.now())
    return 0


async def run(store: Store, clock: Clock, stop: asyncio.Event) -> None:
    """Deliver until `stop` is set."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        while not stop.is_set():
            try:
                await deliver_once(store, clock, client)
            except Exception:  # the loop must outlive a bad row or a database blip
                log.exception("webhook delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
