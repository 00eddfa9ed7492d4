"""Who and what answers an account's calls, through any door: departments, agents and their
availability, voice menus."""

from __future__ import annotations

from typing import Any

from outbound.domain.errors import InvalidInput, NotFound
from outbound.domain.phone import normalize_or_raise
from outbound.store import Store

MENU_KEYS = "0123456789*#"


def departments(store: Store, account_id: int) -> list[tuple[Any, list[Any]]]:
    """Each department of the account with its agents, in the order they were added."""
    people = store.accounts.agents(account_id)
    return [(d, [a for a in people if a.department == d.name])
            for d in store.accounts.departments(account_id)]


def add_department(store: Store, account_id: int, name: str) -> int:
    """A department (the one already so named, if any): its id."""
    return store.accounts.add_department(account_id, name.strip())


def _department_id(store: Store, account_id: int, name: str | None) -> int | None:
    if name is None:
        return None
    found = store.accounts.department_id(account_id, name)
    if found is None:
        raise InvalidInput("department", f"no department named {name!r} in this account")
    return found


def agents(store: Store, account_id: int) -> list[Any]:
    return store.accounts.agents(account_id)


def agent(store: Store, account_id: int, agent_id: int) -> Any:
    """The account's agent, with its department's name; NotFound otherwise."""
    for row in store.accounts.agents(account_id):
        if row.id == agent_id:
            return row
    raise NotFound(f"no agent {agent_id}")


def _phone(store: Store, account_id: int, phone: str | None) -> str | None:
    if not phone:
        return None
    return normalize_or_raise(phone, store.accounts.get(account_id).region, "phone")


def add_agent(store: Store, account_id: int, name: str, now: float, *,
              department: str | None = None, availability: str = "available",
              phone: str | None = None, sip_uri: str | None = None) -> Any:
    """A new agent, idle since `now`; its department must exist. The agent as stored."""
    e164 = _phone(store, account_id, phone)
    agent_id = store.accounts.add_agent(
        account_id, name.strip(), now,
        department_id=_department_id(store, account_id, department), phone=e164,
        sip_uri=sip_uri, availability=availability)
    return agent(store, account_id, agent_id)


def update_agent(store: Store, account_id: int, agent_id: int,
                 given: dict[str, Any]) -> Any:
    """Change the fields given of an agent: `department` (None: none), `availability`,
    `phone` (None or empty: none), `sip_uri`. The agent as stored."""
    agent(store, account_id, agent_id)
    changes: dict[str, Any] = {}
    if "department" in given:
        changes["department_id"] = _department_id(store, account_id, given["department"])
    if given.get("availability") is not None:
        changes["availability"] = given["availability"]
    if "phone" in given:
        changes["phone"] = _phone(store, account_id, given["phone"])
    if "sip_uri" in given:
        changes["sip_uri"] = given["sip_uri"]
    store.accounts.update_agent(account_id, agent_id, changes)
    return agent(store, account_id, agent_id)


def targets(store: Store, account_id: int) -> dict[str, list[str]]:
    """What an answered call can be transferred to, by kind (department, agent, voice
    menu): the names of each."""
    return store.accounts.targets(account_id)


def voice_menus(store: Store, account_id: int) -> list[Any]:
    return store.accounts.voice_menus(account_id)


def add_voice_menu(store: Store, account_id: int, name: str, prompt: str,
                   options: dict[str, str]) -> int:
    """A voice menu: a prompt, and what each key (0-9, * or #) means. Its id."""
    bad = [k for k in options if len(k) != 1 or k not in MENU_KEYS]
    if bad:
        raise InvalidInput("options", f"keys must be single digits 0-9, * or # (got {bad[0]!r})")
    if store.accounts.target_exists(account_id, "voice_menu", name.strip()):
        raise InvalidInput("name", f"a voice menu named {name!r} already exists")
    return store.accounts.add_voice_menu(account_id, name.strip(), prompt, options)
