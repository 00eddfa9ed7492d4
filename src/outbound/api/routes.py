"""The /api/v1 resources of an account: campaigns, their contacts and stats, the DNC list.

Bodies are checked by the domain (the same limits as the CLI and the scenario file), so a
422 names the field and the allowed range exactly as everywhere else.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict
from python_multipart.exceptions import FormParserError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from outbound import service
from outbound.api.auth import AccountId, Manager, ObjectId, Reader
from outbound.api.errors import responses
from outbound.domain.contacts import ContactStatus
from outbound.domain.errors import InvalidInput, NotFound, TooLarge
from outbound.domain.hours import BusinessHours
from outbound.domain.lifecycle import CampaignAction
from outbound.domain.timefmt import iso
from outbound.doors import MAX_ID, MAX_UPLOAD_BYTES, ClockDep, StoreDep
from outbound.ingest.contacts import ImportReport
from outbound.scenario import parse_time
from outbound.store import Store
from outbound.store.campaigns import Campaign

router = APIRouter(prefix="/api/v1/accounts/{account_id}", responses=responses(401, 404, 422))


# -- bodies ------------------------------------------------------------------------------------


class Hours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: str
    days: list[str]
    open: str
    close: str


class CampaignBody(BaseModel):
    """A campaign's settings, named as in the scenario file's [campaign] table."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    dial_mode: Literal["customer-first", "agent-first"] | None = None
    pacing: float | None = None
    concurrency: int | None = None
    attempts: int | None = None
    backoff_seconds: float | None = None
    backoff_multiplier: float | None = None
    rotation: Literal["round-robin", "random", "sticky"] | None = None
    numbers: list[str] | None = None
    transfer: dict[str, str] | None = None
    recording: bool | None = None
    ring_timeout: float | None = None
    start: str | None = None
    business_hours: Hours | None = None
    dialing: Literal["predictive", "progressive", "fixed"] | None = None  # customer-first only
    abandon_target: float | None = None  # percent of answered calls, 0–5
    abandon_window: Literal["30d", "24h"] | None = None
    abandon_message: str | None = None  # said to an abandoned call; null: the account's


class Numbers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    numbers: list[str]


def _changes(body: CampaignBody) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    if data.get("start") is not None:
        data["start"] = parse_time(data["start"], "start")
    if "business_hours" in data and data["business_hours"] is not None:
        try:
            data["business_hours"] = BusinessHours.parse(**data["business_hours"])
        except InvalidInput as exc:
            raise exc.under("business_hours") from None
    return data


def campaign_json(store: Store, campaign: Campaign) -> dict[str, Any]:
    return service.campaign_summary(store, campaign)


def _campaign(store: Store, account_id: int, campaign_id: int) -> Campaign:
    return service.campaign_of(store, account_id, campaign_id)


def _changed(request: Request) -> None:
    """Tell the engine in this process to re-read campaigns now."""
    notify = getattr(request.app.state, "on_change", None)
    if notify is not None:
        notify()


# -- campaigns ---------------------------------------------------------------------------------


