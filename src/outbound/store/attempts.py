"""Call attempts as the doors see them: a contact's timeline, an attempt's recording, and the
one write a door makes to an attempt (the recording URL a Twilio callback reports).

The engine's own statements on attempts (claims, call events, the sweeper's) live in
`store/dialing.py`, built for its hot path; these run at a person's pace.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, select, update
from sqlalchemy.engine import Row

from outbound.store.db import reading
from outbound.store.schema import call_attempts, campaigns


class AttemptsRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def of_contact(self, contact_id: int) -> list[Row[Any]]:
        """A contact's attempts, first to last."""
        with reading(self.engine) as conn:
            return list(conn.execute(select(call_attempts).where(
                call_attempts.c.contact_id == contact_id).order_by(call_attempts.c.attempt)))

    def recording(self, attempt_id: int) -> Row[Any] | None:
        """The attempt's recording (a path or a URL, or None) and its campaign; None when
        there is no such attempt."""
        with reading(self.engine) as conn:
            row: Row[Any] | None = conn.execute(select(
                call_attempts.c.recording, call_attempts.c.campaign_id).where(
                call_attempts.c.id == attempt_id)).first()
        return row

    def belongs_to(self, account_id: int, attempt_id: int) -> bool:
        """Whether the attempt is one of the account's campaigns'."""
        with reading(self.engine) as conn:
            found = conn.execute(select(call_attempts.c.id).join(
                campaigns, campaigns.c.id == call_attempts.c.campaign_id).where(
                call_attempts.c.id == attempt_id, campaigns.c.account_id == account_id)).first()
        return found is not None

    def attach_recording(self, account_id: int, attempt_id: int, url: str) -> None:
        """Keep a recording's URL on the account's attempt, once: a replayed callback, or one
        for an attempt that already has its recording, changes nothing."""
        owned = select(campaigns.c.id).where(campaigns.c.account_id == account_id)
        with self.engine.begin() as conn:
            conn.execute(update(call_attempts).where(and_(
                call_attempts.c.id == attempt_id, call_attempts.c.recording.is_(None),
                call_attempts.c.campaign_id.in_(owned))).values(recording=url))
