"""Contact import from real files, on SQLite and PostgreSQL: encodings, delimiters, quoting,
the phone column found by name, the classification of every row and its report, and each kind
of bad input of issue 3 — refused whole with one message and nothing written, or reported on
its row while every other row goes in."""

from __future__ import annotations

import codecs
import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from scenario_runs import POOL, posix
from sqlalchemy import select

from outbound.domain.errors import InvalidInput
from outbound.domain.settings import CampaignSettings
from outbound.ingest.contacts import (
    MAX_UPLOAD_ROWS,
    ImportReport,
    RawContact,
    import_contacts,
    rows_from_json,
    rows_from_table,
)
from outbound.ingest.reader import PHONE_HEADERS, open_text, read_table
from outbound.scenario import generate_numbers
from outbound.store import Store
from outbound.store.schema import campaigns, contacts

NOW = posix("2026-03-02T09:00:00-05:00")


@cache
def numbers(count: int) -> tuple[str, ...]:
    """`count` distinct valid US numbers (E.164), the same in every test."""
    return tuple(generate_numbers(count, seed=33))


@dataclass(frozen=True, slots=True)
class Campaign:
    """A draft campaign of the account Acme (region US), and how tests import into it."""

    store: Store
    account_id: int
    campaign_id: int

    def rows(self, path: Path) -> Iterator[RawContact]:
        with open_text(path) as text:
            yield from rows_from_table(read_table(text, str(path)))

    def import_file(self, path: Path, region: str = "US", **options: Any) -> ImportReport:
        return self.import_rows(self.rows(path), region, **options)

    def import_rows(self, rows: Iterator[RawContact], region: str = "US",
                    **options: Any) -> ImportReport:
        return import_contacts(self.store, self.campaign_id, self.account_id, rows, region, NOW,
                               **options)

    def contacts(self) -> list[Any]:
        return self.store.contacts.all(self.campaign_id)

    def people(self) -> list[tuple[str, str | None, dict[str, str]]]:
        """(phone, name, fields) of each contact, in list order."""
        return [(c.phone, c.name, c.fields or {}) for c in self.contacts()]

    def another(self, name: str) -> Campaign:
        """A second campaign in the same account."""
        return Campaign(self.store, self.account_id, new_campaign(self.store, self.account_id,
                                                                   name))

    def written(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Every contact in the store, and each campaign's version: "nothing was written" is
        checked against this."""
        with self.store.engine.connect() as conn:
            return ([tuple(r) for r in conn.execute(select(contacts).order_by(contacts.c.id))],
                    [tuple(r) for r in conn.execute(
                        select(campaigns.c.id, campaigns.c.version).order_by(campaigns.c.id))])

    def refuse(self, path: Path, **options: Any) -> str:
        """Import a file that must be refused whole; the message, once checked that nothing
        was written."""
        before = self.written()
        with pytest.raises(InvalidInput) as refused:
            self.import_file(path, **options)
        assert self.written() == before
        return str(refused.value)


def new_campaign(store: Store, account_id: int, name: str) -> int:
    return store.campaigns.create(account_id, CampaignSettings.parse(
        {"name": name, "numbers": POOL, "transfer": {"department": "Sales"}}, "US"), NOW)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store.open(store_url)
    yield store
    store.close()


@pytest.fixture
def campaign(store: Store) -> Campaign:
    account_id = store.accounts.create("Acme", timezone="America/New_York", region="US",
                                       now=NOW)
    return Campaign(store, account_id, new_campaign(store, account_id, "Spring"))


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def errors(report: ImportReport) -> list[tuple[int, str, str]]:
    return [(e.row, e.value, e.reason) for e in report.errors]


def counts(report: ImportReport) -> tuple[int, int, int, int, int]:
    """(rows, imported, invalid, duplicate, dnc_flagged), checking that every row counts once."""
    assert report.rows == report.imported + report.invalid + report.duplicate
    return (report.rows, report.imported, report.invalid, report.duplicate, report.dnc_flagged)


# A small list with a custom column, national and international formats.
PEOPLE = "phone,name,segment\n(415) 555-0100,Zoë Ñandú,A\n+1 415 555 0101,Ana,B\n"
PEOPLE_STORED = [("+14155550100", "Zoë Ñandú", {"segment": "A"}),
                 ("+14155550101", "Ana", {"segment": "B"})]


# -- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8], ids=["without BOM", "with BOM"])
def test_a_utf8_file_is_read_the_same_with_or_without_a_byte_order_mark(
        campaign: Campaign, tmp_path: Path, bom: bytes) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(bom + PEOPLE.encode("utf-8"))

    report = campaign.import_file(path)

    assert counts(report) == (2, 2, 0, 0, 0)
    assert campaign.people() == PEOPLE_STORED


@pytest.mark.parametrize(("bom", "encoding"), [(codecs.BOM_UTF16_LE, "utf-16-le"),
                                               (codecs.BOM_UTF16_BE, "utf-16-be")],
                         ids=["little-endian", "big-endian"])
def test_a_utf16_file_with_a_byte_order_mark_is_read(
        campaign: Campaign, tmp_path: Path, bom: bytes, encoding: str) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(bom + PEOPLE.replace("\n", "\r\n").encode(encoding))

    report = campaign.import_file(path)

    assert counts(report) == (2, 2, 0, 0, 0)
    assert campaign.people() == PEOPLE_STORED


def test_a_latin1_file_falls_back_to_latin1_and_its_accented_names_survive(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv",
                 "phone,name,city\n4155550100,José Pérez,Zürich\n4155550101,Ana,Lyon\n",
                 encoding="latin-1")

    report = campaign.import_file(path)

    assert counts(report) == (2, 2, 0, 0, 0)
    assert campaign.people() == [("+14155550100", "José Pérez", {"city": "Zürich"}),
                                 ("+14155550101", "Ana", {"city": "Lyon"})]


def test_a_small_latin1_file_whose_last_name_ends_in_an_accent_is_still_read(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", "phone,name\n4155550100,José\n", encoding="latin-1")

    report = campaign.import_file(path)

    assert counts(report) == (1, 1, 0, 0, 0)
    assert campaign.people() == [("+14155550100", "José", {})]


# -- delimiters and quoting ------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_the_delimiter_is_detected_from_the_header(
        campaign: Campaign, tmp_path: Path, delimiter: str) -> None:
    lines = [["phone", "name", "segment"], ["(415) 555-0100", "Zoë Ñandú", "A"],
             ["+1 415 555 0101", "Ana", "B"]]
    path = write(tmp_path / "people.csv", "".join(delimiter.join(r) + "\n" for r in lines))

    report = campaign.import_file(path)

    assert counts(report) == (2, 2, 0, 0, 0)
    assert campaign.people() == PEOPLE_STORED


def test_quoted_fields_keep_embedded_delimiters_and_newlines_and_rows_keep_their_file_lines(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", (
        "phone;name;note\r\n"
        '4155550100;"Smith; John";"first line\r\nsecond line\r\nthird, with a comma"\r\n'
        '"4155550101";"Ana";plain\r\n'
        'not a number;Bob;"one\nmore"\r\n'
        "4155550102;Carl;last\r\n"))

    report = campaign.import_file(path)

    assert counts(report) == (4, 3, 1, 0, 0)
    assert campaign.people() == [
        ("+14155550100", "Smith; John",
         {"note": "first line\r\nsecond line\r\nthird, with a comma"}),
        ("+14155550101", "Ana", {"note": "plain"}),
        ("+14155550102", "Carl", {"note": "last"}),
    ]
    # The bad row starts on line 6 of the file: the first row's cell spans lines 2–4.
    assert errors(report) == [(6, "not a number", "not a phone number")]


def test_doubled_quotes_inside_a_quoted_field_stand_for_one_quote(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", (
        "phone,name,note\n"
        '4155550100,"O""Brien, Pat","said ""hi"""\n'
        '4155550101,Ana,"two\nlines ""quoted"""\n'))

    report = campaign.import_file(path)

    assert counts(report) == (2, 2, 0, 0, 0)
    assert campaign.people() == [
        ("+14155550100", 'O"Brien, Pat', {"note": 'said "hi"'}),
        ("+14155550101", "Ana", {"note": 'two\nlines "quoted"'}),
    ]


