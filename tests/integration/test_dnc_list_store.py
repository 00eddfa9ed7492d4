"""The per-account do-not-call list in the store: add, search, remove, and the claim that
reads it — each account's list and no other's (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from scenario_runs import POOL, posix

from outbound.domain.settings import CampaignSettings
from outbound.store import Store
from outbound.store.contacts import NewContact

NOW = posix("2026-03-02T09:00:00-05:00")
LISTED = ["+14155550100", "+14155550101", "+14155550102"]


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store.open(store_url)
    yield store
    store.close()


def account(store: Store, name: str) -> int:
    return store.accounts.create(name, timezone="America/New_York", region="US", now=NOW)


def test_adding_numbers_counts_only_the_new_ones_and_keeps_the_first_entry(
        store: Store) -> None:
    acme = account(store, "Acme")
    assert store.dnc.add(acme, LISTED, NOW, source="first.csv") == 3
    assert store.dnc.add(acme, [LISTED[0], "+14155550103"], NOW + 60, source="second.csv") == 1
    rows = {r.phone: r for r in store.dnc.all(acme)}
    assert sorted(rows) == [*LISTED, "+14155550103"]
    assert (rows[LISTED[0]].added_at, rows[LISTED[0]].source) == (NOW, "first.csv")


def test_a_large_bulk_add_is_counted_in_full(store: Store) -> None:
    acme = account(store, "Acme")
    numbers = [f"+1212555{n:04d}" for n in range(12_000)]  # more than one batch
    assert store.dnc.add(acme, numbers, NOW) == 12_000
    assert store.dnc.add(acme, numbers[:100], NOW) == 0


def test_search_matches_a_prefix_literally_and_remove_counts_what_it_removed(
        store: Store) -> None:
    acme = account(store, "Acme")
    store.dnc.add(acme, [*LISTED, "+12125550100"], NOW)
    assert [r.phone for r in store.dnc.search(acme, "+1415")] == LISTED
    assert store.dnc.search(acme, "%") == []
    assert store.dnc.search(acme, "+1415555010_") == []
    assert store.dnc.remove(acme, [LISTED[0], "+19175550100"]) == 1
    assert [r.phone for r in store.dnc.search(acme, "+1415")] == LISTED[1:]


def test_one_accounts_list_neither_shows_nor_blocks_in_another_account(store: Store) -> None:
    acme, globex = account(store, "Acme"), account(store, "Globex")
    store.dnc.add(acme, LISTED, NOW)
    assert store.dnc.search(globex, "+1") == []
    campaign_id = store.campaigns.create(globex, CampaignSettings.parse(
        {"name": "Spring", "numbers": POOL, "transfer": {"department": "Sales"}}, "US"), NOW)
    with store.engine.begin() as conn:
        store.contacts.insert_many(conn, campaign_id, 0, [
            NewContact(LISTED[0], None, {}, None)], set(), NOW)
        claimed = store.dialing.claim(conn, campaign_id, globex, NOW, NOW + 30, retry=False)
    assert claimed is not None and not claimed.blocked
