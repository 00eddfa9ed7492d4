"""The /api/v1 resources of an account: campaigns, their contacts and stats, the DNC list.

Bodies are checked by the domain (the same limits as the CLI and the scenario file), so a
422 names the field and the allowed range exactly as everywhere else.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict
from python_multipart.exceptions import FormParserError
from sqlalchemy import and_, func, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from outbound.api.auth import MAX_ID, AccountId, Manager, ObjectId, Reader, StoreDep
from outbound.api.errors import TooLarge, responses
from outbound.domain.contacts import IN_FLIGHT, ContactStatus, Outcome, after_call
from outbound.domain.errors import InvalidInput, InvalidTransition, NotFound
from outbound.domain.hours import BusinessHours
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.domain.phone import normalize_or_raise
from outbound.domain.settings import CampaignSettings
from outbound.domain.spreadsheet import safe_cell
from outbound.domain.timefmt import iso
from outbound.engine.report import write_calls_csv
from outbound.ingest.contacts import ImportReport, import_contacts, rows_from_json, rows_from_table
from outbound.ingest.dnc import dnc_query, dnc_rows, import_dnc, write_dnc_csv
from outbound.ingest.reader import decode, read_table
from outbound.scenario import parse_time
from outbound.store import Store
from outbound.store.campaigns import Campaign
from outbound.store.db import reading
from outbound.store.schema import agents, call_attempts, contacts, departments, events

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
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
    data = campaign.to_dict()
    data["start"] = iso(campaign.settings.start) or None
    data["started_at"] = iso(campaign.started_at) or None
    data["finished_at"] = iso(campaign.finished_at) or None
    counts = store.contacts.counts(campaign.id)
    data["contacts"] = sum(counts.values())
    data["finished"] = sum(counts[s.value] for s in ContactStatus if s.terminal)
    return data


def _campaign(store: Store, account_id: int, campaign_id: int) -> Campaign:
    campaign = store.campaigns.get(campaign_id)
    if campaign.account_id != account_id:
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


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
    rows = [c for c in store.campaigns.list(account_id) if after is None or c.id > after]
    page = rows[:limit]
    return {"items": [campaign_json(store, c) for c in page],
            "next": str(page[-1].id) if len(rows) > limit else None}


@router.post("/campaigns", status_code=201, responses=responses(403))
def create_campaign(account_id: AccountId, body: CampaignBody, caller: Manager,
                    store: StoreDep) -> dict[str, Any]:
    account = store.accounts.get(account_id)
    settings = CampaignSettings.parse(_changes(body), account.region)
    campaign_id = store.campaigns.create(account_id, settings, time.time())
    store.accounts.add_numbers(account_id, settings.numbers)
    return campaign_json(store, store.campaigns.get(campaign_id))


@router.get("/campaigns/{campaign_id}")
def get_campaign(account_id: AccountId, campaign_id: ObjectId, caller: Reader,
                 store: StoreDep) -> dict[str, Any]:
    return campaign_json(store, _campaign(store, account_id, campaign_id))


@router.patch("/campaigns/{campaign_id}", responses=responses(403, 409))
def update_campaign(account_id: AccountId, campaign_id: ObjectId, body: CampaignBody,
                    caller: Manager, store: StoreDep, request: Request) -> dict[str, Any]:
    _campaign(store, account_id, campaign_id)
    region = store.accounts.get(account_id).region
    updated = store.campaigns.update_settings(campaign_id, _changes(body), region, time.time())
    store.accounts.add_numbers(account_id, updated.settings.numbers)
    _changed(request)
    return campaign_json(store, updated)


@router.delete("/campaigns/{campaign_id}", status_code=204, responses=responses(403))
def delete_campaign(account_id: AccountId, campaign_id: ObjectId, caller: Manager,
                    store: StoreDep) -> None:
    campaign = _campaign(store, account_id, campaign_id)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.COMPLETED,
                               CampaignStatus.CANCELLED):
        raise InvalidInput("status", f"only a draft or finished campaign can be deleted; this "
                           f"one is {campaign.status.value} (cancel it first)")
    store.campaigns.delete(campaign_id)


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
                          store: StoreDep, request: Request,
                          region: Annotated[str | None, Query(min_length=2, max_length=2)] = None
                          ) -> dict[str, Any]:
    campaign = _campaign(store, account_id, campaign_id)
    if campaign.status.terminal:
        raise InvalidTransition(f"the campaign is {campaign.status.value}: start a new one for "
                                "these contacts")
    account = store.accounts.get(account_id)
    kind, payload = await _upload(request)
    now = time.time()
    report: ImportReport
    if kind == "json":
        report = import_contacts(store, campaign_id, account_id, rows_from_json(payload),
                                 (region or account.region).upper(), now, max_rows=None,
                                 source="body")
    else:
        text = decode(payload, "file")
        report = import_contacts(store, campaign_id, account_id,
                                 rows_from_table(read_table(text, "file")),
                                 (region or account.region).upper(), now, source="file")
    _changed(request)
    return report.to_dict()


@router.get("/campaigns/{campaign_id}/contacts")
def list_contacts(account_id: AccountId, campaign_id: ObjectId, caller: Reader, store: StoreDep,
                  status: ContactStatus | None = None,
                  after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    _campaign(store, account_id, campaign_id)
    query = select(contacts).where(contacts.c.campaign_id == campaign_id)
    if status is not None:
        query = query.where(contacts.c.status == status.value)
    if after is not None:
        query = query.where(contacts.c.id > after)
    with reading(store.engine) as conn:
        rows = list(conn.execute(query.order_by(contacts.c.id).limit(limit + 1)))
    page = rows[:limit]
    return {"items": [_contact_json(r) for r in page],
            "next": str(page[-1].id) if len(rows) > limit else None}


def _contact_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "phone": row.phone, "name": row.name, "fields": row.fields or {},
            "agent": row.agent, "status": row.status, "attempts": row.attempts,
            "next_attempt_at": iso(row.due_at) or None, "caller_id": row.caller_id,
            "digit": row.digit, "dnc_flagged": bool(row.dnc_flagged)}


@router.get("/campaigns/{campaign_id}/contacts/{contact_id}")
def get_contact(account_id: AccountId, campaign_id: ObjectId, contact_id: ObjectId, caller: Reader,
                store: StoreDep) -> dict[str, Any]:
    _campaign(store, account_id, campaign_id)
    with reading(store.engine) as conn:
        row = conn.execute(select(contacts).where(
            contacts.c.id == contact_id, contacts.c.campaign_id == campaign_id)).first()
        if row is None:
            raise NotFound(f"no contact {contact_id}")
        attempts = list(conn.execute(select(call_attempts).where(
            call_attempts.c.contact_id == contact_id).order_by(call_attempts.c.attempt)))
    data = _contact_json(row)
    data["timeline"] = [{
        "attempt": a.attempt, "caller_id": a.caller_id, "agent": a.agent,
        "started_at": iso(a.started_at), "answered_at": iso(a.answered_at) or None,
        "ended_at": iso(a.ended_at) or None, "outcome": a.outcome, "sip_code": a.sip_code,
        "digit": a.digit,
        "recording": (f"/api/v1/accounts/{account_id}/recordings/{a.id}"
                      if a.recording else None),
    } for a in attempts]
    return data


def campaign_account(store: Store, campaign_id: int) -> int:
    return store.campaigns.get(campaign_id).account_id


@router.post("/campaigns/{campaign_id}/contacts/{contact_id}/reset", responses=responses(403, 409))
def reset_contact(account_id: AccountId, campaign_id: ObjectId, contact_id: ObjectId,
                  caller: Manager, store: StoreDep, request: Request) -> dict[str, Any]:
    """Reset a contact stuck in flight: its attempt ends as `unknown`, the retry policy
    decides what follows (as the sweeper does once the lease runs out)."""
    campaign = _campaign(store, account_id, campaign_id)
    settings = campaign.settings
    with reading(store.engine) as conn:
        found = conn.execute(select(contacts.c.id).where(
            contacts.c.id == contact_id, contacts.c.campaign_id == campaign_id)).first()
    if found is None:
        raise NotFound(f"no contact {contact_id}")
    done = store.dialing.reset_contact(
        contact_id, lambda attempts: after_call(Outcome.UNKNOWN, attempts, settings.attempts,
                                                settings.backoff, time.time()),
        time.time(), caller.email)
    if not done:
        raise InvalidTransition("only a contact in flight (dialing, ringing, answered) can "
                                "be reset")
    _changed(request)
    return get_contact(account_id, campaign_id, contact_id, caller, store)


MAX_RECORDING_BYTES = 200 * 1024 * 1024  # a recording fetched from the carrier, at most


@router.get("/recordings/{attempt_id}", response_class=FileResponse)
def get_recording(account_id: AccountId, attempt_id: ObjectId, caller: Reader,
                  store: StoreDep) -> Response:
    """A call's recording as audio: a file this server wrote, or one Twilio keeps, fetched
    with the account's credentials (which the client never sees)."""
    with reading(store.engine) as conn:
        row = conn.execute(select(call_attempts.c.recording, call_attempts.c.campaign_id).where(
            call_attempts.c.id == attempt_id)).first()
    if row is None or not row.recording or campaign_account(store, row.campaign_id) != account_id:
        raise NotFound(f"no recording {attempt_id}")
    if not row.recording.startswith(("https://", "http://")):
        return FileResponse(row.recording, media_type="audio/wav")
    provider = store.accounts.get(account_id).provider
    if provider.get("kind") != "twilio":
        raise NotFound(f"recording {attempt_id} is kept by a provider the account no longer "
                       "uses")
    # The REST client is imported by the first request that needs it, not by every CLI start.
    from outbound.telephony.twilio import fetch_recording  # noqa: PLC0415

    chunks = fetch_recording(provider, row.recording, MAX_RECORDING_BYTES)
    return StreamingResponse(chunks, media_type="audio/wav")