# -- the header ------------------------------------------------------------------------------


def test_a_file_without_a_header_row_is_refused_as_naming_no_phone_column(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", "4155550100,Ana\n4155550101,Bob\n")

    message = campaign.refuse(path)

    assert str(path) in message
    assert "has no phone column" in message
    assert "found: 4155550100, Ana" in message


def mixed_case(text: str) -> str:
    return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(text))


@pytest.mark.parametrize("header", PHONE_HEADERS)
def test_the_phone_column_is_found_by_each_of_its_names_in_any_case(
        campaign: Campaign, tmp_path: Path, header: str) -> None:
    for i, variant in enumerate((header, header.upper(), header.title(), mixed_case(header))):
        target = campaign if i == 0 else campaign.another(f"List {i}")
        path = write(tmp_path / f"list{i}.csv",
                     f"id,{variant},city\n7,415-555-0100,Oakland\n8,415-555-0101,\n")

        report = target.import_file(path)

        assert counts(report) == (2, 2, 0, 0, 0), variant
        assert target.people() == [("+14155550100", None, {"id": "7", "city": "Oakland"}),
                                   ("+14155550101", None, {"id": "8"})], variant


def test_every_column_but_phone_and_name_is_kept_as_a_field_under_its_header(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", (
        "Email,Phone,NAME,Plan Tier,,notes\n"
        "ana@example.com,4155550100,Ana,Gold,ignored,call after 5\n"
        "bob@example.com,4155550101,,,,\n"))

    report = campaign.import_file(path)

    assert counts(report) == (2, 2, 0, 0, 0)
    assert campaign.people() == [
        ("+14155550100", "Ana",
         {"Email": "ana@example.com", "Plan Tier": "Gold", "notes": "call after 5"}),
        ("+14155550101", None, {"Email": "bob@example.com"}),
    ]


