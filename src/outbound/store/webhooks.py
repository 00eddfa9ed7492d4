"""CRM webhooks: registrations and the outbox of events waiting to be delivered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from outbound.domain.errors import InvalidInput, NotFound
from outbound.store.db import reading
from outbound.store.schema import outbox, webhooks

GIVE_UP_AFTER = 24 * 3600.0  # retry a delivery for a day, then mark it failed
MAX_DELAY = 3600.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one webhook."""

    outbox_id: int
    event_id: str
    url: str
    secret: str
    payload: str
    attempts: int
    created_at: float


def next_delay(attempts: int) -> float:
    """Exponential backoff: 1 s, 2 s, 4 s … capped at an hour."""
    return float(min(MAX_DELAY, 2 ** max(0, attempts - 1)))


class WebhooksRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def register(self, account_id: int, url: str, secret: str, now: float) -> int:
        if not url.startswith(("http://", "https://")) or len(url) > 2000:
            raise InvalidInput("url", f"must be an http:// or https:// URL (got {url[:80]!r})")
        if len(secret) < 16:
            raise InvalidInput("secret", "must be at least 16 characters")
        with self.engine.begin() as conn:
            return int(conn.execute(insert(webhooks).values(
                account_id=account_id, url=url, secret=secret, created_at=now,
            )).inserted_primary_key[0])

    def registered(self, account_id: int) -> list[Any]:
        with reading(self.engine) as conn:
            return list(conn.execute(select(webhooks.c.id, webhooks.c.url,
                                            webhooks.c.created_at).where(
                webhooks.c.account_id == account_id).order_by(webhooks.c.id)))

    def remove(self, account_id: int, webhook_id: int) -> None:
        with self.engine.begin() as conn:
            if not conn.execute(delete(webhooks).where(
                    webhooks.c.id == webhook_id, webhooks.c.account_id == account_id)).rowcount:
                raise NotFound(f"no webhook {webhook_id}")

    def due(self, now: float, limit: int = 100) -> list[Delivery]:
        with reading(self.engine) as conn:
            rows = conn.execute(select(
                outbox.c.id, outbox.c.event_id, webhooks.c.url, webhooks.c.secret,
                outbox.c.payload, outbox.c.attempts, outbox.c.created_at,
            ).join(webhooks, webhooks.c.id == outbox.c.webhook_id).where(
                outbox.c.delivered_at.is_(None), outbox.c.failed_at.is_(None),
                outbox.c.next_attempt_at <= now,
            ).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit))
            return [Delivery(*row) for row in rows]

    def delivered(self, outbox_id: int, now: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
                delivered_at=now, attempts=outbox.c.attempts + 1, last_error=None))

    def retry_later(self, delivery: Delivery, error: str, now: float) -> None:
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_error": error[:500],
                                  "next_attempt_at": now + next_delay(attempts)}
        if now - delivery.created_at >= GIVE_UP_AFTER:
            values["failed_at"] = now
        with self.engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.id == delivery.outbox_id).values(**values))
