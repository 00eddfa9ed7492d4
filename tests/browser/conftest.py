"""Fixtures of the browser tier: Debian's Chromium through Playwright, and a dashboard server
per module (within a module every test makes its own campaigns and numbers, so they do not
meet; the server stops when its module ends rather than dialing on beside the other tiers).

The tier is skipped, with the reason, where /usr/bin/chromium is missing; `.ci/run` installs
it. No browser is ever downloaded.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))  # e2e_support

import httpx
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LAPTOP,
    SHORT_NETWORK,
    Dashboard,
    free_port,
    log_in,
    new_context,
    screenshots_dir,
    set_up,
)
from e2e_support import Outbound
from playwright.sync_api import Browser, Page, Playwright, sync_playwright


# Module scope, not session: while sync Playwright runs it holds an asyncio loop on this
# thread, and any later test's asyncio.run() would find it running.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} "
                    "(apt-get install -y chromium; .ci/run installs it)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                          args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def dashboard(browser: Browser, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Dashboard]:
    """`outbound serve` on a fresh SQLite store, stopped with SIGTERM at the end."""
    root = tmp_path_factory.mktemp("dashboard")
    cli = Outbound(root)
    try:
        acme, globex, people, token = set_up(cli, root / "scenario")
        port = free_port()
        log = root / "serve.log"
        process = cli.spawn("serve", "--port", str(port), log=log)
        server = Dashboard(cli, process, log, f"http://127.0.0.1:{port}", acme, globex,
                           people, token)

        def healthy() -> bool:
            try:
                return httpx.get(server.url("/healthz"), timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        server.wait_for(healthy, 30, "GET /healthz to answer 200")
        answer = server.api().put(server.api_path("/provider"), json=SHORT_NETWORK)
        assert answer.status_code == 200, answer.text
        yield server
        for client in server.clients:
            client.close()
        server.assert_alive()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text(encoding="utf-8")
    finally:
        cli.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Iterator[pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser, dashboard: Dashboard,
         tmp_path: Path) -> Iterator[Page]:
    """A fresh browser context (no cookies) at laptop size, not signed in. When the test
    fails, a screenshot and the page's text are left in its tmp_path to see why."""
    context = new_context(browser, dashboard, LAPTOP)
    try:
        tab = context.new_page()
        yield tab
        if request.node.stash.get(FAILED, False):
            tab.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            (tmp_path / "failure.txt").write_text(f"{tab.url}\n\n{tab.inner_text('body')}",
                                                  encoding="utf-8")
    finally:
        context.close()


@pytest.fixture
def owner_page(page: Page) -> Page:
    """A page signed in as Acme's owner."""
    log_in(page, "owner@acme.test")
    return page


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshots_dir(tmp_path_factory.mktemp("screenshots"))