# -- the JSON batch --------------------------------------------------------------------------


MIXED = [  # (phone, name, segment): imported, invalid, duplicate, listed, empty
    ("4155550100", "Ana", "A"), ("not a number", "Bob", "B"), ("(415) 555-0100", "Dup", "A"),
    ("+1 415 555 0199", "Listed", "B"), ("", "Nobody", "A"),
]


def test_a_json_batch_goes_through_the_same_path_and_gives_the_same_report_as_the_csv(
        campaign: Campaign, tmp_path: Path) -> None:
    campaign.store.dnc.add(campaign.account_id, ["+14155550199"], NOW)
    path = write(tmp_path / "people.csv", "Phone,name,segment\n" + "".join(
        f"{p},{n},{s}\n" for p, n, s in MIXED))
    batch = campaign.another("From JSON")

    from_csv = campaign.import_file(path)
    from_json = batch.import_rows(rows_from_json(
        [{"Phone": p, "name": n, "segment": s} for p, n, s in MIXED]))

    assert counts(from_csv) == counts(from_json) == (5, 2, 2, 1, 1)
    # A CSV row is numbered by its line (the header is line 1), a JSON item by its position.
    assert [(row - 1, v, r) for row, v, r in errors(from_csv)] == errors(from_json) == [
        (2, "not a number", "not a phone number"),
        (3, "(415) 555-0100", "duplicate of +14155550100"),
        (5, "", "empty phone number"),
    ]
    assert campaign.people() == batch.people() == [
        ("+14155550100", "Ana", {"segment": "A"}), ("+14155550199", "Listed", {"segment": "B"})]
    assert [c.dnc_flagged for c in batch.contacts()] == [False, True]


def test_a_json_batch_reports_items_without_a_phone_or_not_objects_on_their_row(
        campaign: Campaign) -> None:
    report = campaign.import_rows(rows_from_json([
        {"mobile": "4155550100", "name": "Ana", "score": 7},
        {"name": "No phone"},
        "4155550101",
        {"phone": "4155550102", "tags": ["a", "b"]},
    ]))

    assert counts(report) == (4, 1, 3, 0, 0)
    assert [(row, reason) for row, _, reason in errors(report)] == [
        (2, "row has no phone (one of " + ", ".join(PHONE_HEADERS) + ")"),
        (3, "row is not an object"),
        (4, "row field 'tags' is not a plain value"),
    ]
    assert campaign.people() == [("+14155550100", "Ana", {"score": "7"})]
    with pytest.raises(InvalidInput, match="must be a list of objects"):
        campaign.import_rows(rows_from_json({"phone": "4155550100"}))


