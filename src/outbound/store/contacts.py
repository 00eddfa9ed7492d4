"""Contacts of a campaign: bulk insert from an import, counts, listings, pages and lookups."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select
from sqlalchemy.engine import Connection, Row

from outbound.domain.contacts import ContactStatus
from outbound.store.db import reading
from outbound.store.fast import run_many
from outbound.store.schema import call_attempts, contacts


@dataclass(frozen=True, slots=True)
class NewContact:
    phone: str  # E.164
    name: str | None
    fields: dict[str, str]
    agent: str | None


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

# In the table's column order, which is the order of the compiled statement's parameters.
_INSERT_KEYS = ("p_campaign_id", "p_position", "p_phone", "p_name", "p_fields", "p_agent",
                "p_status", "p_attempts", "p_dnc_flagged", "p_now")
_INSERT = insert(contacts).inline().values(
    campaign_id=bindparam("p_campaign_id"), position=bindparam("p_position"),
    phone=bindparam("p_phone"), name=bindparam("p_name"),
    fields=bindparam("p_fields"), agent=bindparam("p_agent"),
    status=bindparam("p_status"), attempts=bindparam("p_attempts"),
    dnc_flagged=bindparam("p_dnc_flagged"), updated_at=bindparam("p_now"))


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
                    batch: Sequence[NewContact], flagged: set[str], now: float) -> None:
        """Insert pending contacts in list order; those in `flagged` carry the DNC flag."""
        # The fast path: one executemany on the driver, JSON encoded here.
        pending = ContactStatus.PENDING.value
        run_many(conn, _INSERT, _INSERT_KEYS, [
            (campaign_id, start_position + i, c.phone, c.name,
             _json(c.fields) if c.fields else None, c.agent,
             pending, 0, c.phone in flagged, now)
            for i, c in enumerate(batch)
        ])

    def counts(self, campaign_id: int) -> dict[str, int]:
        with reading(self.engine) as conn:
            rows = conn.execute(select(contacts.c.status, func.count()).where(
                contacts.c.campaign_id == campaign_id).group_by(contacts.c.status))
            found = {status: int(n) for status, n in rows}
        return {s.value: found.get(s.value, 0) for s in ContactStatus}

    def dnc_flagged(self, campaign_id: int) -> int:
        """How many of the campaign's contacts were on the DNC list when they were imported."""
        with reading(self.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(contacts).where(
                contacts.c.campaign_id == campaign_id, contacts.c.dnc_flagged.is_(True))
            ).scalar_one())

    def all(self, campaign_id: int) -> list[Row[Any]]:
        with reading(self.engine) as conn:
            return list(conn.execute(select(contacts).where(
                contacts.c.campaign_id == campaign_id).order_by(contacts.c.position)))

    def get(self, campaign_id: int, contact_id: int) -> Row[Any] | None:
        """The campaign's contact, or None (no such contact in this campaign)."""
        with reading(self.engine) as conn:
            row: Row[Any] | None = conn.execute(select(contacts).where(
                contacts.c.id == contact_id, contacts.c.campaign_id == campaign_id)).first()
        return row

    def page(self, campaign_id: int, status: ContactStatus | None, after: int | None,
             limit: int) -> list[Row[Any]]:
        """Up to `limit` of the campaign's contacts in id order, after the id `after`."""
        query = select(contacts).where(contacts.c.campaign_id == campaign_id)
        if status is not None:
            query = query.where(contacts.c.status == status.value)
        if after is not None:
            query = query.where(contacts.c.id > after)
        with reading(self.engine) as conn:
            return list(conn.execute(query.order_by(contacts.c.id).limit(limit)))

    def failed(self, campaign_id: int) -> list[Row[Any]]:
        """Phone, name and fields of the campaign's failed contacts, in list order."""
        with reading(self.engine) as conn:
            return list(conn.execute(select(contacts.c.phone, contacts.c.name, contacts.c.fields)
                                     .where(contacts.c.campaign_id == campaign_id,
                                            contacts.c.status == ContactStatus.FAILED.value)
                                     .order_by(contacts.c.position)))

    def attempts(self, campaign_id: int) -> Iterable[Row[Any]]:
        with reading(self.engine) as conn:
            return list(conn.execute(select(call_attempts).where(
                call_attempts.c.campaign_id == campaign_id).order_by(call_attempts.c.id)))
