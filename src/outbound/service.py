"""What the Partner API and the dashboard both do to an account: campaign summaries, stats and
lifecycle actions, contact timelines, uploads, exports and the do-not-call list.

One implementation behind two doors, so the API and the web pages say the same thing about the
same campaign and refuse the same input with the same words. Callers have already decided who
may do what (api/auth.py, web/auth.py); every function here checks tenancy itself: another
account's campaign, contact or recording is NotFound.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Generic, TypeVar

from sqlalchemy import func, select
from starlette.responses import FileResponse, Response, StreamingResponse

from outbound.domain.contacts import IN_FLIGHT, ContactStatus, Outcome
from outbound.domain.errors import InvalidInput, NotFound
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.domain.phone import normalize_or_raise
from outbound.domain.settings import CampaignSettings
from outbound.domain.spreadsheet import safe_cell
from outbound.domain.timefmt import iso
from outbound.engine.report import write_calls_csv
from outbound.ingest.contacts import ImportReport, import_contacts, rows_from_table
from outbound.ingest.dnc import DncReport, dnc_query, dnc_rows, import_dnc, write_dnc_csv
from outbound.ingest.reader import decode, read_table
from outbound.store import Store
from outbound.store.agents import free as free_agent
from outbound.store.campaigns import Campaign
from outbound.store.db import reading
from outbound.store.schema import agents, call_attempts, contacts, departments, events

# -- campaigns ---------------------------------------------------------------------------------


def campaign_of(store: Store, account_id: int, campaign_id: int) -> Campaign:
    """The campaign, if it belongs to the account; NotFound otherwise (whether or not it
    exists elsewhere)."""
    campaign = store.campaigns.get(campaign_id)
    if campaign.account_id != account_id:
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


def progress(store: Store, campaign_id: int) -> tuple[int, int, int]:
    """(contacts, finished, in flight) of a campaign."""
    counts = store.contacts.counts(campaign_id)
    return (sum(counts.values()), sum(counts[s.value] for s in ContactStatus if s.terminal),
            sum(counts[s.value] for s in IN_FLIGHT))


def campaign_summary(store: Store, campaign: Campaign) -> dict[str, Any]:
    """A campaign's settings, times and progress, as the API returns it."""
    data = campaign.to_dict()
    data["start"] = iso(campaign.settings.start) or None
    data["started_at"] = iso(campaign.started_at) or None
    data["finished_at"] = iso(campaign.finished_at) or None
    data["contacts"], data["finished"], _ = progress(store, campaign.id)
    return data


def create_campaign(store: Store, account_id: int, changes: dict[str, Any],
                    now: float) -> Campaign:
    """A new draft from setting values (checked by the domain); its pool numbers become the
    account's numbers too."""
    account = store.accounts.get(account_id)
    settings = CampaignSettings.parse(changes, account.region)
    campaign_id = store.campaigns.create(account_id, settings, now)
    store.accounts.add_numbers(account_id, settings.numbers)
    return store.campaigns.get(campaign_id)


def update_campaign(store: Store, account_id: int, campaign_id: int, changes: dict[str, Any],
                    now: float) -> Campaign:
    campaign_of(store, account_id, campaign_id)
    region = store.accounts.get(account_id).region
    updated = store.campaigns.update_settings(campaign_id, changes, region, now)
    store.accounts.add_numbers(account_id, updated.settings.numbers)
    return updated


def act(store: Store, account_id: int, campaign_id: int, action: CampaignAction,
        now: float) -> Campaign:
    """Start, schedule, pause, resume or cancel: InvalidTransition or CannotStart say why
    not."""
    campaign_of(store, account_id, campaign_id)
    store.campaigns.act(campaign_id, action, now)
    return store.campaigns.get(campaign_id)


def delete_campaign(store: Store, account_id: int, campaign_id: int) -> None:
    campaign = campaign_of(store, account_id, campaign_id)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.COMPLETED,
                               CampaignStatus.CANCELLED):
        raise InvalidInput("status", f"only a draft or finished campaign can be deleted; this "
                           f"one is {campaign.status.value} (cancel it first)")
    store.campaigns.delete(campaign_id)


def import_contacts_csv(store: Store, account_id: int, campaign: Campaign, upload: IO[bytes],
                        region: str, now: float) -> ImportReport:
    """A CSV upload into the campaign: rows normalized, checked against the DNC list and
    imported in one transaction, every bad row reported."""
    text = decode(upload, "file")
    return import_contacts(store, campaign.id, account_id, rows_from_table(
        read_table(text, "file")), region, now, source="file")


