"""The composition root: wires store, providers, clock, engine and runner from Settings."""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outbound.clock import Clock, VirtualClock
from outbound.config import Settings
from outbound.domain.errors import OutboundError
from outbound.domain.lifecycle import CampaignAction
from outbound.engine.core import Engine, Tuning
from outbound.engine.runner import Runner
from outbound.engine.simulation import DEFAULT_START, SIMULATION_TUNING, Simulation
from outbound.scenario import Scenario, load_into
from outbound.store import Store
from outbound.store.db import sqlite_url
from outbound.telephony.port import EventSink, Provider
from outbound.telephony.registry import ProviderContext, build_provider
from outbound.telephony.sim import SimulatedNetwork

log = logging.getLogger(__name__)


class AccountProviders:
    """Each account's provider, built on first use from the account's stored settings."""

    def __init__(self, store: Store, clock: Clock, sink: EventSink, recordings_dir: Path,
                 seed: int = 0) -> None:
        self.store = store
        self.clock = clock
        self.sink = sink
        self.recordings_dir = recordings_dir
        self.seed = seed
        self.built: dict[int, Provider] = {}

    def for_account(self, account_id: int) -> Provider:
        provider = self.built.get(account_id)
        if provider is None:
            config = self.store.accounts.get(account_id).provider
            context = ProviderContext(account_id, self.clock, self.sink, self.recordings_dir,
                                      self.seed)
            provider = build_provider(context, config)
            self.built[account_id] = provider
        return provider

    def forget(self, account_id: int) -> None:
        """Build the account's provider afresh on next use (its settings changed); the old
        one still reports the calls it placed."""
        self.built.pop(account_id, None)

    def webhook(self, account_id: int, hook: Any) -> None:
        """A carrier's checked webhook for one of the account's calls (on the engine's loop):
        to the account's adapter, if it takes webhooks."""
        try:
            provider = self.for_account(account_id)
        except OutboundError as exc:
            log.warning("account %s: a webhook came in, but its provider is unusable: %s",
                        account_id, exc)
            return
        on_webhook = getattr(provider, "on_webhook", None)
        if on_webhook is None:
            log.warning("account %s: a webhook came in, but its provider takes none", account_id)
            return
        on_webhook(hook)

    def drop_all(self) -> None:
        """Forget every provider; calls still in the simulator are dropped unreported."""
        for provider in self.built.values():
            if isinstance(provider, SimulatedNetwork):
                provider.drop_all()
            else:
                close = getattr(provider, "close", None)
                if close is not None:
                    close()
        self.built.clear()


@dataclass(slots=True)
class App:
    store: Store
    clock: Clock
    engine: Engine
    runner: Runner
    providers: AccountProviders


async def drain(app: App, timeout: float) -> None:
    """Stop dialing and let calls in flight finish, for at most `timeout` seconds; what is
    left is the sweeper's to reset once its leases run out."""
    app.runner.dialing = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while app.engine.calls and loop.time() < deadline:
        await asyncio.sleep(0.05)
    app.runner.stop()
    app.engine.release()


def open_store(settings: Settings) -> Store:
    return Store.open(settings.store_url())


def build(settings: Settings, clock: Clock, *, store: Store | None = None,
          worker_id: str | None = None, tuning: Tuning | None = None, seed: int = 0,
          on_failure: Any = None) -> App:
    store = store or open_store(settings)
    engine = Engine(store, clock, worker_id=worker_id, tuning=tuning)
    runner = Runner(engine, clock, on_failure=on_failure)
    providers = AccountProviders(store, clock, runner.on_event, settings.recordings_dir, seed)
    engine.attach(providers)
    return App(store, clock, engine, runner, providers)


def build_simulation(scenario: Scenario, out_dir: Path, *, store_url: str | None = None,
                     tuning: Tuning | None = None) -> Simulation:
    """`outbound simulate`'s wiring: the scenario loaded into a new account on a store (by
    default a fresh SQLite one under `out_dir`), a VirtualClock at the campaign's start,
    and an engine built on them at each boot of the simulation."""
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if store_url is None:
        data = out_dir / "store"
        shutil.rmtree(data, ignore_errors=True)
        store_url = sqlite_url(data)
    settings = Settings(data_dir=out_dir, database_url=store_url)
    store = Store.open(store_url)
    start = scenario.campaign.start
    start = start if start is not None else DEFAULT_START
    clock = VirtualClock(start)
    try:
        account_id = store.accounts.create(
            f"Simulation {scenario.path.stem}", timezone=scenario.timezone,
            region=scenario.region, now=start)
        campaign_id = load_into(store, account_id, scenario, start).campaign_id
        if scenario.campaign.start is None:
            store.campaigns.act(campaign_id, CampaignAction.START, start)
    except BaseException:
        store.close()
        raise
    boot = functools.partial(build, settings, clock, store=store,
                             tuning=tuning or SIMULATION_TUNING, seed=scenario.seed)
    return Simulation(store, clock, boot, account_id=account_id, campaign_id=campaign_id,
                      script=scenario.events, out_dir=out_dir)
