"""Agents as the store sees them: who is free to take a call, and what routing reads.

One definition of "free", used by the engine's reservations and counts and by the dashboard's
figures, so that the page never shows an agent free that the dialer would not give a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, select

from outbound.store.db import reading
from outbound.store.schema import agents, departments, voice_menus


def free(account_id: Any) -> ColumnElement[bool]:
    """An agent of the account who is available and on no call: `account_id` is a value or a
    bind parameter."""
    return and_(agents.c.account_id == account_id, agents.c.availability == "available",
                agents.c.busy_attempt_id.is_(None))


@dataclass(frozen=True, slots=True)
class AgentChoice:
    """One way to find an agent for a call; exactly one field is set."""

    name: str | None = None  # the free agent with this name
    department_id: int | None = None  # the longest-idle free agent of this department


@dataclass(frozen=True, slots=True)
class VoiceMenu:
    """A voice menu as stored: what it says and the digits it accepts."""

    prompt: str
    options: dict[str, str]


@dataclass(frozen=True, slots=True)
class Directory:
    """What routing needs to know of an account's people, read once per campaign."""

    departments: dict[int, str]  # every department of the account: id → name
    agent_names: frozenset[str]  # every agent of the account, free or not
    menu: VoiceMenu | None  # the voice menu asked for, if it exists


class AgentsRepo:
    """The reads routing decides from (reservations are the dialer's: `DialingRepo`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def directory(self, account_id: int, *, menu: str | None = None) -> Directory:
        """The account's departments and agents' names, and the voice menu named `menu`."""
        with reading(self.engine) as conn:
            names = {r.id: r.name for r in conn.execute(
                select(departments.c.id, departments.c.name)
                .where(departments.c.account_id == account_id))}
            found = None
            if menu is not None:
                row = conn.execute(select(voice_menus).where(
                    voice_menus.c.account_id == account_id,
                    voice_menus.c.name == menu)).first()
                if row is not None:
                    found = VoiceMenu(row.prompt, dict(row.options))
            agent_names = frozenset(conn.execute(select(agents.c.name).where(
                agents.c.account_id == account_id)).scalars())
        return Directory(names, agent_names, found)
