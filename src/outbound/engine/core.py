"""The dialer's core: driven, never driving.

`step(now)` dials whatever pacing, concurrency, business hours and free agents allow at `now`
and returns when it next wants to be woken; `apply(event)` records a call event and takes the
routing decision it calls for; `housekeeping(now)` starts scheduled campaigns, takes and renews
campaign leases, renews the leases of the calls this engine is driving and sweeps orphans.
None of them sleeps: a runner calls them, on the wall clock or in virtual time.

The `Engine` holds what its three rooms share (`state.py`) and hands each call to its room:
`leases.py` (campaign leases, heartbeat, sweep), `dialer.py` (the step, claims, placing calls)
and `events.py` (call events, routing an answer, the end of a call).

The store is the truth. What this engine keeps in memory (the calls it drives, its pacers) is
a cache that a crash may lose: the contacts' leases then run out and the sweeper, in this
process or another, resets them with their attempt counted.
"""

from __future__ import annotations

import uuid

from outbound.clock import Clock
from outbound.domain.contacts import Outcome
from outbound.engine.dialer import Dialer
from outbound.engine.events import Events
from outbound.engine.leases import Leases
from outbound.engine.state import (
    CampaignRun,
    Counters,
    EngineState,
    LiveCall,
    Providers,
    Tuning,
)
from outbound.store import Store
from outbound.telephony.port import CallEvent

__all__ = ["Engine", "Tuning"]  # Tuning lives in state.py; its callers import it from here


class Engine:
    """One worker's dialer: the shared state, and the three rooms that act on it."""

    def __init__(self, store: Store, clock: Clock, *, worker_id: str | None = None,
                 tuning: Tuning | None = None) -> None:
        state = EngineState(store, clock, worker_id or f"worker-{uuid.uuid4().hex[:12]}",
                            tuning or Tuning())
        self._state = state
        self.dialer = Dialer(state)
        self.events = Events(state, self.dialer)
        self.leases = Leases(state, self.dialer)

    # -- what the rooms share ----------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self._state.store

    @property
    def clock(self) -> Clock:
        return self._state.clock

    @property
    def worker_id(self) -> str:
        return self._state.worker_id

    @property
    def tuning(self) -> Tuning:
        return self._state.tuning

    @property
    def providers(self) -> Providers | None:
        return self._state.providers

    @property
    def runs(self) -> dict[int, CampaignRun]:
        """The campaigns this engine owns, by id."""
        return self._state.runs

    @property
    def calls(self) -> dict[int, LiveCall]:
        """The calls this engine drives, by attempt id."""
        return self._state.calls

    @property
    def counters(self) -> Counters:
        return self._state.counters

    def attach(self, providers: Providers) -> None:
        self._state.providers = providers

    # -- leases and housekeeping -------------------------------------------------------------

    def housekeeping(self, now: float) -> float:
        """Side work; returns when it next wants to run."""
        return self.leases.housekeeping(now)

    def heartbeat(self, now: float) -> None:
        """Renew what this engine holds: campaign leases and its calls' contact leases."""
        self.leases.heartbeat(now)

    def sweep(self, now: float) -> int:
        """Reset every in-flight contact whose lease ran out: attempt `unknown`, then policy."""
        return self.leases.sweep(now)

    def release(self) -> None:
        """Give up every campaign lease (graceful shutdown)."""
        self.leases.release()

    def invalidate(self, *, acquire: bool = False) -> None:
        """Re-read every campaign on the next step (after a change made elsewhere); with
        `acquire`, also look for campaigns to take at the next housekeeping."""
        if acquire:
            self.leases.acquire_soon()
        self.dialer.invalidate()

    # -- dialing -----------------------------------------------------------------------------

    def step(self, now: float) -> float | None:
        """Dial what is due at `now`; returns the next time there may be work (None: on event)."""
        waiting = self.events.serve_waiting(now)
        nxt = self.dialer.step(now)
        if waiting is None:
            return nxt
        return waiting if nxt is None else min(waiting, nxt)

    def step_waiting(self, now: float) -> float | None:
        """While draining: serve answered calls waiting for an agent, dial nothing new."""
        return self.events.serve_waiting(now)

    def dispatch(self) -> None:
        """Place the calls the last step claimed (and committed). A runner on the wall clock
        may step a moment early, claiming at the moment due, and dispatch at that moment."""
        dialer = self.dialer
        for dial in dialer.ready():
            refused = dialer.place(dial)
            if refused is not None:
                self.events.finish(refused, Outcome.PROVIDER_ERROR, dial.at)

    # -- call events -------------------------------------------------------------------------

    def apply_all(self, events: list[CallEvent], until: float = float("inf")) -> int:
        """Record events that came in together, in order, in one transaction; stop early
        once the clock reaches `until` (a dial is due). Returns how many were recorded, at
        least one."""
        return self.events.apply_all(events, until)

    def apply(self, event: CallEvent) -> None:
        """Record a provider event; duplicates and stragglers change nothing."""
        self.events.apply(event)