# -- stats and exports -------------------------------------------------------------------------


class Pacing(BaseModel):
    configured: float  # calls per second set on the campaign
    now: float  # call starts per second over the last 10 s


class RecentEvent(BaseModel):
    at: str
    kind: str
    contact_id: int | None
    detail: dict[str, Any] | None


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


@router.get("/campaigns/{campaign_id}/stats", response_class=Response,
            responses={200: {"model": Stats, "content": {"application/json": {}}}})
async def campaign_stats(account_id: AccountId, campaign_id: ObjectId, caller: Reader,
                         store: StoreDep) -> Response:
    """Served from a per-campaign cache at most a second old, on the event loop when the
    cache is fresh: a poll then costs no thread and no database read."""
    body = stats_cache.fresh(account_id, campaign_id)
    if body is None:
        body = await run_in_threadpool(stats_cache.get, store, account_id, campaign_id)
    return Response(body, media_type="application/json")


class StatsCache:
    """Each campaign's stats, computed at most once per second however many dashboards ask:
    the numbers refresh every few seconds on screen, and counting a large campaign's contacts
    for every request would crowd out the dialer in the same process. Kept as the JSON bytes
    sent, with the account the campaign belongs to."""

    TTL = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}
        self._values: dict[int, tuple[float, int, bytes]] = {}

    def fresh(self, account_id: int, campaign_id: int) -> bytes | None:
        """The cached stats if computed within the TTL; another account's campaign is not
        found, as everywhere."""
        cached = self._values.get(campaign_id)
        if cached is None or time.monotonic() - cached[0] >= self.TTL:
            return None
        if cached[1] != account_id:
            raise NotFound(f"no campaign {campaign_id}")
        return cached[2]

    def get(self, store: Store, account_id: int, campaign_id: int) -> bytes:
        with self._lock:
            lock = self._locks.setdefault(campaign_id, threading.Lock())
        with lock:  # one computation at a time per campaign; the others wait and share it
            body = self.fresh(account_id, campaign_id)
            if body is not None:
                return body
            campaign = _campaign(store, account_id, campaign_id)
            stats = Stats.model_validate(compute_stats(store, account_id, campaign))
            body = stats.model_dump_json().encode()
            self._values[campaign_id] = (time.monotonic(), account_id, body)
            return body


