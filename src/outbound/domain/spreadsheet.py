"""CSV cells that a spreadsheet will not run: every CSV Outbound writes passes through here."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
# A cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets
# (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The text of `value`, with a leading apostrophe if a spreadsheet would run it.

    Plain numbers (an E.164 number such as +14155550100, -3, 2.5) pass unchanged.
    """
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text