# -- classification and the report ----------------------------------------------------------


def test_rows_are_classified_invalid_then_duplicate_then_flagged_then_imported(
        campaign: Campaign, tmp_path: Path) -> None:
    store = campaign.store
    store.dnc.add(campaign.account_id, ["+14155550199", "+14155550177"], NOW)
    campaign.import_file(write(tmp_path / "earlier.csv", "phone\n4155550177\n"))
    path = write(tmp_path / "people.csv", (
        "phone,name\n"
        "4155550100,First\n"  # 2: imported
        "bad,Bad\n"  # 3: invalid
        "bad,Bad again\n"  # 4: invalid again, not a duplicate of an invalid row
        "415.555.0100,Second\n"  # 5: duplicate of row 2
        "4155550199,Listed\n"  # 6: on the DNC list: imported and flagged
        "(415) 555-0199,Listed again\n"  # 7: a duplicate first, so not flagged twice
        "+1 900 555 0100,Premium\n"  # 8: valid, but premium rate: invalid
        "415 555 0177,Already here\n"  # 9: in the campaign already (and listed): duplicate
    ))

    report = campaign.import_file(path)

    assert counts(report) == (8, 2, 3, 3, 1)
    assert errors(report) == [
        (3, "bad", "not a phone number"),
        (4, "bad", "not a phone number"),
        (5, "415.555.0100", "duplicate of +14155550100"),
        (7, "(415) 555-0199", "duplicate of +14155550199"),
        (8, "+1 900 555 0100", "premium-rate number"),
        (9, "415 555 0177", "duplicate of +14155550177"),
    ]
    assert [(c.phone, c.name, c.dnc_flagged) for c in campaign.contacts()] == [
        ("+14155550177", None, True), ("+14155550100", "First", False),
        ("+14155550199", "Listed", True)]


def test_a_second_upload_skips_numbers_already_in_the_campaign_and_keeps_the_first_contact(
        campaign: Campaign, tmp_path: Path) -> None:
    first = campaign.import_file(write(tmp_path / "first.csv",
                                       "phone,name\n4155550100,Ana\n4155550101,Bob\n"))
    second = campaign.import_file(write(tmp_path / "second.csv", (
        "phone,name\n+1 415-555-0101,Bob the second\n4155550102,Carl\n"
        "4155550102,Carl again\n(415) 555-0100,Ana again\n")))

    assert counts(first) == (2, 2, 0, 0, 0)
    assert counts(second) == (4, 1, 0, 3, 0)
    assert [row for row, _, _ in errors(second)] == [2, 4, 5]
    assert [(c.position, c.phone, c.name) for c in campaign.contacts()] == [
        (0, "+14155550100", "Ana"), (1, "+14155550101", "Bob"), (2, "+14155550102", "Carl")]
    # The same numbers in another campaign are not duplicates.
    other = campaign.another("Autumn")
    assert counts(other.import_file(tmp_path / "second.csv")) == (4, 3, 0, 1, 0)


def test_a_flagged_contact_carries_the_flag_and_is_still_blocked_when_claimed(
        campaign: Campaign, tmp_path: Path) -> None:
    store = campaign.store
    store.dnc.add(campaign.account_id, ["+14155550101"], NOW, source="complaint")
    path = write(tmp_path / "people.csv", "phone,name\n4155550101,Listed\n4155550102,Free\n")

    report = campaign.import_file(path)

    assert counts(report) == (2, 2, 0, 0, 1)
    assert [(c.phone, c.dnc_flagged) for c in campaign.contacts()] == [
        ("+14155550101", True), ("+14155550102", False)]
    with store.engine.begin() as conn:
        first = store.dialing.claim(conn, campaign.campaign_id, campaign.account_id, NOW,
                                    NOW + 30, retry=False)
        second = store.dialing.claim(conn, campaign.campaign_id, campaign.account_id, NOW,
                                     NOW + 30, retry=False)
    assert first is not None and (first.phone, first.blocked) == ("+14155550101", True)
    assert second is not None and (second.phone, second.blocked) == ("+14155550102", False)