stats_cache = StatsCache()


def compute_stats(store: Store, account_id: int, campaign: Campaign) -> dict[str, Any]:
    campaign_id = campaign.id
    counts = store.contacts.counts(campaign_id)
    now = time.time()
    with reading(store.engine) as conn:
        answered, abandoned, recent_dials = conn.execute(select(
            func.count(call_attempts.c.answered_at),
            func.count().filter(call_attempts.c.outcome == Outcome.ABANDONED.value),
            func.count().filter(call_attempts.c.started_at >= now - 10),
        ).where(call_attempts.c.campaign_id == campaign_id)).one()
        free_agents = _free_agents(conn, account_id, campaign)
        recent = list(conn.execute(select(events).where(events.c.campaign_id == campaign_id)
                                   .order_by(events.c.id.desc()).limit(20)))
    return {
        "status": campaign.status.value,
        "contacts": counts,
        "in_flight": sum(counts[s.value] for s in IN_FLIGHT),
        "free_agents": free_agents,
        "pacing": {"configured": campaign.settings.pacing, "now": recent_dials / 10},
        "concurrency": campaign.settings.concurrency,
        "dnc_blocks": counts[ContactStatus.BLOCKED.value],
        "answered": answered,
        "abandoned": abandoned,
        "abandonment_rate": round(abandoned / answered, 6) if answered else 0.0,
        "recent_events": [{"at": iso(e.at), "kind": e.kind, "contact_id": e.contact_id,
                           "detail": e.detail} for e in recent],
    }


