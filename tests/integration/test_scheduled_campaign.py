"""A scheduled campaign starts by itself at its start time, dials only inside business hours,
and spaces each retry by the backoff grown by its multiplier.

Unlike `outbound simulate`, whose virtual clock begins at the scenario's start, these runs
load the campaign ten minutes early and drive the engine (with the worker's own timings) on a
virtual clock through the wait, so the scheduled → running step itself is exercised.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scenario_runs import posix, small_scenario
from sqlalchemy import select

from outbound.bootstrap import build
from outbound.clock import VirtualClock
from outbound.config import Settings
from outbound.domain.lifecycle import CampaignStatus
from outbound.engine.core import Tuning
from outbound.scenario import load_into, load_scenario
from outbound.store import Store
from outbound.store.campaigns import Campaign
from outbound.store.schema import events

TUNING = Tuning()  # the worker's timings
BACKOFF, MULTIPLIER, ATTEMPTS = 20.0, 2.0, 4


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    start: float
    status_at_load: CampaignStatus
    status_just_before: CampaignStatus
    dials_before_start: int
    campaign: Campaign  # as it ended
    attempts: list[Any]
    events: list[str]


def run_scheduled(path: Path, url: str, directory: Path, *, early: float = 600) -> ScheduledRun:
    scenario = load_scenario(path)
    start = scenario.campaign.start
    assert start is not None
    loaded_at = start - early
    store = Store.open(url)
    try:
        clock = VirtualClock(loaded_at)
        account_id = store.accounts.create("Scheduled", timezone=scenario.timezone,
                                           region=scenario.region, now=loaded_at)
        campaign_id = load_into(store, account_id, scenario, loaded_at).campaign_id
        status_at_load = store.campaigns.get(campaign_id).status
        app = build(Settings(data_dir=directory, database_url=url), clock, store=store,
                    tuning=TUNING, seed=scenario.seed)
        app.runner.start()
        while (moment := clock.next_time()) is not None and moment < start:
            clock.run_next()
        status_just_before = store.campaigns.get(campaign_id).status
        dials_before_start = len(list(store.contacts.attempts(campaign_id)))
        while clock.run_next():
            assert clock.now() < start + 86400, "the campaign did not finish within a day"
            if not app.engine.calls and store.campaigns.get(campaign_id).status.terminal:
                break
        app.runner.stop()
        campaign = store.campaigns.get(campaign_id)
        attempts = list(store.contacts.attempts(campaign_id))
        with store.engine.connect() as conn:
            kinds = list(conn.execute(select(events.c.kind).where(
                events.c.campaign_id == campaign_id).order_by(events.c.id)).scalars())
    finally:
        store.close()
    return ScheduledRun(start, status_at_load, status_just_before, dials_before_start,
                        campaign, attempts, kinds)


def scheduled_scenario(start: str) -> dict[str, Any]:
    return small_scenario(
        campaign={"start": start, "attempts": ATTEMPTS, "backoff_seconds": BACKOFF,
                  "backoff_multiplier": MULTIPLIER},
        contacts={"generate": 40},
        # Mostly unanswered, so that contacts go through every attempt.
        network={"answer": 0.2, "busy": 0.2, "no_answer": 0.6, "invalid": 0.0,
                 "rejected": 0.0, "provider_error": 0.0},
    )


@pytest.fixture(scope="module")
def runs(store_kind: str, empty_store: Any, scenario_files: Any,
         tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ScheduledRun]:
    """Run the scheduled scenario for a start time, once per start time."""
    done: dict[str, ScheduledRun] = {}

    def get(start: str) -> ScheduledRun:
        if start not in done:
            directory = tmp_path_factory.mktemp("scheduled")
            url = empty_store(store_kind, directory)
            path = scenario_files(directory, scheduled_scenario(start))
            done[start] = run_scheduled(path, url, directory)
        return done[start]

    return get


IN_HOURS = "2026-03-02T10:30:00-05:00"  # Monday, inside 09:00–19:00
BEFORE_OPENING = "2026-03-02T08:50:00-05:00"  # Monday, before the window opens


def test_a_scheduled_campaign_waits_then_starts_at_its_start_time(runs: Any) -> None:
    run = runs(IN_HOURS)
    assert run.status_at_load is CampaignStatus.SCHEDULED
    assert run.status_just_before is CampaignStatus.SCHEDULED
    assert run.dials_before_start == 0
    assert run.campaign.started_at == run.start
    first = min(a.started_at for a in run.attempts)
    assert first >= run.start
    # It is picked up by the next look for campaigns to run: seconds, not minutes.
    assert first - run.start <= TUNING.acquire + TUNING.housekeeping
    assert run.events[:2] == ["created", "started"]
    assert run.campaign.status is CampaignStatus.COMPLETED


def test_a_campaign_scheduled_before_opening_time_first_dials_when_the_window_opens(
        runs: Any) -> None:
    run = runs(BEFORE_OPENING)
    assert run.status_just_before is CampaignStatus.SCHEDULED
    assert run.campaign.started_at == run.start
    first = min(a.started_at for a in run.attempts)
    assert first == posix("2026-03-02T09:00:00-05:00")
    assert all(a.started_at < posix("2026-03-02T19:00:00-05:00") for a in run.attempts)


@pytest.mark.parametrize("start", [IN_HOURS, BEFORE_OPENING])
def test_retries_never_come_sooner_than_the_backoff_grown_by_its_multiplier(
        runs: Any, start: str) -> None:
    run = runs(start)
    by_contact: dict[int, list[Any]] = {}
    for attempt in sorted(run.attempts, key=lambda a: (a.contact_id, a.attempt)):
        by_contact.setdefault(attempt.contact_id, []).append(attempt)
    deepest = 0
    for attempts in by_contact.values():
        for previous, attempt in itertools.pairwise(attempts):
            wait = BACKOFF * MULTIPLIER ** (previous.attempt - 1)  # 20 s, 40 s, 80 s
            assert attempt.started_at >= previous.ended_at + wait, (previous, attempt)
            deepest = max(deepest, attempt.attempt)
        assert len(attempts) <= ATTEMPTS
    assert deepest == ATTEMPTS, "no contact reached its last attempt: the test proves little"
