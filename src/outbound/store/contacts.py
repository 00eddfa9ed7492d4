"""Contacts of a campaign: bulk insert from an import, counts, listings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.engine import Connection, Row

from outbound.domain.contacts import ContactStatus
from outbound.store.db import reading
from outbound.store.schema import call_attempts, contacts


@dataclass(frozen=True, slots=True)
class NewContact:
    phone: str  # E.164
    name: str | None
    fields: dict[str, str]
    agent: str | None
    dnc_flagged: bool


class ContactsRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def existing_phones(self, conn: Connection, campaign_id: int) -> set[str]:
        return set(conn.execute(select(contacts.c.phone).where(
            contacts.c.campaign_id == campaign_id)).scalars())

    def next_position(self, conn: Connection, campaign_id: int) -> int:
        top = conn.execute(select(func.max(contacts.c.position)).where(
            contacts.c.campaign_id == campaign_id)).scalar()
        return 0 if top is None else int(top) + 1

    def insert_many(self, conn: Connection, campaign_id: int, start_position: int,
                    batch: Sequence[NewContact], now: float) -> None:
        if not batch:
            return
        conn.execute(insert(contacts), [
            {"campaign_id": campaign_id, "position": start_position + i, "phone": c.phone,
             "name": c.name, "fields": c.fields or None, "agent": c.agent,
             "status": ContactStatus.PENDING.value, "attempts": 0, "due_at": None,
             "lease_until": None, "caller_id": None, "digit": None,
             "dnc_flagged": c.dnc_flagged, "updated_at": now}
            for i, c in enumerate(batch)
        ])

    def counts(self, campaign_id: int) -> dict[str, int]:
        with reading(self.engine) as conn:
            rows = conn.execute(select(contacts.c.status, func.count()).where(
                contacts.c.campaign_id == campaign_id).group_by(contacts.c.status))
            found = {status: int(n) for status, n in rows}
        return {s.value: found.get(s.value, 0) for s in ContactStatus}

    def all(self, campaign_id: int) -> list[Row[Any]]:
        with reading(self.engine) as conn:
            return list(conn.execute(select(contacts).where(
                contacts.c.campaign_id == campaign_id).order_by(contacts.c.position)))

    def attempts(self, campaign_id: int) -> Iterable[Row[Any]]:
        with reading(self.engine) as conn:
            return list(conn.execute(select(call_attempts).where(
                call_attempts.c.campaign_id == campaign_id).order_by(call_attempts.c.id)))