def _free_agents(conn: Any, account_id: int, campaign: Campaign) -> int | None:
    transfer = campaign.settings.transfer
    if transfer is None or transfer.kind.value == "voice_menu":
        return None
    free = and_(agents.c.account_id == account_id, agents.c.availability == "available",
                agents.c.busy_attempt_id.is_(None))
    if transfer.kind.value == "agent":
        query = select(func.count()).select_from(agents).where(free,
                                                               agents.c.name == transfer.name)
    else:
        query = select(func.count()).select_from(agents).join(
            departments, departments.c.id == agents.c.department_id).where(
            free, departments.c.name == transfer.name)
    return int(conn.execute(query).scalar_one())


@router.get("/campaigns/{campaign_id}/failed.csv", response_class=StreamingResponse)
def failed_csv(account_id: AccountId, campaign_id: ObjectId, caller: Reader,
               store: StoreDep) -> StreamingResponse:
    """The failed contacts, as a list to upload into a new campaign."""
    _campaign(store, account_id, campaign_id)
    with reading(store.engine) as conn:
        rows = list(conn.execute(select(contacts.c.phone, contacts.c.name, contacts.c.fields)
                                 .where(contacts.c.campaign_id == campaign_id,
                                        contacts.c.status == ContactStatus.FAILED.value)
                                 .order_by(contacts.c.position)))
    keys = sorted({k for r in rows for k in (r.fields or {})} - {"phone", "name"})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["phone", "name", *keys])
    for r in rows:
        fields = r.fields or {}
        writer.writerow([safe_cell(v) for v in (r.phone, r.name or "",
                                                *(fields.get(k, "") for k in keys))])
    return StreamingResponse(iter([out.getvalue()]), media_type="text/csv",
                             headers={"Content-Disposition":
                                      f'attachment; filename="campaign-{campaign_id}-failed.csv"'})


