"""An account whose telephony settings cannot be used stops only its own campaigns: they are
paused with the reason in their events, and every other account's campaign dials on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenario_runs import posix, small_scenario
from sqlalchemy import select

from outbound.bootstrap import build
from outbound.clock import VirtualClock
from outbound.config import Settings
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.scenario import load_into, load_scenario
from outbound.store import Store
from outbound.store.schema import events

START = "2026-03-02T09:00:00-05:00"


def test_a_broken_provider_pauses_its_own_campaigns_and_no_other(
        store_url: str, scenario_files: Any, tmp_path: Path) -> None:
    data = small_scenario(contacts={"generate": 20})
    del data["campaign"]["start"]  # started by hand below
    scenario = load_scenario(scenario_files(tmp_path, data))
    now = posix(START)
    store = Store.open(store_url)
    try:
        campaigns = {}
        for name in ("Good", "Broken"):
            account_id = store.accounts.create(name, timezone=scenario.timezone,
                                               region=scenario.region, now=now)
            campaign_id = load_into(store, account_id, scenario, now).campaign_id
            store.campaigns.act(campaign_id, CampaignAction.START, now)
            campaigns[name] = (account_id, campaign_id)
        # Settings a newer version might have written, or a database edited by hand.
        store.accounts.set_provider(campaigns["Broken"][0], {"kind": "carrier-pigeon"})
        clock = VirtualClock(now)
        app = build(Settings(data_dir=tmp_path, database_url=store_url), clock, store=store)
        app.runner.start()
        good = campaigns["Good"][1]
        while clock.run_next() and clock.now() < now + 3600:
            if not app.engine.calls and store.campaigns.get(good).status.terminal:
                break
        app.runner.stop()

        broken = campaigns["Broken"][1]
        assert store.campaigns.get(good).status is CampaignStatus.COMPLETED
        assert store.campaigns.get(broken).status is CampaignStatus.PAUSED
        assert not list(store.contacts.attempts(broken))
        with store.engine.connect() as conn:
            paused = conn.execute(select(events.c.detail).where(
                events.c.campaign_id == broken, events.c.kind == "paused")).scalar_one()
        assert "carrier-pigeon" in paused["why"] and "provider.kind" in paused["why"]
    finally:
        store.close()