def test_the_row_errors_download_as_csv_with_formula_cells_escaped(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", (
        "phone,name\n"
        '=HYPERLINK("http://evil.example"),A\n'
        "@SUM(A1:A9),B\n"
        "+1 555,C\n"
        "+1555,D\n"
        "-2+3,E\n"
        "4155550100,F\n"))

    report = campaign.import_file(path)

    assert counts(report) == (6, 1, 5, 0, 0)
    assert [value for _, value, _ in errors(report)] == [
        '=HYPERLINK("http://evil.example")', "@SUM(A1:A9)", "+1 555", "+1555", "-2+3"]
    assert list(csv.reader(io.StringIO(report.errors_csv()))) == [
        ["row", "value", "reason"],
        ["2", '\'=HYPERLINK("http://evil.example")', "not a phone number"],
        ["3", "'@SUM(A1:A9)", "not a phone number"],
        ["4", "'+1 555", "not a valid number"],
        ["5", "+1555", "not a valid number"],  # a plain number: no spreadsheet runs it
        ["6", "'-2+3", "not a phone number"],
    ]


# -- bad input: refused whole ----------------------------------------------------------------


@pytest.fixture
def seeded(campaign: Campaign, tmp_path: Path) -> Campaign:
    """The campaign with two contacts already, so that "nothing written" means something."""
    campaign.import_file(write(tmp_path / "seed.csv", PEOPLE))
    return campaign


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"], ids=["no bytes", "blank lines"])
def test_an_empty_file_is_refused_as_empty_and_nothing_is_written(
        seeded: Campaign, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)

    message = seeded.refuse(path)

    assert message == f"{path}: is empty: a header row naming the columns is required"


@pytest.mark.parametrize("content", ["phone,name\n", "phone,name\n\n\n", "phone,name"],
                         ids=["header line", "header and blank lines", "header, no newline"])
def test_a_file_with_only_a_header_is_refused_and_nothing_is_written(
        seeded: Campaign, tmp_path: Path, content: str) -> None:
    message = seeded.refuse(write(tmp_path / "header.csv", content))

    assert "has a header but no rows" in message


