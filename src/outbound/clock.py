"""The Clock: the only place that reads the time, real or virtual.

Engine, runner and the simulated telephone network all schedule their work through a Clock,
so the same code runs a live campaign on the wall clock and a simulated one in virtual time.
Times are POSIX seconds (UTC) as floats.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


def monotonic() -> float:
    """A steady reading in seconds, for spans measured inside one process (a timeout, a
    cache's age, a limiter's window): it never jumps when the wall clock is set. Not a time
    of day: never store it, never compare it across processes."""
    return time.monotonic()


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Tells the time and runs callbacks at a given time."""

    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle: ...

    def call_at_precisely(self, when: float, callback: Callable[[], None],
                          meanwhile: Callable[[float], None] | None = None) -> TimerHandle:
        """Like `call_at`, for a moment that must not be missed by a fraction of a millisecond
        (a paced dial). A clock that wakes up early to be on time first runs
        `meanwhile(when)`, work that must be over before `when`, rather than only wait."""
        ...

    def hold(self, until: float) -> None:
        """Return no earlier than `until` (a moment away at most): for spacing two requests
        to the network exactly. Nothing to wait for in virtual time."""
        ...


@dataclass(slots=True)
class _VirtualTimer:
    when: float
    seq: int
    callback: Callable[[], None] | None = field(compare=False)

    def __lt__(self, other: _VirtualTimer) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)

    def cancel(self) -> None:
        self.callback = None


class VirtualClock:
    """Virtual time: one heap of pending moments, jumped through without sleeping."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._heap: list[_VirtualTimer] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _VirtualTimer(max(when, self._now), next(self._seq), callback)
        heapq.heappush(self._heap, timer)
        return timer

    def call_at_precisely(self, when: float, callback: Callable[[], None],
                          meanwhile: Callable[[float], None] | None = None) -> TimerHandle:
        return self.call_at(when, callback)  # virtual time is always exact: never early

    def hold(self, until: float) -> None:
        pass  # time stands still while a callback runs

    def run_next(self) -> bool:
        """Advance to the earliest pending moment and run it; False when nothing is pending."""
        while self._heap:
            timer = heapq.heappop(self._heap)
            callback = timer.callback
            if callback is None:
                continue
            self._now = max(self._now, timer.when)
            timer.callback = None
            callback()
            return True
        return False

    def next_time(self) -> float | None:
        while self._heap and self._heap[0].callback is None:
            heapq.heappop(self._heap)
        return self._heap[0].when if self._heap else None

    def cancel_all(self) -> None:
        """Forget every pending moment: what a process death does to in-memory timers."""
        for timer in self._heap:
            timer.callback = None
        self._heap.clear()


class RealClock:
    """Wall-clock time; callbacks run on the asyncio loop given (the running one by default)."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    def now(self) -> float:
        return time.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        loop = self._loop or asyncio.get_running_loop()
        return loop.call_later(max(0.0, when - time.time()), callback)

    def call_at_precisely(self, when: float, callback: Callable[[], None],
                          meanwhile: Callable[[float], None] | None = None) -> TimerHandle:
        """The loop wakes up to a millisecond late (epoll's timeout is in whole milliseconds,
        rounded up), which at 20 calls/s loses 1–2% of the dials: wake `PRECISION_LEAD`
        early instead, run `meanwhile`, and wait out the rest. The wait blocks the loop for
        at most that long."""
        loop = self._loop or asyncio.get_running_loop()
        timer = _PreciseTimer(when, callback, meanwhile)
        timer.handle = loop.call_later(max(0.0, when - time.time() - PRECISION_LEAD), timer.fire)
        return timer

    def hold(self, until: float) -> None:
        _wait_until(min(until, time.time() + MAX_HOLD))


MAX_HOLD = 0.05  # seconds: a hold never blocks the loop longer than this
PRECISION_LEAD = 0.002  # seconds; the loop's lateness is under this at p99 on an idle machine


def _wait_until(moment: float) -> None:
    """Block until `moment`: asleep (the GIL released) for all but the last 0.2 ms, which a
    sleep would overshoot, then on the CPU."""
    left = moment - time.time()
    if left > 0.0003:
        time.sleep(left - 0.0002)
    while time.time() < moment:
        pass


@dataclass(slots=True)
class _PreciseTimer:
    when: float
    callback: Callable[[], None] | None
    meanwhile: Callable[[float], None] | None
    handle: asyncio.TimerHandle | None = None

    def fire(self) -> None:
        if self.callback is None:
            return
        if self.meanwhile is not None:
            self.meanwhile(self.when)
        callback = self.callback  # `meanwhile` may have cancelled it
        if callback is None:
            return
        _wait_until(self.when)  # at most PRECISION_LEAD
        callback()

    def cancel(self) -> None:
        self.callback = None
        if self.handle is not None:
            self.handle.cancel()
