"""How times are written for people and files: ISO-8601 in UTC, to the millisecond."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float | None) -> str:
    """`2026-03-02T14:00:00.000Z` for POSIX seconds; empty for None."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")
