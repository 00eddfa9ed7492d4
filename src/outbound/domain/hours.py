"""Business hours: weekdays plus an opening and closing wall-clock time in an IANA zone.

Windows are computed per local date, so they follow daylight-saving changes: 09:00–19:00 in
New York is 14:00–00:00 UTC in winter and 13:00–23:00 UTC in summer. A wall time that does not
exist on a spring-forward day is read as the instant after the gap; one that occurs twice on a
fall-back day is read as its first occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outbound.domain.errors import InvalidInput

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_MINUTES_PER_DAY = 24 * 60


def parse_hhmm(value: str, field: str) -> int:
    """Minutes after midnight for 'HH:MM' (24:00 allowed as the end of the day)."""
    match = _HHMM.match(value) if isinstance(value, str) else None
    minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
    if not match or minutes > _MINUTES_PER_DAY:
        raise InvalidInput(field, f"must be a time 'HH:MM' from 00:00 to 24:00 (got {value!r})")
    return minutes


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def load_zone(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        if not isinstance(name, str) or not name or name.startswith(("/", ".")):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            field, f"must be an IANA time zone such as 'America/New_York' (got {name!r})"
        ) from None


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """When dialing is allowed."""

    timezone: str  # IANA zone name, e.g. "America/New_York"
    days: frozenset[int]  # weekdays open, 0 = Monday … 6 = Sunday
    open_minute: int  # opening time, minutes after local midnight
    close_minute: int  # closing time, minutes after local midnight (1440 = midnight)

    @classmethod
    def parse(cls, timezone: str, days: list[str], open: str, close: str) -> BusinessHours:
        load_zone(timezone)
        if not isinstance(days, list) or not days:
            raise InvalidInput("days", f"must list at least one of {', '.join(DAY_NAMES)}")
        day_numbers = set()
        for day in days:
            if not isinstance(day, str) or day.lower()[:3] not in DAY_NAMES:
                raise InvalidInput("days", f"must be names among {', '.join(DAY_NAMES)} "
                                   f"(got {day!r})")
            day_numbers.add(DAY_NAMES.index(day.lower()[:3]))
        open_minute = parse_hhmm(open, "open")
        close_minute = parse_hhmm(close, "close")
        if open_minute >= close_minute:
            raise InvalidInput("close", f"must be later than open ({open}) (got {close})")
        return cls(timezone, frozenset(day_numbers), open_minute, close_minute)

    @classmethod
    def always(cls, timezone: str = "UTC") -> BusinessHours:
        return cls(timezone, frozenset(range(7)), 0, _MINUTES_PER_DAY)

    def to_dict(self) -> dict[str, object]:
        return {
            "timezone": self.timezone,
            "days": [DAY_NAMES[d] for d in sorted(self.days)],
            "open": format_hhmm(self.open_minute),
            "close": format_hhmm(self.close_minute),
        }

    def _instant(self, day: date, minute: int, zone: ZoneInfo) -> float:
        if minute >= _MINUTES_PER_DAY:
            day, minute = day + timedelta(days=1), minute - _MINUTES_PER_DAY
        wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60)  # noqa: DTZ001 - a wall time, zoned below
        for step in range(0, 24 * 60):  # a skipped wall time: the first minute after the gap
            local = (wall + timedelta(minutes=step)).replace(tzinfo=zone)
            instant = local.astimezone(UTC)
            if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
                return instant.timestamp()
        raise AssertionError(f"no wall time after {wall} exists in {zone}")

    def window(self, now: float) -> tuple[float, float]:
        """The open window containing `now`, or else the next one: (opens, closes) instants.

        Dialing is allowed at `now` exactly when opens <= now < closes.
        """
        zone = load_zone(self.timezone)
        today = datetime.fromtimestamp(now, zone).date()
        for offset in range(-1, 9):
            day = today + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opens = self._instant(day, self.open_minute, zone)
            closes = self._instant(day, self.close_minute, zone)
            if closes > now and closes > opens:
                return opens, closes
        raise AssertionError("a week always holds an open day")  # days is never empty

    def open_seconds(self, start: float, end: float) -> float:
        """How long the hours are open between `start` and `end` (a run's staffed time)."""
        total, now = 0.0, start
        while now < end:
            opens, closes = self.window(now)
            if opens >= end:
                break
            total += min(closes, end) - max(opens, now)
            now = closes
        return total

    def is_open(self, now: float) -> bool:
        opens, closes = self.window(now)
        return opens <= now < closes
