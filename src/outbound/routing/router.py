"""Choosing the agent for a call: who to try, in what order. Pure: it decides from the facts
it is given and reserves nobody.

Customer-first: on answer, the contact's own agent (if it names one and that agent is free),
else the longest-idle free agent of the target department, or the target agent. Agent-first:
the same choice made before dialing, with a contact that names an agent waiting for exactly
that agent. The engine reserves the first choice that finds a free agent through the store
(`DialingRepo.reserve_agent`), one conditional UPDATE each, so two campaigns (or two workers)
can never put one agent on two calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from outbound.domain.settings import Transfer, TransferKind
from outbound.store.agents import AgentChoice, Directory
from outbound.store.dialing import ReservedAgent
from outbound.telephony.port import AgentEndpoint, MenuPrompt


@dataclass(frozen=True, slots=True)
class Target:
    """A campaign's transfer target, resolved to ids once."""

    transfer: Transfer
    department_id: int | None  # department targets
    department_names: dict[int, str]  # every department of the account, for endpoints
    agent_names: frozenset[str]  # every agent of the account
    menu: MenuPrompt | None  # voice-menu targets
    choices: tuple[AgentChoice, ...]  # whom the target itself offers, in order


def resolve_target(transfer: Transfer, directory: Directory) -> Target:
    """The target `transfer` names, in the account described by `directory`."""
    department_id = None
    choices: tuple[AgentChoice, ...] = ()
    if transfer.kind is TransferKind.DEPARTMENT:
        department_id = next((i for i, n in directory.departments.items()
                              if n == transfer.name), None)
        if department_id is not None:
            choices = (AgentChoice(department_id=department_id),)
    elif transfer.kind is TransferKind.AGENT:
        choices = (AgentChoice(name=transfer.name),)
    menu = None
    if transfer.kind is TransferKind.VOICE_MENU and directory.menu is not None:
        menu = MenuPrompt(directory.menu.prompt, directory.menu.options)
    return Target(transfer, department_id, directory.departments, directory.agent_names, menu,
                  choices)


def candidates(target: Target, preferred: str | None, *, strict_preference: bool
               ) -> tuple[AgentChoice, ...]:
    """Whom to try for a call, in order; an empty tuple when the target has nobody.

    With `strict_preference` (agent-first) a contact naming a known agent gets that agent or
    nobody; otherwise the named agent is tried first and the target is the fallback.
    """
    if not preferred:
        return target.choices
    named = (AgentChoice(name=preferred),)
    if strict_preference and preferred in target.agent_names:
        return named
    return named + target.choices


def endpoint(target: Target, agent: ReservedAgent) -> AgentEndpoint:
    department = target.department_names.get(agent.department_id or -1)
    return AgentEndpoint(agent.agent_id, agent.name, department, agent.phone, agent.sip_uri)
