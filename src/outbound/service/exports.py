"""A campaign's downloads through any door: calls.csv (the call log) and failed.csv (the
failed contacts, ready to upload into a new campaign), as values the door serves."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from outbound.domain.spreadsheet import safe_cell
from outbound.engine.report import write_calls_csv
from outbound.service.campaigns import campaign_of
from outbound.store import Store


@dataclass(frozen=True, slots=True)
class Export:
    """A file to download: its name, its media type and its text, in chunks."""

    file_name: str
    media_type: str
    chunks: Iterable[str]

    def text(self) -> str:
        return "".join(self.chunks)


def csv_export(file_name: str, text: str) -> Export:
    return Export(file_name, "text/csv", (text,))


def failed_csv(store: Store, account_id: int, campaign_id: int) -> Export:
    """The failed contacts, as a list to upload into a new campaign: phone, name and every
    field any of them has, each cell safe to open in a spreadsheet."""
    campaign_of(store, account_id, campaign_id)
    rows = store.contacts.failed(campaign_id)
    keys = sorted({k for r in rows for k in (r.fields or {})} - {"phone", "name"})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["phone", "name", *keys])
    for r in rows:
        fields = r.fields or {}
        writer.writerow([safe_cell(v) for v in (r.phone, r.name or "",
                                                *(fields.get(k, "") for k in keys))])
    return csv_export(f"campaign-{campaign_id}-failed.csv", out.getvalue())


def calls_csv(store: Store, account_id: int, campaign_id: int,
              recording_url: Callable[[Any], str]) -> Export:
    """The call log, one row per attempt, recordings linked by `recording_url(attempt)`."""
    campaign_of(store, account_id, campaign_id)
    out = io.StringIO()
    write_calls_csv(store.contacts.attempts(campaign_id), out, recording_url)
    return csv_export(f"campaign-{campaign_id}-calls.csv", out.getvalue())
