"""Issue 14 in the dashboard: the wizard's pacing fields save and say what is wrong, and the
detail page says live, in words, what keeps a running campaign from dialing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import Dashboard, shoot
from playwright.sync_api import Page, expect

from outbound.domain.governor import Limit
from outbound.domain.lifecycle import CampaignAction
from outbound.store import Store

SALES = 6  # agents of Sales in the dashboard's scenario, all free


def test_the_wizard_sets_the_dialing_mode_and_abandon_cap_and_says_what_is_wrong(
    dashboard: Dashboard, owner_page: Page,
) -> None:
    page = owner_page
    page.goto(dashboard.acme_path("/outbound-campaigns/new"))
    expect(page.get_by_text("agent-first campaigns reserve an agent before every call"))\
        .to_be_visible()
    page.get_by_label("Campaign name").fill("Paced in the wizard")
    page.get_by_label("Customer first").check()
    page.get_by_label("Dialing mode").select_option("progressive")
    page.get_by_label("Abandon target (% of answered calls)").fill("6")
    page.get_by_label("Held over").select_option("24h")
    page.get_by_label("Message for abandoned calls").fill("Acme calling; call 415 555 0100.")
    page.get_by_role("button", name="Save and continue").click()

    assert "from 0 to 5" in page.locator("#err-abandon_target").inner_text()
    expect(page.get_by_label("Dialing mode")).to_have_value("progressive")
    expect(page.get_by_label("Message for abandoned calls")).to_have_value(
        "Acme calling; call 415 555 0100.")

    page.get_by_label("Abandon target (% of answered calls)").fill("2.5")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="Step 2 of 4: Contacts and number pool")
           ).to_be_visible()

    campaigns = dashboard.api().get(dashboard.api_path("/campaigns"),
                                    params={"limit": 500}).json()["items"]
    saved = next(c for c in campaigns if c["name"] == "Paced in the wizard")
    assert (saved["dialing"], saved["abandon_target"], saved["abandon_window"],
            saved["abandon_message"]) == ("progressive", 2.5, "24h",
                                          "Acme calling; call 415 555 0100.")
    page.goto(dashboard.acme_path(f"/outbound-campaigns/{saved['id']}/setup/1"))
    expect(page.get_by_label("Abandon target (% of answered calls)")).to_have_value("2.5")
    expect(page.get_by_label("Held over")).to_have_value("24h")


@pytest.fixture
def held_elsewhere(dashboard: Dashboard) -> Iterator[tuple[int, Store]]:
    """A running campaign of Acme's whose lease another worker holds: this server's engine
    neither dials it nor writes its `limited_by`; the test writes it as that worker would."""
    api = dashboard.api()
    created = api.post(dashboard.api_path("/campaigns"), json={
        "name": "Held elsewhere", "numbers": ["+14155550100"], "dialing": "predictive",
        "transfer": {"department": "Sales"}, "pacing": 4, "concurrency": 12})
    assert created.status_code == 201, created.text
    campaign_id = int(created.json()["id"])
    store = Store.open(f"sqlite:///{dashboard.cli.db_path}")
    try:
        now = time.time()
        store.campaigns.act(campaign_id, CampaignAction.START, now)  # the engine is not told
        assert campaign_id in store.campaigns.acquire("elsewhere", now, ttl=3600)
        yield campaign_id, store
    finally:
        store.campaigns.release("elsewhere", [campaign_id])
        api.post(dashboard.api_path(f"/campaigns/{campaign_id}/cancel"))
        store.close()


def test_the_detail_page_says_live_in_words_what_keeps_the_campaign_from_dialing(
    dashboard: Dashboard, owner_page: Page, held_elsewhere: tuple[int, Store], shots: Path,
) -> None:
    campaign_id, store = held_elsewhere
    page = owner_page
    store.campaigns.set_limits({campaign_id: Limit.AGENTS.value})
    page.goto(dashboard.acme_path(f"/outbound-campaigns/{campaign_id}"))

    why = page.locator("[data-why]")
    expect(why).to_have_text(f"Why it is not dialing faster: Waiting for agents: {SALES} of "
                             f"{SALES} free")
    expect(page.locator('[data-field="abandon_window"]')).to_have_text(
        "Over the window: 0.0% of 3.0% over 30 days")
    expect(page.locator('[data-field="occupancy"]')).to_have_text("0 %")
    expect(page.locator('[data-field="agents_logged_in"]')).to_have_text(str(SALES))
    shoot(page, shots, "limited-by")

    # The page is not reloaded: its script picks up each limit the owning worker writes.
    for limit, words in ((Limit.PACING, "Pacing: 4 calls/s"),
                         (Limit.CONCURRENCY, "Concurrency: 0 of 12 calls"),
                         (Limit.BUSINESS_HOURS, "Outside business hours")):
        store.campaigns.set_limits({campaign_id: limit.value})
        expect(page.locator('[data-field="limited_by_text"]')).to_have_text(words)

    store.campaigns.set_limits({campaign_id: None})
    expect(why).to_be_hidden()
