"""A smooth pacer (GCRA with no burst tolerance).

The pacer keeps one number, the theoretical arrival time (`tat`): the earliest moment the next
dial may start. Dialing at `now` moves it to `max(tat, now) + 1/rate`, so time spent idle earns
no credit and a quiet spell is never followed by a catch-up burst. Consecutive dials are always
at least 1/rate apart, which keeps every half-open one-second window at or under ceil(rate).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache


@lru_cache(maxsize=256)
def interval(rate: float) -> float:
    """1/rate rounded up to a float, so that `rate` intervals never sum to under a second."""
    step = 1.0 / rate
    while Fraction(step) * Fraction(rate) < 1:
        step = math.nextafter(step, math.inf)
    return step


def _after(base: float, step: float) -> float:
    """The first float at least `step` after `base`: at POSIX-time magnitudes a float is only
    about 0.24 µs fine, and a plain sum can land short."""
    moment = base + step
    if base >= step > 0:
        # Then base <= moment <= 2 * base, so `moment - base` is exact (Sterbenz): the
        # comparison needs no fractions.
        while moment - base < step:
            moment = math.nextafter(moment, math.inf)
        return moment
    while Fraction(moment) - Fraction(base) < Fraction(step):
        moment = math.nextafter(moment, math.inf)
    return moment


@dataclass(frozen=True, slots=True)
class Pacer:
    """Immutable pacing state: `tat` is the earliest start of the next dial."""

    tat: float = 0.0

    def ready(self, now: float) -> bool:
        return now >= self.tat

    def take(self, now: float, rate: float) -> Pacer:
        """The state after a dial started at `now` (which must be `ready`)."""
        return Pacer(_after(max(self.tat, now), interval(rate)))

    def allowance(self, now: float, rate: float, limit: int) -> tuple[int, Pacer]:
        """How many dials may start at `now` (at most `limit`), and the state after them.

        Without burst tolerance this is 0 or 1: a later dial waits for its own moment.
        """
        if limit <= 0 or not self.ready(now):
            return 0, self
        return 1, self.take(now, rate)


class Departures:
    """When a campaign's last ceil(rate) requests left for the network, each read once its
    request had gone. The next request waits until the oldest is a second old, so that no
    one-second window on the wire holds more than ceil(rate) of them, whatever the jitter
    between the pacer's moments and the requests. A change of rate starts the count afresh."""

    __slots__ = ("_moments",)

    def __init__(self) -> None:
        self._moments: deque[float] = deque(maxlen=0)

    def opens(self, rate: float) -> float:
        """The earliest moment the next request may leave (-inf: at once)."""
        most = math.ceil(rate)
        moments = self._moments
        if moments.maxlen != most:
            self._moments = deque(maxlen=most)
            return -math.inf
        if len(moments) < most:
            return -math.inf
        return _after(moments[0], 1.0)

    def left(self, moment: float) -> None:
        """A request has left; `moment` is no earlier than when it did."""
        self._moments.append(moment)
