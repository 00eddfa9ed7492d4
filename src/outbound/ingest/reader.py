"""Reading tabular uploads: encoding and delimiter detection, a required header, the phone
column found by name."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from outbound.domain.errors import InvalidInput

PHONE_HEADERS = ("phone", "phone_number", "phone number", "number", "mobile", "telephone")
_SNIFF_BYTES = 64 * 1024


def open_text(path: Path) -> IO[str]:
    """Open an upload as text: UTF-8 (BOM or not), UTF-16 with BOM, else Latin-1."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InvalidInput(str(path), f"cannot be read ({exc.strerror})") from None
    head = raw.read(_SNIFF_BYTES)
    raw.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        if b"\x00" in head:
            raw.close()
            raise InvalidInput(str(path), "is not a text file (CSV expected)")
        try:
            head.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the sniff window is still UTF-8.
            encoding = "utf-8" if exc.start >= len(head) - 3 else "latin-1"
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


@dataclass(frozen=True, slots=True)
class Table:
    """A header and its rows; `phone` is the index of the phone column."""

    header: list[str]
    phone: int
    rows: Iterator[tuple[int, list[str]]]  # (line number of the row's start, cells)


def read_table(text: IO[str], source: str, *, need_phone: bool = True) -> Table:
    first = text.readline()
    if not first.strip():
        raise InvalidInput(source, "is empty: a header row is required")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(first, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(itertools.chain([first], text), dialect)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise InvalidInput(source, f"line 1: {exc}") from None
    lowered = [h.lower() for h in header]
    phone = next((lowered.index(n) for n in PHONE_HEADERS if n in lowered), -1)
    if phone < 0 and need_phone:
        raise InvalidInput(source, "has no phone column: the header must name one of "
                           + ", ".join(PHONE_HEADERS))
    return Table(header, phone, _rows(reader, source))


def _rows(reader: Iterator[list[str]], source: str) -> Iterator[tuple[int, list[str]]]:
    line = getattr(reader, "line_num", 1)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(source, f"line {getattr(reader, 'line_num', '?')}: {exc}"
                               ) from None
        start, line = line + 1, getattr(reader, "line_num", line + 1)
        if cells and any(c.strip() for c in cells):
            yield start, cells
