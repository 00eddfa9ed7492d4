"""Reading tabular uploads: encoding and delimiter detection, a required header, the phone
column found by name, rows streamed one at a time.

A file that cannot be read as a table at all is refused whole (InvalidInput naming the file,
and the line where it can); a row that is merely wrong becomes a row-level problem for the
caller to report, and the rows after it still count.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from outbound.domain.errors import InvalidInput

PHONE_HEADERS = ("phone", "phone_number", "phone number", "number", "mobile", "telephone")
MAX_COLUMNS = 500  # a header wider than this is not a contact list
MAX_CELL = 10_000  # characters; a longer cell makes its row invalid
_MAX_FIELD = 16 * 1024 * 1024  # the csv module's own limit: beyond it a quote never closed
_MAX_HEADER_LINE = 1024 * 1024
_SNIFF_BYTES = 64 * 1024
# Formats people save by mistake instead of CSV, by their first bytes.
_NOT_CSV = {
    b"PK\x03\x04": "a ZIP or Excel (.xlsx) file; save the sheet as CSV",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) or Word file; save the sheet as CSV",
    b"%PDF": "a PDF file; export the list as CSV",
    b"\x89PNG": "an image",
    b"\xff\xd8\xff": "an image",
    b"\x1f\x8b": "a gzip archive; unpack it first",
}


def open_text(path: Path) -> IO[str]:
    """Open an upload as text: UTF-8 (BOM or not), UTF-16 with BOM, else Latin-1."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InvalidInput(str(path), f"cannot be read ({exc.strerror})") from None
    return decode(raw, str(path))


def decode(raw: IO[bytes], source: str) -> IO[str]:
    """Text over a binary upload, its encoding guessed from the first 64 KiB."""
    head = raw.read(_SNIFF_BYTES)
    raw.seek(0)
    for magic, what in _NOT_CSV.items():
        if head.startswith(magic):
            raw.close()
            raise InvalidInput(source, f"is {what}, not a CSV file")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        if b"\x00" in head:
            raw.close()
            raise InvalidInput(source, "is not a text file (CSV expected)")
        try:
            head.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the end of the window is still UTF-8; the end
            # of a file smaller than the window cuts nothing.
            cut = len(head) == _SNIFF_BYTES and exc.start >= len(head) - 3
            encoding = "utf-8" if cut else "latin-1"
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: where it starts, its cells, and what is wrong with its shape (if any)."""

    line: int  # line number of the row's start in the file (the header is line 1)
    cells: list[str]
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """A header and its rows; `phone` is the index of the phone column (-1: none)."""

    header: list[str]
    phone: int
    rows: Iterator[Row]


class Lines(Protocol):
    """Where rows come from: an open text file, or one with its first line pushed back."""

    def readline(self, limit: int = -1, /) -> str: ...

    def __iter__(self) -> Iterator[str]: ...


def read_table(text: Lines, source: str, *, need_phone: bool = True) -> Table:
    try:
        first = text.readline(_MAX_HEADER_LINE)
    except UnicodeDecodeError:
        raise InvalidInput(source, "line 1: is not valid text in any encoding we read "
                           "(UTF-8, UTF-16 with BOM, Latin-1)") from None
    if not first.strip():
        raise InvalidInput(source, "is empty: a header row naming the columns is required")
    if len(first) >= _MAX_HEADER_LINE and not first.endswith("\n"):
        raise InvalidInput(source, "line 1 is longer than 1 MiB: not a CSV header")
    csv.field_size_limit(_MAX_FIELD)
    # Standard CSV quoting (doubled quotes inside quoted fields, as Excel writes them) with
    # the delimiter the header uses most; csv.Sniffer would also guess the quoting from one
    # line, and guess it wrong.
    reader = csv.reader(itertools.chain([first], text), csv.excel,
                        delimiter=_delimiter(first), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise InvalidInput(source, f"line 1: the header is not valid CSV ({exc})") from None
    if len(header) > MAX_COLUMNS:
        raise InvalidInput(source, f"has {len(header):,} columns; at most {MAX_COLUMNS}")
    lowered = [h.lower() for h in header]
    phone = next((lowered.index(n) for n in PHONE_HEADERS if n in lowered), -1)
    if phone < 0 and need_phone:
        raise InvalidInput(source, "has no phone column: the header must name one of "
                           + ", ".join(PHONE_HEADERS) + f" (found: {', '.join(header)[:200]})")
    return Table(header, phone, _rows(reader, len(header), source))


def _delimiter(header: str) -> str:
    """The most frequent of comma, semicolon and tab outside quotes (comma on a tie)."""
    outside = "".join(part for i, part in enumerate(header.split('"')) if i % 2 == 0)
    counts = {d: outside.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _rows(reader: Iterator[list[str]], width: int, source: str) -> Iterator[Row]:
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if _never_closed(exc):
                raise InvalidInput(source, f"line {line + 1}: a quoted field starts here and "
                                   "is never closed (unbalanced quotes)") from None
            # The reader drops the rest of the bad line and goes on with the next one.
            start, line = line + 1, getattr(reader, "line_num", line + 1)
            yield Row(start, [], f"is not valid CSV ({exc})")
            continue
        except UnicodeDecodeError:
            raise InvalidInput(source, f"near line {line + 1}: not valid UTF-8 although the "
                               "file starts as UTF-8; save it again as UTF-8") from None
        start, line = line + 1, getattr(reader, "line_num", line + 1)
        if not any(cells):  # a blank line, or only delimiters: nothing to report
            continue
        problem = None
        if len(cells) > width or max(map(len, cells)) > MAX_CELL:
            problem = _shape_problem(cells, width)
        yield Row(start, cells, problem)


def _shape_problem(cells: list[str], width: int) -> str | None:
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        return f"has {len(cells):,} cells but the header names {width}"
    longest = max(map(len, cells))
    if longest > MAX_CELL:
        column = next(i for i, c in enumerate(cells) if len(c) == longest) + 1
        return f"cell {column} is {longest:,} characters long; at most {MAX_CELL:,}"
    return None


def _never_closed(exc: csv.Error) -> bool:
    text = str(exc)
    return "unexpected end of data" in text or "field larger than field limit" in text