@router.get("/campaigns/{campaign_id}/calls.csv", response_class=StreamingResponse)
def calls_csv(account_id: AccountId, campaign_id: ObjectId, caller: Reader,
              store: StoreDep) -> StreamingResponse:
    _campaign(store, account_id, campaign_id)
    out = io.StringIO()
    write_calls_csv(store.contacts.attempts(campaign_id), out,
                    lambda a: f"/api/v1/accounts/{account_id}/recordings/{a.id}")
    return StreamingResponse(iter([out.getvalue()]), media_type="text/csv",
                             headers={"Content-Disposition":
                                      f'attachment; filename="campaign-{campaign_id}-calls.csv"'})


# -- the do-not-call list ----------------------------------------------------------------------


@router.get("/dnc")
def search_dnc(account_id: AccountId, caller: Reader, store: StoreDep,
               q: Annotated[str, Query(min_length=1, max_length=40)] = "+",
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    region = store.accounts.get(account_id).region
    prefix = "+" if q == "+" else dnc_query(q, region)
    rows = store.dnc.search(account_id, prefix, limit)
    return {"items": [{"phone": r.phone, "added_at": iso(r.added_at), "added_by": r.added_by,
                       "source": r.source} for r in rows], "next": None}


@router.post("/dnc", status_code=201, responses=responses(403))
def add_dnc(account_id: AccountId, body: Numbers, caller: Manager,
            store: StoreDep) -> dict[str, Any]:
    region = store.accounts.get(account_id).region
    numbers = [normalize_or_raise(n, region, f"numbers[{i}]") for i, n in enumerate(body.numbers)]
    added = store.dnc.add(account_id, numbers, time.time(), added_by=caller.email, source="api")
    return {"added": added, "already_listed": len(set(numbers)) - added, "numbers": numbers}


@router.post("/dnc/import", responses=responses(403, 413), openapi_extra=DNC_BODY)
async def import_dnc_file(account_id: AccountId, caller: Manager, store: StoreDep,
                          request: Request) -> dict[str, Any]:
    kind, payload = await _upload(request)
    if kind != "csv":
        raise InvalidInput("content-type", "send the list as multipart/form-data (part 'file')")
    region = store.accounts.get(account_id).region
    report = import_dnc(store, account_id, dnc_rows(decode(payload, "file"), "file"), region,
                        time.time(), added_by=caller.email, source="api upload")
    return report.to_dict()


@router.delete("/dnc/{number}", status_code=204, responses=responses(403))
def remove_dnc(account_id: AccountId, number: str, caller: Manager, store: StoreDep) -> None:
    region = store.accounts.get(account_id).region
    if not store.dnc.remove(account_id, [normalize_or_raise(number, region, "number")]):
        raise NotFound(f"{number} is not on the do-not-call list")


@router.get("/dnc.csv", response_class=StreamingResponse)
def export_dnc(account_id: AccountId, caller: Reader, store: StoreDep) -> StreamingResponse:
    out = io.StringIO()
    write_dnc_csv(store.dnc.all(account_id), out)
    return StreamingResponse(iter([out.getvalue()]), media_type="text/csv")


# Last: its path would otherwise catch /campaigns/{id}/contacts and the like.
@router.post("/campaigns/{campaign_id}/{action}", responses=responses(403, 409))
def act_on_campaign(account_id: AccountId, campaign_id: ObjectId,
                    action: Literal["schedule", "start", "pause", "resume", "cancel"],
                    caller: Manager, store: StoreDep, request: Request) -> dict[str, Any]:
    _campaign(store, account_id, campaign_id)
    store.campaigns.act(campaign_id, CampaignAction(action), time.time())
    _changed(request)
    return campaign_json(store, store.campaigns.get(campaign_id))