def test_a_file_without_a_phone_column_is_refused_naming_the_names_it_accepts(
        seeded: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", "name,email,cell\nAna,ana@example.com,4155550100\n")

    message = seeded.refuse(path)

    assert message.startswith(f"{path}: has no phone column")
    for name in PHONE_HEADERS:
        assert name in message
    assert "found: name, email, cell" in message


@pytest.mark.parametrize(("content", "says"), [
    (b"phone,name\n4155550100,A\x00na\n", "is not a text file (CSV expected)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is an image, not a CSV file"),
    (b"PK\x03\x04\x14\x00\x06\x00phone,name\n", "is a ZIP or Excel (.xlsx) file"),
], ids=["NUL bytes", "PNG", "ZIP"])
def test_a_binary_file_is_refused_as_not_a_csv_and_nothing_is_written(
        seeded: Campaign, tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)

    message = seeded.refuse(path)

    assert message.startswith(f"{path}: {says}")


def test_a_two_gigabyte_file_is_refused_at_once_as_not_text_without_being_read(
        seeded: Campaign, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:  # sparse: a CSV start, then 2 GiB of NUL bytes on no disk
        f.write(b"phone,name\n4155550100,Ana\n")
        f.truncate(2 * 1024**3)

    began = time.perf_counter()
    message = seeded.refuse(path)
    elapsed = time.perf_counter() - began

    path.unlink()
    assert message == f"{path}: is not a text file (CSV expected)"
    assert elapsed < 5, f"took {elapsed:.1f} s: the file was read, not refused at once"


def test_a_header_of_ten_thousand_columns_is_refused_whole(
        seeded: Campaign, tmp_path: Path) -> None:
    header = ",".join(["phone", *(f"c{i}" for i in range(9_999))])
    path = write(tmp_path / "wide.csv", header + "\n4155550100\n")

    message = seeded.refuse(path)

    assert message == f"{path}: has 10,000 columns; at most 500"


def test_unbalanced_quotes_refuse_the_whole_file_naming_the_line_after_a_batch_was_read(
        seeded: Campaign, tmp_path: Path) -> None:
    good = numbers(6_000)  # more than one insert batch is read before the broken line
    path = write(tmp_path / "people.csv", "phone,name\n" + "".join(
        f"{n},Person {i}\n" for i, n in enumerate(good)) + (
        '4155550100,"Never closed\n4155550101,Ana\n4155550102,Bob\n'))

    message = seeded.refuse(path)

    assert message == (f"{path}: line {len(good) + 2}: a quoted field starts here and is never "
                       "closed (unbalanced quotes)")


def test_more_than_200000_rows_are_refused_pointing_to_the_batched_api_and_nothing_is_written(
        seeded: Campaign, tmp_path: Path) -> None:
    distinct = numbers(6_000)  # a full insert batch is written before the cap is reached
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("phone\n")
        f.write("\n".join(distinct) + "\n")
        f.write("4155550100\n" * (MAX_UPLOAD_ROWS + 1 - len(distinct)))

    message = seeded.refuse(path)

    assert "more than 200,000 rows" in message
    assert "batched API import" in message


def test_the_row_cap_counts_data_rows_exactly(campaign: Campaign, tmp_path: Path) -> None:
    three = write(tmp_path / "three.csv", "phone\n4155550100\n4155550101\n\n4155550102\n")
    four = write(tmp_path / "four.csv", "phone\n4155550103\n4155550104\n4155550105\nbad\n")

    assert counts(campaign.import_file(three, max_rows=3)) == (3, 3, 0, 0, 0)
    assert "more than 3 rows" in campaign.refuse(four, max_rows=3)
    assert counts(campaign.import_file(four, max_rows=None)) == (4, 3, 1, 0, 0)


# -- bad input: reported on its row ----------------------------------------------------------


def test_a_row_of_ten_thousand_columns_is_a_row_error_and_the_other_rows_are_imported(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", "phone,name\n4155550100,Ana\n4155550101,"
                 + ",".join(["x"] * 9_999) + "\n4155550102,Carl\n")

    report = campaign.import_file(path)

    assert counts(report) == (3, 2, 1, 0, 0)
    assert [(row, reason) for row, _, reason in errors(report)] == [
        (3, "row has 10,000 cells but the header names 2")]
    assert [c.phone for c in campaign.contacts()] == ["+14155550100", "+14155550102"]


def test_a_one_megabyte_cell_is_a_row_error_and_the_other_rows_are_imported(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", "phone,name,notes\n4155550100,Ana,\n"
                 f'4155550101,Bob,"{"y" * 1_000_000}"\n4155550102,Carl,short\n')

    report = campaign.import_file(path)

    assert counts(report) == (3, 2, 1, 0, 0)
    assert [(row, reason) for row, _, reason in errors(report)] == [
        (3, "row cell 3 is 1,000,000 characters long; at most 10,000")]
    assert campaign.people() == [("+14155550100", "Ana", {}),
                                 ("+14155550102", "Carl", {"notes": "short"})]


def test_cells_that_look_like_formulas_are_stored_verbatim(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", (
        "phone;name;link;total\n"
        '4155550100;+1 call me;=HYPERLINK("http://evil.example","Click");@SUM(A1:A9)\n'
        "4155550101;=cmd|' /C calc'!A0;-2+3;+SUM(1,2)\n"))

    report = campaign.import_file(path)

    assert counts(report) == (2, 2, 0, 0, 0)
    assert campaign.people() == [
        ("+14155550100", "+1 call me",
         {"link": '=HYPERLINK("http://evil.example","Click")', "total": "@SUM(A1:A9)"}),
        ("+14155550101", "=cmd|' /C calc'!A0", {"link": "-2+3", "total": "+SUM(1,2)"}),
    ]


NAMES = ["Zoë 👩🏽‍💻 Ñandú", "שרה כהן", "محمد علي", "\u202eevil\u202c name", "山田 太郎 🇯🇵"]


def test_names_with_emoji_and_right_to_left_text_are_stored_intact(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", "phone,name,note\n" + "".join(
        f"41555501{i:02d},{name},{name[::-1]}\n" for i, name in enumerate(NAMES)))

    report = campaign.import_file(path)

    assert counts(report) == (5, 5, 0, 0, 0)
    assert campaign.people() == [(f"+141555501{i:02d}", name, {"note": name[::-1]})
                                 for i, name in enumerate(NAMES)]