@router.get("/campaigns")
def list_campaigns(account_id: AccountId, caller: Reader, store: StoreDep,
                   after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    rows = [c for c in service.list_campaigns(store, account_id) if after is None or c.id > after]
    page = rows[:limit]
    return {"items": [campaign_json(store, c) for c in page],
            "next": str(page[-1].id) if len(rows) > limit else None}


@router.post("/campaigns", status_code=201, responses=responses(403))
def create_campaign(account_id: AccountId, body: CampaignBody, caller: Manager,
                    store: StoreDep, clock: ClockDep) -> dict[str, Any]:
    return campaign_json(store, service.create_campaign(store, account_id, _changes(body),
                                                        clock.now()))


@router.get("/campaigns/{campaign_id}")
def get_campaign(account_id: AccountId, campaign_id: ObjectId, caller: Reader,
                 store: StoreDep) -> dict[str, Any]:
    return campaign_json(store, _campaign(store, account_id, campaign_id))


@router.patch("/campaigns/{campaign_id}", responses=responses(403, 409))
def update_campaign(account_id: AccountId, campaign_id: ObjectId, body: CampaignBody,
                    caller: Manager, store: StoreDep, clock: ClockDep,
                    request: Request) -> dict[str, Any]:
    updated = service.update_campaign(store, account_id, campaign_id, _changes(body),
                                      clock.now())
    _changed(request)
    return campaign_json(store, updated)


@router.delete("/campaigns/{campaign_id}", status_code=204, responses=responses(403))
def delete_campaign(account_id: AccountId, campaign_id: ObjectId, caller: Manager,
                    store: StoreDep) -> None:
    service.delete_campaign(store, account_id, campaign_id)


# -- contacts ----------------------------------------------------------------------------------


_CSV_FILE: dict[str, Any] = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "The CSV file (at most 50 MB)"}}}}}
CONTACTS_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    **_CSV_FILE,
    "application/json": {"schema": {
        "type": "array", "description": "Contacts, each with the keys of a CSV header",
        "items": {"type": "object", "required": ["phone"],
                  "properties": {"phone": {"type": "string"}, "name": {"type": "string"},
                                 "agent": {"type": "string"}},
                  "additionalProperties": {"type": ["string", "number", "boolean", "null"]}},
    }},
}}}
DNC_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": _CSV_FILE}}


async def _upload(request: Request) -> tuple[str, Any]:
    """('csv', binary file) or ('json', data) from a multipart or JSON request body."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"the upload is {int(length):,} bytes; at most {MAX_UPLOAD_BYTES:,}")
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        body = await request.body()
        if len(body) > MAX_UPLOAD_BYTES:
            raise TooLarge(f"the upload is over {MAX_UPLOAD_BYTES:,} bytes")
        try:
            return "json", json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput("body", f"is not valid JSON ({exc})") from None
    if kind.startswith("multipart/form-data"):
        try:
            form = await request.form()
        except (MultiPartException, FormParserError) as exc:
            # A broken multipart body is bad input, not a server error.
            raise InvalidInput("body", f"is not a valid multipart upload ({exc})") from None
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("file", "a multipart upload needs a 'file' part with the CSV")
        return "csv", upload.file
    raise InvalidInput("content-type", "send a CSV as multipart/form-data (part 'file') or a "
                       "JSON list of contacts as application/json")


@router.post("/campaigns/{campaign_id}/contacts", responses=responses(403, 409, 413),
             openapi_extra=CONTACTS_BODY)
async def upload_contacts(account_id: AccountId, campaign_id: ObjectId, caller: Manager,
                          store: StoreDep, clock: ClockDep, request: Request,
                          region: Annotated[str | None, Query(min_length=2, max_length=2)] = None
                          ) -> dict[str, Any]:
    campaign = _campaign(store, account_id, campaign_id)
    service.check_open_for_contacts(campaign)
    kind, payload = await _upload(request)
    report: ImportReport
    if kind == "json":
        report = service.import_contacts_json(store, account_id, campaign, payload, region,
                                              clock.now())
    else:
        report = service.import_contacts_csv(store, account_id, campaign, payload, region,
                                             clock.now())
    _changed(request)
    return report.to_dict()


@router.get("/campaigns/{campaign_id}/contacts")
def list_contacts(account_id: AccountId, campaign_id: ObjectId, caller: Reader, store: StoreDep,
                  status: ContactStatus | None = None,
                  after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    items, following = service.list_contacts(store, account_id, campaign_id, status, after,
                                             limit)
    return {"items": items, "next": None if following is None else str(following)}


@router.get("/campaigns/{campaign_id}/contacts/{contact_id}")
def get_contact(account_id: AccountId, campaign_id: ObjectId, contact_id: ObjectId, caller: Reader,
                store: StoreDep) -> dict[str, Any]:
    data, timeline = service.contact_with_timeline(store, account_id, campaign_id, contact_id)
    data["timeline"] = [{
        "attempt": a.attempt, "caller_id": a.caller_id, "agent": a.agent,
        "started_at": iso(a.started_at), "answered_at": iso(a.answered_at) or None,
        "ended_at": iso(a.ended_at) or None, "outcome": a.outcome, "sip_code": a.sip_code,
        "digit": a.digit,
        "recording": (f"/api/v1/accounts/{account_id}/recordings/{a.attempt_id}"
                      if a.has_recording else None),
    } for a in timeline]
    return data


@router.post("/campaigns/{campaign_id}/contacts/{contact_id}/reset", responses=responses(403, 409))
def reset_contact(account_id: AccountId, campaign_id: ObjectId, contact_id: ObjectId,
                  caller: Manager, store: StoreDep, clock: ClockDep,
                  request: Request) -> dict[str, Any]:
    """Reset a contact stuck in flight: its attempt ends as `unknown`, the retry policy
    decides what follows (as the sweeper does once the lease runs out)."""
    service.reset_contact(store, account_id, campaign_id, contact_id, caller.email,
                          clock.now())
    _changed(request)
    return get_contact(account_id, campaign_id, contact_id, caller, store)


@router.get("/recordings/{attempt_id}", response_class=FileResponse)
def get_recording(account_id: AccountId, attempt_id: ObjectId, caller: Reader,
                  store: StoreDep) -> Response:
    """A call's recording as audio: a file this server wrote, or one Twilio keeps, fetched
    with the account's credentials (which the client never sees)."""
    found = service.recording(store, account_id, attempt_id)
    disposition = {"Content-Disposition": f'inline; filename="{found.file_name}"'}
    if found.path is not None:
        return FileResponse(found.path, media_type=found.media_type, headers=disposition)
    assert found.chunks is not None
    return StreamingResponse(found.chunks, media_type=found.media_type, headers=disposition)


