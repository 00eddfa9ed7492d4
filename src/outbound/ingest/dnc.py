"""Reading do-not-call lists: a CSV with a phone column, or one number per line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from outbound.domain.phone import Rejected, normalize
from outbound.ingest.contacts import RowError
from outbound.ingest.reader import PHONE_HEADERS, open_text, read_table


@dataclass(slots=True)
class DncRead:
    numbers: list[str] = field(default_factory=list)  # E.164, in file order, no repeats
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0


def read_dnc_numbers(path: Path, region: str | None) -> DncRead:
    result = DncRead()
    seen: set[str] = set()
    with open_text(path) as text:
        first = text.readline()
        text.seek(0)
        header = first.strip().strip('"').lower()
        if any(h in header for h in PHONE_HEADERS) and isinstance(
                normalize(first, region), Rejected):
            table = read_table(text, str(path))
            rows = ((line, cells[table.phone] if table.phone < len(cells) else "")
                    for line, cells in table.rows)
        else:
            rows = ((i, line) for i, line in enumerate(text, start=1) if line.strip())
        for line, raw in rows:
            result.rows += 1
            normalized = normalize(raw, region)
            if isinstance(normalized, Rejected):
                result.errors.append(RowError(line, raw.strip(), normalized.reason))
            elif normalized.e164 not in seen:
                seen.add(normalized.e164)
                result.numbers.append(normalized.e164)
    return result
