"""A campaign's contacts through any door: imports (a CSV upload, a JSON list, a file on the
operator's disk), pages of the list, one contact with its call timeline, and the reset of a
contact stuck in flight."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from outbound.domain.contacts import ContactStatus, Outcome, after_call
from outbound.domain.errors import InvalidInput, InvalidTransition, NotFound
from outbound.domain.timefmt import iso
from outbound.ingest.contacts import (
    ImportReport,
    Progress,
    RawContact,
    import_contacts,
    rows_from_json,
    rows_from_table,
)
from outbound.ingest.reader import decode, open_text, read_table
from outbound.service.campaigns import campaign_of
from outbound.store import Store
from outbound.store.campaigns import Campaign


def _region(store: Store, account_id: int, region: str | None) -> str:
    """The region national numbers are read in: the one given, else the account's."""
    return (region or store.accounts.get(account_id).region).upper()


def check_open_for_contacts(campaign: Campaign) -> None:
    """InvalidTransition when the campaign has ended: its contacts would never be dialed.
    Every import here checks it; the API also checks before it reads the request's body."""
    if campaign.status.terminal:
        raise InvalidTransition(f"the campaign is {campaign.status.value}: start a new one for "
                                "these contacts")


def import_contacts_csv(store: Store, account_id: int, campaign: Campaign, upload: IO[bytes],
                        region: str | None, now: float) -> ImportReport:
    """A CSV upload into the campaign: rows normalized, checked against the DNC list and
    imported in one transaction, every bad row reported. InvalidTransition when the campaign
    has ended."""
    check_open_for_contacts(campaign)
    text = decode(upload, "file")
    return import_contacts(store, campaign.id, account_id, rows_from_table(
        read_table(text, "file")), _region(store, account_id, region), now, source="file")


def import_contacts_json(store: Store, account_id: int, campaign: Campaign, items: Any,
                         region: str | None, now: float) -> ImportReport:
    """A JSON list of contacts (objects keyed like a CSV header) into the campaign, with no
    limit on its rows: the request body's own size limit bounds it. InvalidTransition when
    the campaign has ended."""
    check_open_for_contacts(campaign)
    return import_contacts(store, campaign.id, account_id, rows_from_json(items),
                           _region(store, account_id, region), now, max_rows=None,
                           source="body")


def import_contact_rows(store: Store, campaign: Campaign, rows: Iterable[RawContact],
                        region: str | None, now: float) -> ImportReport:
    """Contacts already read (the demo's generated list) into the campaign, with no limit on
    their rows."""
    check_open_for_contacts(campaign)
    return import_contacts(store, campaign.id, campaign.account_id, rows,
                           _region(store, campaign.account_id, region), now, max_rows=None)


def import_contacts_file(store: Store, campaign: Campaign, path: Path, region: str | None,
                         now: float, progress: Progress | None = None) -> ImportReport:
    """A contact list on disk (CSV, or a JSON list of objects when it ends in .json) into the
    campaign; errors name the file. InvalidTransition when the campaign has ended, before
    the file is read."""
    check_open_for_contacts(campaign)
    region = _region(store, campaign.account_id, region)
    with open_text(path) as text:
        rows = (rows_from_json(_load_json(text, path)) if path.suffix.lower() == ".json"
                else rows_from_table(read_table(text, str(path))))
        return import_contacts(store, campaign.id, campaign.account_id, rows, region, now,
                               progress=progress, source=str(path))


def _load_json(text: IO[str], path: Path) -> Any:
    try:
        return json.load(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(str(path), f"line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except UnicodeDecodeError:
        raise InvalidInput(str(path), "is not valid UTF-8 text") from None


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
    rows = store.contacts.page(campaign_id, status, after, limit + 1)
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
    row = store.contacts.get(campaign_id, contact_id)
    if row is None:
        raise NotFound(f"no contact {contact_id}")
    return contact_json(row), [TimelineEntry(
        a.id, a.attempt, a.caller_id, a.agent, a.started_at, a.answered_at, a.ended_at,
        a.outcome, a.sip_code, a.duration, a.digit, bool(a.recording))
        for a in store.attempts.of_contact(contact_id)]


def reset_contact(store: Store, account_id: int, campaign_id: int, contact_id: int,
                  by: str, now: float) -> None:
    """End a contact's stuck attempt as `unknown` and let the retry policy decide what
    follows, as the sweeper does once the lease runs out. InvalidTransition unless the
    contact is in flight."""
    settings = campaign_of(store, account_id, campaign_id).settings
    if store.contacts.get(campaign_id, contact_id) is None:
        raise NotFound(f"no contact {contact_id}")
    done = store.dialing.reset_contact(
        contact_id, lambda attempts: after_call(Outcome.UNKNOWN, attempts, settings.attempts,
                                                settings.backoff, now), now, by)
    if not done:
        raise InvalidTransition("only a contact in flight (dialing, ringing, answered) can "
                                "be reset")
