"""An account's do-not-call list through any door: search, add, import, remove, export.

Numbers are taken in any common format and read in the account's region; one bad number
refuses a request that names numbers, naming it, while an imported file reports its bad rows.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO, Any

from outbound.domain.errors import NotFound
from outbound.domain.phone import normalize_or_raise
from outbound.domain.timefmt import iso
from outbound.ingest.contacts import Progress
from outbound.ingest.dnc import DncReport, dnc_query, dnc_rows, import_dnc, write_dnc_csv
from outbound.ingest.reader import decode, open_text
from outbound.service.exports import Export, csv_export
from outbound.store import Store


def _normalized(store: Store, account_id: int, numbers: list[str], field: str) -> list[str]:
    region = store.accounts.get(account_id).region
    return [normalize_or_raise(n, region, f"{field}[{i}]") for i, n in enumerate(numbers)]


def search_dnc(store: Store, account_id: int, query: str, limit: int) -> list[Any]:
    """Entries whose number is `query` (any format) or starts with its digits; "+" (or
    nothing) for all."""
    region = store.accounts.get(account_id).region
    prefix = "+" if query.strip() in ("", "+") else dnc_query(query, region)
    return store.dnc.search(account_id, prefix, limit)


def dnc_count(store: Store, account_id: int) -> int:
    """How many numbers are on the account's list."""
    return store.dnc.count(account_id)


def dnc_entry(row: Any) -> dict[str, Any]:
    """An entry as the API and the command line's --json show it."""
    return {"phone": row.phone, "added_at": iso(row.added_at), "added_by": row.added_by,
            "source": row.source}


def add_dnc(store: Store, account_id: int, numbers: list[str], by: str, source: str,
            now: float, field: str = "numbers") -> tuple[list[str], int]:
    """Add numbers in any format: (their E.164 forms, how many were new). One bad number
    refuses them all, naming it."""
    normalized = _normalized(store, account_id, numbers, field)
    added = store.dnc.add(account_id, normalized, now, added_by=by, source=source)
    return normalized, added


def import_dnc_file(store: Store, account_id: int, upload: IO[bytes], by: str,
                    source: str, now: float) -> DncReport:
    """An uploaded list (a CSV with a phone column, or one number per line)."""
    region = store.accounts.get(account_id).region
    return import_dnc(store, account_id, dnc_rows(decode(upload, "file"), "file"), region,
                      now, added_by=by, source=source)


def import_dnc_path(store: Store, account_id: int, path: Path, region: str | None, by: str,
                    now: float, progress: Progress | None = None) -> DncReport:
    """A list on disk, read in `region` (default: the account's); the file's name is kept as
    each new entry's source."""
    region = (region or store.accounts.get(account_id).region).upper()
    with open_text(path) as text:
        return import_dnc(store, account_id, dnc_rows(text, str(path)), region, now,
                          added_by=by, source=path.name, progress=progress)


def remove_dnc(store: Store, account_id: int, number: str) -> str:
    """Take a number off the list; NotFound when it was not on it. Its E.164 form."""
    region = store.accounts.get(account_id).region
    e164 = normalize_or_raise(number, region, "number")
    if not store.dnc.remove(account_id, [e164]):
        raise NotFound(f"{number} is not on the do-not-call list")
    return e164


def remove_dnc_numbers(store: Store, account_id: int, numbers: list[str]
                       ) -> tuple[list[str], int]:
    """Take numbers off the list: (their E.164 forms, how many were on it). One bad number
    refuses them all, naming it."""
    e164 = _normalized(store, account_id, numbers, "numbers")
    return e164, store.dnc.remove(account_id, e164)


def write_dnc(store: Store, account_id: int, out: IO[str]) -> int:
    """The list as CSV (phone, added_at, added_by, source) into `out`; how many entries."""
    return write_dnc_csv(store.dnc.all(account_id), out)


def dnc_csv(store: Store, account_id: int) -> Export:
    out = io.StringIO()
    write_dnc(store, account_id, out)
    return csv_export("do-not-call.csv", out.getvalue())
