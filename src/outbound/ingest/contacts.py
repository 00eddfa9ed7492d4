"""Contact import: every row normalized and classified, the good ones written in one
transaction, every bad one reported with its row number.

The CSV upload and the JSON batch take the same path (`import_contacts`), so the CLI, the API
and the web pages report the same thing for the same list. Each row is, in this order:
invalid (does not parse, is not a valid number, or is of a type we do not call), a duplicate
(of an earlier row or of a contact already in the campaign; the first is kept), flagged (on the
do-not-call list today: imported, and still blocked at dial time), or imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from outbound.domain.errors import InvalidInput
from outbound.domain.phone import Rejected
from outbound.domain.spreadsheet import safe_cell
from outbound.ingest.parallel import normalized
from outbound.ingest.reader import MAX_CELL, PHONE_HEADERS, Table
from outbound.store import Store
from outbound.store.contacts import NewContact

MAX_UPLOAD_ROWS = 200_000  # per upload; the batched API import has no such cap
MAX_REPORTED_ERRORS = 100_000  # row errors kept for the report; all are counted
_BATCH = 5000

Progress = Callable[[int], None]  # called with the rows read so far


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # line number in the file (the header is line 1), or position in a JSON batch
    value: str  # the raw phone value
    reason: str


def row_errors_csv(errors: Iterable[RowError]) -> str:
    """Row errors as a CSV file (row, value, reason), safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["row", "value", "reason"])
    for e in errors:
        writer.writerow([e.row, safe_cell(e.value), safe_cell(e.reason)])
    return out.getvalue()


@dataclass(slots=True)
class ImportReport:
    """What an upload did: rows = imported + invalid + duplicate."""

    rows: int = 0
    imported: int = 0  # contacts created, flagged ones included
    invalid: int = 0
    duplicate: int = 0
    dnc_flagged: int = 0  # imported, but on the do-not-call list today
    errors: list[RowError] = field(default_factory=list)
    errors_truncated: bool = False  # more row errors happened than the report keeps

    def add_error(self, row: int, value: str, reason: str) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row, value[:200], reason))
        else:
            self.errors_truncated = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows, "imported": self.imported, "invalid": self.invalid,
            "duplicate": self.duplicate, "dnc_flagged": self.dnc_flagged,
            "errors": [{"row": e.row, "value": e.value, "reason": e.reason}
                       for e in self.errors],
            "errors_truncated": self.errors_truncated,
        }

    def errors_csv(self) -> str:
        """The row errors as a CSV file (safe to open in a spreadsheet)."""
        return row_errors_csv(self.errors)


@dataclass(frozen=True, slots=True)
class RawContact:
    """One row as uploaded, before normalization."""

    row: int
    phone: str
    name: str | None
    agent: str | None
    fields: dict[str, str]
    problem: str | None = None  # the row is unusable whatever its number: why


def rows_from_table(table: Table) -> Iterator[RawContact]:
    """Contacts from a CSV table: `name` and `agent` columns, every other column a field."""
    header = table.header
    lowered = [h.lower() for h in header]
    phone = table.phone
    name_i = lowered.index("name") if "name" in lowered else -1
    agent_i = lowered.index("agent") if "agent" in lowered else -1
    extra = [(i, h) for i, h in enumerate(header) if i not in (phone, name_i, agent_i) and h]
    width = len(header)
    for row in table.rows:
        cells = row.cells
        padded = [c.strip() for c in cells[:width]] + [""] * (width - len(cells))
        yield RawContact(
            row.line, padded[phone],
            (padded[name_i] if name_i >= 0 else "") or None,
            (padded[agent_i] if agent_i >= 0 else "") or None,
            {h: padded[i] for i, h in extra if padded[i]},
            row.problem,
        )


def rows_from_json(items: Any) -> Iterator[RawContact]:
    """Contacts from a JSON batch: a list of objects with the same keys as a CSV header."""
    if not isinstance(items, list):
        raise InvalidInput("contacts", "must be a list of objects, each with a phone")
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            yield RawContact(position, "", None, None, {}, "is not an object")
            continue
        by_name = {str(k).strip().lower(): k for k in item}
        phone_key = next((by_name[n] for n in PHONE_HEADERS if n in by_name), None)
        problem = None if phone_key is not None else (
            "has no phone (one of " + ", ".join(PHONE_HEADERS) + ")")
        texts: dict[str, str] = {}
        for key, value in item.items():
            if isinstance(value, dict | list):
                problem = problem or f"field {key!r} is not a plain value"
                continue
            text = "" if value is None else str(value).strip()
            if len(text) > MAX_CELL:
                problem = problem or f"field {key!r} is {len(text):,} characters; at most " \
                    f"{MAX_CELL:,}"
            texts[str(key)] = text
        name_key, agent_key = by_name.get("name"), by_name.get("agent")
        yield RawContact(
            position, texts.get(str(phone_key), "") if phone_key is not None else "",
            texts.get(str(name_key)) or None if name_key is not None else None,
            texts.get(str(agent_key)) or None if agent_key is not None else None,
            {k: v for k, v in texts.items() if v and k not in
             (str(phone_key), str(name_key), str(agent_key))},
            problem,
        )


def _phone_to_check(raw: RawContact) -> str | None:
    return None if raw.problem is not None else raw.phone


def import_contacts(store: Store, campaign_id: int, account_id: int, rows: Iterable[RawContact],
                    region: str | None, now: float, *, max_rows: int | None = MAX_UPLOAD_ROWS,
                    progress: Progress | None = None, source: str = "file") -> ImportReport:
    """Normalize, de-duplicate, flag and insert, in one transaction: a refused upload
    (too many rows, unreadable past a point) writes nothing."""
    report = ImportReport()
    with store.engine.begin() as conn:
        seen = store.contacts.existing_phones(conn, campaign_id)
        position = store.contacts.next_position(conn, campaign_id)
        batch: list[NewContact] = []

        def flush() -> None:
            nonlocal position
            if not batch:
                return
            flagged = store.dnc.contains(conn, account_id, [c.phone for c in batch])
            store.contacts.insert_many(conn, campaign_id, position, batch, flagged, now)
            position += len(batch)
            report.dnc_flagged += len(flagged)
            batch.clear()

        for raw, result in normalized(rows, _phone_to_check, region):
            report.rows += 1
            if max_rows is not None and report.rows > max_rows:
                raise InvalidInput(source, f"has more than {max_rows:,} rows; split it, or "
                                   "send it through the batched API import, which has no cap")
            if progress is not None and report.rows % 1000 == 0:
                progress(report.rows)
            if result is None:
                report.invalid += 1
                report.add_error(raw.row, raw.phone, f"row {raw.problem}")
                continue
            if isinstance(result, Rejected):
                report.invalid += 1
                report.add_error(raw.row, raw.phone, result.reason)
                continue
            if result.e164 in seen:
                report.duplicate += 1
                report.add_error(raw.row, raw.phone, f"duplicate of {result.e164}")
                continue
            seen.add(result.e164)
            batch.append(NewContact(result.e164, raw.name, raw.fields, raw.agent))
            report.imported += 1
            if len(batch) >= _BATCH:
                flush()
        flush()
        if report.rows == 0:
            raise InvalidInput(source, "has a header but no rows of contacts")
        if report.imported:
            store.campaigns.touch(conn, campaign_id)
    if progress is not None:
        progress(report.rows)
    return report
