"""`outbound simulate`: the real engine, store and routing in virtual time, the network simulated.

One VirtualClock holds every pending moment: the engine's wake-ups, the simulated calls' events
and the scenario's scripted events. The loop jumps from one to the next without sleeping. A
scripted `crash` drops every in-memory thing (engine, runner, calls in flight, timers) at that
instant and starts a new engine on the same store, as a restarted process would.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outbound.bootstrap import App, build
from outbound.clock import VirtualClock
from outbound.config import Settings
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.engine.core import Tuning
from outbound.engine.report import write_results
from outbound.scenario import Scenario, ScenarioEvent, load_into
from outbound.store import Store
from outbound.store.campaigns import log_event
from outbound.store.db import sqlite_url

# With no start in the scenario, the simulated campaign starts at this moment.
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
# A simulation that has not finished after this much virtual time is stopped.
HORIZON_SECONDS = 60 * 86400
# Inside a simulation every change to the campaign comes from the script, which tells the
# engine at once; polling the store for changes made elsewhere can be rare. Events are recorded
# as they come: in virtual time two seldom share a moment, and a wait would shift the results.
SIMULATION_TUNING = Tuning(housekeeping=10.0, acquire=10.0, refresh=10.0, event_batch=0.0)


@dataclass(frozen=True, slots=True)
class SimulationResult:
    campaign_id: int
    report: dict[str, Any]
    crashes: int
    virtual_seconds: float


class Simulation:
    def __init__(self, scenario: Scenario, out_dir: Path, *, store_url: str | None = None,
                 tuning: Tuning | None = None) -> None:
        self.scenario = scenario
        out_dir = out_dir.resolve()
        self.out_dir = out_dir
        self.tuning = tuning or SIMULATION_TUNING
        out_dir.mkdir(parents=True, exist_ok=True)
        if store_url is None:
            data = out_dir / "store"
            shutil.rmtree(data, ignore_errors=True)
            store_url = sqlite_url(data)
        self.settings = Settings(data_dir=out_dir, database_url=store_url)
        self.store = Store.open(store_url)
        start = scenario.campaign.start
        self.start = start if start is not None else DEFAULT_START
        self.clock = VirtualClock(self.start)
        self.crashes = 0
        self._pending: list[ScenarioEvent] = list(scenario.events)
        self.app: App | None = None

    def run(self) -> SimulationResult:
        scenario = self.scenario
        account_id = self.store.accounts.create(
            f"Simulation {scenario.path.stem}", timezone=scenario.timezone,
            region=scenario.region, now=self.start)
        self.account_id = account_id
        loaded = load_into(self.store, account_id, scenario, self.start)
        self.campaign_id = loaded.campaign_id
        if scenario.campaign.start is None:
            self.store.campaigns.act(self.campaign_id, CampaignAction.START, self.start)
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
        self.app = build(self.settings, self.clock, store=self.store, tuning=self.tuning,
                         seed=self.scenario.seed)
        self.app.runner.start()

    def _schedule_script(self) -> None:
        for event in self._pending:
            self.clock.call_at(event.at, functools.partial(self._script, event))

    def _script(self, event: ScenarioEvent) -> None:
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
        else:
            try:
                campaigns.act(self.campaign_id, CampaignAction(event.action), now)
            except Exception as exc:  # a scripted action that no longer applies is reported
                campaigns_log(self.store, self.campaign_id, now, event.action, str(exc))
        if self.app is not None:
            self.app.engine.invalidate()
            self.app.runner.poke()

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


def campaigns_log(store: Store, campaign_id: int, now: float, action: str, why: str) -> None:
    with store.engine.begin() as conn:
        log_event(conn, campaign_id, now, "script_skipped", detail={"action": action,
                                                                    "why": why})
