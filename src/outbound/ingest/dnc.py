"""Do-not-call imports: a CSV with a phone column, or a plain list of one number per line.

Numbers in any common format are normalized like contacts; invalid rows are reported, the
rest are added in one transaction. A number already on the list keeps its first entry (when,
by whom, from where) and counts as already listed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from outbound.domain.errors import InvalidInput
from outbound.domain.phone import Rejected, normalize
from outbound.domain.spreadsheet import safe_cell
from outbound.domain.timefmt import iso
from outbound.ingest.contacts import MAX_REPORTED_ERRORS, Progress, RowError, row_errors_csv
from outbound.ingest.parallel import normalized
from outbound.ingest.reader import MAX_CELL, PHONE_HEADERS, read_table
from outbound.store import Store


@dataclass(frozen=True, slots=True)
class DncRow:
    line: int
    raw: str
    problem: str | None = None


@dataclass(slots=True)
class DncReport:
    """What a do-not-call import did: rows = added + already_listed + invalid."""

    rows: int = 0
    added: int = 0  # numbers new to the list
    already_listed: int = 0  # valid, but on the list already (or earlier in this file)
    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows, "added": self.added, "already_listed": self.already_listed,
            "invalid": self.invalid,
            "errors": [{"row": e.row, "value": e.value, "reason": e.reason}
                       for e in self.errors],
            "errors_truncated": self.errors_truncated,
        }

    def errors_csv(self) -> str:
        """The row errors as a CSV file (safe to open in a spreadsheet)."""
        return row_errors_csv(self.errors)


def dnc_rows(text: IO[str], source: str) -> Iterator[DncRow]:
    """The rows of a DNC upload: a CSV whose header names a phone column, else one number
    per line with no header."""
    first = text.readline(1024 * 1024)
    if not first.strip():
        raise InvalidInput(source, "is empty: one number per line, or a CSV with a phone column")
    # A header names its columns; a number, even a vanity one (1-800-MOBILE), has digits.
    lowered = first.strip().strip("\ufeff").lower()
    if any(h in lowered for h in PHONE_HEADERS) and not any(ch.isdigit() for ch in first):
        table = read_table(_again(first, text), source)
        empty = True
        for row in table.rows:
            empty = False
            cells = row.cells
            raw = cells[table.phone] if table.phone < len(cells) else ""
            yield DncRow(row.line, raw, f"row {row.problem}" if row.problem else None)
        if empty:
            raise InvalidInput(source, "has a header but no numbers")
        return
    for line, raw in enumerate(_again(first, text), start=1):
        if not raw.strip():
            continue
        too_long = len(raw) > MAX_CELL
        yield DncRow(line, raw[:MAX_CELL] if too_long else raw.strip(),
                     f"line is {len(raw):,} characters long" if too_long else None)


class _again:
    """A text stream with its first line pushed back."""

    def __init__(self, first: str, rest: IO[str]) -> None:
        self.first, self.rest = first, rest

    def __iter__(self) -> Iterator[str]:
        if self.first:
            yield self.first
            self.first = ""
        yield from self.rest

    def readline(self, limit: int = -1, /) -> str:
        if self.first:
            line, self.first = self.first, ""
            return line
        return self.rest.readline(limit)


def _number_to_check(row: DncRow) -> str | None:
    return None if row.problem else row.raw


def import_dnc(store: Store, account_id: int, rows: Iterable[DncRow], region: str | None,
               now: float, *, added_by: str | None = None, source: str | None = None,
               progress: Progress | None = None) -> DncReport:
    """Normalize and add every valid number in one transaction; report the rest."""
    report = DncReport()

    def valid_numbers() -> Iterator[str]:
        for row, checked in normalized(rows, _number_to_check, region):
            report.rows += 1
            if progress is not None and report.rows % 5000 == 0:
                progress(report.rows)
            result = checked if checked is not None else Rejected(row.problem or "")
            if isinstance(result, Rejected):
                report.invalid += 1
                if len(report.errors) < MAX_REPORTED_ERRORS:
                    report.errors.append(RowError(row.line, row.raw[:200], result.reason))
                else:
                    report.errors_truncated = True
                continue
            yield result.e164

    with store.engine.begin() as conn:
        report.added = store.dnc.add(account_id, valid_numbers(), now, added_by=added_by,
                                     source=source, conn=conn)
    report.already_listed = report.rows - report.invalid - report.added
    if progress is not None:
        progress(report.rows)
    return report


def dnc_query(query: str, region: str | None) -> str:
    """What to search for: a whole number in any format becomes its E.164; anything else is
    taken as a prefix of E.164 numbers (digits, with or without +)."""
    result = normalize(query, region)
    if not isinstance(result, Rejected):
        return result.e164
    digits = "".join(ch for ch in query if ch.isdigit())
    if not digits:
        raise InvalidInput("query", f"must be a number or the start of one (got {query!r})")
    return "+" + digits


def write_dnc_csv(rows: Iterable[Any], out: IO[str]) -> int:
    """The list as CSV (phone, added_at, added_by, source), safe to open in a spreadsheet."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["phone", "added_at", "added_by", "source"])
    count = 0
    for row in rows:
        writer.writerow([row.phone, iso(row.added_at), safe_cell(row.added_by or ""),
                         safe_cell(row.source or "")])
        count += 1
    return count
