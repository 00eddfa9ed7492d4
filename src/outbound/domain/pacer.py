"""A smooth pacer (GCRA with no burst tolerance).

The pacer keeps one number, the theoretical arrival time (`tat`): the earliest moment the next
dial may start. Dialing at `now` moves it to `max(tat, now) + 1/rate`, so time spent idle earns
no credit and a quiet spell is never followed by a catch-up burst. Consecutive dials are always
at least 1/rate apart, which keeps every half-open one-second window at or under ceil(rate).
"""

from __future__ import annotations

from dataclasses import dataclass

# Floating-point sums of 1/rate can land a hair early (0.2 * 5 < 1.0); a nanosecond of slack
# per interval keeps the one-second-window guarantee exact.
_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class Pacer:
    """Immutable pacing state: `tat` is the earliest start of the next dial."""

    tat: float = 0.0

    def ready(self, now: float) -> bool:
        return now >= self.tat

    def take(self, now: float, rate: float) -> Pacer:
        """The state after a dial started at `now` (which must be `ready`)."""
        return Pacer(max(self.tat, now) + 1.0 / rate + _SLACK)

    def allowance(self, now: float, rate: float, limit: int) -> tuple[int, Pacer]:
        """How many dials may start at `now` (at most `limit`), and the state after them.

        Without burst tolerance this is 0 or 1: a later dial waits for its own moment.
        """
        if limit <= 0 or not self.ready(now):
            return 0, self
        return 1, self.take(now, rate)