# -- stats -------------------------------------------------------------------------------------


T = TypeVar("T")


class CampaignCache(Generic[T]):
    """Values per campaign, computed at most once per `ttl` seconds however many callers ask:
    dashboards refresh every second or two, and counting a large campaign's contacts for every
    request would crowd out the dialer in the same process."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}
        self._values: dict[int, tuple[float, T]] = {}

    def fresh(self, campaign_id: int) -> T | None:
        """The value if computed within the TTL; takes no lock."""
        cached = self._values.get(campaign_id)
        if cached is None or time.monotonic() - cached[0] >= self.ttl:
            return None
        return cached[1]

    def get(self, campaign_id: int, compute: Callable[[], T]) -> T:
        with self._lock:
            lock = self._locks.setdefault(campaign_id, threading.Lock())
        with lock:  # one computation at a time per campaign; the others wait and share it
            cached = self.fresh(campaign_id)
            if cached is not None:
                return cached
            value = compute()
            self._values[campaign_id] = (time.monotonic(), value)
            return value


_progress_cache: CampaignCache[dict[str, Any]] = CampaignCache(ttl=1.0)
# The dashboard polls every second; half a second keeps its numbers at most that stale.
_live_cache: CampaignCache[dict[str, Any]] = CampaignCache(ttl=0.5)


def cached_progress(store: Store, campaign_id: int) -> tuple[int, int, int]:
    """`progress`, computed at most once a second per campaign: for lists that every
    dashboard refreshes every second."""
    value = _progress_cache.get(campaign_id, lambda: dict(zip(
        ("total", "finished", "in_flight"), progress(store, campaign_id), strict=True)))
    return value["total"], value["finished"], value["in_flight"]


def compute_stats(store: Store, account_id: int, campaign: Campaign) -> dict[str, Any]:
    """Counts per contact state, calls in flight, free agents of the target, pacing now
    (dials over the last 10 s) against configured, DNC blocks, abandonment, recent events.
    Uncached: the API keeps its own per-campaign cache of the JSON it sends."""
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
    free = free_agent(account_id)
    if transfer.kind.value == "agent":
        query = select(func.count()).select_from(agents).where(free,
                                                               agents.c.name == transfer.name)
    else:
        query = select(func.count()).select_from(agents).join(
            departments, departments.c.id == agents.c.department_id).where(
            free, departments.c.name == transfer.name)
    return int(conn.execute(query).scalar_one())


def live_stats(store: Store, account_id: int, campaign_id: int) -> dict[str, Any]:
    """What the dashboard's detail page shows and refreshes: the campaign's status and
    settings as they are now, its stats, its progress and its latest calls."""
    campaign = campaign_of(store, account_id, campaign_id)  # tenancy, before any cached value

    def compute() -> dict[str, Any]:
        data = dict(compute_stats(store, account_id, campaign))
        data["total"], data["finished"], _ = progress(store, campaign.id)
        with reading(store.engine) as conn:
            data["recent_calls"] = [{
                "at": iso(a.ended_at or a.started_at), "contact_id": a.contact_id,
                "phone": a.phone, "attempt": a.attempt, "outcome": a.outcome,
                "ended": a.ended_at is not None,
            } for a in conn.execute(select(call_attempts).where(
                call_attempts.c.campaign_id == campaign_id).order_by(
                call_attempts.c.id.desc()).limit(20))]
        return data

    data = dict(_live_cache.get(campaign_id, compute))
    # The status and settings just read, not the cached ones: a page that has just paused
    # the campaign must not be told it still runs.
    data["status"] = campaign.status.value
    data["pacing"] = {**data["pacing"], "configured": campaign.settings.pacing}
    data["concurrency"] = campaign.settings.concurrency
    return data


# -- contacts ----------------------------------------------------------------------------------


def contact_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "phone": row.phone, "name": row.name, "fields": row.fields or {},
            "agent": row.agent, "status": row.status, "attempts": row.attempts,
            "next_attempt_at": iso(row.due_at) or None, "caller_id": row.caller_id,
            "digit": row.digit, "dnc_flagged": bool(row.dnc_flagged)}


def list_contacts(store: Store, account_id: int, campaign_id: int,
                  status: ContactStatus | None, after: int | None,
                  limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """A page of a campaign's contacts in id order, and the id to continue after (if any)."""
    campaign_of(store, account_id, campaign_id)
    query = select(contacts).where(contacts.c.campaign_id == campaign_id)
    if status is not None:
        query = query.where(contacts.c.status == status.value)
    if after is not None:
        query = query.where(contacts.c.id > after)
    with reading(store.engine) as conn:
        rows = list(conn.execute(query.order_by(contacts.c.id).limit(limit + 1)))
    page = rows[:limit]
    return [contact_json(r) for r in page], (page[-1].id if len(rows) > limit else None)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One call attempt of a contact."""

    attempt_id: int
    attempt: int
    caller_id: str
    agent: str | None
    started_at: float
    answered_at: float | None
    ended_at: float | None
    outcome: str | None
    sip_code: int | None
    duration: float | None
    digit: str | None
    has_recording: bool


def contact_with_timeline(store: Store, account_id: int, campaign_id: int,
                          contact_id: int) -> tuple[dict[str, Any], list[TimelineEntry]]:
    campaign_of(store, account_id, campaign_id)
    with reading(store.engine) as conn:
        row = conn.execute(select(contacts).where(
            contacts.c.id == contact_id, contacts.c.campaign_id == campaign_id)).first()
        if row is None:
            raise NotFound(f"no contact {contact_id}")
        attempts = list(conn.execute(select(call_attempts).where(
            call_attempts.c.contact_id == contact_id).order_by(call_attempts.c.attempt)))
    return contact_json(row), [TimelineEntry(
        a.id, a.attempt, a.caller_id, a.agent, a.started_at, a.answered_at, a.ended_at,
        a.outcome, a.sip_code, a.duration, a.digit, bool(a.recording)) for a in attempts]


MAX_RECORDING_BYTES = 200 * 1024 * 1024  # a recording fetched from the carrier, at most


def recording_response(store: Store, account_id: int, attempt_id: int) -> Response:
    """An attempt's recording as audio, if the attempt is this account's and was recorded: a
    file this server wrote, or one Twilio keeps, fetched with the account's credentials (which
    the client never sees)."""
    with reading(store.engine) as conn:
        row = conn.execute(select(call_attempts.c.recording, call_attempts.c.campaign_id).where(
            call_attempts.c.id == attempt_id)).first()
    if row is None or not row.recording or (
            store.campaigns.get(row.campaign_id).account_id != account_id):
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


# -- exports -----------------------------------------------------------------------------------


def failed_csv(store: Store, campaign_id: int) -> str:
    """The failed contacts, as a list to upload into a new campaign."""
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
    return out.getvalue()


def calls_csv(store: Store, campaign_id: int, recording_url: Callable[[Any], str]) -> str:
    """The call log, one row per attempt, recordings linked by `recording_url(attempt)`."""
    out = io.StringIO()
    write_calls_csv(store.contacts.attempts(campaign_id), out, recording_url)
    return out.getvalue()


# -- the do-not-call list ----------------------------------------------------------------------


def search_dnc(store: Store, account_id: int, query: str, limit: int) -> list[Any]:
    """Entries whose number is `query` (any format) or starts with its digits; "+" for all."""
    region = store.accounts.get(account_id).region
    prefix = "+" if query.strip() in ("", "+") else dnc_query(query, region)
    return store.dnc.search(account_id, prefix, limit)


def add_dnc(store: Store, account_id: int, numbers: list[str], by: str, source: str,
            field: str = "numbers") -> tuple[list[str], int]:
    """Add numbers in any format: (their E.164 forms, how many were new). One bad number
    refuses them all, naming it."""
    region = store.accounts.get(account_id).region
    normalized = [normalize_or_raise(n, region, f"{field}[{i}]") for i, n in enumerate(numbers)]
    added = store.dnc.add(account_id, normalized, time.time(), added_by=by, source=source)
    return normalized, added


def import_dnc_file(store: Store, account_id: int, upload: IO[bytes], by: str,
                    source: str) -> DncReport:
    region = store.accounts.get(account_id).region
    return import_dnc(store, account_id, dnc_rows(decode(upload, "file"), "file"), region,
                      time.time(), added_by=by, source=source)


def remove_dnc(store: Store, account_id: int, number: str) -> str:
    """Take a number off the list; NotFound when it was not on it. Its E.164 form."""
    region = store.accounts.get(account_id).region
    e164 = normalize_or_raise(number, region, "number")
    if not store.dnc.remove(account_id, [e164]):
        raise NotFound(f"{number} is not on the do-not-call list")
    return e164


def dnc_csv(store: Store, account_id: int) -> str:
    out = io.StringIO()
    write_dnc_csv(store.dnc.all(account_id), out)
    return out.getvalue()
