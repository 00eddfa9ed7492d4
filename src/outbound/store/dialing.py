"""The dialer's statements: claims, call events, agent reservations, leases and the sweeper.

Every claim is one atomic UPDATE … RETURNING whose subquery picks the next contact in order
(on PostgreSQL with FOR UPDATE SKIP LOCKED) and whose SET checks the do-not-call list at that
very moment: a number added to the list a second ago is blocked, not dialed. Every event write
is guarded by the state it expects, so an event seen twice, late, or after the sweeper reset
its contact changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Engine,
    Float,
    Integer,
    String,
    Text,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from outbound.domain.contacts import (
    IN_FLIGHT,
    AfterCall,
    ContactStatus,
    Outcome,
)
from outbound.domain.settings import OPT_OUT_DIGIT, OPT_OUT_SOURCE
from outbound.domain.timefmt import iso
from outbound.store.agents import AgentChoice, free
from outbound.store.campaigns import log_event
from outbound.store.db import Pinned
from outbound.store.fast import run
from outbound.store.schema import (
    agents,
    call_attempts,
    campaigns,
    contacts,
    dnc,
    outbox,
    webhooks,
)

_IN_FLIGHT = [s.value for s in IN_FLIGHT]
_IN_FLIGHT_STATES = tuple(sorted(IN_FLIGHT))
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


def _claim_statement(retry: bool, agent_filter: bool, dialect: str) -> Any:
    """The claim as one UPDATE … RETURNING, built once and reused with new parameters."""
    status = C.RETRY_QUEUED if retry else C.PENDING
    candidate = select(contacts.c.id).where(
        contacts.c.campaign_id == bindparam("p_campaign_id"), contacts.c.status == status.value)
    if retry:
        candidate = candidate.where(contacts.c.due_at <= bindparam("p_now")).order_by(
            contacts.c.due_at, contacts.c.position)
    else:
        candidate = candidate.order_by(contacts.c.position)
    if agent_filter:
        known = select(agents.c.name).where(agents.c.account_id == bindparam("p_account_id"))
        candidate = candidate.where(or_(
            contacts.c.agent.is_(None),
            contacts.c.agent.in_(bindparam("p_free", expanding=True)),
            contacts.c.agent.not_in(known),
        ))
    candidate = candidate.limit(1)
    if dialect == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    # Compliance: the do-not-call list is read inside the claim itself.
    on_dnc = exists().where(dnc.c.account_id == bindparam("p_account_id"),
                            dnc.c.phone == contacts.c.phone)
    return (
        update(contacts)
        .where(contacts.c.id == candidate.scalar_subquery(), contacts.c.status == status.value)
        .values(
            status=case((on_dnc, C.BLOCKED.value), else_=C.DIALING.value),
            attempts=case((on_dnc, contacts.c.attempts), else_=contacts.c.attempts + 1),
            lease_until=case((on_dnc, None), else_=bindparam("p_lease_until")),
            due_at=None,
            updated_at=bindparam("p_now"),
        )
        .returning(contacts.c.id, contacts.c.phone, contacts.c.attempts, contacts.c.caller_id,
                   contacts.c.agent, contacts.c.status)
    )


def _reserve_statement(by: str, dialect: str) -> Any:
    candidate = select(agents.c.id).where(
        free(bindparam("p_account_id")),
        (agents.c.name if by == "name" else agents.c.department_id) == bindparam("p_key"),
    ).order_by(agents.c.idle_since, agents.c.id).limit(1)
    if dialect == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    return update(agents).where(
        agents.c.id == candidate.scalar_subquery(), agents.c.busy_attempt_id.is_(None),
    ).values(busy_attempt_id=bindparam("p_attempt_id")).returning(
        agents.c.id, agents.c.name, agents.c.department_id, agents.c.phone, agents.c.sip_uri)


# The hot path's statements, built once: Core constructs cost more to build than to run.
_SET_CALLER_ID = update(contacts).where(contacts.c.id == bindparam("p_id")).values(
    caller_id=bindparam("p_caller_id"))
_INSERT_ATTEMPT = insert(call_attempts).values(
    campaign_id=bindparam("p_campaign_id"), contact_id=bindparam("p_contact_id"),
    attempt=bindparam("p_attempt"), phone=bindparam("p_phone"),
    caller_id=bindparam("p_caller_id"), started_at=bindparam("p_now"),
).returning(call_attempts.c.id)
_FREE_AGENTS = select(agents.c.name).where(free(bindparam("p_account_id")))
_FREE_IN = {
    "name": select(func.count()).select_from(agents).where(
        free(bindparam("p_account_id")), agents.c.name == bindparam("p_key")),
    "department": select(func.count()).select_from(agents).where(
        free(bindparam("p_account_id")), agents.c.department_id == bindparam("p_key")),
}
_SET_AGENT = update(call_attempts).where(call_attempts.c.id == bindparam("p_id")).values(
    agent_id=bindparam("p_agent_id"), agent=bindparam("p_agent"))
_MOVES: dict[tuple[ContactStatus, ...], Any] = {}


def _move_contact(from_: tuple[ContactStatus, ...]) -> Any:
    """Move a contact on, guarded by its attempt number and the statuses it may leave."""
    statement = _MOVES.get(from_)
    if statement is None:
        statement = _MOVES[from_] = update(contacts).where(
            contacts.c.id == bindparam("p_id"), contacts.c.attempts == bindparam("p_attempt"),
            or_(*(contacts.c.status == s.value for s in from_)),
        ).values(status=bindparam("p_status"), updated_at=bindparam("p_now"),
                 lease_until=bindparam("p_lease_until"), due_at=bindparam("p_due_at"))
    return statement
_RINGING = update(call_attempts).where(
    call_attempts.c.id == bindparam("p_id"), call_attempts.c.ringing_at.is_(None),
    call_attempts.c.answered_at.is_(None), call_attempts.c.ended_at.is_(None),
).values(ringing_at=bindparam("p_at"), call_id=bindparam("p_call_id"))
_ANSWERED = update(call_attempts).where(
    call_attempts.c.id == bindparam("p_id"), call_attempts.c.answered_at.is_(None),
    call_attempts.c.ended_at.is_(None),
).values(answered_at=bindparam("p_at"),
         call_id=func.coalesce(call_attempts.c.call_id, bindparam("p_call_id")))
_BRIDGED = update(call_attempts).where(
    call_attempts.c.id == bindparam("p_id"), call_attempts.c.ended_at.is_(None),
).values(bridged_at=bindparam("p_at"))
_END_ATTEMPT = update(call_attempts).where(
    call_attempts.c.id == bindparam("p_id"), call_attempts.c.ended_at.is_(None),
).values(ended_at=bindparam("p_at"), outcome=bindparam("p_outcome"),
         sip_code=bindparam("p_sip_code"), duration=bindparam("p_duration"),
         # A recording may have been attached already (Twilio's recording webhook).
         recording=func.coalesce(bindparam("p_recording", type_=Text), call_attempts.c.recording),
         status_after=bindparam("p_status_after"))
_RELEASE_AGENT = update(agents).where(agents.c.busy_attempt_id == bindparam("p_attempt_id")
                                      ).values(busy_attempt_id=None, idle_since=bindparam("p_at"))


_EXPIRED = select(contacts.c.id, contacts.c.campaign_id, contacts.c.attempts).where(
    or_(*(contacts.c.status == s for s in _IN_FLIGHT)),
    contacts.c.lease_until < bindparam("p_now"),
).limit(bindparam("p_limit"))
_NEXT_RETRY = select(func.min(contacts.c.due_at)).where(
    contacts.c.campaign_id == bindparam("p_campaign_id"),
    contacts.c.status == C.RETRY_QUEUED.value,
    contacts.c.due_at.is_not(None))  # lets SQLite use the partial index ix_contacts_due
_IN_FLIGHT_COUNT = select(func.count()).select_from(contacts).where(
    contacts.c.campaign_id == bindparam("p_campaign_id"),
    or_(*(contacts.c.status == s for s in _IN_FLIGHT)))
_RENEW_LEASES = update(contacts).where(
    contacts.c.id.in_(bindparam("p_ids", expanding=True)), contacts.c.status.in_(_IN_FLIGHT),
).values(lease_until=bindparam("p_until"))


# One outbox row per webhook of the campaign's account; none (and no cost) without webhooks.
_OUTBOX = insert(outbox).from_select(
    ["webhook_id", "event_id", "kind", "payload", "created_at", "next_attempt_at", "attempts"],
    select(webhooks.c.id, bindparam("p_event_id", type_=String), bindparam("p_kind", type_=String),
           bindparam("p_payload", type_=String), bindparam("p_now", type_=Float),
           bindparam("p_now2", type_=Float), literal(0, Integer)).where(
        webhooks.c.account_id == select(campaigns.c.account_id).where(
            campaigns.c.id == bindparam("p_campaign_id")).scalar_subquery()),
)


def _to_outbox(conn: Connection, ref: AttemptRef, kind: str, *, now: float,
               **facts: Any) -> None:
    event_id = f"{kind}:{ref.attempt_id}"
    payload = json.dumps({"id": event_id, "type": kind, "occurred_at": iso(now),
                          "campaign_id": ref.campaign_id, "contact_id": ref.contact_id,
                          "attempt_id": ref.attempt_id, "attempt": ref.attempt, **facts},
                         separators=(",", ":"))
    run(conn, _OUTBOX, {"p_event_id": event_id, "p_kind": kind, "p_payload": payload,
                        "p_now": now, "p_now2": now, "p_campaign_id": ref.campaign_id})


class DialingRepo:
    """The engine's statements, on connections pinned to the engine's thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pinned = Pinned(engine)
        self._claims: dict[tuple[bool, bool, str], Any] = {}
        self._reserve: dict[tuple[str, str], Any] = {}

    # -- claims --------------------------------------------------------------------------

    def claim(
        self, conn: Connection, campaign_id: int, account_id: int, now: float,
        lease_until: float, *, retry: bool, free_agents: Sequence[str] | None = None,
    ) -> Claimed | None:
        """Take the next contact: with `retry`, the retry that has been due longest; else the
        next pending contact in list order.

        With `free_agents` (agent-first), a contact that asks for an agent who is busy is
        passed over so that the others go ahead.
        """
        key = (retry, free_agents is not None, conn.dialect.name)
        statement = self._claims.get(key)
        if statement is None:
            statement = self._claims[key] = _claim_statement(*key)
        params: dict[str, Any] = {"p_campaign_id": campaign_id, "p_account_id": account_id,
                                  "p_now": now, "p_lease_until": lease_until}
        if free_agents is not None:
            params["p_free"] = list(free_agents)
        # A list of free agents is an expanding parameter: that variant runs the usual way.
        result = conn.execute(statement, params) if free_agents is not None else run(
            conn, statement, params)
        row = result.first()
        if row is None:
            return None
        blocked = row.status == C.BLOCKED.value
        if blocked:
            log_event(conn, campaign_id, now, "dnc_block", row.id, {"phone": row.phone})
        return Claimed(row.id, row.phone, row.attempts, row.caller_id, row.agent, blocked)

    def start_attempt(
        self, conn: Connection, campaign_id: int, claimed: Claimed, caller_id: str, now: float,
        *, keep_caller_id: bool = False,
    ) -> int:
        """Record the attempt; with `keep_caller_id` (sticky) the contact keeps its first."""
        if keep_caller_id and claimed.caller_id != caller_id:
            run(conn, _SET_CALLER_ID, {"p_id": claimed.contact_id, "p_caller_id": caller_id})
        return int(run(conn, _INSERT_ATTEMPT, {
            "p_campaign_id": campaign_id, "p_contact_id": claimed.contact_id,
            "p_attempt": claimed.attempt, "p_phone": claimed.phone, "p_caller_id": caller_id,
            "p_now": now,
        }).scalar_one())

    def free_agent_names(self, conn: Connection, account_id: int) -> list[str]:
        return list(run(conn, _FREE_AGENTS, {"p_account_id": account_id}).scalars())

    def free_agents(self, conn: Connection, account_id: int,
                    choices: Sequence[AgentChoice]) -> int:
        """How many agents `choices` could reserve now (a target's: a department or a name)."""
        total = 0
        for choice in choices:
            by_name = choice.name is not None
            total += int(run(conn, _FREE_IN["name" if by_name else "department"], {
                "p_account_id": account_id,
                "p_key": choice.name if by_name else choice.department_id,
            }).scalar_one())
        return total

    def reserve_agent(
        self, conn: Connection, account_id: int, attempt_id: int,
        choices: Sequence[AgentChoice],
    ) -> ReservedAgent | None:
        """Make an agent busy with an attempt: the first of `choices` that finds one free."""
        for choice in choices:
            by_name = choice.name is not None
            key = ("name" if by_name else "department", conn.dialect.name)
            statement = self._reserve.get(key)
            if statement is None:
                statement = self._reserve[key] = _reserve_statement(*key)
            row = run(conn, statement, {
                "p_account_id": account_id, "p_attempt_id": attempt_id,
                "p_key": choice.name if by_name else choice.department_id,
            }).first()
            if row is not None:
                run(conn, _SET_AGENT, {"p_id": attempt_id, "p_agent_id": row.id,
                                       "p_agent": row.name})
                return ReservedAgent(row.id, row.name, row.department_id, row.phone,
                                     row.sip_uri)
        return None

    # -- call events ---------------------------------------------------------------------

    def attempt_ref(self, attempt_id: int) -> AttemptRef | None:
        with self.pinned.read() as conn:
            row = conn.execute(select(
                call_attempts.c.id, call_attempts.c.campaign_id, call_attempts.c.contact_id,
                call_attempts.c.attempt, call_attempts.c.agent_id, call_attempts.c.ended_at,
            ).where(call_attempts.c.id == attempt_id)).first()
        if row is None:
            return None
        return AttemptRef(row.id, row.campaign_id, row.contact_id, row.attempt, row.agent_id,
                          row.ended_at is not None)

    def _move_contact(self, conn: Connection, ref: AttemptRef, to: ContactStatus,
                      from_: Sequence[ContactStatus], now: float, lease_until: float | None,
                      due_at: float | None = None) -> bool:
        return bool(run(conn, _move_contact(tuple(from_)), {
            "p_id": ref.contact_id, "p_attempt": ref.attempt, "p_status": to.value,
            "p_now": now, "p_lease_until": lease_until,
            "p_due_at": due_at,
        }).rowcount)

    def mark_ringing(self, ref: AttemptRef, call_id: str, at: float, lease_until: float) -> bool:
        with self.pinned.write() as conn:
            done = run(conn, _RINGING, {"p_id": ref.attempt_id, "p_at": at,
                                           "p_call_id": call_id}).rowcount
            return bool(done) and self._move_contact(conn, ref, C.RINGING, (C.DIALING,), at,
                                                     lease_until)

    def mark_answered(self, ref: AttemptRef, call_id: str, at: float, lease_until: float) -> bool:
        with self.pinned.write() as conn:
            done = run(conn, _ANSWERED, {"p_id": ref.attempt_id, "p_at": at,
                                            "p_call_id": call_id}).rowcount
            return bool(done) and self._move_contact(conn, ref, C.ANSWERED,
                                                     (C.DIALING, C.RINGING), at, lease_until)

    def set_agent_call(self, attempt_id: int, agent_call_id: str) -> None:
        with self.pinned.write() as conn:
            conn.execute(update(call_attempts).where(call_attempts.c.id == attempt_id).values(
                agent_call_id=agent_call_id))

    def mark_bridged(self, attempt_id: int, at: float, conn: Connection | None = None) -> None:
        if conn is None:
            with self.pinned.write() as own:
                self.mark_bridged(attempt_id, at, own)
            return
        run(conn, _BRIDGED, {"p_id": attempt_id, "p_at": at})

    def record_digit(self, ref: AttemptRef, digit: str, now: float) -> bool:
        with self.pinned.write() as conn:
            done = conn.execute(update(call_attempts).where(
                call_attempts.c.id == ref.attempt_id, call_attempts.c.digit.is_(None),
            ).values(digit=digit)).rowcount
            if done:
                conn.execute(update(contacts).where(contacts.c.id == ref.contact_id).values(
                    digit=digit))
                _to_outbox(conn, ref, "voice_menu.answered", now=now, digit=digit)
            return bool(done)

    def opt_out(self, ref: AttemptRef, now: float) -> bool:
        """The called party pressed the opt-out digit during the abandon message: their
        number goes on the account's do-not-call list (`source` "opt-out"), the digit on the
        attempt (the call log shows it) and the event in the campaign's history. Returns
        whether the number was new to the list."""
        with self.pinned.write() as conn:
            row = conn.execute(select(contacts.c.phone, campaigns.c.account_id).join(
                campaigns, campaigns.c.id == contacts.c.campaign_id).where(
                contacts.c.id == ref.contact_id)).first()
            if row is None:
                return False
            insert_ = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            added = conn.execute(insert_(dnc).values(
                account_id=row.account_id, phone=row.phone, added_at=now,
                source=OPT_OUT_SOURCE,
            ).on_conflict_do_nothing(index_elements=["account_id", "phone"])).rowcount
            conn.execute(update(call_attempts).where(
                call_attempts.c.id == ref.attempt_id, call_attempts.c.digit.is_(None),
            ).values(digit=OPT_OUT_DIGIT))
            log_event(conn, ref.campaign_id, now, "opted_out", ref.contact_id,
                      {"phone": row.phone})
            return bool(added)

    def finish(self, ref: AttemptRef, outcome: Outcome, after: AfterCall, at: float, *,
               sip_code: int | None = None, duration: float | None = None,
               recording: str | None = None, phone: str | None = None) -> bool:
        """End an attempt, move its contact by the retry policy and free its agent; the CRM's
        webhook event is written in the same transaction."""
        with self.pinned.write() as conn:
            done = run(conn, _END_ATTEMPT, {
                "p_id": ref.attempt_id, "p_at": at, "p_outcome": outcome.value,
                "p_sip_code": sip_code, "p_duration": duration, "p_recording": recording,
                "p_status_after": after.status.value,
            }).rowcount
            if not done:
                return False
            self._move_contact(conn, ref, after.status, _IN_FLIGHT_STATES, at, None, after.due_at)
            run(conn, _RELEASE_AGENT, {"p_attempt_id": ref.attempt_id, "p_at": at})
            _to_outbox(conn, ref, "call.completed", now=at, phone=phone,
                       outcome=outcome.value, sip_code=sip_code, duration=duration,
                       status_after=after.status.value, recorded=recording is not None)
            return True

    def refused(self, ref: AttemptRef, at: float, due_at: float,
                sip_code: int | None = None) -> bool:
        """Undo an attempt the network refused to place (for load): nothing was dialed, so
        the contact gets its attempt back and waits until `due_at`; the refusal is kept in
        the campaign's events, not in the call log."""
        with self.pinned.write() as conn:
            moved = conn.execute(update(contacts).where(
                contacts.c.id == ref.contact_id, contacts.c.attempts == ref.attempt,
                or_(*(contacts.c.status == s for s in (C.DIALING.value, C.RINGING.value))),
            ).values(status=C.RETRY_QUEUED.value, attempts=contacts.c.attempts - 1,
                     due_at=due_at, lease_until=None, updated_at=at)).rowcount
            if not moved:
                return False
            run(conn, _RELEASE_AGENT, {"p_attempt_id": ref.attempt_id, "p_at": at})
            conn.execute(delete(call_attempts).where(call_attempts.c.id == ref.attempt_id,
                                                     call_attempts.c.ended_at.is_(None)))
            log_event(conn, ref.campaign_id, at, "carrier_refused", ref.contact_id,
                      {"attempt": ref.attempt, "sip_code": sip_code, "retry_at": iso(due_at)})
            return True

    # -- leases and the sweeper ----------------------------------------------------------

    def renew_leases(self, contact_ids: Sequence[int], lease_until: float) -> None:
        if not contact_ids:
            return
        with self.pinned.write() as conn:
            conn.execute(_RENEW_LEASES, {"p_ids": list(contact_ids), "p_until": lease_until})

    def expired(self, now: float, limit: int = 500) -> list[Orphan]:
        with self.pinned.read() as conn:
            rows = run(conn, _EXPIRED, {"p_now": now, "p_limit": limit}).all()
            return [Orphan(r.id, r.campaign_id, r.attempts) for r in rows]

    def reset_orphan(self, orphan: Orphan, after: AfterCall, now: float) -> bool:
        """End an orphan's attempt as `unknown` and move it by the policy, if still expired."""
        with self.pinned.write() as conn:
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
                conn.execute(_RELEASE_AGENT, {"p_attempt_id": attempt_id, "p_at": now})
            log_event(conn, orphan.campaign_id, now, "lease_expired", orphan.contact_id,
                      {"attempt": orphan.attempts, "status_after": after.status.value})
            return True

    def reset_contact(self, contact_id: int, after_of: Any, now: float, by: str) -> bool:
        """An operator's reset of a contact stuck in flight: like the sweeper's, at once.

        `after_of(attempts)` gives the AfterCall for the attempt being ended as `unknown`."""
        with self.pinned.write() as conn:
            row = conn.execute(select(contacts.c.campaign_id, contacts.c.attempts,
                                      contacts.c.status).where(
                contacts.c.id == contact_id)).first()
            if row is None or row.status not in _IN_FLIGHT:
                return False
            orphan = Orphan(contact_id, row.campaign_id, row.attempts)
            conn.execute(update(contacts).where(contacts.c.id == contact_id).values(
                lease_until=now - 1))
        after = after_of(row.attempts)
        if not self.reset_orphan(orphan, after, now):
            return False
        with self.pinned.write() as conn:
            log_event(conn, row.campaign_id, now, "manual_reset", contact_id, {"by": by})
        return True

    # -- what is left --------------------------------------------------------------------

    def in_flight(self, campaign_id: int) -> int:
        with self.pinned.read() as conn:
            return int(run(conn, _IN_FLIGHT_COUNT, {"p_campaign_id": campaign_id}).scalar_one())

    def next_retry_due(self, campaign_id: int, conn: Connection) -> float | None:
        value = run(conn, _NEXT_RETRY, {"p_campaign_id": campaign_id}).scalar()
        return None if value is None else float(value)

    def has_work(self, campaign_id: int) -> bool:
        """True while any contact is pending, queued for retry or in flight."""
        with self.pinned.read() as conn:
            for status in (C.PENDING, C.RETRY_QUEUED, *IN_FLIGHT):
                hit = conn.execute(select(contacts.c.id).where(
                    contacts.c.campaign_id == campaign_id,
                    contacts.c.status == status.value).limit(1)).first()
                if hit is not None:
                    return True
        return False
