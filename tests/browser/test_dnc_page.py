"""The do-not-call page: add by hand, find, upload with a report, export, remove."""

from __future__ import annotations

from pathlib import Path

from browser_support import Dashboard, number_in, shoot
from playwright.sync_api import Page, expect


def test_an_admin_adds_finds_uploads_exports_and_removes_do_not_call_numbers(
    dashboard: Dashboard, owner_page: Page, shots: Path,
) -> None:
    page = owner_page
    page.get_by_role("link", name="Do-not-call list").click()
    expect(page.get_by_role("heading", name="Do-not-call list")).to_be_visible()
    before = number_in(page.locator(".lead").inner_text())

    # A bad number is refused beside the field and nothing is added.
    page.get_by_label("Numbers, one per line").fill("(212) 555-0147\n555")
    page.get_by_role("button", name="Add to list").click()
    expect(page.locator("#err-numbers")).to_contain_text("(got '555')")
    expect(page.get_by_label("Numbers, one per line")).to_have_value("(212) 555-0147\n555")
    assert number_in(page.locator(".lead").inner_text()) == before

    # Added by hand in national format, found again by its digits and by a prefix.
    page.get_by_label("Numbers, one per line").fill("(212) 555-0147")
    page.get_by_role("button", name="Add to list").click()
    expect(page.get_by_role("status")).to_have_text("Added 1 number.")
    assert number_in(page.locator(".lead").inner_text()) == before + 1
    page.get_by_label("Number or its first digits").fill("212-555-0147")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.dnc tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("+12125550147")
    expect(rows.first).to_contain_text("owner@acme.test")
    page.get_by_label("Number or its first digits").fill("+1212555")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.dnc")).to_contain_text("+12125550147")
    page.get_by_label("Number or its first digits").fill("+1999")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No number on the list matches “+1999”.")).to_be_visible()

    # A list upload: its report, and its bad rows as a download.
    page.get_by_label("File", exact=True).set_input_files(files=[{
        "name": "opt-outs.txt", "mimeType": "text/plain",
        "buffer": b"+1 212 555 0148\n212.555.0149\n(212) 555-0147\nnot a number\n"}])
    page.get_by_role("button", name="Upload list").click()
    report = page.locator("#upload-report .report")
    expect(report).to_contain_text("opt-outs.txt")
    counts = dict(zip(report.locator("dt").all_inner_texts(),
                      [number_in(t) for t in report.locator("dd").all_inner_texts()],
                      strict=True))
    assert counts == {"Rows read": 4, "Added": 2, "Already listed": 1, "Invalid": 1}
    with page.expect_download() as download:
        report.get_by_role("link", name="Download row errors (CSV)").click()
    errors = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert errors[0] == "row,value,reason" and errors[1].startswith("4,not a number,")
    page.get_by_label("Number or its first digits").fill("+121255501")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.dnc tbody tr")).to_have_count(3)
    shoot(page, shots, "dnc")

    with page.expect_download() as export:
        page.get_by_role("link", name="Export (CSV)").click()
    exported = Path(export.value.path()).read_text(encoding="utf-8").splitlines()
    assert exported[0] == "phone,added_at,added_by,source"
    assert {"+12125550147", "+12125550148", "+12125550149"} <= {
        line.split(",")[0] for line in exported[1:]}

    # Removing asks first; then the number is gone from the list and from the dialer's check.
    row = page.locator("table.dnc tbody tr", has_text="+12125550148")
    row.get_by_role("button", name="Remove +12125550148").click()
    page.get_by_role("dialog").get_by_role("button", name="Keep it").click()
    expect(row).to_be_visible()
    row.get_by_role("button", name="Remove +12125550148").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text("Removed +12125550148")
    left = dashboard.api().get(dashboard.api_path("/dnc"), params={"q": "+121255501"})
    assert [e["phone"] for e in left.json()["items"]] == ["+12125550147", "+12125550149"]
