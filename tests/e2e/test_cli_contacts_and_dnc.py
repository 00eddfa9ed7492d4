"""`outbound contacts import` and `outbound dnc …` as a user types them, against a private
store: reports on stderr (or as JSON alone on stdout with --json), a refused file or number
in one line with exit status 2 and nothing written."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from e2e_support import Outbound, one_line

REPORT_KEYS = {"rows", "imported", "invalid", "duplicate", "dnc_flagged"}


@pytest.fixture
def spring(acme: Outbound) -> Outbound:
    """Acme with a draft campaign named Spring."""
    acme.ok("campaigns", "create", "Acme", "--name", "Spring")
    return acme


def write(directory: Path, name: str, content: str | bytes) -> Path:
    path = directory / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def contacts(cli: Outbound) -> list[tuple[str, str | None, bool]]:
    return [(r["phone"], r["name"], bool(r["dnc_flagged"])) for r in cli.query(
        "SELECT phone, name, dnc_flagged FROM contacts ORDER BY position")]


def dnc(cli: Outbound) -> list[tuple[str, str | None, str | None]]:
    return [tuple(r) for r in cli.query("SELECT phone, added_by, source FROM dnc ORDER BY phone")]


MIXED = ("phone,name,segment\n"
         "(415) 555-0100,Ana,A\n"
         "bad,Bob,B\n"
         "+1 415 555 0100,Ana again,A\n"
         "415.555.0199,Listed,B\n")


# -- contacts import -------------------------------------------------------------------------


def test_contacts_import_with_json_prints_the_report_and_nothing_else_on_stdout(
        spring: Outbound, tmp_path: Path) -> None:
    spring.ok("dnc", "add", "Acme", "4155550199")
    path = write(tmp_path, "list.csv", MIXED)

    done = spring.run("contacts", "import", "Spring", path, "--json")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) >= REPORT_KEYS
    assert {k: report[k] for k in REPORT_KEYS} == {
        "rows": 4, "imported": 2, "invalid": 1, "duplicate": 1, "dnc_flagged": 1}
    assert report["errors"] == [
        {"row": 3, "value": "bad", "reason": "not a phone number"},
        {"row": 4, "value": "+1 415 555 0100", "reason": "duplicate of +14155550100"},
    ]
    assert contacts(spring) == [("+14155550100", "Ana", False), ("+14155550199", "Listed", True)]


def test_contacts_import_prints_a_summary_and_the_row_errors_on_stderr_only(
        spring: Outbound, tmp_path: Path) -> None:
    spring.ok("dnc", "add", "Acme", "4155550199")
    path = write(tmp_path, "list.csv", MIXED)

    done = spring.run("contacts", "import", "Spring", path)

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "4 rows: 2 imported (1 on the do-not-call list), 1 invalid, 1 duplicate",
        "  row 3: 'bad': not a phone number",
        "  row 4: '+1 415 555 0100': duplicate of +14155550100",
    ]


def test_contacts_import_reads_national_numbers_in_the_region_given(
        spring: Outbound, tmp_path: Path) -> None:
    path = write(tmp_path, "uk.csv", "phone,name\n020 7946 0958,London\n(415) 555-0100,SF\n")

    report = spring.json("contacts", "import", "Spring", path, "--region", "gb")
    again = spring.json("contacts", "import", "Spring", path)  # the account's region: US

    assert (report["imported"], report["invalid"]) == (1, 1)
    assert (again["imported"], again["invalid"]) == (1, 1)
    assert contacts(spring) == [("+442079460958", "London", False), ("+14155550100", "SF", False)]


def test_contacts_import_with_a_malformed_region_exits_2_and_writes_nothing(
        spring: Outbound, tmp_path: Path) -> None:
    path = write(tmp_path, "list.csv", MIXED)
    before = spring.snapshot()

    done = spring.run("contacts", "import", "Spring", path, "--region", "GBR", "--json")

    assert done.returncode == 2
    assert "--region: must be a two-letter country code" in one_line(done.stderr)
    assert done.stdout == ""
    assert spring.snapshot() == before


REFUSED_FILES = {
    "an empty file": (b"", "is empty"),
    "a binary file": (b"phone,name\n4155550100,A\x00na\n", "is not a text file"),
    "an image": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is an image"),
    "a file without a phone column": (b"name,email\nAna,a@example.com\n", "has no phone column"),
    "unbalanced quotes": (b'phone,name\n4155550100,Ana\n4155550101,"Bob\n4155550102,Carl\n',
                          "line 3: a quoted field starts here and is never closed"),
    "a header only": (b"phone,name\n", "has a header but no rows"),
}


@pytest.mark.parametrize(("content", "says"), list(REFUSED_FILES.values()),
                         ids=list(REFUSED_FILES))
def test_a_refused_contacts_file_exits_2_with_one_line_naming_the_file_and_writes_nothing(
        spring: Outbound, tmp_path: Path, content: bytes, says: str) -> None:
    spring.ok("contacts", "import", "Spring", write(tmp_path, "seed.csv", MIXED))
    path = write(tmp_path, "upload.csv", content)
    before = spring.snapshot()

    done = spring.run("contacts", "import", "Spring", path, "--json")

    assert done.returncode == 2
    line = one_line(done.stderr)
    assert str(path) in line
    assert says in line
    assert done.stdout == ""
    assert spring.snapshot() == before


def test_a_contacts_file_that_does_not_exist_exits_2_naming_it(
        spring: Outbound, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"

    done = spring.run("contacts", "import", "Spring", missing)

    assert done.returncode == 2
    assert f"{missing}: cannot be read" in one_line(done.stderr)
    assert spring.scalar("SELECT count(*) FROM contacts") == 0


def test_contacts_import_into_a_finished_campaign_exits_2_as_the_api_refuses_and_writes_nothing(
        spring: Outbound, tmp_path: Path) -> None:
    spring.ok("campaigns", "cancel", "Spring")
    path = write(tmp_path, "list.csv", MIXED)
    before = spring.snapshot()

    done = spring.run("contacts", "import", "Spring", path, "--json")

    assert done.returncode == 2
    assert one_line(done.stderr) == ("error: the campaign is cancelled: start a new one for "
                                     "these contacts")
    assert done.stdout == ""
    assert spring.snapshot() == before


# -- dnc add and remove ----------------------------------------------------------------------


def test_dnc_add_takes_numbers_in_any_format_and_counts_those_already_listed(
        acme: Outbound) -> None:
    done = acme.run("dnc", "add", "Acme", "(415) 555-0100", "+1 415-555-0101")
    again = acme.json("dnc", "add", "Acme", "415.555.0101", "1-800-FLOWERS")

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert one_line(done.stderr) == "added 2 of 2 (the rest were listed already)"
    assert again == {"added": 1, "already_listed": 1,
                     "numbers": ["+14155550101", "+18003569377"]}
    assert dnc(acme) == [("+14155550100", "cli", "cli"), ("+14155550101", "cli", "cli"),
                         ("+18003569377", "cli", "cli")]


def test_dnc_add_with_a_malformed_number_exits_2_naming_it_and_adds_nothing(
        acme: Outbound) -> None:
    done = acme.run("dnc", "add", "Acme", "4155550100", "555", "+14155550101")

    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "numbers[1]" in line and "'555'" in line
    assert done.stdout == ""
    assert dnc(acme) == []


def test_dnc_remove_takes_numbers_off_in_any_format_and_says_how_many(acme: Outbound) -> None:
    acme.ok("dnc", "add", "Acme", "4155550100", "4155550101", "4155550102")

    done = acme.run("dnc", "remove", "Acme", "(415) 555-0100", "+1 415 555 0102",
                    "415-555-0199")

    assert done.returncode == 0, done.stderr
    assert one_line(done.stderr) == "removed 2 of 3"
    assert [phone for phone, _, _ in dnc(acme)] == ["+14155550101"]


def test_dnc_remove_with_a_malformed_number_exits_2_naming_it_and_removes_nothing(
        acme: Outbound) -> None:
    acme.ok("dnc", "add", "Acme", "4155550100")

    done = acme.run("dnc", "remove", "Acme", "call me", "4155550100")

    assert done.returncode == 2
    assert "numbers[0]" in one_line(done.stderr)
    assert [phone for phone, _, _ in dnc(acme)] == ["+14155550100"]


# -- dnc import ------------------------------------------------------------------------------


PLAIN_LIST = "415-555-0100\n+1 (415) 555-0101\nnot a number\n\n4155550100\n1-900-555-0100\n"


def test_dnc_import_with_json_prints_the_report_and_nothing_else_on_stdout(
        acme: Outbound, tmp_path: Path) -> None:
    acme.ok("dnc", "add", "Acme", "4155550101")
    path = write(tmp_path, "optouts.txt", PLAIN_LIST)

    report = json.loads(acme.ok("dnc", "import", "Acme", path, "--json"))

    assert {k: report[k] for k in ("rows", "added", "already_listed", "invalid")} == {
        "rows": 5, "added": 1, "already_listed": 2, "invalid": 2}
    assert report["errors"] == [
        {"row": 3, "value": "not a number", "reason": "not a phone number"},
        {"row": 6, "value": "1-900-555-0100", "reason": "premium-rate number"},
    ]
    assert dnc(acme) == [("+14155550100", "cli", "optouts.txt"), ("+14155550101", "cli", "cli")]


def test_dnc_import_of_a_csv_prints_a_summary_and_the_row_errors_on_stderr(
        acme: Outbound, tmp_path: Path) -> None:
    path = write(tmp_path, "optouts.csv",
                 "Name;Mobile\nAna;+44 20 7946 0958\nBob;07700 900 123\nCarl;020 7946 0959\n")

    done = acme.run("dnc", "import", "Acme", path, "--region", "GB")

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "3 rows: 2 added, 0 already listed, 1 invalid",
        "  row 3: '07700 900 123': not a valid number",
    ]
    assert [phone for phone, _, _ in dnc(acme)] == ["+442079460958", "+442079460959"]


def test_a_refused_dnc_file_exits_2_with_one_line_naming_it_and_adds_nothing(
        acme: Outbound, tmp_path: Path) -> None:
    acme.ok("dnc", "add", "Acme", "4155550100")
    path = write(tmp_path, "optouts.xlsx", b"PK\x03\x04\x14\x00\x06\x00")

    done = acme.run("dnc", "import", "Acme", path, "--json")

    assert done.returncode == 2
    assert f"{path}: is a ZIP or Excel (.xlsx) file" in one_line(done.stderr)
    assert done.stdout == ""
    assert [phone for phone, _, _ in dnc(acme)] == ["+14155550100"]


# -- dnc export and search -------------------------------------------------------------------


def test_dnc_export_writes_the_same_csv_to_a_file_or_to_stdout(
        acme: Outbound, tmp_path: Path) -> None:
    acme.ok("dnc", "add", "Acme", "4155550101", "+44 20 7946 0958")
    acme.ok("dnc", "import", "Acme", write(tmp_path, "=HYPERLINK(1).txt", "4155550100\n"))
    target = tmp_path / "export.csv"

    to_file = acme.run("dnc", "export", "Acme", target)
    to_stdout = acme.ok("dnc", "export", "Acme")

    assert to_file.returncode == 0, to_file.stderr
    assert f"wrote 3 numbers to {target}" in to_file.stderr.replace("\n", "")
    assert to_file.stdout == ""
    assert target.read_text(encoding="utf-8") == to_stdout
    rows = list(csv.reader(io.StringIO(to_stdout)))
    assert rows[0] == ["phone", "added_at", "added_by", "source"]
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [
        ("+14155550100", "cli", "'=HYPERLINK(1).txt"),
        ("+14155550101", "cli", "cli"),
        ("+442079460958", "cli", "cli"),
    ]
    assert all(r[1].endswith("Z") for r in rows[1:])


def test_dnc_export_to_a_file_with_a_long_path_confirms_in_one_line(
        acme: Outbound, tmp_path: Path) -> None:
    acme.ok("dnc", "add", "Acme", "4155550100")
    target = tmp_path / ("a-rather-long-directory-name-" * 3) / "export.csv"
    target.parent.mkdir()

    done = acme.run("dnc", "export", "Acme", target)

    assert done.returncode == 0, done.stderr
    assert one_line(done.stderr) == f"wrote 1 number to {target}"


def test_dnc_search_finds_a_whole_number_in_any_format_or_a_prefix(acme: Outbound) -> None:
    acme.ok("dnc", "add", "Acme", "4155550100", "4155550101", "2125550100")

    by_number = acme.json("dnc", "search", "Acme", "(415) 555-0101")
    by_prefix = acme.json("dnc", "search", "Acme", "+1415")
    table = acme.ok("dnc", "search", "Acme", "+1212")

    assert [r["phone"] for r in by_number] == ["+14155550101"]
    assert [(r["phone"], r["added_by"], r["source"]) for r in by_prefix] == [
        ("+14155550100", "cli", "cli"), ("+14155550101", "cli", "cli")]
    assert "+12125550100" in table and "+1415" not in table


def test_dnc_search_for_a_plus_lists_every_entry_as_the_api_and_the_pages_do(
        acme: Outbound) -> None:
    acme.ok("dnc", "add", "Acme", "4155550100", "+44 20 7946 0958")

    listed = acme.json("dnc", "search", "Acme", "+")

    assert [r["phone"] for r in listed] == ["+14155550100", "+442079460958"]


def test_dnc_search_for_something_that_is_not_a_number_exits_2(acme: Outbound) -> None:
    done = acme.run("dnc", "search", "Acme", "stop calling")

    assert done.returncode == 2
    assert "query" in one_line(done.stderr)
    assert done.stdout == ""
