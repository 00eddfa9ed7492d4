"""The claim: one atomic statement that takes the next contact and checks the DNC list.

Two workers (two engines, so two connections) claiming from one campaign at the same time never
get the same contact, between them take every contact exactly once, and get a number listed
after the import back as blocked instead of dialable (SQLite and PostgreSQL).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from scenario_runs import POOL, posix
from sqlalchemy import update

from outbound.domain.settings import CampaignSettings
from outbound.scenario import generate_numbers
from outbound.store import Store
from outbound.store.contacts import NewContact
from outbound.store.dialing import Claimed
from outbound.store.schema import contacts

NOW = posix("2026-03-02T09:00:00-05:00")
LEASE = NOW + 30
NUMBERS = generate_numbers(300, seed=21)
LISTED_LATER = set(NUMBERS[::15])  # 20 numbers put on the DNC list after the import
RETRIES = 60  # the first 60 contacts wait for a retry that is already due


@dataclass(frozen=True, slots=True)
class Setup:
    store: Store
    campaign_id: int
    account_id: int


@pytest.fixture
def setup(store_url: str) -> Iterator[Setup]:
    store = Store.open(store_url)
    account_id = store.accounts.create("Acme", timezone="America/New_York", region="US",
                                       now=NOW)
    campaign_id = store.campaigns.create(account_id, CampaignSettings.parse(
        {"name": "Spring", "numbers": POOL, "transfer": {"department": "Sales"}}, "US"), NOW)
    with store.engine.begin() as conn:
        store.contacts.insert_many(conn, campaign_id, 0, [
            NewContact(number, None, {}, None) for number in NUMBERS], set(), NOW)
        conn.execute(update(contacts).where(
            contacts.c.campaign_id == campaign_id, contacts.c.position < RETRIES,
        ).values(status="retry_queued", attempts=1, due_at=NOW - 60 + contacts.c.position))
    store.dnc.add(account_id, sorted(LISTED_LATER), NOW, source="test")
    yield Setup(store, campaign_id, account_id)
    store.close()


def claim_all(store: Store, setup: Setup, start: threading.Barrier) -> list[Claimed]:
    """Claim until nothing is left: due retries first, then pending contacts in order."""
    got = []
    start.wait()
    while True:
        with store.engine.begin() as conn:
            claimed = store.dialing.claim(conn, setup.campaign_id, setup.account_id, NOW,
                                          LEASE, retry=True)
            if claimed is None:
                claimed = store.dialing.claim(conn, setup.campaign_id, setup.account_id, NOW,
                                              LEASE, retry=False)
        if claimed is None:
            return got
        got.append(claimed)
        time.sleep(0.001)  # let the other worker in: a worker claims one at a time


def test_two_workers_claiming_at_once_never_get_the_same_contact(setup: Setup) -> None:
    other = Store.open(str(setup.store.engine.url.render_as_string(hide_password=False)),
                       migrate_schema=False)
    try:
        start = threading.Barrier(2)
        results: dict[str, list[Claimed]] = {}
        errors: list[BaseException] = []

        def worker(name: str, store: Store) -> None:
            try:
                results[name] = claim_all(store, setup, start)
            except BaseException as exc:
                errors.append(exc)
                start.abort()

        threads = [threading.Thread(target=worker, args=(name, store))
                   for name, store in (("one", setup.store), ("two", other))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        assert not any(thread.is_alive() for thread in threads)
    finally:
        other.close()

    claimed = results["one"] + results["two"]
    twice = [k for k, n in Counter(c.contact_id for c in claimed).items() if n > 1]
    assert not twice
    assert len(claimed) == len(NUMBERS)
    assert results["one"] and results["two"], "one worker took everything: no contention"

    rows = {r.phone: r for r in setup.store.contacts.all(setup.campaign_id)}
    for c in claimed:
        row = rows[c.phone]
        if c.phone in LISTED_LATER:
            assert c.blocked, c
            assert (row.status, row.lease_until) == ("blocked", None)
            assert row.attempts == (1 if row.position < RETRIES else 0)
        else:
            assert not c.blocked, c
            assert (row.status, row.lease_until) == ("dialing", LEASE)
            assert row.attempts == c.attempt == (2 if row.position < RETRIES else 1)


def test_each_worker_claims_due_retries_first_then_pending_contacts_in_list_order(
        setup: Setup) -> None:
    claimed = claim_all(setup.store, setup, threading.Barrier(1))
    position = {r.id: r.position for r in setup.store.contacts.all(setup.campaign_id)}
    order = [position[c.contact_id] for c in claimed]
    assert order == list(range(len(NUMBERS)))  # retries were due in position order


def test_a_number_listed_after_the_import_is_blocked_at_the_claim_not_dialed(
        setup: Setup) -> None:
    store = setup.store
    target = NUMBERS[RETRIES + 2]  # a pending contact, not on the list yet
    assert NUMBERS[RETRIES] in LISTED_LATER and target not in LISTED_LATER
    firsts = []
    for _ in range(2):
        with store.engine.begin() as conn:
            firsts.append(store.dialing.claim(conn, setup.campaign_id, setup.account_id, NOW,
                                              LEASE, retry=False))
    assert [(c.phone, c.blocked) for c in firsts if c] == [
        (NUMBERS[RETRIES], True), (NUMBERS[RETRIES + 1], False)]
    store.dnc.add(setup.account_id, [target], NOW + 1)
    with store.engine.begin() as conn:
        second = store.dialing.claim(conn, setup.campaign_id, setup.account_id, NOW + 1,
                                     LEASE, retry=False)
    assert second is not None and second.phone == target and second.blocked
    row = next(r for r in store.contacts.all(setup.campaign_id) if r.phone == target)
    assert (row.status, row.attempts, row.dnc_flagged) == ("blocked", 0, False)
