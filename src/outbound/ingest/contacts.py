"""Contact import: every row normalized and classified, the good ones written in one
transaction, every bad one reported with its row number."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from outbound.domain.errors import InvalidInput
from outbound.domain.phone import Rejected, normalize
from outbound.store import Store
from outbound.store.contacts import NewContact

MAX_UPLOAD_ROWS = 200_000
_BATCH = 5000


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # line number in the file (the header is line 1), or index in a JSON batch
    value: str  # the raw phone value
    reason: str


@dataclass(slots=True)
class ImportReport:
    """What an upload did: rows = imported + invalid + duplicate."""

    rows: int = 0
    imported: int = 0  # contacts created, flagged ones included
    invalid: int = 0
    duplicate: int = 0
    dnc_flagged: int = 0  # imported, but on the do-not-call list today
    errors: list[RowError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows, "imported": self.imported, "invalid": self.invalid,
            "duplicate": self.duplicate, "dnc_flagged": self.dnc_flagged,
            "errors": [{"row": e.row, "value": e.value, "reason": e.reason}
                       for e in self.errors],
        }

    def errors_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["row", "value", "reason"])
        for e in self.errors:
            writer.writerow([e.row, e.value, e.reason])
        return out.getvalue()


@dataclass(frozen=True, slots=True)
class RawContact:
    row: int
    phone: str
    name: str | None
    agent: str | None
    fields: dict[str, str]


def rows_from_table(header: list[str], phone: int,
                    rows: Iterable[tuple[int, list[str]]]) -> Iterator[RawContact]:
    lowered = [h.lower() for h in header]
    name_i = lowered.index("name") if "name" in lowered else -1
    agent_i = lowered.index("agent") if "agent" in lowered else -1
    extra = [(i, h) for i, h in enumerate(header) if i not in (phone, name_i, agent_i) and h]
    for line, cells in rows:
        padded = [c.strip() for c in cells] + [""] * (len(header) - len(cells))
        yield RawContact(
            line, padded[phone], (padded[name_i] if name_i >= 0 else "") or None,
            (padded[agent_i] if agent_i >= 0 else "") or None,
            {h: padded[i] for i, h in extra if padded[i]},
        )


def import_contacts(store: Store, campaign_id: int, account_id: int, rows: Iterable[RawContact],
                    region: str | None, now: float, *,
                    max_rows: int | None = MAX_UPLOAD_ROWS) -> ImportReport:
    """Normalize, de-duplicate, flag and insert; nothing is written if the upload is refused."""
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
            ready = [NewContact(c.phone, c.name, c.fields, c.agent, c.phone in flagged)
                     for c in batch]
            store.contacts.insert_many(conn, campaign_id, position, ready, now)
            position += len(ready)
            report.dnc_flagged += len(flagged)
            batch.clear()

        for raw in rows:
            report.rows += 1
            if max_rows is not None and report.rows > max_rows:
                raise InvalidInput("file", f"has more than {max_rows:,} rows; split it or use "
                                   "the batched API import, which has no such limit")
            result = normalize(raw.phone, region)
            if isinstance(result, Rejected):
                report.invalid += 1
                report.errors.append(RowError(raw.row, raw.phone, result.reason))
                continue
            if result.e164 in seen:
                report.duplicate += 1
                report.errors.append(RowError(raw.row, raw.phone, f"duplicate of {result.e164}"))
                continue
            seen.add(result.e164)
            batch.append(NewContact(result.e164, raw.name, raw.fields, raw.agent, False))
            report.imported += 1
            if len(batch) >= _BATCH:
                flush()
        flush()
    return report