def test_numbers_with_an_extension_are_refused_on_their_row_with_a_reason_naming_it(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", (
        "phone,name\n415-555-0100 x123,Ana\n(415) 555-0101 ext. 4,Bob\n4155550102,Carl\n"))

    report = campaign.import_file(path)

    assert counts(report) == (3, 1, 2, 0, 0)
    assert [(row, value) for row, value, _ in errors(report)] == [
        (2, "415-555-0100 x123"), (3, "(415) 555-0101 ext. 4")]
    assert all("extension" in reason for _, _, reason in errors(report))
    assert [c.phone for c in campaign.contacts()] == ["+14155550102"]


def test_letters_in_a_number_are_read_as_their_keypad_digits(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", "phone,name\n1-800-FLOWERS,Florist\n")

    report = campaign.import_file(path)

    assert counts(report) == (1, 1, 0, 0, 0)
    assert campaign.people() == [("+18003569377", "Florist", {})]


def test_the_same_number_in_four_formats_is_imported_once_and_three_times_a_duplicate(
        campaign: Campaign, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", (
        "phone,name\n(415) 555-0100,One\n+1 415 555 0100,Two\n415.555.0100,Three\n"
        "1-415-555-0100,Four\n"))

    report = campaign.import_file(path)

    assert counts(report) == (4, 1, 0, 3, 0)
    assert errors(report) == [
        (3, "+1 415 555 0100", "duplicate of +14155550100"),
        (4, "415.555.0100", "duplicate of +14155550100"),
        (5, "1-415-555-0100", "duplicate of +14155550100"),
    ]
    assert campaign.people() == [("+14155550100", "One", {})]


def test_row_errors_of_every_kind_never_stop_the_rows_after_them(
        campaign: Campaign, tmp_path: Path) -> None:
    campaign.store.dnc.add(campaign.account_id, ["+14155550104"], NOW)
    path = write(tmp_path / "people.csv", "phone,name\n" + "\n".join([
        "4155550100,Ana",  # 2
        ",No number",  # 3: empty phone
        "4155550101," + ",".join(["x"] * 50),  # 4: too many cells
        "4155550102,Bob",  # 5
        "4155550103," + "z" * 20_000,  # 6: a cell too long
        "1-900-555-0100,Premium",  # 7
        "4155550104,Listed",  # 8: flagged, imported
        "555,Short",  # 9
        "=1+1,Formula",  # 10
        "4155550100,Again",  # 11: duplicate
        "4155550105,Eve",  # 12
    ]) + "\n")

    report = campaign.import_file(path)

    assert counts(report) == (11, 4, 6, 1, 1)
    assert [row for row, _, _ in errors(report)] == [3, 4, 6, 7, 9, 10, 11]
    assert [c.name for c in campaign.contacts()] == ["Ana", "Bob", "Listed", "Eve"]


def test_a_name_longer_than_the_store_keeps_is_a_row_error_not_a_failed_upload(
        campaign: Campaign, tmp_path: Path, store_url: str,
        request: pytest.FixtureRequest) -> None:
    long_name = "N" * 300
    path = write(tmp_path / "people.csv",
                 f"phone,name\n4155550100,{long_name}\n4155550101,Bob\n")

    report = campaign.import_file(path)

    assert report.rows == 2
    assert "+14155550101" in [c.phone for c in campaign.contacts()]
    if report.invalid:
        assert counts(report) == (2, 1, 1, 0, 0)
        assert "name" in report.errors[0].reason
    else:
        assert campaign.people()[0] == ("+14155550100", long_name, {})
