"""Drives an Engine on a Clock: steps at the engine's wake-ups and right after every event.

The same runner serves both kinds of time: on a RealClock its timers are asyncio timers, on a
VirtualClock they are entries in the heap the simulation jumps through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from outbound.clock import Clock, TimerHandle
from outbound.engine.core import Engine
from outbound.telephony.port import CallEvent

log = logging.getLogger(__name__)
T = TypeVar("T")

# Recording events stops this long (seconds) before the next dial is due: time enough to
# commit them, and to claim and commit the dial before its moment.
STEP_LEAD = 0.0006


class Runner:
    def __init__(self, engine: Engine, clock: Clock,
                 on_failure: Callable[[BaseException], None] | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.on_failure = on_failure
        self.dialing = True  # False while draining: events are applied, nothing new is dialed
        self._step_at = float("inf")
        self._step_timer: TimerHandle | None = None
        self._housekeeping_timer: TimerHandle | None = None
        self._flush_timer: TimerHandle | None = None
        self._events: list[CallEvent] = []
        # The wake-up of a step taken early (`_meanwhile`), whose calls `_step` dispatches.
        self._prepared: tuple[float | None] | None = None
        self._stopped = False

    def start(self) -> None:
        self._stopped = False
        self._housekeep()

    def stop(self) -> None:
        """Stop stepping; events still waiting to be recorded are recorded first."""
        if not self._stopped:
            self._record(float("inf"))
        self._stopped = True
        for timer in (self._step_timer, self._housekeeping_timer, self._flush_timer):
            if timer is not None:
                timer.cancel()
        self._flush_timer = None
        self._step_at = float("inf")

    def on_event(self, event: CallEvent) -> None:
        """The provider's event sink. With `Tuning.event_batch`, events wait that long to be
        recorded together with those that follow (one transaction: fewer commits), then
        the engine steps; without, each is recorded at once."""
        window = self.engine.tuning.event_batch
        if window <= 0:
            self._guard(lambda: self.engine.apply(event))
            self.poke()
            return
        self._events.append(event)
        if self._flush_timer is None and not self._stopped:
            self._flush_timer = self.clock.call_at(self.clock.now() + window, self._flush)

    def _flush(self) -> None:
        """Record the waiting events; a dial that falls due meanwhile goes first (the
        events are not late, the dial would be): the rest are recorded right after it."""
        self._flush_timer = None
        now = self.clock.now()
        until = self._step_at - STEP_LEAD
        if now < until:
            self._record(until)
        if self._events and not self._stopped:  # the rest right after the dial
            self._flush_timer = self.clock.call_at(max(now, self._step_at), self._flush)
        self.poke()

    def _meanwhile(self, when: float) -> None:
        """The step timer woke up early: record waiting events, then claim (and commit) what
        is due at `when`, evaluated at `when`; the calls go out at `when` (`_step`)."""
        if self.clock.now() < when - STEP_LEAD:
            self._record(when - STEP_LEAD)
        if self.dialing and not self._stopped:
            self._prepared = (self._guard(lambda: self.engine.step(when)),)

    def _record(self, until: float) -> None:
        """Record waiting events, at least one, stopping once the clock reaches `until`."""
        events = self._events
        if not events:
            return
        done = self._guard(lambda: self.engine.apply_all(events, until))
        if done is not None:  # else the failure dropped them all
            del events[:done]

    def refresh(self) -> None:
        """Something changed elsewhere (a start, new contacts): re-read and look for newly
        running campaigns now rather than at the next housekeeping tick."""
        self.engine.invalidate(acquire=True)
        if self._housekeeping_timer is not None:
            self._housekeeping_timer.cancel()
        self._housekeep()

    def poke(self) -> None:
        """Step as soon as possible."""
        self._schedule(self.clock.now())

    def _schedule(self, when: float) -> None:
        if self._stopped or when >= self._step_at:
            return
        if self._step_timer is not None:
            self._step_timer.cancel()
        self._step_at = when
        self._step_timer = self.clock.call_at_precisely(when, self._step, self._meanwhile)

    def _step(self) -> None:
        self._step_at = float("inf")
        self._step_timer = None
        prepared, self._prepared = self._prepared, None
        if not self.dialing:
            self._guard(lambda: self.engine.step_waiting(self.clock.now()))
            return
        if prepared is not None:
            wake = prepared[0]
        else:
            wake = self._guard(lambda: self.engine.step(self.clock.now()))
        self._guard(self.engine.dispatch)
        if wake is not None:
            self._schedule(wake)

    def _housekeep(self) -> None:
        if self._stopped:
            return
        nxt = None
        if self.dialing:
            nxt = self._guard(lambda: self.engine.housekeeping(self.clock.now()))
        else:
            self._guard(lambda: self.engine.heartbeat(self.clock.now()))
        if nxt is None:
            nxt = self.clock.now() + self.engine.tuning.housekeeping
        self._housekeeping_timer = self.clock.call_at(nxt, self._housekeep)
        self.poke()

    def _guard(self, work: Callable[[], T]) -> T | None:
        """`work()`'s value; None when it failed, after stopping and telling `on_failure`.
        The events still waiting are lost with the failure, as in a crash (the leases cover
        them): stopping does not try to record them again."""
        try:
            return work()
        except Exception as exc:
            if self.on_failure is None:
                raise
            log.exception("the engine failed; stopping")
            self._events.clear()
            self.stop()
            self.on_failure(exc)
            return None
