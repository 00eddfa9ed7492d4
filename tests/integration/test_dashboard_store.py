"""What the dashboard keeps in the store, on SQLite and PostgreSQL: sign-in across accounts,
sessions, upload reports, and the shared service's tenancy."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest

from outbound import service
from outbound.domain.errors import CannotStart, InvalidInput, NotFound
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.domain.settings import CampaignSettings
from outbound.store import Store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    try:
        yield opened
    finally:
        opened.close()


def _accounts(store: Store) -> tuple[int, int]:
    now = time.time()
    return (store.accounts.create("Acme", timezone="UTC", region="US", now=now),
            store.accounts.create("Globex", timezone="UTC", region="US", now=now))


def test_a_password_signs_in_to_each_account_it_belongs_to_and_nothing_else(
    store: Store,
) -> None:
    acme, globex = _accounts(store)
    now = time.time()
    store.users.create(acme, "Pat@Example.test", "admin", now, password="shared-password")
    store.users.create(globex, "pat@example.test", "user", now, password="shared-password")
    store.users.create(globex, "sam@example.test", "owner", now, password="other-password")
    store.users.create(acme, "api-only@example.test", "owner", now)  # no password: no login

    both = store.users.check_login(" PAT@example.test ", "shared-password")
    assert sorted((p.account_id, p.role) for p in both) == [(acme, "admin"), (globex, "user")]
    assert store.users.check_login("pat@example.test", "wrong-password") == []
    assert store.users.check_login("nobody@example.test", "shared-password") == []
    assert store.users.check_login("api-only@example.test", "") == []


def test_a_session_stands_for_its_user_until_it_ends_or_expires(store: Store) -> None:
    acme, _ = _accounts(store)
    now = time.time()
    user_id = store.users.create(acme, "pat@example.test", "user", now, password="p" * 10)
    token = store.users.start_session(user_id, now, ttl=60)
    other = store.users.start_session(user_id, now, ttl=60)
    found = store.users.session(token, now + 1)
    assert found is not None and (found.user_id, found.account_id, found.role) == (
        user_id, acme, "user")
    assert store.users.session(token, now + 61) is None  # expired
    assert store.users.session(token + "x", now) is None
    store.users.end_session(token)
    assert store.users.session(token, now + 1) is None
    assert store.users.session(other, now + 1) is not None  # another browser stays in
    # Starting a session clears the expired ones.
    store.users.start_session(user_id, now + 120, ttl=60)
    assert store.users.session(other, now + 1) is None


def test_upload_reports_are_kept_per_account_and_campaign(store: Store) -> None:
    acme, globex = _accounts(store)
    now = time.time()
    campaign = store.campaigns.create(acme, CampaignSettings.parse({"name": "A"}), now)
    first = store.uploads.add(acme, campaign, "contacts", "a.csv", now, "pat", {"rows": 3},
                              "row,value,reason\n2,x,bad\n")
    second = store.uploads.add(acme, campaign, "contacts", "b.csv", now + 1, "pat",
                               {"rows": 1}, "row,value,reason\n")
    store.uploads.add(acme, None, "dnc", "dnc.txt", now, "pat", {"rows": 9}, "")
    assert [r.id for r in store.uploads.latest(acme, "contacts", campaign)] == [second, first]
    assert [r.file_name for r in store.uploads.latest(acme, "dnc")] == ["dnc.txt"]
    assert store.uploads.latest(globex, "dnc") == []
    assert store.uploads.errors_csv(acme, first) == "row,value,reason\n2,x,bad\n"
    assert store.uploads.errors_csv(globex, first) is None
    store.campaigns.delete(campaign)
    assert store.uploads.latest(acme, "contacts", campaign) == []


def test_renaming_a_campaign_to_a_name_in_use_is_refused_naming_the_field(
    store: Store,
) -> None:
    acme, globex = _accounts(store)
    now = time.time()
    service.create_campaign(store, acme, {"name": "Spring"}, now)
    autumn = service.create_campaign(store, acme, {"name": "Autumn"}, now)
    service.create_campaign(store, globex, {"name": "Winter"}, now)
    with pytest.raises(InvalidInput) as refused:
        service.update_campaign(store, acme, autumn.id, {"name": "Spring"}, now)
    assert refused.value.field == "name"
    # Another account's names are its own business.
    assert service.update_campaign(store, acme, autumn.id, {"name": "Winter"}, now
                                   ).settings.name == "Winter"


def test_the_live_figures_of_a_campaign_are_its_accounts_alone(store: Store) -> None:
    acme, globex = _accounts(store)
    now = time.time()
    campaign = service.create_campaign(store, acme, {"name": "Live"}, now)
    figures = service.live_stats(store, acme, campaign.id, now)  # cached for Acme now
    assert figures["status"] == "draft" and figures["total"] == 0
    with pytest.raises(NotFound):
        service.live_stats(store, globex, campaign.id, now)
    with pytest.raises(NotFound):
        service.contact_with_timeline(store, globex, campaign.id, 1)
    assert store.dnc.count(acme) == 0
    service.add_dnc(store, acme, ["(212) 555-0147", "+12125550147"], "pat", "test", now)
    assert (store.dnc.count(acme), store.dnc.count(globex)) == (1, 0)


def test_an_upload_report_keeps_its_figures_and_row_errors_for_its_account_alone(
    store: Store,
) -> None:
    acme, globex = _accounts(store)
    now = time.time()
    campaign = service.create_campaign(store, acme, {"name": "Spring"}, now)
    report = service.import_contacts_csv(store, acme, campaign, io.BytesIO(
        b"phone,name\n+14155550100,Ana\nbad,Bob\n"), None, now)

    kept = service.keep_upload(store, acme, campaign.id, "contacts", "list.csv", "pat", report,
                               now)

    [shown] = service.latest_uploads(store, acme, "contacts", campaign.id)
    assert (shown.id, shown.file_name, shown.created_by) == (kept, "list.csv", "pat")
    assert shown.summary == {"rows": 2, "imported": 1, "invalid": 1, "duplicate": 0,
                             "dnc_flagged": 0, "errors_truncated": False}
    assert service.upload_errors_csv(store, acme, kept).splitlines()[1].startswith("3,bad,")
    with pytest.raises(NotFound):
        service.upload_errors_csv(store, globex, kept)


def test_the_pages_refuse_to_start_a_campaign_without_contacts_but_the_api_may(
    store: Store,
) -> None:
    acme, _ = _accounts(store)
    now = time.time()
    service.add_department(store, acme, "Sales")
    campaign = service.create_campaign(store, acme, {
        "name": "Empty", "numbers": ["+14155550100"], "transfer": {"department": "Sales"}}, now)

    with pytest.raises(CannotStart) as refused:
        service.check_has_contacts(store, campaign.id, "upload a list in step 2")

    assert str(refused.value) == "the campaign has no contacts yet: upload a list in step 2"
    # A partner's integration may start it and send the contacts afterwards.
    started = service.act(store, acme, campaign.id, CampaignAction.START, now)
    assert started.status is CampaignStatus.RUNNING
