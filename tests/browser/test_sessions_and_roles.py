"""Signing in and out, the session cookie, CSRF, sign-in limits, roles and tenancy."""

from __future__ import annotations

import re

import httpx
from browser_support import PASSWORDS, Dashboard, csrf_of, log_in
from playwright.sync_api import Page, expect


def people_status(dashboard: Dashboard) -> str:
    answer = dashboard.api().get(dashboard.api_path(f"/campaigns/{dashboard.people}"))
    return str(answer.json()["status"])


def test_signing_in_sets_an_http_only_lax_session_cookie_and_logging_out_ends_it(
    dashboard: Dashboard, page: Page,
) -> None:
    page.goto(dashboard.acme_path("/outbound-campaigns"))
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("E-mail").fill("owner@acme.test")
    page.get_by_label("Password").fill(PASSWORDS["owner@acme.test"])
    page.get_by_label("Password").press("Enter")  # the keyboard alone signs in
    expect(page.get_by_role("heading", name="Outbound campaigns")).to_be_visible()
    assert page.url.endswith(dashboard.acme_path("/outbound-campaigns"))

    (cookie,) = [c for c in page.context.cookies() if c["name"] == "outbound_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # plain HTTP here; see the HTTPS test below
    assert page.evaluate("document.cookie").find("outbound_session") < 0

    live = dashboard.acme_path("/outbound-campaigns/live.json")
    assert page.request.get(live).status == 200
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # The old cookie is dead on the server, not only forgotten by the browser.
    stale = httpx.get(dashboard.url(live), cookies={"outbound_session": cookie["value"]})
    assert stale.status_code == 401
    page.goto(dashboard.acme_path("/dnc"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_the_session_cookie_is_secure_when_the_browser_came_over_https(
    dashboard: Dashboard,
) -> None:
    # A proxy on this host that terminated TLS says so with X-Forwarded-Proto.
    with httpx.Client(base_url=dashboard.base_url, headers={"X-Forwarded-Proto": "https"}
                      ) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, form.text
        login_cookie = form.headers["set-cookie"]
        assert "; Secure" in login_cookie
        # The client itself speaks plain HTTP, so it would keep a Secure cookie to itself.
        answer = client.post("/login", headers={"Cookie": login_cookie.split(";")[0]}, data={
            "csrf_token": token.group(1), "email": "owner@acme.test",
            "password": PASSWORDS["owner@acme.test"]})
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("outbound_session=")
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=lax" in cookie


def test_a_wrong_password_is_refused_and_the_sixth_try_in_a_minute_is_refused_unchecked(
    dashboard: Dashboard, page: Page,
) -> None:
    page.goto("/login")
    for attempt in range(5):
        page.get_by_label("E-mail").fill("limited@acme.test")
        page.get_by_label("Password").fill(f"wrong-{attempt}")
        with page.expect_response("**/login") as answer:
            page.get_by_role("button", name="Sign in").click()
        assert answer.value.status == 401
        expect(page.get_by_role("alert")).to_contain_text("do not match")
    # Even the right password is not checked now.
    page.get_by_label("E-mail").fill("limited@acme.test")
    page.get_by_label("Password").fill(PASSWORDS["limited@acme.test"])
    with page.expect_response("**/login") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 429
    assert 1 <= int(answer.value.headers["retry-after"]) <= 60
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    # Another user from the same address is not held back by it.
    log_in(page, "owner@acme.test")


def test_a_form_posted_without_the_pages_csrf_token_is_refused(
    dashboard: Dashboard, owner_page: Page,
) -> None:
    page = owner_page
    cancel = dashboard.acme_path(f"/outbound-campaigns/{dashboard.people}/actions/cancel")
    for form in ({"confirm": "yes"}, {"confirm": "yes", "csrf_token": "not-the-token"}):
        answer = page.request.post(cancel, form=form)
        assert answer.status == 403
        assert "did not come from this site" in answer.text()
    add = page.request.post(dashboard.acme_path("/dnc/add"), form={"numbers": "+12025550111"})
    assert add.status == 403
    assert people_status(dashboard) == "draft"
    found = dashboard.api().get(dashboard.api_path("/dnc"), params={"q": "+12025550111"})
    assert found.json()["items"] == []
    # The login form is protected too: no cookie-bound token, no sign-in.
    login = httpx.post(dashboard.url("/login"), data={
        "email": "owner@acme.test", "password": PASSWORDS["owner@acme.test"]})
    assert login.status_code == 403
    assert "outbound_session" not in login.headers.get("set-cookie", "")


def test_a_user_sees_read_only_pages_and_a_change_posted_directly_is_refused(
    dashboard: Dashboard, page: Page,
) -> None:
    log_in(page, "user@acme.test")
    expect(page.get_by_text("(user, read-only)")).to_be_visible()
    expect(page.get_by_role("link", name="New campaign")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit setup")).to_have_count(0)

    page.get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="Contacts by state")).to_be_visible()
    expect(page.locator("main form[method=post]")).to_have_count(0)
    for control in ("Start now", "Pause", "Cancel campaign", "Save pacing"):
        expect(page.get_by_role("button", name=control)).to_have_count(0)
    expect(page.get_by_role("link", name="Call log (CSV)")).to_be_visible()

    page.get_by_role("link", name="Do-not-call list").click()
    expect(page.get_by_role("heading", name="Search")).to_be_visible()
    expect(page.locator("main form[method=post]")).to_have_count(0)
    expect(page.get_by_role("link", name="Export (CSV)")).to_be_visible()

    wizard = page.goto(dashboard.acme_path("/outbound-campaigns/new"))
    assert wizard is not None and wizard.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()

    # With the session's own valid token (the logout form carries it), a change is refused
    # for the role.
    page.goto(dashboard.acme_path("/dnc"))
    token = csrf_of(page)
    start = page.request.post(
        dashboard.acme_path(f"/outbound-campaigns/{dashboard.people}/actions/start"),
        form={"csrf_token": token})
    assert start.status == 403
    assert "can look at campaigns but not change them" in start.text()
    add = page.request.post(dashboard.acme_path("/dnc/add"),
                            form={"csrf_token": token, "numbers": "+12025550112"})
    assert add.status == 403
    pacing = page.request.post(
        dashboard.acme_path(f"/outbound-campaigns/{dashboard.people}/pacing"),
        form={"csrf_token": token, "pacing": "3", "concurrency": "3"})
    assert pacing.status == 403
    assert people_status(dashboard) == "draft"
    api = dashboard.api()
    assert api.get(dashboard.api_path(f"/campaigns/{dashboard.people}")).json()["pacing"] == 2
    assert api.get(dashboard.api_path("/dnc"), params={"q": "+12025550112"}).json()["items"] == []


def test_another_accounts_pages_are_not_found(dashboard: Dashboard, page: Page) -> None:
    log_in(page, "owner@globex.test")
    assert page.url.endswith(f"/crm/settings/calling/{dashboard.globex}/outbound-campaigns")
    for path in ("/outbound-campaigns", f"/outbound-campaigns/{dashboard.people}", "/dnc",
                 "/dnc.csv", f"/outbound-campaigns/{dashboard.people}/live.json"):
        answer = page.goto(dashboard.acme_path(path))
        assert answer is not None and answer.status == 404, path
    # Acme's campaign under Globex's own account is not found either.
    answer = page.goto(f"/crm/settings/calling/{dashboard.globex}/outbound-campaigns/"
                       f"{dashboard.people}")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    token = csrf_of(page)
    cancel = page.request.post(
        dashboard.acme_path(f"/outbound-campaigns/{dashboard.people}/actions/cancel"),
        form={"csrf_token": token, "confirm": "yes"})
    assert cancel.status == 404
    assert people_status(dashboard) == "draft"