# -- stats and exports -------------------------------------------------------------------------


class Pacing(BaseModel):
    configured: float  # calls per second set on the campaign
    now: float  # call starts per second over the last 10 s


class RecentEvent(BaseModel):
    at: str
    kind: str
    contact_id: int | None
    detail: dict[str, Any] | None


class Abandon(BaseModel):
    """The abandon rate over the campaign's window, beside its target."""

    rate: float  # abandoned over answered since `since`, 0–1
    target: float  # percent
    window: str  # 30d (rolling) or 24h (today in the account's zone)
    since: str  # when the window began
    answered: int
    abandoned: int


class Agents(BaseModel):
    """The transfer target's agents now."""

    logged_in: int
    busy: int  # on a call or reserved for one
    free: int
    occupancy: float  # busy over logged in, 0–1


class Stats(BaseModel):
    """The dashboard's numbers for one campaign."""

    status: str
    contacts: dict[str, int]  # contacts per state
    in_flight: int
    free_agents: int | None  # of the transfer target; null for a voice menu
    pacing: Pacing
    concurrency: int
    dnc_blocks: int
    answered: int
    abandoned: int
    abandonment_rate: float  # abandoned over answered
    recent_events: list[RecentEvent]
    abandon: Abandon
    agents: Agents | None  # null for a voice menu
    limited_by: str | None  # what keeps it from dialing more (running only): agents, …
    limited_by_text: str | None  # the same in words, e.g. "Waiting for agents: 0 of 12 free"


@router.get("/campaigns/{campaign_id}/stats", response_class=Response,
            responses={200: {"model": Stats, "content": {"application/json": {}}}})
async def campaign_stats(account_id: AccountId, campaign_id: ObjectId, caller: Reader,
                         store: StoreDep, clock: ClockDep) -> Response:
    """Served from a per-campaign cache at most a second old, on the event loop when the
    cache is fresh: a poll then costs no thread and no database read."""
    body = _cached_stats(account_id, campaign_id)
    if body is None:
        body = await run_in_threadpool(_stats_json, store, account_id, campaign_id,
                                       clock.now())
    return Response(body, media_type="application/json")


# The JSON sent, with the account the campaign belongs to, at most a second old.
stats_cache: service.CampaignCache[tuple[int, bytes]] = service.CampaignCache(ttl=1.0)


def _cached_stats(account_id: int, campaign_id: int) -> bytes | None:
    cached = stats_cache.fresh(campaign_id)
    if cached is None:
        return None
    if cached[0] != account_id:  # another account's campaign is not found, as everywhere
        raise NotFound(f"no campaign {campaign_id}")
    return cached[1]


