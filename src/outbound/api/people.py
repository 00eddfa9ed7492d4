"""The account's telephony and people: provider, phone numbers, departments, agents, menus."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, RootModel
from sqlalchemy import select, update

from outbound.api.auth import AccountId, Manager, ObjectId, Reader
from outbound.api.errors import responses
from outbound.domain.errors import InvalidInput, NotFound
from outbound.domain.phone import normalize_or_raise
from outbound.doors import StoreDep
from outbound.store import Store
from outbound.store.db import reading
from outbound.store.schema import agents, departments, voice_menus
from outbound.telephony.settings import ProviderSettings, merge_secrets, public
from outbound.telephony.sim import profile_from_settings

router = APIRouter(prefix="/api/v1/accounts/{account_id}", responses=responses(401, 404, 422))


class ProviderBody(RootModel[ProviderSettings]):
    """The account's telephone network, told apart by `kind`: `sim` takes the scenario
    file's [network] keys; `sip` a trunk; `twilio` an account of Twilio's."""


class NumbersBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    numbers: list[str]


class DepartmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]


class AgentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    department: str | None = None
    availability: Literal["available", "offline"] = "available"
    phone: str | None = None
    sip_uri: Annotated[str | None, Field(max_length=300)] = None


class AgentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department: str | None = None
    availability: Literal["available", "offline"] | None = None
    phone: str | None = None
    sip_uri: Annotated[str | None, Field(max_length=300)] = None


class MenuBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    prompt: Annotated[str, Field(min_length=1, max_length=2000)]
    options: dict[str, str]


@router.get("/provider")
def get_provider(account_id: AccountId, caller: Reader, store: StoreDep) -> dict[str, Any]:
    """The account's telephony settings; secrets are never returned, only whether they are
    set (`password_set`, `auth_token_set`)."""
    return public(store.accounts.get(account_id).provider)


@router.put("/provider", responses=responses(403))
def put_provider(account_id: AccountId, body: ProviderBody, caller: Manager,
                 store: StoreDep, request: Request) -> dict[str, Any]:
    """Replace the account's telephony settings. A secret left out keeps its stored value
    while the kind stays the same."""
    stored = store.accounts.get(account_id).provider
    data = merge_secrets(body.root.model_dump(by_alias=True), stored)
    if data["kind"] == "twilio" and not data.get("auth_token"):
        # Kept write-only, so optional in the body; but an account cannot dial Twilio without.
        raise InvalidInput("auth_token", "is required for Twilio (it is kept once given)")
    if data["kind"] == "sim":
        try:
            profile_from_settings(data)
        except InvalidInput as exc:
            raise (exc if exc.field == "handle_seconds" else exc.under("network")) from None
    store.accounts.set_provider(account_id, data)
    notify = getattr(request.app.state, "on_provider_change", None)
    if notify is not None:
        notify(account_id)
    return public(data)


@router.get("/phone-numbers")
def list_numbers(account_id: AccountId, caller: Reader, store: StoreDep) -> dict[str, Any]:
    return {"items": [{"e164": n} for n in store.accounts.numbers(account_id)], "next": None}


@router.post("/phone-numbers", status_code=201, responses=responses(403))
def add_numbers(account_id: AccountId, body: NumbersBody, caller: Manager,
                store: StoreDep) -> dict[str, Any]:
    region = store.accounts.get(account_id).region
    numbers = [normalize_or_raise(n, region, f"numbers[{i}]") for i, n in enumerate(body.numbers)]
    store.accounts.add_numbers(account_id, numbers)
    return {"items": [{"e164": n} for n in store.accounts.numbers(account_id)], "next": None}


def _agent_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "department": row.department,
            "availability": row.availability, "busy": row.busy_attempt_id is not None,
            "phone": row.phone, "sip_uri": row.sip_uri}


@router.get("/departments")
def list_departments(account_id: AccountId, caller: Reader, store: StoreDep) -> dict[str, Any]:
    with reading(store.engine) as conn:
        rows = list(conn.execute(select(departments).where(
            departments.c.account_id == account_id).order_by(departments.c.id)))
    people = store.accounts.agents(account_id)
    return {"items": [{"id": d.id, "name": d.name,
                       "agents": [_agent_json(a) for a in people if a.department == d.name]}
                      for d in rows], "next": None}


@router.post("/departments", status_code=201, responses=responses(403))
def add_department(account_id: AccountId, body: DepartmentBody, caller: Manager,
                   store: StoreDep) -> dict[str, Any]:
    department_id = store.accounts.add_department(account_id, body.name.strip())
    return {"id": department_id, "name": body.name.strip(), "agents": []}


def _department_id(store: Store, account_id: int, name: str | None) -> int | None:
    if name is None:
        return None
    with reading(store.engine) as conn:
        found = conn.execute(select(departments.c.id).where(
            departments.c.account_id == account_id, departments.c.name == name)).scalar()
    if found is None:
        raise InvalidInput("department", f"no department named {name!r} in this account")
    return int(found)


def _agent(store: Store, account_id: int, agent_id: int) -> dict[str, Any]:
    for row in store.accounts.agents(account_id):
        if row.id == agent_id:
            return _agent_json(row)
    raise NotFound(f"no agent {agent_id}")


@router.get("/agents")
def list_agents(account_id: AccountId, caller: Reader, store: StoreDep) -> dict[str, Any]:
    return {"items": [_agent_json(a) for a in store.accounts.agents(account_id)],
            "next": None}


@router.post("/agents", status_code=201, responses=responses(403))
def add_agent(account_id: AccountId, body: AgentBody, caller: Manager,
              store: StoreDep) -> dict[str, Any]:
    region = store.accounts.get(account_id).region
    phone = normalize_or_raise(body.phone, region, "phone") if body.phone else None
    agent_id = store.accounts.add_agent(
        account_id, body.name.strip(), time.time(),
        department_id=_department_id(store, account_id, body.department), phone=phone,
        sip_uri=body.sip_uri, availability=body.availability)
    return _agent(store, account_id, agent_id)


@router.get("/agents/{agent_id}")
def get_agent(account_id: AccountId, agent_id: ObjectId, caller: Reader,
              store: StoreDep) -> dict[str, Any]:
    return _agent(store, account_id, agent_id)


@router.patch("/agents/{agent_id}", responses=responses(403))
def patch_agent(account_id: AccountId, agent_id: ObjectId, body: AgentPatch, caller: Manager,
                store: StoreDep) -> dict[str, Any]:
    _agent(store, account_id, agent_id)
    changes: dict[str, Any] = {}
    given = body.model_dump(exclude_unset=True)
    if "department" in given:
        changes["department_id"] = _department_id(store, account_id, body.department)
    if body.availability is not None:
        changes["availability"] = body.availability
    if "phone" in given:
        region = store.accounts.get(account_id).region
        changes["phone"] = normalize_or_raise(body.phone, region, "phone") if body.phone \
            else None
    if "sip_uri" in given:
        changes["sip_uri"] = body.sip_uri
    if changes:
        with store.engine.begin() as conn:
            conn.execute(update(agents).where(agents.c.id == agent_id,
                                              agents.c.account_id == account_id
                                              ).values(**changes))
    return _agent(store, account_id, agent_id)


class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    secret: Annotated[str, Field(min_length=16, max_length=500)]


@router.get("/webhooks", responses=responses(403))
def list_webhooks(account_id: AccountId, caller: Manager, store: StoreDep) -> dict[str, Any]:
    return {"items": [{"id": w.id, "url": w.url} for w in store.webhooks.registered(account_id)],
            "next": None}


@router.post("/webhooks", status_code=201, responses=responses(403))
def add_webhook(account_id: AccountId, body: WebhookBody, caller: Manager,
                store: StoreDep) -> dict[str, Any]:
    """Register a URL for call results and voice-menu answers; the secret signs them and is
    never returned."""
    webhook_id = store.webhooks.register(account_id, body.url, body.secret, time.time())
    return {"id": webhook_id, "url": body.url}


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=responses(403))
def remove_webhook(account_id: AccountId, webhook_id: ObjectId, caller: Manager,
                   store: StoreDep) -> None:
    store.webhooks.remove(account_id, webhook_id)


@router.get("/voice-menus")
def list_menus(account_id: AccountId, caller: Reader, store: StoreDep) -> dict[str, Any]:
    with reading(store.engine) as conn:
        rows = list(conn.execute(select(voice_menus).where(
            voice_menus.c.account_id == account_id).order_by(voice_menus.c.id)))
    return {"items": [{"id": m.id, "name": m.name, "prompt": m.prompt,
                       "options": m.options} for m in rows], "next": None}


@router.post("/voice-menus", status_code=201, responses=responses(403))
def add_menu(account_id: AccountId, body: MenuBody, caller: Manager,
             store: StoreDep) -> dict[str, Any]:
    bad = [k for k in body.options if len(k) != 1 or k not in "0123456789*#"]
    if bad:
        raise InvalidInput("options", f"keys must be single digits 0-9, * or # (got {bad[0]!r})")
    if store.accounts.target_exists(account_id, "voice_menu", body.name.strip()):
        raise InvalidInput("name", f"a voice menu named {body.name!r} already exists")
    menu_id = store.accounts.add_voice_menu(account_id, body.name.strip(), body.prompt,
                                            body.options)
    return {"id": menu_id, "name": body.name.strip(), "prompt": body.prompt,
            "options": body.options}
