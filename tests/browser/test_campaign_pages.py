"""An admin sets a campaign up with the wizard, starts it and watches it live; a recording
plays from a contact's timeline."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from browser_support import Dashboard, flash, log_in, number_in, shoot
from e2e_support import wait_for
from playwright.sync_api import Browser, Page, expect

CONTACTS = 40
DNC_CONTACT = "+14155553039"  # the last of the list, put on the DNC list before the upload


def contacts_upload() -> bytes:
    """40 good rows (national format, a custom column), a bad number and a duplicate."""
    rows = ["phone,name,segment"]
    rows += [f"(415) 555-{3000 + i:04d},Person {i},{'AB'[i % 2]}" for i in range(CONTACTS)]
    rows.append("12345,Too short,A")  # line 42
    rows.append("415-555-3000,Person 0 again,A")  # line 43: a duplicate of line 2
    return ("\n".join(rows) + "\n").encode()


def field_error(page: Page, name: str) -> str:
    return page.locator(f"#err-{name}").inner_text()


def live_number(page: Page, field: str) -> int:
    return number_in(page.locator(f'[data-field="{field}"]').first.inner_text())


def test_an_admin_sets_up_a_campaign_in_the_wizard_starts_it_and_controls_it_live(
    dashboard: Dashboard, owner_page: Page, shots: Path,
) -> None:
    page = owner_page
    api = dashboard.api()
    added = api.post(dashboard.api_path("/dnc"), json={"numbers": [DNC_CONTACT]})
    assert added.status_code == 201, added.text

    page.get_by_role("link", name="New campaign").click()
    expect(page.get_by_role("heading", name="Step 1 of 4: Basics")).to_be_visible()

    # Step 1, wrong first: every error is said beside its field, with the domain's limits.
    page.get_by_label("Pacing (calls per second)").fill("25")
    page.get_by_label("Concurrency (calls in flight)").fill("0")
    page.get_by_role("button", name="Save and continue").click()
    assert "is required" in field_error(page, "name")
    assert "from 1 to 20 calls per second" in field_error(page, "pacing")
    assert "from 1 to 50" in field_error(page, "concurrency")
    expect(page.get_by_label("Pacing (calls per second)")).to_have_value("25")
    expect(page.get_by_label("Pacing (calls per second)")).to_have_attribute("aria-invalid",
                                                                              "true")

    page.get_by_label("Campaign name").fill("Spring callbacks")
    page.get_by_label("Customer first").check()
    page.get_by_label("Pacing (calls per second)").fill("2")
    page.get_by_label("Concurrency (calls in flight)").fill("5")
    page.get_by_role("button", name="Save and continue").click()

    # Step 2: the template, an upload with its report, the number pool.
    expect(page.get_by_role("heading", name="Step 2 of 4: Contacts and number pool")
           ).to_be_visible()
    with page.expect_download() as template:
        page.get_by_role("link", name="Download a sample CSV template").click()
    assert Path(template.value.path()).read_text(encoding="utf-8").startswith("phone,name,")

    page.get_by_label("Contact list (CSV, up to 200,000 rows)").set_input_files(files=[{
        "name": "spring.csv", "mimeType": "text/csv", "buffer": contacts_upload()}])
    page.get_by_role("button", name="Upload contacts").click()
    report = page.locator("#upload-report .report").first
    expect(report).to_contain_text("spring.csv")
    counts = {dt: number_in(dd) for dt, dd in zip(
        report.locator("dt").all_inner_texts(), report.locator("dd").all_inner_texts(),
        strict=True)}
    assert counts == {"Rows read": CONTACTS + 2, "Imported": CONTACTS, "Duplicates": 1,
                      "Invalid": 1}
    expect(report.locator(".alert-warn")).to_contain_text("1 imported contact is on the "
                                                          "do-not-call list")
    with page.expect_download() as row_errors:
        report.get_by_role("link", name="Download row errors (CSV)").click()
    errors = Path(row_errors.value.path()).read_text(encoding="utf-8").splitlines()
    assert errors[0] == "row,value,reason"
    assert [line.split(",")[0] for line in errors[1:]] == ["42", "43"]
    assert "duplicate of +14155553000" in errors[2]
    shoot(page, shots, "wizard")

    page.get_by_label("Other numbers, one per line").fill("12")
    page.get_by_role("button", name="Save and continue").click()
    assert "numbers" in page.locator(".alert-error").inner_text()
    assert "(got '12')" in field_error(page, "numbers")
    page.get_by_label("Other numbers, one per line").fill("")
    page.get_by_label("+14155550100").check()
    page.get_by_label("+14155550101").check()
    page.get_by_label("Round-robin").check()
    page.get_by_role("button", name="Save and continue").click()

    # Step 3: routing, retries, business hours open around the clock.
    expect(page.get_by_role("heading", name="Step 3 of 4: Routing and retry")).to_be_visible()
    page.get_by_label("Answered calls go to").select_option("department:Sales")
    page.get_by_label("Attempts per contact").fill("9")
    page.get_by_label("Hours for this campaign").check()
    page.get_by_label("Time zone").fill("UTC")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        page.get_by_label(day, exact=True).check()
    page.get_by_label("Opens").fill("10:00")
    page.get_by_label("Closes").fill("09:00")
    page.get_by_role("button", name="Save and continue").click()
    assert "from 1 to 5" in field_error(page, "attempts")
    assert "must be later than open" in field_error(page, "hours_close")
    page.get_by_label("Attempts per contact").fill("2")
    page.get_by_label("Wait between attempts (seconds)").fill("1")
    page.get_by_label("Opens").fill("00:00")
    page.get_by_label("Closes").fill("24:00")
    page.get_by_role("button", name="Save and continue").click()

    # Step 4: the summary; a start too soon is refused beside the field; then start now.
    expect(page.get_by_role("heading", name="Step 4 of 4: Schedule and review")).to_be_visible()
    summary = page.locator(".settings")
    expect(summary).to_contain_text(f"{CONTACTS} (1 on the do-not-call list")
    expect(summary).to_contain_text("Department Sales")
    expect(summary).to_contain_text("+14155550100, +14155550101 (round-robin)")
    soon = datetime.now(UTC) + timedelta(minutes=2)
    page.get_by_label("Start time (UTC)").fill(soon.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule").click()
    assert "at least 5 minutes from now" in field_error(page, "start_at")
    page.get_by_label("Start time (UTC)").fill("")
    page.get_by_role("button", name="Start now").click()

    # The live detail: the numbers move while the page stays the same page.
    expect(page.locator("h1 [data-badge]")).to_have_text("Running")
    expect(flash(page)).to_contain_text("The campaign has started")
    page.evaluate("window.__sameDocument = 'yes'")
    page.wait_for_function(
        "() => Number(document.querySelector('[data-field=\"finished\"]').textContent) >= 3",
        timeout=30_000)
    assert live_number(page, "contacts.pending") < CONTACTS
    assert page.evaluate("window.__sameDocument") == "yes", "the page was reloaded"
    expect(page.locator('[data-field="activity"]')).to_contain_text("Call to +1415555")
    expect(page.locator('[data-field="activity"]')).to_contain_text("Started dialing")
    shoot(page, shots, "campaign-detail")

    # Pause: nothing new is dialed; the calls in flight finish.
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("h1 [data-badge]")).to_have_text("Paused")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    expect(page.get_by_role("button", name="Pause")).to_be_hidden()
    page.wait_for_function(
        "() => document.querySelector('[data-field=\"in_flight\"]').textContent === '0'",
        timeout=20_000)
    waiting = live_number(page, "contacts.pending")
    assert waiting > 0, "every contact was dialed before the pause: nothing was tested"
    time.sleep(2.5)  # two more refreshes of the page
    assert live_number(page, "contacts.pending") == waiting, "a contact was dialed while paused"

    # Resume: dialing continues.
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("h1 [data-badge]")).to_have_text("Running")
    page.wait_for_function(
        f"() => Number(document.querySelector('[data-field=\"contacts.pending\"]')"
        f".textContent) < {waiting}", timeout=20_000)

    # Pacing and concurrency change while it runs; the limits hold here too.
    page.get_by_label("Pacing (calls per second)").fill("30")
    page.get_by_role("button", name="Save pacing").click()
    assert "from 1 to 20 calls per second" in field_error(page, "pacing")
    page.get_by_label("Pacing (calls per second)").fill("3.5")
    page.get_by_label("Concurrency (calls in flight)").fill("4")
    page.get_by_role("button", name="Save pacing").click()
    expect(flash(page)).to_contain_text("Pacing and concurrency saved")
    expect(page.locator('[data-field="pacing_configured"]')).to_have_text("3.5")
    campaign_id = page.url.split("/")[-1].split("?")[0]
    stored = api.get(dashboard.api_path(f"/campaigns/{campaign_id}")).json()
    assert (stored["pacing"], stored["concurrency"], stored["status"]) == (3.5, 4, "running")

    # Cancel asks first; keeping it changes nothing.
    page.get_by_role("button", name="Cancel campaign").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("cannot be resumed")
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("h1 [data-badge]")).to_have_text("Running")
    page.get_by_role("button", name="Cancel campaign").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, cancel campaign").click()
    expect(page.locator("h1 [data-badge]")).to_have_text("Cancelled")
    for control in ("Pause", "Resume", "Cancel campaign", "Start now"):
        expect(page.get_by_role("button", name=control)).to_be_hidden()

    # The list shows it with its status in words and its progress.
    page.get_by_role("link", name="Campaigns").first.click()
    row = page.locator("tr", has=page.get_by_role("link", name="Spring callbacks"))
    expect(row.locator("[data-badge]")).to_have_text("Cancelled")
    expect(row).to_contain_text(f"/ {CONTACTS} finished")


def _finished_campaign(dashboard: Dashboard, name: str) -> tuple[int, dict[str, Any]]:
    """A small recorded campaign run to the end over the API; its id and a completed contact."""
    api = dashboard.api()
    body = {"name": name, "pacing": 5, "concurrency": 5, "attempts": 3, "backoff_seconds": 0,
            "numbers": ["+14155550100"], "transfer": {"department": "Sales"},
            "recording": True, "business_hours": {"timezone": "UTC", "days": [
                "mon", "tue", "wed", "thu", "fri", "sat", "sun"], "open": "00:00",
                "close": "24:00"}}
    created = api.post(dashboard.api_path("/campaigns"), json=body)
    assert created.status_code == 201, created.text
    path = dashboard.api_path(f"/campaigns/{created.json()['id']}")
    contacts = [{"phone": f"+1415555{4100 + i}", "name": f"Caller {i}"} for i in range(6)]
    assert api.post(f"{path}/contacts", json=contacts).status_code == 200
    assert api.post(f"{path}/start").status_code == 200
    dashboard.wait_for(lambda: api.get(path).json()["status"] == "completed", 60,
                       "the recorded campaign to complete")
    done = api.get(f"{path}/contacts", params={"status": "completed"}).json()["items"]
    assert done, "no call was answered: nothing to play"
    return int(created.json()["id"]), done[0]


def test_a_recording_plays_in_the_contact_timeline(dashboard: Dashboard,
                                                   owner_page: Page) -> None:
    campaign_id, contact = _finished_campaign(dashboard, "Recorded callbacks")
    page = owner_page
    page.goto(dashboard.acme_path(f"/outbound-campaigns/{campaign_id}?status=completed"))
    page.get_by_role("link", name=contact["phone"]).click()
    expect(page.get_by_role("heading", name="Call timeline")).to_be_visible()
    expect(page.locator(".settings")).to_contain_text(contact["phone"])
    audio = page.locator("audio").last
    expect(audio).to_be_visible()
    duration = audio.evaluate("""async (audio) => {
        if (audio.readyState < 1) {
            await new Promise((resolve, reject) => {
                audio.addEventListener('loadedmetadata', resolve, {once: true});
                audio.addEventListener('error', () => reject(new Error('audio error')),
                                       {once: true});
                audio.load();
            });
        }
        return audio.duration;
    }""")
    assert duration > 0
    played = audio.evaluate("""async (audio) => {
        audio.muted = true;
        await audio.play();
        await new Promise((resolve) => setTimeout(resolve, 300));
        return audio.currentTime > 0 || audio.ended;
    }""")
    assert played, "the recording did not play"


def test_a_campaign_saved_in_the_wizard_as_scheduled_waits_for_its_start_time(
    dashboard: Dashboard, owner_page: Page,
) -> None:
    page = owner_page
    page.goto(dashboard.acme_path("/outbound-campaigns/new"))
    page.get_by_label("Campaign name").fill("Autumn reminders")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Contact list (CSV, up to 200,000 rows)").set_input_files(files=[{
        "name": "autumn.csv", "mimeType": "text/csv",
        "buffer": b"phone,name\n+14155554201,Dee\n+14155554202,Eli\n"}])
    page.get_by_role("button", name="Upload contacts").click()
    page.get_by_label("+14155550100").check()
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Answered calls go to").select_option("voice_menu:Confirm booking")
    page.get_by_role("button", name="Save and continue").click()

    start = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
    page.get_by_label("Start time (UTC)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator("h1 [data-badge]")).to_have_text("Scheduled")
    expect(page.locator(".settings")).to_contain_text(start.strftime("%Y-%m-%d %H:%M UTC"))
    campaign_id = int(page.url.split("/")[-1].split("?")[0])
    stored = dashboard.api().get(dashboard.api_path(f"/campaigns/{campaign_id}")).json()
    assert stored["status"] == "scheduled"
    assert stored["transfer"] == {"voice_menu": "Confirm booking"}
    assert datetime.fromisoformat(stored["start"]) == start

    # Back in the wizard, "Save as draft" takes it off the schedule.
    page.get_by_role("link", name="Edit setup").click()
    page.get_by_role("link", name="4 Schedule and review").click()
    page.get_by_role("button", name="Save as draft").click()
    expect(flash(page)).to_contain_text("Saved as a draft")
    wait_for(lambda: dashboard.api().get(dashboard.api_path(f"/campaigns/{campaign_id}"))
             .json()["status"] == "draft", 5, "the campaign to be a draft again")


def test_without_script_cancel_asks_on_a_page_of_its_own(
    browser: Browser, dashboard: Dashboard,
) -> None:
    api = dashboard.api()
    created = api.post(dashboard.api_path("/campaigns"), json={"name": "Not needed after all"})
    assert created.status_code == 201, created.text
    context = browser.new_context(base_url=dashboard.base_url, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, "owner@acme.test")
        page.goto(dashboard.acme_path(f"/outbound-campaigns/{created.json()['id']}"))
        page.get_by_role("button", name="Cancel campaign").click()
        expect(page.get_by_role("heading", name="Cancel “Not needed after all”?")
               ).to_be_visible()
        assert api.get(dashboard.api_path(f"/campaigns/{created.json()['id']}")
                       ).json()["status"] == "draft"
        page.get_by_role("button", name="Yes, cancel campaign").click()
        expect(page.locator("h1 [data-badge]")).to_have_text("Cancelled")
    finally:
        context.close()
