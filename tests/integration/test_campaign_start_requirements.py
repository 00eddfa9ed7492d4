"""A campaign without a number pool or a transfer target (or, customer-first, without a
message for its abandoned calls) refuses to start and says which is missing; nothing about it
changes (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from scenario_runs import POOL, posix
from sqlalchemy import select

from outbound import service
from outbound.domain.errors import CannotStart
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.domain.settings import CampaignSettings
from outbound.store import Store
from outbound.store.schema import events

NOW = posix("2026-03-02T09:00:00-05:00")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store.open(store_url)
    yield store
    store.close()


@pytest.fixture
def account_id(store: Store) -> int:
    account_id = store.accounts.create("Acme", timezone="America/New_York", region="US",
                                       now=NOW)
    department_id = store.accounts.add_department(account_id, "Sales")
    store.accounts.add_agent(account_id, "Sales-1", NOW, department_id=department_id)
    return account_id


def campaign(store: Store, account_id: int, **settings: Any) -> int:
    return store.campaigns.create(
        account_id, CampaignSettings.parse({"name": "Spring"} | settings, "US"), NOW)


@pytest.mark.parametrize(("settings", "missing", "present"), [
    ({"transfer": {"department": "Sales"}}, ["number pool"], ["transfer target"]),
    ({"numbers": POOL}, ["transfer target"], ["number pool"]),
    ({}, ["number pool", "transfer target"], []),
])
def test_a_campaign_missing_its_pool_or_transfer_target_refuses_to_start_naming_it(
        store: Store, account_id: int, settings: dict[str, Any], missing: list[str],
        present: list[str]) -> None:
    campaign_id = campaign(store, account_id, **settings)
    before = store.campaigns.get(campaign_id)
    for action in (CampaignAction.START, CampaignAction.SCHEDULE):
        with pytest.raises(CannotStart) as refused:
            store.campaigns.act(campaign_id, action, NOW)
        message = str(refused.value)
        assert all(m in message for m in missing), message
        assert not any(p in message for p in present), message
    after = store.campaigns.get(campaign_id)
    assert after.status is CampaignStatus.DRAFT
    assert (after.version, after.started_at) == (before.version, None)


def test_a_transfer_target_that_does_not_exist_is_named_when_start_is_refused(
        store: Store, account_id: int) -> None:
    campaign_id = campaign(store, account_id, numbers=POOL, transfer={"department": "Support"})
    with pytest.raises(CannotStart, match="Support"):
        store.campaigns.act(campaign_id, CampaignAction.START, NOW)
    assert store.campaigns.get(campaign_id).status is CampaignStatus.DRAFT


def test_a_campaign_with_pool_and_target_starts(store: Store, account_id: int) -> None:
    campaign_id = campaign(store, account_id, numbers=POOL, transfer={"department": "Sales"})
    assert store.campaigns.act(campaign_id, CampaignAction.START, NOW) is CampaignStatus.RUNNING
    started = store.campaigns.get(campaign_id)
    assert (started.status, started.started_at) == (CampaignStatus.RUNNING, NOW)


def test_a_campaign_that_cannot_start_cannot_be_scheduled_either(
        store: Store, account_id: int) -> None:
    settings = CampaignSettings.parse(
        {"name": "Spring", "transfer": {"department": "Sales"}, "start": NOW + 60}, "US")
    with pytest.raises(CannotStart, match="number pool"):
        store.campaigns.create(account_id, settings, NOW, schedule=True)
    assert store.campaigns.list(account_id) == []  # nothing written


def test_a_scheduled_campaign_that_can_no_longer_start_goes_back_to_draft_saying_why(
        store: Store, account_id: int) -> None:
    start = NOW + 60
    campaign_id = store.campaigns.create(
        account_id, CampaignSettings.parse(
            {"name": "Spring", "numbers": POOL, "transfer": {"department": "Sales"},
             "start": start}, "US"),
        NOW, schedule=True)
    assert store.campaigns.get(campaign_id).status is CampaignStatus.SCHEDULED
    store.campaigns.update_settings(campaign_id, {"numbers": []}, "US", NOW + 1)
    assert store.campaigns.start_due(NOW + 2) == start  # not yet
    store.campaigns.start_due(start)
    assert store.campaigns.get(campaign_id).status is CampaignStatus.DRAFT
    with store.engine.connect() as conn:
        refused = list(conn.execute(select(events.c.detail).where(
            events.c.campaign_id == campaign_id, events.c.kind == "start_refused")).scalars())
    assert len(refused) == 1 and "number pool" in refused[0]["why"]


def test_a_customer_first_campaign_whose_abandon_message_is_empty_refuses_to_start(
        store: Store, account_id: int) -> None:
    service.update_account(store, account_id, {"abandon_message": "   "})  # no default wanted
    campaign_id = campaign(store, account_id, numbers=POOL, transfer={"department": "Sales"})
    for action in (CampaignAction.START, CampaignAction.SCHEDULE):
        with pytest.raises(CannotStart, match="abandon_message"):
            store.campaigns.act(campaign_id, action, NOW)
    assert store.campaigns.get(campaign_id).status is CampaignStatus.DRAFT
    # Its own message, or agent-first (which never abandons), and it starts.
    store.campaigns.update_settings(
        campaign_id, {"abandon_message": "Acme here. Call 415 555 0100. Press 9 to stop."},
        "US", NOW)
    assert store.campaigns.act(campaign_id, CampaignAction.START, NOW) is CampaignStatus.RUNNING
    agent_first = campaign(store, account_id, numbers=POOL, transfer={"department": "Sales"},
                           name="Spring calls", dial_mode="agent-first")
    assert store.campaigns.act(agent_first, CampaignAction.START,
                               NOW) is CampaignStatus.RUNNING


def test_the_account_default_message_lets_a_campaign_start(
        store: Store, account_id: int) -> None:
    assert service.account_json(store, account_id)["abandon_message"] is None
    campaign_id = campaign(store, account_id, numbers=POOL, transfer={"department": "Sales"})
    assert store.campaigns.act(campaign_id, CampaignAction.START, NOW) is CampaignStatus.RUNNING
