"""The account itself and its telephony and people: its settings (the abandon message),
provider, phone numbers, departments, agents, menus."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, RootModel

from outbound import service
from outbound.api.auth import AccountId, Manager, ObjectId, Reader
from outbound.api.errors import responses
from outbound.doors import ClockDep, StoreDep
from outbound.telephony.settings import ProviderSettings

router = APIRouter(prefix="/api/v1/accounts/{account_id}", responses=responses(401, 404, 422))


class ProviderBody(RootModel[ProviderSettings]):
    """The account's telephone network, told apart by `kind`: `sim` takes the scenario
    file's [network] keys; `sip` a trunk; `twilio` an account of Twilio's."""


class AccountPatch(BaseModel):
    # No length bound here: the domain checks the message, and its error names the field.
    model_config = ConfigDict(extra="forbid")
    abandon_message: str | None = None


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


@router.get("")
def get_account(account_id: AccountId, caller: Reader, store: StoreDep) -> dict[str, Any]:
    """The account: its name, zone, region and `abandon_message` (null: the default
    wording, naming the account and each campaign's first caller ID; "": none, so every
    customer-first campaign must set its own to start)."""
    return service.account_json(store, account_id)


@router.patch("", responses=responses(403))
def patch_account(account_id: AccountId, body: AccountPatch, caller: Manager,
                  store: StoreDep) -> dict[str, Any]:
    """Change the account's `abandon_message` (at most 500 characters; null brings back
    the default wording)."""
    return service.update_account(store, account_id, body.model_dump(exclude_unset=True))


@router.get("/provider")
def get_provider(account_id: AccountId, caller: Reader, store: StoreDep) -> dict[str, Any]:
    """The account's telephony settings; secrets are never returned, only whether they are
    set (`password_set`, `auth_token_set`)."""
    return service.provider(store, account_id)


@router.put("/provider", responses=responses(403))
def put_provider(account_id: AccountId, body: ProviderBody, caller: Manager,
                 store: StoreDep, request: Request) -> dict[str, Any]:
    """Replace the account's telephony settings. A secret left out keeps its stored value
    while the kind stays the same."""
    data = service.set_provider(store, account_id, body.root.model_dump(by_alias=True))
    notify = getattr(request.app.state, "on_provider_change", None)
    if notify is not None:
        notify(account_id)
    return data


def _numbers_json(numbers: list[str]) -> dict[str, Any]:
    return {"items": [{"e164": n} for n in numbers], "next": None}


@router.get("/phone-numbers")
def list_numbers(account_id: AccountId, caller: Reader, store: StoreDep) -> dict[str, Any]:
    return _numbers_json(service.numbers(store, account_id))


@router.post("/phone-numbers", status_code=201, responses=responses(403))
def add_numbers(account_id: AccountId, body: NumbersBody, caller: Manager,
                store: StoreDep) -> dict[str, Any]:
    return _numbers_json(service.add_numbers(store, account_id, body.numbers))


def _agent_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "department": row.department,
            "availability": row.availability, "busy": row.busy_attempt_id is not None,
            "phone": row.phone, "sip_uri": row.sip_uri}


@router.get("/departments")
def list_departments(account_id: AccountId, caller: Reader, store: StoreDep) -> dict[str, Any]:
    return {"items": [{"id": d.id, "name": d.name, "agents": [_agent_json(a) for a in people]}
                      for d, people in service.departments(store, account_id)], "next": None}


@router.post("/departments", status_code=201, responses=responses(403))
def add_department(account_id: AccountId, body: DepartmentBody, caller: Manager,
                   store: StoreDep) -> dict[str, Any]:
    department_id = service.add_department(store, account_id, body.name)
    return {"id": department_id, "name": body.name.strip(), "agents": []}


@router.get("/agents")
def list_agents(account_id: AccountId, caller: Reader, store: StoreDep) -> dict[str, Any]:
    return {"items": [_agent_json(a) for a in service.agents(store, account_id)],
            "next": None}


@router.post("/agents", status_code=201, responses=responses(403))
def add_agent(account_id: AccountId, body: AgentBody, caller: Manager, store: StoreDep,
              clock: ClockDep) -> dict[str, Any]:
    return _agent_json(service.add_agent(
        store, account_id, body.name, clock.now(), department=body.department,
        availability=body.availability, phone=body.phone, sip_uri=body.sip_uri))


@router.get("/agents/{agent_id}")
def get_agent(account_id: AccountId, agent_id: ObjectId, caller: Reader,
              store: StoreDep) -> dict[str, Any]:
    return _agent_json(service.agent(store, account_id, agent_id))


@router.patch("/agents/{agent_id}", responses=responses(403))
def patch_agent(account_id: AccountId, agent_id: ObjectId, body: AgentPatch, caller: Manager,
                store: StoreDep) -> dict[str, Any]:
    return _agent_json(service.update_agent(store, account_id, agent_id,
                                            body.model_dump(exclude_unset=True)))


class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    secret: Annotated[str, Field(min_length=16, max_length=500)]


@router.get("/webhooks", responses=responses(403))
def list_webhooks(account_id: AccountId, caller: Manager, store: StoreDep) -> dict[str, Any]:
    return {"items": [{"id": w.id, "url": w.url} for w in service.webhooks(store, account_id)],
            "next": None}


@router.post("/webhooks", status_code=201, responses=responses(403))
def add_webhook(account_id: AccountId, body: WebhookBody, caller: Manager,
                store: StoreDep, clock: ClockDep) -> dict[str, Any]:
    """Register a URL for call results and voice-menu answers; the secret signs them and is
    never returned."""
    webhook_id = service.add_webhook(store, account_id, body.url, body.secret, clock.now())
    return {"id": webhook_id, "url": body.url}


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=responses(403))
def remove_webhook(account_id: AccountId, webhook_id: ObjectId, caller: Manager,
                   store: StoreDep) -> None:
    service.remove_webhook(store, account_id, webhook_id)


@router.get("/voice-menus")
def list_menus(account_id: AccountId, caller: Reader, store: StoreDep) -> dict[str, Any]:
    return {"items": [{"id": m.id, "name": m.name, "prompt": m.prompt,
                       "options": m.options} for m in service.voice_menus(store, account_id)],
            "next": None}


@router.post("/voice-menus", status_code=201, responses=responses(403))
def add_menu(account_id: AccountId, body: MenuBody, caller: Manager,
             store: StoreDep) -> dict[str, Any]:
    menu_id = service.add_voice_menu(store, account_id, body.name, body.prompt, body.options)
    return {"id": menu_id, "name": body.name.strip(), "prompt": body.prompt,
            "options": body.options}
