"""On the wall clock, a carrier that counts calls per second never sees one too many.

The pacer spaces the dials' moments exactly, but a request reaches the network a little after
its moment, by an amount that varies (the code between the engine's reading of the clock and
the wire; a thread switch). Had the engine spaced only its own moments, a request that left
late followed, a second later, by one that left on time would put rate + 1 requests in the
carrier's one-second window. The engine also counts each request from when it had gone, and
holds the one that would make too many.

Here the simulated carrier refuses a call beyond its limit in any second, and the first
request of the run reaches it 5 ms after the engine sent it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from outbound.bootstrap import build
from outbound.clock import RealClock
from outbound.config import Settings
from outbound.domain.hours import DAY_NAMES, BusinessHours
from outbound.domain.lifecycle import CampaignAction
from outbound.domain.settings import CampaignSettings
from outbound.store import Store
from outbound.store.contacts import NewContact
from outbound.store.db import reading
from outbound.store.schema import call_attempts, events
from outbound.telephony.port import OriginateRequest
from outbound.telephony.sim import SimulatedNetwork, profile_from_settings

RATE = 20  # calls per second: the carrier's limit, and what the campaigns ask for
LATE = 0.005  # seconds: how late the first request reaches the carrier
SECONDS = 2.4  # of dialing: the first request's second, and the next one
CALLER_ID = "+14155550100"
ALWAYS_OPEN = BusinessHours.parse("UTC", list(DAY_NAMES), "00:00", "24:00")
NETWORK = {"answer": 0.0, "busy": 0.5, "no_answer": 0.5, "invalid": 0.0, "rejected": 0.0,
           "provider_error": 0.0, "ring_seconds": [0.05, 0.2], "talk_seconds": [0.1, 0.2],
           "max_calls_per_second": RATE}


class FirstRequestLate(SimulatedNetwork):
    """The simulated carrier; the first request reaches it `LATE` after the engine sent it."""

    late = True

    def originate(self, request: OriginateRequest) -> str:
        if self.late:
            self.late = False
            time.sleep(LATE)
        return super().originate(request)


def campaign(store: Store, account_id: int, name: str, first: int) -> int:
    now = time.time()
    settings = CampaignSettings.parse({
        "name": name, "pacing": RATE, "concurrency": 50, "attempts": 1,
        "numbers": [CALLER_ID], "transfer": {"department": "Sales"}, "recording": False,
        "business_hours": ALWAYS_OPEN, "dialing": "fixed"})  # at its pace, agents or not
    campaign_id = store.campaigns.create(account_id, settings, now)
    with store.engine.begin() as conn:
        store.contacts.insert_many(conn, campaign_id, 0, [
            NewContact(f"+1212{first + n:07d}", None, {}, None) for n in range(100)], set(), now)
    store.campaigns.act(campaign_id, CampaignAction.START, now)
    return campaign_id


def dial_for_a_while(store: Store, tmp_path: Path, account_id: int,
                     provider: dict[str, Any]) -> None:
    async def main() -> None:
        clock = RealClock(asyncio.get_running_loop())
        app = build(Settings(data_dir=tmp_path), clock, store=store)
        app.providers.built[account_id] = network = FirstRequestLate(
            clock, profile_from_settings(provider), app.runner.on_event)
        network.calls_per_second = provider.get("calls_per_second")
        app.runner.start()
        try:
            await asyncio.sleep(SECONDS)
        finally:
            app.runner.stop()

    asyncio.run(main())


@pytest.mark.parametrize("capped", [False, True], ids=["campaign-rate", "account-cap"])
def test_a_carrier_counting_its_calls_per_second_never_refuses_one(
        store_url: str, tmp_path: Path, capped: bool) -> None:
    # Capped: two campaigns at the carrier's limit share an account that declares it, so each
    # dials about half of it and only the account's count keeps the carrier's window.
    provider = {"kind": "sim", "network": NETWORK, **({"calls_per_second": RATE} if capped else {})}
    store = Store.open(store_url)
    try:
        account_id = store.accounts.create("Wire", timezone="UTC", region="US",
                                           now=time.time(), provider=provider)
        store.accounts.add_numbers(account_id, [CALLER_ID])
        store.accounts.add_department(account_id, "Sales")  # nobody answers: no agents
        for n in range(2 if capped else 1):
            campaign(store, account_id, f"Wire {n}", 2_000_000 + 1000 * n)

        dial_for_a_while(store, tmp_path, account_id, provider)

        with reading(store.engine) as conn:
            dialed = conn.execute(select(call_attempts.c.id)).all()
            refused = conn.execute(select(events.c.at).where(
                events.c.kind == "carrier_refused")).all()
        assert len(dialed) > RATE + 5, "the run never reached its second second"
        assert refused == []
    finally:
        store.close()
