"""The dialer's statements: claims, call events, agent reservations, leases and the sweeper.

Every claim is one atomic UPDATE … RETURNING whose subquery picks the next contact in order
(on PostgreSQL with FOR UPDATE SKIP LOCKED) and whose SET checks the do-not-call list at that
very moment: a number added to the list a second ago is blocked, not dialed. Every event write
is guarded by the state it expects, so an event seen twice, late, or after the sweeper reset
its contact changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, case, exists, func, insert, literal, or_, select, update
from sqlalchemy.engine import Connection

from outbound.domain.contacts import (
    IN_FLIGHT,
    AfterCall,
    ContactStatus,
    Outcome,
)
from outbound.store.campaigns import log_event
from outbound.store.db import reading
from outbound.store.schema import agents, call_attempts, contacts, dnc

_IN_FLIGHT = [s.value for s in IN_FLIGHT]
C = ContactStatus


@dataclass(frozen=True, slots=True)
class Claimed:
    """A contact taken for a dial (or found on the do-not-call list and blocked)."""

    contact_id: int
    phone: str
    attempt: int  # the number of the attempt about to be made
    caller_id: str | None  # the number its first attempt used (sticky rotation)
    agent: str | None  # the agent this contact asks for
    blocked: bool


@dataclass(frozen=True, slots=True)
class ReservedAgent:
    agent_id: int
    name: str
    department_id: int | None
    phone: str | None
    sip_uri: str | None


@dataclass(frozen=True, slots=True)
class AttemptRef:
    """Enough of an attempt to apply its events after a restart."""

    attempt_id: int
    campaign_id: int
    contact_id: int
    attempt: int
    agent_id: int | None
    ended: bool


@dataclass(frozen=True, slots=True)
class Orphan:
    """An in-flight contact whose lease ran out."""

    contact_id: int
    campaign_id: int
    attempts: int


def _skip_locked(query: Any, conn: Connection) -> Any:
    return query.with_for_update(skip_locked=True) if conn.dialect.name == "postgresql" else query


class DialingRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- claims --------------------------------------------------------------------------

    def claim(
        self, conn: Connection, campaign_id: int, account_id: int, now: float,
        lease_until: float, free_agents: Sequence[str] | None = None,
    ) -> Claimed | None:
        """Take the next contact: a due retry first, else the next pending one in list order.

        With `free_agents` (agent-first), a contact that asks for an agent who is busy is
        passed over so that the others go ahead.
        """
        for status, order in (
            (C.RETRY_QUEUED, (contacts.c.due_at, contacts.c.position)),
            (C.PENDING, (contacts.c.position,)),
        ):
            candidate = select(contacts.c.id).where(
                contacts.c.campaign_id == campaign_id, contacts.c.status == status.value
            )
            if status is C.RETRY_QUEUED:
                candidate = candidate.where(contacts.c.due_at <= now)
            if free_agents is not None:
                known = select(agents.c.name).where(agents.c.account_id == account_id)
                candidate = candidate.where(or_(
                    contacts.c.agent.is_(None),
                    contacts.c.agent.in_(list(free_agents)) if free_agents else literal(False),
                    contacts.c.agent.not_in(known),
                ))
            candidate = _skip_locked(candidate.order_by(*order).limit(1), conn)
            on_dnc = exists().where(dnc.c.account_id == account_id, dnc.c.phone == contacts.c.phone)
            row = conn.execute(
                update(contacts)
                .where(contacts.c.id == candidate.scalar_subquery(),
                       contacts.c.status == status.value)
                .values(
                    status=case((on_dnc, C.BLOCKED.value), else_=C.DIALING.value),
                    attempts=case((on_dnc, contacts.c.attempts), else_=contacts.c.attempts + 1),
                    lease_until=case((on_dnc, None), else_=lease_until),
                    due_at=None,
                    updated_at=now,
                )
                .returning(contacts.c.id, contacts.c.phone, contacts.c.attempts,
                           contacts.c.caller_id, contacts.c.agent, contacts.c.status)
            ).first()
            if row is not None:
                blocked = row.status == C.BLOCKED.value
                if blocked:
                    log_event(conn, campaign_id, now, "dnc_block", row.id, {"phone": row.phone})
                return Claimed(row.id, row.phone, row.attempts, row.caller_id, row.agent, blocked)
        return None

    def start_attempt(
        self, conn: Connection, campaign_id: int, claimed: Claimed, caller_id: str, now: float
    ) -> int:
        if claimed.caller_id is None:
            conn.execute(update(contacts).where(contacts.c.id == claimed.contact_id).values(
                caller_id=caller_id))
        return int(conn.execute(insert(call_attempts).values(
            campaign_id=campaign_id, contact_id=claimed.contact_id, attempt=claimed.attempt,
            phone=claimed.phone, caller_id=caller_id, started_at=now,
        ).returning(call_attempts.c.id)).scalar_one())

    def free_agent_names(self, conn: Connection, account_id: int) -> list[str]:
        return list(conn.execute(select(agents.c.name).where(
            agents.c.account_id == account_id, agents.c.availability == "available",
            agents.c.busy_attempt_id.is_(None))).scalars())

    def reserve_agent(
        self, conn: Connection, account_id: int, attempt_id: int, *,
        name: str | None = None, department_id: int | None = None,
    ) -> ReservedAgent | None:
        """Make the longest-idle free agent (of a department, or by name) busy with an attempt."""
        candidate = select(agents.c.id).where(
            agents.c.account_id == account_id, agents.c.availability == "available",
            agents.c.busy_attempt_id.is_(None))
        if name is not None:
            candidate = candidate.where(agents.c.name == name)
        if department_id is not None:
            candidate = candidate.where(agents.c.department_id == department_id)
        candidate = _skip_locked(candidate.order_by(agents.c.idle_since, agents.c.id).limit(1),
                                 conn)
        row = conn.execute(update(agents).where(
            agents.c.id == candidate.scalar_subquery(), agents.c.busy_attempt_id.is_(None)
        ).values(busy_attempt_id=attempt_id).returning(
            agents.c.id, agents.c.name, agents.c.department_id, agents.c.phone,
            agents.c.sip_uri)).first()
        if row is None:
            return None
        conn.execute(update(call_attempts).where(call_attempts.c.id == attempt_id).values(
            agent_id=row.id, agent=row.name))
        return ReservedAgent(row.id, row.name, row.department_id, row.phone, row.sip_uri)

    # -- call events ---------------------------------------------------------------------

    def attempt_ref(self, attempt_id: int) -> AttemptRef | None:
        with reading(self.engine) as conn:
            row = conn.execute(select(
                call_attempts.c.id, call_attempts.c.campaign_id, call_attempts.c.contact_id,
                call_attempts.c.attempt, call_attempts.c.agent_id, call_attempts.c.ended_at,
            ).where(call_attempts.c.id == attempt_id)).first()
        if row is None:
            return None
        return AttemptRef(row.id, row.campaign_id, row.contact_id, row.attempt, row.agent_id,
                          row.ended_at is not None)

    def _move_contact(self, conn: Connection, ref: AttemptRef, to: ContactStatus,
                      from_: Sequence[ContactStatus], now: float, **values: Any) -> bool:
        return bool(conn.execute(update(contacts).where(
            contacts.c.id == ref.contact_id, contacts.c.attempts == ref.attempt,
            contacts.c.status.in_([s.value for s in from_]),
        ).values(status=to.value, updated_at=now, **values)).rowcount)

    def mark_ringing(self, ref: AttemptRef, call_id: str, at: float, lease_until: float) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(update(call_attempts).where(
                call_attempts.c.id == ref.attempt_id, call_attempts.c.ringing_at.is_(None),
                call_attempts.c.answered_at.is_(None), call_attempts.c.ended_at.is_(None),
            ).values(ringing_at=at, call_id=call_id)).rowcount
            return bool(done) and self._move_contact(
                conn, ref, C.RINGING, (C.DIALING,), at, lease_until=lease_until)

    def mark_answered(self, ref: AttemptRef, call_id: str, at: float, lease_until: float) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(update(call_attempts).where(
                call_attempts.c.id == ref.attempt_id, call_attempts.c.answered_at.is_(None),
                call_attempts.c.ended_at.is_(None),
            ).values(answered_at=at, call_id=func.coalesce(call_attempts.c.call_id, call_id)
                     )).rowcount
            return bool(done) and self._move_contact(
                conn, ref, C.ANSWERED, (C.DIALING, C.RINGING), at, lease_until=lease_until)

    def set_agent_call(self, attempt_id: int, agent_call_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(call_attempts).where(call_attempts.c.id == attempt_id).values(
                agent_call_id=agent_call_id))

    def mark_bridged(self, attempt_id: int, at: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(call_attempts).where(
                call_attempts.c.id == attempt_id, call_attempts.c.ended_at.is_(None),
            ).values(bridged_at=at))

    def record_digit(self, ref: AttemptRef, digit: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(update(call_attempts).where(
                call_attempts.c.id == ref.attempt_id, call_attempts.c.digit.is_(None),
            ).values(digit=digit)).rowcount
            if done:
                conn.execute(update(contacts).where(contacts.c.id == ref.contact_id).values(
                    digit=digit))
            return bool(done)

    def finish(self, ref: AttemptRef, outcome: Outcome, after: AfterCall, at: float, *,
               sip_code: int | None = None, duration: float | None = None,
               recording: str | None = None, conn: Connection | None = None) -> bool:
        """End an attempt, move its contact by the retry policy and free its agent."""
        if conn is None:
            with self.engine.begin() as own:
                return self.finish(ref, outcome, after, at, sip_code=sip_code,
                                   duration=duration, recording=recording, conn=own)
        done = conn.execute(update(call_attempts).where(
            call_attempts.c.id == ref.attempt_id, call_attempts.c.ended_at.is_(None),
        ).values(ended_at=at, outcome=outcome.value, sip_code=sip_code, duration=duration,
                 recording=recording, status_after=after.status.value)).rowcount
        if not done:
            return False
        self._move_contact(conn, ref, after.status, tuple(IN_FLIGHT), at, lease_until=None,
                           due_at=after.due_at)
        conn.execute(update(agents).where(agents.c.busy_attempt_id == ref.attempt_id).values(
            busy_attempt_id=None, idle_since=at))
        return True

    def release_agent(self, attempt_id: int, at: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(agents).where(agents.c.busy_attempt_id == attempt_id).values(
                busy_attempt_id=None, idle_since=at))

    # -- leases and the sweeper ----------------------------------------------------------

    def renew_leases(self, contact_ids: Sequence[int], lease_until: float) -> None:
        if not contact_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(update(contacts).where(
                contacts.c.id.in_(list(contact_ids)), contacts.c.status.in_(_IN_FLIGHT),
            ).values(lease_until=lease_until))

    def expired(self, now: float, limit: int = 500) -> list[Orphan]:
        with reading(self.engine) as conn:
            rows = conn.execute(select(
                contacts.c.id, contacts.c.campaign_id, contacts.c.attempts,
            ).where(contacts.c.status.in_(_IN_FLIGHT), contacts.c.lease_until < now).limit(limit))
            return [Orphan(r.id, r.campaign_id, r.attempts) for r in rows]

    def reset_orphan(self, orphan: Orphan, after: AfterCall, now: float) -> bool:
        """End an orphan's attempt as `unknown` and move it by the policy, if still expired."""
        with self.engine.begin() as conn:
            moved = conn.execute(update(contacts).where(
                contacts.c.id == orphan.contact_id, contacts.c.attempts == orphan.attempts,
                contacts.c.status.in_(_IN_FLIGHT), contacts.c.lease_until < now,
            ).values(status=after.status.value, due_at=after.due_at, lease_until=None,
                     updated_at=now)).rowcount
            if not moved:
                return False
            attempt_id = conn.execute(select(call_attempts.c.id).where(
                call_attempts.c.contact_id == orphan.contact_id,
                call_attempts.c.attempt == orphan.attempts)).scalar()
            if attempt_id is not None:
                conn.execute(update(call_attempts).where(
                    call_attempts.c.id == attempt_id, call_attempts.c.ended_at.is_(None),
                ).values(ended_at=now, outcome=Outcome.UNKNOWN.value,
                         status_after=after.status.value))
                conn.execute(update(agents).where(agents.c.busy_attempt_id == attempt_id)
                             .values(busy_attempt_id=None, idle_since=now))
            log_event(conn, orphan.campaign_id, now, "lease_expired", orphan.contact_id,
                      {"attempt": orphan.attempts, "status_after": after.status.value})
            return True

    # -- what is left --------------------------------------------------------------------

    def in_flight(self, campaign_id: int) -> int:
        with reading(self.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(contacts).where(
                contacts.c.campaign_id == campaign_id,
                contacts.c.status.in_(_IN_FLIGHT))).scalar_one())

    def next_retry_due(self, campaign_id: int) -> float | None:
        with reading(self.engine) as conn:
            value = conn.execute(select(func.min(contacts.c.due_at)).where(
                contacts.c.campaign_id == campaign_id,
                contacts.c.status == C.RETRY_QUEUED.value)).scalar()
        return None if value is None else float(value)

    def has_work(self, campaign_id: int) -> bool:
        """True while any contact is pending, queued for retry or in flight."""
        with reading(self.engine) as conn:
            for status in (C.PENDING, C.RETRY_QUEUED, *IN_FLIGHT):
                hit = conn.execute(select(contacts.c.id).where(
                    contacts.c.campaign_id == campaign_id,
                    contacts.c.status == status.value).limit(1)).first()
                if hit is not None:
                    return True
        return False
