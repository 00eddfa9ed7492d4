"""The figures read about campaigns as they run: the dashboard's and the API's stats, the
latest calls and events, and the per-campaign totals behind /metrics.

Reads only; the engine writes what they count. One definition of a free agent
(`store.agents.free`) keeps the figure the page shows equal to what the dialer would do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Row

from outbound.domain.contacts import Outcome
from outbound.domain.governor import Window
from outbound.domain.settings import Transfer, TransferKind
from outbound.store.agents import free
from outbound.store.db import reading
from outbound.store.schema import agents, call_attempts, campaigns, contacts, departments, events


@dataclass(frozen=True, slots=True)
class CallFigures:
    """A campaign's calls, as counted at one moment."""

    answered: int  # attempts answered, ever
    abandoned: int  # attempts that ended abandoned (customer-first, no agent in time)
    recent_dials: int  # attempts started since the moment asked about
    free_agents: int | None  # free agents of the transfer target; None for a voice menu
    recent_events: list[Row[Any]]  # the campaign's latest events, newest first


@dataclass(frozen=True, slots=True)
class AgentCounts:
    """The agents of a transfer target at one moment."""

    staffed: int  # every agent of the target, logged in or not
    logged_in: int  # available to take calls (free or on one)
    busy: int  # logged in and on a call or reserved for one

    @property
    def free(self) -> int:  # the same as `store.agents.free`: available and on no call
        return self.logged_in - self.busy


@dataclass(frozen=True, slots=True)
class Totals:
    """Every campaign's totals, for /metrics: one read of the whole store."""

    campaigns: list[Row[Any]]  # id, account_id, name, status, settings
    outcomes: list[Row[Any]]  # (campaign_id, outcome or None while in flight, count)
    states: list[Row[Any]]  # (campaign_id, contact status, count)


class StatsRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def calls(self, account_id: int, campaign_id: int, transfer: Transfer | None,
              since: float, events_limit: int = 20) -> CallFigures:
        """Answered and abandoned calls, the dials started since `since`, the free agents of
        `transfer` and the latest events, read on one connection."""
        with reading(self.engine) as conn:
            answered, abandoned, recent_dials = conn.execute(select(
                func.count(call_attempts.c.answered_at),
                func.count().filter(call_attempts.c.outcome == Outcome.ABANDONED.value),
                func.count().filter(call_attempts.c.started_at >= since),
            ).where(call_attempts.c.campaign_id == campaign_id)).one()
            free_agents = _free_agents(conn, account_id, transfer)
            recent = list(conn.execute(select(events).where(
                events.c.campaign_id == campaign_id).order_by(events.c.id.desc()).limit(
                events_limit)))
        return CallFigures(int(answered), int(abandoned), int(recent_dials), free_agents,
                           recent)

    def agents(self, account_id: int, transfer: Transfer | None) -> AgentCounts | None:
        """The agents of `transfer` now; None for a voice menu or no target."""
        with reading(self.engine) as conn:
            return _agent_counts(conn, account_id, transfer)

    def abandon_window(self, campaign_id: int, since: float) -> Window:
        """The campaign's answered calls since `since` and how many of them were abandoned
        (by us, no agent in the grace, or by the customer before an agent came)."""
        with reading(self.engine) as conn:
            answered, abandoned = conn.execute(select(
                func.count(),
                func.count().filter(call_attempts.c.outcome == Outcome.ABANDONED.value),
            ).where(call_attempts.c.campaign_id == campaign_id,
                    call_attempts.c.answered_at >= since)).one()
        return Window(int(answered), int(abandoned))

    def recent_calls(self, campaign_id: int, limit: int = 20) -> list[Row[Any]]:
        """The campaign's latest attempts, newest first."""
        with reading(self.engine) as conn:
            return list(conn.execute(select(call_attempts).where(
                call_attempts.c.campaign_id == campaign_id).order_by(
                call_attempts.c.id.desc()).limit(limit)))

    def totals(self) -> Totals:
        with reading(self.engine) as conn:
            names = list(conn.execute(select(campaigns.c.id, campaigns.c.account_id,
                                             campaigns.c.name, campaigns.c.status,
                                             campaigns.c.settings)))
            outcomes = list(conn.execute(select(
                call_attempts.c.campaign_id, call_attempts.c.outcome, func.count()).group_by(
                call_attempts.c.campaign_id, call_attempts.c.outcome)))
            states = list(conn.execute(select(
                contacts.c.campaign_id, contacts.c.status, func.count()).group_by(
                contacts.c.campaign_id, contacts.c.status)))
        return Totals(names, outcomes, states)


def _free_agents(conn: Any, account_id: int, transfer: Transfer | None) -> int | None:
    if transfer is None or transfer.kind is TransferKind.VOICE_MENU:
        return None
    if transfer.kind is TransferKind.AGENT:
        query = select(func.count()).select_from(agents).where(
            free(account_id), agents.c.name == transfer.name)
    else:
        query = select(func.count()).select_from(agents).join(
            departments, departments.c.id == agents.c.department_id).where(
            free(account_id), departments.c.name == transfer.name)
    return int(conn.execute(query).scalar_one())


def _agent_counts(conn: Any, account_id: int, transfer: Transfer | None) -> AgentCounts | None:
    if transfer is None or transfer.kind is TransferKind.VOICE_MENU:
        return None
    logged_in = agents.c.availability == "available"
    query = select(func.count(), func.count().filter(logged_in),
                   func.count().filter(free(account_id))).select_from(agents)
    if transfer.kind is TransferKind.AGENT:
        query = query.where(agents.c.account_id == account_id, agents.c.name == transfer.name)
    else:
        query = query.join(departments, departments.c.id == agents.c.department_id).where(
            agents.c.account_id == account_id, departments.c.name == transfer.name)
    staffed, available, free_now = conn.execute(query).one()
    return AgentCounts(int(staffed), int(available), int(available) - int(free_now))
