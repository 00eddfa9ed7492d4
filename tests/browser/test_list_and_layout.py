"""The campaign list moves by itself; every page fits a phone and works from the keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from browser_support import PHONE, Dashboard, log_in, new_context, shoot
from playwright.sync_api import Browser, Locator, Page, expect

ALWAYS = {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
          "open": "00:00", "close": "24:00"}


def _campaign(dashboard: Dashboard, api: httpx.Client, name: str, contacts: int,
              **settings: object) -> str:
    body = {"name": name, "pacing": 1, "concurrency": 3, "attempts": 1,
            "numbers": ["+14155550101"], "transfer": {"department": "Sales"},
            "business_hours": ALWAYS} | settings
    created = api.post(dashboard.api_path("/campaigns"), json=body)
    assert created.status_code == 201, created.text
    path = dashboard.api_path(f"/campaigns/{created.json()['id']}")
    if contacts:
        batch = [{"phone": f"+1646555{1000 + i}", "name": f"{name} {i}"}
                 for i in range(contacts)]
        assert api.post(f"{path}/contacts", json=batch).status_code == 200
    return path


@pytest.fixture
def running(dashboard: Dashboard, request: pytest.FixtureRequest) -> Iterator[str]:
    """A slow campaign dialing one contact a second; cancelled when the test ends."""
    api = dashboard.api()
    name = "Evening follow-ups" if "list" in request.node.name else "Night follow-ups"
    path = _campaign(dashboard, api, name, 80)
    assert api.post(f"{path}/start").status_code == 200
    try:
        yield path
    finally:
        api.post(f"{path}/cancel")


def test_the_list_shows_each_status_in_words_and_moves_without_reloading(
    dashboard: Dashboard, owner_page: Page, running: str, shots: Path,
) -> None:
    api = dashboard.api()
    finished = _campaign(dashboard, api, "Booking confirmations", 3, pacing=5)
    assert api.post(f"{finished}/start").status_code == 200
    later = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    scheduled = _campaign(dashboard, api, "Monday renewals", 2, start=later)
    assert api.post(f"{scheduled}/schedule").status_code == 200
    dashboard.wait_for(lambda: api.get(finished).json()["status"] == "completed", 30,
                       "the short campaign to complete")

    page = owner_page
    page.reload()

    def row(name: str) -> Locator:
        return page.locator("tr", has=page.get_by_role("link", name=name, exact=True))

    for name, status in (("Evening follow-ups", "Running"), ("Booking confirmations",
                         "Completed"), ("Monday renewals", "Scheduled"), ("People", "Draft")):
        expect(row(name).locator("[data-badge]")).to_have_text(status)
    expect(row("Booking confirmations")).to_contain_text("3 / 3 finished")
    expect(row("Monday renewals")).to_contain_text("Starts ")

    progress = row("Evening follow-ups").locator('[data-field="progress-text"]')
    first = progress.inner_text()
    page.evaluate("window.__sameDocument = 'yes'")
    expect(progress).not_to_have_text(first, timeout=20_000)
    assert page.evaluate("window.__sameDocument") == "yes", "the page was reloaded"
    shoot(page, shots, "campaigns")


def _fits(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 5).map(el => el.tagName + '.' + el.className + ' ' +
                         el.textContent.trim().slice(0, 40))""")
    assert overflow <= 0, f"{page.url} is {overflow} px wider than a phone's screen: {wide}"


def _tab_to(page: Page, name: str, limit: int = 60) -> None:
    """Press Tab from the top of the page until the control named `name` has the focus."""
    page.locator("body").focus()
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("(document.activeElement.innerText || "
                                "document.activeElement.value || '').trim()")
        if focused == name:
            return
    pytest.fail(f"{name!r} was not reached with {limit} presses of Tab on {page.url}")


def test_the_pages_fit_a_phone_and_their_controls_are_reached_by_keyboard(
    browser: Browser, dashboard: Dashboard, running: str, shots: Path,
) -> None:
    context = new_context(browser, dashboard, PHONE)
    try:
        page = context.new_page()
        log_in(page, "owner@acme.test")
        _fits(page)
        running_id = running.rsplit("/", 1)[-1]
        pages = {
            "detail": f"/outbound-campaigns/{running_id}",
            "wizard": f"/outbound-campaigns/{dashboard.people}/setup/3",
            "new": "/outbound-campaigns/new",
            "dnc": "/dnc",
        }
        for path in pages.values():
            page.goto(dashboard.acme_path(path))
            _fits(page)
        page.goto(dashboard.acme_path(pages["detail"]))
        expect(page.locator("h1 [data-badge]")).to_have_text("Running")
        _tab_to(page, "Pause")
        page.wait_for_function("() => Number(document.querySelector("
                               "'[data-field=\"finished\"]').textContent) > 0", timeout=20_000)
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, shots, "campaign-detail-phone", full_page=False)

        # The wizard by keyboard alone: a field, then its error, without a mouse.
        page.goto(dashboard.acme_path(pages["new"]))
        page.keyboard.press("Tab")
        _tab_to(page, "Save and continue")
        page.keyboard.press("Enter")
        expect(page.locator("#err-name")).to_be_visible()
        assert page.evaluate("document.activeElement.getAttribute('role')") == "alert"

        page.goto(dashboard.acme_path(pages["dnc"]))
        _tab_to(page, "Add to list")
    finally:
        context.close()