def _stats_json(store: Store, account_id: int, campaign_id: int, now: float) -> bytes:
    body = _cached_stats(account_id, campaign_id)
    if body is not None:
        return body

    def compute() -> tuple[int, bytes]:
        campaign = _campaign(store, account_id, campaign_id)
        stats = Stats.model_validate(service.compute_stats(store, account_id, campaign, now))
        return account_id, stats.model_dump_json().encode()

    owner, body = stats_cache.get(campaign_id, compute)
    if owner != account_id:
        raise NotFound(f"no campaign {campaign_id}")
    return body


def _download(export: service.Export) -> StreamingResponse:
    return StreamingResponse(iter(export.chunks), media_type=export.media_type, headers={
        "Content-Disposition": f'attachment; filename="{export.file_name}"'})


@router.get("/campaigns/{campaign_id}/failed.csv", response_class=StreamingResponse)
def failed_csv(account_id: AccountId, campaign_id: ObjectId, caller: Reader,
               store: StoreDep) -> StreamingResponse:
    """The failed contacts, as a list to upload into a new campaign."""
    return _download(service.failed_csv(store, account_id, campaign_id))


@router.get("/campaigns/{campaign_id}/calls.csv", response_class=StreamingResponse)
def calls_csv(account_id: AccountId, campaign_id: ObjectId, caller: Reader,
              store: StoreDep) -> StreamingResponse:
    return _download(service.calls_csv(
        store, account_id, campaign_id,
        lambda a: f"/api/v1/accounts/{account_id}/recordings/{a.id}"))


# -- the do-not-call list ----------------------------------------------------------------------


@router.get("/dnc")
def search_dnc(account_id: AccountId, caller: Reader, store: StoreDep,
               q: Annotated[str, Query(min_length=1, max_length=40)] = "+",
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    rows = service.search_dnc(store, account_id, q, limit)
    return {"items": [service.dnc_entry(r) for r in rows], "next": None}


@router.post("/dnc", status_code=201, responses=responses(403))
def add_dnc(account_id: AccountId, body: Numbers, caller: Manager, store: StoreDep,
            clock: ClockDep) -> dict[str, Any]:
    numbers, added = service.add_dnc(store, account_id, body.numbers, caller.email, "api",
                                     clock.now())
    return {"added": added, "already_listed": len(set(numbers)) - added, "numbers": numbers}


@router.post("/dnc/import", responses=responses(403, 413), openapi_extra=DNC_BODY)
async def import_dnc_file(account_id: AccountId, caller: Manager, store: StoreDep,
                          clock: ClockDep, request: Request) -> dict[str, Any]:
    kind, payload = await _upload(request)
    if kind != "csv":
        raise InvalidInput("content-type", "send the list as multipart/form-data (part 'file')")
    return service.import_dnc_file(store, account_id, payload, caller.email, "api upload",
                                   clock.now()).to_dict()


@router.delete("/dnc/{number}", status_code=204, responses=responses(403))
def remove_dnc(account_id: AccountId, number: str, caller: Manager, store: StoreDep) -> None:
    service.remove_dnc(store, account_id, number)


@router.get("/dnc.csv", response_class=StreamingResponse)
def export_dnc(account_id: AccountId, caller: Reader, store: StoreDep) -> StreamingResponse:
    export = service.dnc_csv(store, account_id)
    return StreamingResponse(iter(export.chunks), media_type=export.media_type)


# Last: its path would otherwise catch /campaigns/{id}/contacts and the like.
@router.post("/campaigns/{campaign_id}/{action}", responses=responses(403, 409))
def act_on_campaign(account_id: AccountId, campaign_id: ObjectId,
                    action: Literal["schedule", "start", "pause", "resume", "cancel"],
                    caller: Manager, store: StoreDep, clock: ClockDep,
                    request: Request) -> dict[str, Any]:
    campaign = service.act(store, account_id, campaign_id, CampaignAction(action), clock.now())
    _changed(request)
    return campaign_json(store, campaign)
