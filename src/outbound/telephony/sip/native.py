"""pjsua2 itself, and what every module that drives it shares: its errors in one line, its
log lines into Python's logging, and the two pjlib calls its bindings do not wrap.

Importing this module imports pjsua2: only the modules that run on the phone's thread do.
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any

import pjsua2 as pj

# One logger name for the whole SIP adapter, as when it was one module.
log = logging.getLogger("outbound.telephony.sip")


class PjLog(pj.LogWriter):  # type: ignore[misc]  # pjsua2 has no type information
    """pjsua2's own log lines, into Python's logging (errors and warnings only)."""

    def write(self, entry: Any) -> None:
        message = str(entry.msg).rstrip()
        log.log(logging.ERROR if entry.level <= 1 else logging.WARNING, "pjsua2: %s", message)


def native() -> Any:
    """The loaded pjsua2 extension as a C library, for the two pjlib calls pjsua2 does not
    wrap (the log level before libCreate, the build's call limit); None where unavailable."""
    try:
        return ctypes.CDLL(pj._pjsua2.__file__)
    except (AttributeError, OSError):
        return None


def describe(exc: BaseException) -> str:
    """A pjsua2 error in one line, without its C++ file and line."""
    if isinstance(exc, pj.Error):
        reason = str(getattr(exc, "reason", "") or exc)
        return f"{reason} (status {getattr(exc, 'status', '?')})"
    return str(exc) or type(exc).__name__
