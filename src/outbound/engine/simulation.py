"""`outbound simulate`: the real engine, store and routing in virtual time, the network simulated.

One VirtualClock holds every pending moment: the engine's wake-ups, the simulated calls' events
and the scenario's scripted events. The loop jumps from one to the next without sleeping. A
scripted `crash` drops every in-memory thing (engine, runner, calls in flight, timers) at that
instant and starts a new engine on the same store, as a restarted process would.

The caller loads the scenario into the store and says how to start an engine
(`bootstrap.build_simulation` does both); this module only runs it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from outbound.clock import VirtualClock
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.engine.core import Engine, Tuning
from outbound.engine.report import write_results
from outbound.engine.runner import Runner
from outbound.store import Store

# With no start in the scenario, the simulated campaign starts at this moment.
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
# A simulation that has not finished after this much virtual time is stopped.
HORIZON_SECONDS = 60 * 86400
# Inside a simulation every change to the campaign comes from the script, which tells the
# engine at once; polling the store for changes made elsewhere can be rare. Events are recorded
# as they come: in virtual time two seldom share a moment, and a wait would shift the results.
SIMULATION_TUNING = Tuning(housekeeping=10.0, acquire=10.0, refresh=10.0, event_batch=0.0,
                           limits_every=5.0)


class ScriptedEvent(Protocol):
    """A scenario's scripted event: an action at a moment (scenario.ScenarioEvent)."""

    @property
    def at(self) -> float: ...
    @property
    def action(self) -> str: ...  # crash, dnc_add, set_pacing, set_agents, a CampaignAction
    @property
    def numbers(self) -> tuple[str, ...]: ...  # dnc_add
    @property
    def pacing(self) -> float | None: ...  # set_pacing
    @property
    def department(self) -> str | None: ...  # set_agents
    @property
    def available(self) -> int | None: ...  # set_agents


class _Networks(Protocol):
    def drop_all(self) -> None: ...


class Booted(Protocol):
    """An engine started on the simulation's clock, with its runner and networks
    (bootstrap.App)."""

    @property
    def engine(self) -> Engine: ...
    @property
    def runner(self) -> Runner: ...
    @property
    def providers(self) -> _Networks: ...


@dataclass(frozen=True, slots=True)
class SimulationResult:
    campaign_id: int
    report: dict[str, Any]
    crashes: int
    virtual_seconds: float


class Simulation:
    """Runs one loaded campaign to its end in virtual time, from the clock's moment."""

    def __init__(self, store: Store, clock: VirtualClock, boot: Callable[[], Booted], *,
                 account_id: int, campaign_id: int, script: Iterable[ScriptedEvent],
                 out_dir: Path) -> None:
        """`boot()` builds an engine (with its runner and networks) on `store` and `clock`;
        it is called once at the start and again after every scripted crash."""
        self.store = store
        self.clock = clock
        self.boot = boot
        self.account_id = account_id
        self.campaign_id = campaign_id
        self.out_dir = out_dir
        self.start = clock.now()
        self.crashes = 0
        self._pending: list[ScriptedEvent] = list(script)
        self.app: Booted | None = None

    def run(self) -> SimulationResult:
        self._boot()
        self._schedule_script()
        horizon = self.start + HORIZON_SECONDS
        clock = self.clock
        while clock.run_next():
            if self._finished() or clock.now() > horizon:
                break
        if self.app is not None:
            self.app.runner.stop()
        report = write_results(self.store, self.campaign_id, self.out_dir)
        return SimulationResult(self.campaign_id, report, self.crashes, clock.now() - self.start)

    def _finished(self) -> bool:
        """Done when the campaign ended, or sits paused with nothing left to happen."""
        app = self.app
        if app is None or app.engine.calls:
            return False
        status = self.store.campaigns.status(self.campaign_id)
        if status is CampaignStatus.PAUSED and not self._pending:
            return True
        return status.terminal and not app.engine.runs

    def _boot(self) -> None:
        self.app = self.boot()
        self.app.runner.start()

    def _schedule_script(self) -> None:
        for event in self._pending:
            self.clock.call_at(event.at, functools.partial(self._script, event))

    def _script(self, event: ScriptedEvent) -> None:
        self._pending.remove(event)
        now = self.clock.now()
        campaigns = self.store.campaigns
        if event.action == "crash":
            self._crash()
            return
        if event.action == "dnc_add":
            self.store.dnc.add(self.account_id, event.numbers, now, source="scenario event")
        elif event.action == "set_pacing":
            campaigns.update_settings(self.campaign_id, {"pacing": event.pacing}, None, now)
        elif event.action == "set_agents":
            self._staff(event.department, event.available or 0)
        else:
            try:
                campaigns.act(self.campaign_id, CampaignAction(event.action), now)
            except Exception as exc:  # a scripted action that no longer applies is reported
                campaigns.log(self.campaign_id, now, "script_skipped",
                              detail={"action": event.action, "why": str(exc)})
        if self.app is not None:
            self.app.engine.invalidate()
            self.app.runner.poke()

    def _staff(self, department: str | None, available: int) -> None:
        """A shift change: the department's first `available` agents work, the others log
        off (an agent on a call finishes it, then takes no more)."""
        accounts = self.store.accounts
        staff = [a for a in accounts.agents(self.account_id) if a.department == department]
        for n, agent in enumerate(staff):
            accounts.set_availability(self.account_id, agent.id,
                                      "available" if n < available else "offline")

    def _crash(self) -> None:
        """The process dies: every timer, call and in-memory state is gone."""
        self.crashes += 1
        assert self.app is not None
        self.app.runner.stop()
        self.app.providers.drop_all()
        self.clock.cancel_all()
        self.app = None
        self._boot()
        self._schedule_script()

