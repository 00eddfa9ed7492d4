"""On the wall clock a worker records call events in batches (`Tuning.event_batch`): they wait
a moment to share one transaction. Waiting events are never lost by a graceful stop: stopping
the runner records them first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenario_runs import posix, small_scenario

from outbound.bootstrap import build
from outbound.clock import VirtualClock
from outbound.config import Settings
from outbound.domain.lifecycle import CampaignAction
from outbound.engine.core import Tuning
from outbound.scenario import load_into, load_scenario
from outbound.store import Store

START = "2026-03-02T09:00:00-05:00"
# Far longer than the run below: every event of it is still waiting when the runner stops.
LONG_BATCH = Tuning(event_batch=3600.0)


def test_events_wait_for_their_batch_and_a_stop_records_them(
        store_url: str, scenario_files: Any, tmp_path: Path) -> None:
    data = small_scenario(contacts={"generate": 20})
    del data["campaign"]["start"]
    scenario = load_scenario(scenario_files(tmp_path, data))
    now = posix(START)
    store = Store.open(store_url)
    try:
        account_id = store.accounts.create("Batches", timezone=scenario.timezone,
                                           region=scenario.region, now=now)
        campaign_id = load_into(store, account_id, scenario, now).campaign_id
        store.campaigns.act(campaign_id, CampaignAction.START, now)
        clock = VirtualClock(now)
        app = build(Settings(data_dir=tmp_path, database_url=store_url), clock, store=store,
                    tuning=LONG_BATCH, seed=scenario.seed)
        app.runner.start()
        # A minute: rings last 1-6 s and talks 5-15 s, so calls ring, answer and end.
        while (moment := clock.next_time()) is not None and moment < now + 60:
            clock.run_next()

        attempts = list(store.contacts.attempts(campaign_id))
        assert attempts, "the campaign dialed"
        assert all(a.ringing_at is None and a.ended_at is None for a in attempts), \
            "events were recorded before their batch was due"
        waiting = len(app.engine.calls)

        app.runner.stop()

        attempts = list(store.contacts.attempts(campaign_id))
        ended = [a for a in attempts if a.ended_at is not None]
        assert ended, "stopping the runner did not record the events waiting"
        assert any(a.ringing_at is not None for a in attempts)
        assert len(app.engine.calls) == waiting - len(ended)
    finally:
        store.close()


def test_a_store_failure_with_events_waiting_stops_the_runner_once(
        store_url: str, scenario_files: Any, tmp_path: Path) -> None:
    # The waiting events are lost with the failure, as in a crash (the leases cover them):
    # stopping must not try to record them again.
    data = small_scenario(contacts={"generate": 20})
    del data["campaign"]["start"]
    scenario = load_scenario(scenario_files(tmp_path, data))
    now = posix(START)
    store = Store.open(store_url)
    failures: list[BaseException] = []
    try:
        account_id = store.accounts.create("Failing", timezone=scenario.timezone,
                                           region=scenario.region, now=now)
        campaign_id = load_into(store, account_id, scenario, now).campaign_id
        store.campaigns.act(campaign_id, CampaignAction.START, now)
        clock = VirtualClock(now)
        app = build(Settings(data_dir=tmp_path, database_url=store_url), clock, store=store,
                    tuning=LONG_BATCH, seed=scenario.seed, on_failure=failures.append)
        app.runner.start()
        while (moment := clock.next_time()) is not None and moment < now + 60:
            clock.run_next()
        assert app.engine.calls, "no call is waiting for its events: the test proves little"
        with store.engine.begin() as conn:  # the store breaks under the engine
            conn.exec_driver_sql("ALTER TABLE call_attempts RENAME TO call_attempts_gone")

        app.runner.stop()

        assert len(failures) == 1, failures
        assert "call_attempts" in str(failures[0])
        while clock.run_next():  # nothing is left to run: the runner stopped
            pass
        assert len(failures) == 1
    finally:
        store.close()
