"""Helpers of the browser tier: an `outbound serve` with two accounts and their people, a
short simulated network, and Debian's Chromium driven by Playwright.

The server is set up the way an operator would: accounts and users with passwords through
`outbound admin`, departments, agents, numbers and a voice menu with `outbound campaigns load
--draft`, and the simulated network through the API (PUT /provider), so calls ring and talk
for well under a second and a campaign of a few dozen contacts moves visibly within seconds.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from e2e_support import Outbound, wait_for
from playwright.sync_api import Browser, BrowserContext, Page, expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORDS = {"owner@acme.test": "owner-password-1", "user@acme.test": "user-password-1",
             "limited@acme.test": "limited-password-1", "owner@globex.test": "globex-password-1"}
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
REPO = Path(__file__).resolve().parents[2]
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

# Acme's people: a Sales department of agents who handle a call in well under a second, a
# voice menu, and two numbers for caller ID. The campaign "People" stays a draft: it is the
# resource the read-only and CSRF tests aim their refused requests at.
PEOPLE_SCENARIO = """\
seed = 11

[campaign]
name = "People"
pacing = 2
concurrency = 5
attempts = 1
numbers = ["+14155550100", "+14155550101"]
transfer = { department = "Sales" }

[business_hours]
timezone = "UTC"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
open = "00:00"
close = "24:00"

[contacts]
generate = 5

[[departments]]
name = "Sales"
agents = 6
handle_seconds = [0.3, 0.8]

[[voice_menus]]
name = "Confirm booking"
prompt = "Press 1 to confirm, 2 to cancel."
options = { "1" = "confirm", "2" = "cancel" }
"""

# Calls ring for a fraction of a second and most are answered, so a campaign moves at once.
SHORT_NETWORK = {
    "kind": "sim",
    "network": {"answer": 0.7, "busy": 0.1, "no_answer": 0.2, "invalid": 0.0,
                "rejected": 0.0, "provider_error": 0.0, "ring_seconds": [0.3, 0.8],
                "talk_seconds": [0.4, 1.0]},
    "handle_seconds": {"Sales": [0.4, 1.0]},
}


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Dashboard:
    """A running `outbound serve` with Acme (owner, user, limited) and Globex (owner)."""

    cli: Outbound
    process: subprocess.Popen[str]
    log: Path
    base_url: str
    acme: int
    globex: int
    people: int  # Acme's draft campaign
    owner_token: str  # Acme's owner, for the API
    clients: list[httpx.Client] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def acme_path(self, rest: str = "") -> str:
        return f"/crm/settings/calling/{self.acme}{rest}"

    def api(self) -> httpx.Client:
        """An API client as Acme's owner."""
        client = httpx.Client(base_url=self.base_url, timeout=30,
                              headers={"Authorization": f"Bearer {self.owner_token}"})
        self.clients.append(client)
        return client

    def api_path(self, rest: str) -> str:
        return f"/api/v1/accounts/{self.acme}{rest}"

    def assert_alive(self) -> None:
        assert self.process.poll() is None, (
            f"outbound serve exited {self.process.returncode}:\n"
            + self.log.read_text(encoding="utf-8"))

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        def alive_and(predicate: Callable[[], Any] = predicate) -> Any:
            self.assert_alive()
            return predicate()
        return wait_for(alive_and, timeout, what)


def set_up(cli: Outbound, directory: Path) -> tuple[int, int, int, str]:
    """Accounts, users with passwords, Acme's people; returns their ids and a token."""
    acme = int(cli.ok("admin", "create-account", "Acme", "--timezone", "UTC"))  # migrates
    globex = int(cli.ok("admin", "create-account", "Globex", "--timezone", "UTC"))
    directory.mkdir()
    scenario = directory / "people.toml"
    scenario.write_text(PEOPLE_SCENARIO, encoding="utf-8")
    users = [("Acme", "owner@acme.test", "owner"), ("Acme", "user@acme.test", "user"),
             ("Acme", "limited@acme.test", "admin"), ("Globex", "owner@globex.test", "owner")]
    # Independent commands side by side: each is a Python start-up of about a second.
    with ThreadPoolExecutor(max_workers=5) as pool:
        loaded = pool.submit(cli.ok, "campaigns", "load", scenario, "--account", "Acme",
                             "--draft")
        list(pool.map(lambda u: cli.ok("admin", "create-user", u[0], u[1], "--role", u[2],
                                       "--password-stdin", input=PASSWORDS[u[1]] + "\n"),
                      users))
        token = pool.submit(cli.ok, "admin", "create-token", "Acme", "owner@acme.test")
        people = int(loaded.result())
    return acme, globex, people, token.result().strip()


# -- the browser -----------------------------------------------------------------------------


def new_context(browser: Browser, dashboard: Dashboard, viewport: dict[str, int] | None = None
                ) -> BrowserContext:
    context = browser.new_context(base_url=dashboard.base_url, viewport=viewport or LAPTOP)
    context.set_default_timeout(15_000)
    return context


def log_in(page: Page, email: str, password: str | None = None) -> None:
    """Sign in through the form, as a person does; lands on the account's campaigns."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password or PASSWORDS[email])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Outbound campaigns")).to_be_visible()


def flash(page: Page) -> Any:
    """The page's message about what a form just did (the detail page has another live
    status: the limit that binds, in words)."""
    return page.locator(".alert[role=status]")


def csrf_of(page: Page) -> str:
    """The session's CSRF token, as every form of the page carries it (the logout form too)."""
    value = page.locator('form[action="/logout"] input[name="csrf_token"]').get_attribute("value")
    assert value, "the page has no CSRF token"
    return value


def screenshots_dir(default: Path) -> Path:
    """Where `shoot` writes: OUTBOUND_SCREENSHOTS_DIR (relative to the repository) when set,
    as to refresh docs/screenshots; else a temporary directory of the test run."""
    chosen = os.environ.get("OUTBOUND_SCREENSHOTS_DIR")
    directory = (REPO / chosen) if chosen else default
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def shoot(page: Page, directory: Path, name: str, *, full_page: bool = True) -> Path:
    """A screenshot `name`.png of the page (or of what the screen shows); asserts it was
    written and is a real PNG."""
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


def number_in(text: str) -> int:
    """The first whole number in a text ('12 of 40' → 12)."""
    found = re.search(r"\d+", text.replace(",", ""))
    assert found, f"no number in {text!r}"
    return int(found.group())
