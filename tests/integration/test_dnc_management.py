"""Managing an account's do-not-call list from real files, on SQLite and PostgreSQL: adding one
or many, bulk imports (a CSV with a phone column, or one number per line) with their report,
search by number or prefix, lookups, removal, the CSV export, and each account's list kept to
itself."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from scenario_runs import POOL, posix

from outbound.domain.errors import InvalidInput
from outbound.domain.settings import CampaignSettings
from outbound.domain.timefmt import iso
from outbound.ingest.contacts import import_contacts, rows_from_table
from outbound.ingest.dnc import DncReport, dnc_query, dnc_rows, import_dnc, write_dnc_csv
from outbound.ingest.reader import open_text, read_table
from outbound.scenario import generate_numbers
from outbound.store import Store

NOW = posix("2026-03-02T09:00:00-05:00")
EARLIER = NOW - 86_400


@cache
def numbers(count: int) -> tuple[str, ...]:
    """`count` distinct valid US numbers (E.164), the same in every test."""
    return tuple(generate_numbers(count, seed=44))


@dataclass(frozen=True, slots=True)
class Account:
    """An account (region US) and how tests manage its do-not-call list."""

    store: Store
    id: int

    def import_file(self, path: Path, region: str = "US", **options: Any) -> DncReport:
        options.setdefault("added_by", "alice@example.com")
        options.setdefault("source", path.name)
        with open_text(path) as text:
            return import_dnc(self.store, self.id, dnc_rows(text, str(path)), region, NOW,
                              **options)

    def entries(self) -> dict[str, tuple[float, str | None, str | None]]:
        """phone -> (added_at, added_by, source)."""
        return {r.phone: (r.added_at, r.added_by, r.source) for r in self.store.dnc.all(self.id)}

    def phones(self) -> list[str]:
        return [r.phone for r in self.store.dnc.all(self.id)]

    def search(self, query: str, region: str = "US", limit: int = 100) -> list[str]:
        return [r.phone for r in self.store.dnc.search(self.id, dnc_query(query, region),
                                                       limit)]


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store.open(store_url)
    yield store
    store.close()


def new_account(store: Store, name: str) -> Account:
    return Account(store, store.accounts.create(name, timezone="America/New_York",
                                                region="US", now=NOW))


@pytest.fixture
def acme(store: Store) -> Account:
    return new_account(store, "Acme")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def errors(report: DncReport) -> list[tuple[int, str, str]]:
    return [(e.row, e.value, e.reason) for e in report.errors]


def counts(report: DncReport) -> tuple[int, int, int, int]:
    """(rows, added, already_listed, invalid), checking that every row counts once."""
    assert report.rows == report.added + report.already_listed + report.invalid
    return (report.rows, report.added, report.already_listed, report.invalid)


# -- adding ----------------------------------------------------------------------------------


def test_adding_one_then_many_keeps_the_first_entry_of_a_number_already_listed(
        acme: Account) -> None:
    dnc = acme.store.dnc

    assert dnc.add(acme.id, ["+14155550100"], EARLIER, added_by="alice", source="call") == 1
    assert dnc.add(acme.id, ["+14155550100", "+14155550101", "+442079460958", "+14155550101"],
                   NOW, added_by="bob", source="bulk.csv") == 2

    assert acme.entries() == {
        "+14155550100": (EARLIER, "alice", "call"),
        "+14155550101": (NOW, "bob", "bulk.csv"),
        "+442079460958": (NOW, "bob", "bulk.csv"),
    }


# -- bulk import -----------------------------------------------------------------------------


def test_a_csv_with_a_phone_column_is_imported_with_every_invalid_row_reported(
        acme: Account, tmp_path: Path) -> None:
    acme.store.dnc.add(acme.id, ["+14155550100"], EARLIER, added_by="ops", source="first.csv")
    path = write(tmp_path / "optouts.csv", (
        "Requested,Phone Number,Note\r\n"
        "2026-01-02,415-555-0100,listed before\r\n"  # 2: already listed
        '2026-01-03,"+1 (415) 555-0101","said stop, twice"\r\n'  # 3
        "2026-01-04,not a number,x\r\n"  # 4: invalid
        "2026-01-05,+44 20 7946 0958,UK\r\n"  # 5
        "2026-01-06,4155550101,again\r\n"  # 6: earlier in this file
        "2026-01-07,1-900-555-0100,premium\r\n"  # 7: invalid
        "2026-01-08,,blank\r\n"  # 8: invalid
    ))

    report = acme.import_file(path)

    assert counts(report) == (7, 2, 2, 3)
    assert errors(report) == [(4, "not a number", "not a phone number"),
                              (7, "1-900-555-0100", "premium-rate number"),
                              (8, "", "empty phone number")]
    assert acme.entries() == {
        "+14155550100": (EARLIER, "ops", "first.csv"),
        "+14155550101": (NOW, "alice@example.com", "optouts.csv"),
        "+442079460958": (NOW, "alice@example.com", "optouts.csv"),
    }


def test_a_plain_list_of_one_number_per_line_in_mixed_formats_is_imported(
        acme: Account, tmp_path: Path) -> None:
    acme.store.dnc.add(acme.id, ["+14155550100"], EARLIER, added_by="ops", source="first.csv")
    path = write(tmp_path / "numbers.txt", "\n".join([
        "415-555-0100",  # 1: listed already
        "(415) 555-0102",  # 2
        "",  # 3: blank, skipped
        "+1.415.555.0103",  # 4
        "011 44 20 7946 0958",  # 5: dialled from the US with the international prefix
        "1-800-FLOWERS",  # 6: letters
        "hello",  # 7: invalid
        "555",  # 8: invalid
        "  4155550102  ",  # 9: earlier in this file
        "+91 98765 43210",  # 10
        "x" * 20_000,  # 11: a line too long
    ]) + "\n")

    report = acme.import_file(path)

    assert counts(report) == (10, 5, 2, 3)
    assert errors(report) == [(7, "hello", "not a phone number"),
                              (8, "555", "not a valid number"),
                              (11, "x" * 200, "line is 20,001 characters long")]
    added = (NOW, "alice@example.com", "numbers.txt")
    assert acme.entries() == {
        "+14155550100": (EARLIER, "ops", "first.csv"),
        "+14155550102": added, "+14155550103": added, "+442079460958": added,
        "+18003569377": added, "+919876543210": added,
    }


def test_a_plain_list_reads_national_numbers_in_the_region_given(
        acme: Account, tmp_path: Path) -> None:
    path = write(tmp_path / "uk.txt", "020 7946 0958\n07700 900 123\n(415) 555-0100\n")

    report = acme.import_file(path, region="GB")

    assert counts(report) == (3, 1, 0, 2)
    assert acme.phones() == ["+442079460958"]


def test_a_plain_list_whose_first_number_spells_a_header_word_is_still_a_plain_list(
        acme: Account, tmp_path: Path) -> None:
    path = write(tmp_path / "numbers.txt", "1-800-MOBILE1\n415-555-0100\n")

    report = acme.import_file(path)

    assert counts(report) == (2, 2, 0, 0)
    assert acme.phones() == ["+14155550100", "+18006624531"]


@pytest.mark.parametrize(("content", "says"), [
    (b"", "is empty: one number per line, or a CSV with a phone column"),
    (b"\n \n", "is empty: one number per line, or a CSV with a phone column"),
    (b"4155550100\n41555\x0050101\n", "is not a text file (CSV expected)"),
    (b"PK\x03\x04\x14\x00", "is a ZIP or Excel (.xlsx) file"),
    (b"name,phone\nAna,4155550100\nBob,\"4155550101\n", "line 3: a quoted field starts here"),
], ids=["empty", "blank lines", "NUL bytes", "ZIP", "unbalanced quotes"])
def test_an_unreadable_list_is_refused_whole_and_adds_nothing(
        acme: Account, tmp_path: Path, content: bytes, says: str) -> None:
    acme.store.dnc.add(acme.id, ["+12125550100"], EARLIER)
    path = tmp_path / "upload.csv"
    path.write_bytes(content)

    with pytest.raises(InvalidInput) as refused:
        acme.import_file(path)

    assert str(refused.value).startswith(f"{path}: {says}")
    assert acme.phones() == ["+12125550100"]


def test_a_list_refused_after_a_full_batch_was_read_adds_nothing(
        acme: Account, tmp_path: Path) -> None:
    good = numbers(6_000)  # more than one insert batch before the broken line
    path = write(tmp_path / "optouts.csv", "phone,note\n" + "".join(
        f"{n},ok\n" for n in good) + '4155550100,"never closed\n4155550101,x\n')

    with pytest.raises(InvalidInput, match=f"line {len(good) + 2}: a quoted field"):
        acme.import_file(path)

    assert acme.phones() == []


# -- search, lookup, removal -----------------------------------------------------------------


LISTED = ["+12125550100", "+14155550100", "+14155550101", "+14155559999", "+442079460958"]


def test_search_finds_a_whole_number_in_any_format_or_every_number_under_a_prefix(
        acme: Account) -> None:
    acme.store.dnc.add(acme.id, LISTED, NOW)

    assert acme.search("(415) 555-0100") == ["+14155550100"]
    assert acme.search("+1 415-555-0101") == ["+14155550101"]
    assert acme.search("020 7946 0958", region="GB") == ["+442079460958"]
    assert acme.search("+1415") == ["+14155550100", "+14155550101", "+14155559999"]
    assert acme.search("1 415 555 01") == ["+14155550100", "+14155550101"]
    assert acme.search("+44 20") == ["+442079460958"]
    assert acme.search("+1", limit=2) == ["+12125550100", "+14155550100"]
    assert acme.search("(415) 555-0199") == []
    with pytest.raises(InvalidInput, match="query: must be a number or the start of one"):
        dnc_query("stop calling", "US")


def test_a_lookup_says_whether_a_number_is_listed_and_removal_takes_it_off(
        acme: Account) -> None:
    dnc = acme.store.dnc
    dnc.add(acme.id, LISTED, NOW)
    assert dnc.is_listed(acme.id, "+14155550100")
    assert not dnc.is_listed(acme.id, "+14155550102")

    assert dnc.remove(acme.id, ["+14155550100", "+14155550102", "+442079460958"]) == 2

    assert not dnc.is_listed(acme.id, "+14155550100")
    assert dnc.is_listed(acme.id, "+14155550101")
    assert acme.phones() == ["+12125550100", "+14155550101", "+14155559999"]
    assert dnc.remove(acme.id, ["+14155550100"]) == 0


# -- export ----------------------------------------------------------------------------------


def test_the_export_writes_every_entry_as_csv_with_formula_cells_escaped(
        acme: Account, tmp_path: Path) -> None:
    dnc = acme.store.dnc
    dnc.add(acme.id, ["+14155550101"], NOW, added_by="=cmd|' /C calc'!A0", source="@SUM(A1)")
    dnc.add(acme.id, ["+14155550100"], EARLIER, added_by="alice", source="+1 (555) evil")
    dnc.add(acme.id, ["+442079460958"], NOW, source="-2+3")
    dnc.add(acme.id, ["+12125550100"], NOW)
    path = tmp_path / "export.csv"

    with path.open("w", encoding="utf-8", newline="") as out:
        count = write_dnc_csv(dnc.all(acme.id), out)

    assert count == 4
    with path.open(encoding="utf-8", newline="") as f:
        assert list(csv.reader(f)) == [
            ["phone", "added_at", "added_by", "source"],
            ["+12125550100", iso(NOW), "", ""],
            ["+14155550100", iso(EARLIER), "alice", "'+1 (555) evil"],
            ["+14155550101", iso(NOW), "'=cmd|' /C calc'!A0", "'@SUM(A1)"],
            ["+442079460958", iso(NOW), "", "'-2+3"],
        ]
    assert iso(NOW) == "2026-03-02T14:00:00.000Z"


def test_an_exported_list_imports_back_into_another_account_unchanged(
        acme: Account, store: Store, tmp_path: Path) -> None:
    acme.store.dnc.add(acme.id, LISTED, NOW)
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        write_dnc_csv(acme.store.dnc.all(acme.id), out)
    globex = new_account(store, "Globex")

    report = globex.import_file(path)

    assert counts(report) == (5, 5, 0, 0)
    assert globex.phones() == acme.phones() == LISTED


def test_an_empty_list_exports_only_the_header(acme: Account) -> None:
    out = io.StringIO()

    assert write_dnc_csv(acme.store.dnc.all(acme.id), out) == 0
    assert out.getvalue() == "phone,added_at,added_by,source\n"


# -- one list per account --------------------------------------------------------------------


def test_each_account_sees_flags_and_blocks_only_on_its_own_list(
        acme: Account, store: Store, tmp_path: Path) -> None:
    globex = new_account(store, "Globex")
    path = write(tmp_path / "optouts.txt", "415-555-0100\n415-555-0101\n")
    acme.import_file(path)

    assert globex.phones() == [] and globex.search("+1") == []
    assert not store.dnc.is_listed(globex.id, "+14155550100")
    assert store.dnc.remove(globex.id, ["+14155550100"]) == 0
    assert acme.phones() == ["+14155550100", "+14155550101"]
    # The same number on both lists: two entries, each account's own.
    assert counts(globex.import_file(path, added_by="gina", source="globex.txt")) == (2, 2, 0, 0)
    assert store.dnc.remove(globex.id, ["+14155550101"]) == 1
    assert acme.entries()["+14155550101"] == (NOW, "alice@example.com", "optouts.txt")
    assert globex.phones() == ["+14155550100"]

    contacts = write(tmp_path / "contacts.csv", "phone\n4155550101\n4155550102\n")
    for account, flagged in ((acme, [True, False]), (globex, [False, False])):
        campaign_id = store.campaigns.create(account.id, CampaignSettings.parse(
            {"name": "Spring", "numbers": POOL, "transfer": {"department": "Sales"}}, "US"),
            NOW)
        with open_text(contacts) as text:
            report = import_contacts(store, campaign_id, account.id,
                                     rows_from_table(read_table(text, str(contacts))), "US",
                                     NOW)
        assert report.dnc_flagged == flagged.count(True)
        assert [c.dnc_flagged for c in store.contacts.all(campaign_id)] == flagged
        with store.engine.begin() as conn:
            claimed = store.dialing.claim(conn, campaign_id, account.id, NOW, NOW + 30,
                                          retry=False)
        assert claimed is not None and claimed.phone == "+14155550101"
        assert claimed.blocked == flagged[0]
