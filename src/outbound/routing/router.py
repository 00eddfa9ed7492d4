"""Choosing the agent for a call.

Customer-first: on answer, the contact's own agent (if it names one and that agent is free),
else the longest-idle free agent of the target department, or the target agent. Agent-first:
the same choice made before dialing, with a contact that names an agent waiting for exactly
that agent. The reservation is one conditional UPDATE in the store, so two campaigns (or two
workers) can never put one agent on two calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from outbound.domain.settings import Transfer, TransferKind
from outbound.store import Store
from outbound.store.db import reading
from outbound.store.dialing import ReservedAgent
from outbound.store.schema import agents, departments, voice_menus
from outbound.telephony.port import AgentEndpoint, MenuPrompt


@dataclass(frozen=True, slots=True)
class Target:
    """A campaign's transfer target, resolved to ids once."""

    transfer: Transfer
    department_id: int | None  # department targets
    department_names: dict[int, str]  # every department of the account, for endpoints
    agent_names: frozenset[str]  # every agent of the account
    menu: MenuPrompt | None  # voice-menu targets


def resolve_target(store: Store, account_id: int, transfer: Transfer) -> Target:
    with reading(store.engine) as conn:
        names = {r.id: r.name for r in conn.execute(select(departments.c.id, departments.c.name)
                                                    .where(departments.c.account_id == account_id))}
        department_id = None
        menu = None
        if transfer.kind is TransferKind.DEPARTMENT:
            department_id = next((i for i, n in names.items() if n == transfer.name), None)
        elif transfer.kind is TransferKind.VOICE_MENU:
            row = conn.execute(select(voice_menus).where(
                voice_menus.c.account_id == account_id,
                voice_menus.c.name == transfer.name)).first()
            if row is not None:
                menu = MenuPrompt(row.prompt, dict(row.options))
        agent_names = frozenset(conn.execute(select(agents.c.name).where(
            agents.c.account_id == account_id)).scalars())
    return Target(transfer, department_id, names, agent_names, menu)


def reserve_agent(store: Store, conn: Connection, account_id: int, attempt_id: int,
                  target: Target, preferred: str | None, *, strict_preference: bool
                  ) -> ReservedAgent | None:
    """Reserve the agent for an attempt, or None when nobody suitable is free.

    With `strict_preference` (agent-first) a contact naming a known agent gets that agent or
    nobody; otherwise the named agent is tried first and the target is the fallback.
    """
    dialing = store.dialing
    if preferred:
        agent = dialing.reserve_agent(conn, account_id, attempt_id, name=preferred)
        if agent is not None or (strict_preference and preferred in target.agent_names):
            return agent
    if target.transfer.kind is TransferKind.AGENT:
        return dialing.reserve_agent(conn, account_id, attempt_id, name=target.transfer.name)
    if target.transfer.kind is TransferKind.DEPARTMENT and target.department_id is not None:
        return dialing.reserve_agent(conn, account_id, attempt_id,
                                     department_id=target.department_id)
    return None


def endpoint(target: Target, agent: ReservedAgent) -> AgentEndpoint:
    department = target.department_names.get(agent.department_id or -1)
    return AgentEndpoint(agent.agent_id, agent.name, department, agent.phone, agent.sip_uri)
