"""Bad input on the command line: exit status 2, one line naming the field (or the file and
line) and what is allowed, no traceback, and not one row written anywhere in the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_support import GOOD_SCENARIO, Outbound, one_line

EditScenario = Callable[[str, str], Path]


def line_of(text: str) -> int:
    """The line number of `text` in GOOD_SCENARIO."""
    return next(n for n, line in enumerate(GOOD_SCENARIO.splitlines(), 1) if text in line)


# (old text, new text, fragments the one line must hold): each breaks GOOD_SCENARIO once.
BROKEN_SCENARIOS = {
    "pacing above 20": ("pacing = 5", "pacing = 25", ["campaign.pacing", "1 to 20", "25"]),
    "pacing below 1": ("pacing = 5", "pacing = 0.5", ["campaign.pacing", "1 to 20"]),
    "concurrency above 50": ("concurrency = 10", "concurrency = 51",
                             ["campaign.concurrency", "1 to 50"]),
    "attempts above 5": ("attempts = 2", "attempts = 6", ["campaign.attempts", "1 to 5"]),
    "an unknown campaign key": ("recording = true", 'recording = true\ncolour = "red"',
                                ["campaign.colour", "unknown", "pacing"]),
    "an unknown top-level key": ("seed = 3", "seed = 3\nspeed = 9",
                                 ["speed", "unknown", "campaign"]),
    "an unknown network key": ("talk_seconds = [5, 20]", "talk_seconds = [5, 20]\njitter = 1",
                               ["network.jitter", "unknown", "ring_seconds"]),
    "a malformed number in the pool": ('"+14155550101"]', '"+1415555"]',
                                       ["campaign.numbers[1]", "+1415555", "number"]),
    "a number pool entry that is not a number": ('"+14155550101"]', '"call me maybe"]',
                                                 ["campaign.numbers[1]", "call me maybe"]),
    "a malformed start time": ('start = "2026-03-02T08:55:00-05:00"',
                               'start = "next monday at nine"',
                               ["campaign.start", "ISO-8601", "next monday at nine"]),
    "a start time without a UTC offset": ('start = "2026-03-02T08:55:00-05:00"',
                                          'start = "2026-03-02T08:55:00"',
                                          ["campaign.start", "offset"]),
    "an unknown time zone": ('timezone = "America/New_York"', 'timezone = "America/Gotham"',
                             ["business_hours.timezone", "IANA", "America/Gotham"]),
    "a malformed opening time": ('open = "09:00"', 'open = "9am"',
                                 ["business_hours.open", "HH:MM"]),
    "an unknown dial mode": ('dial_mode = "customer-first"', 'dial_mode = "robocall"',
                             ["campaign.dial_mode", "customer-first", "agent-first"]),
    "a missing contacts file": ('file = "contacts.csv"', 'file = "no-such-list.csv"',
                                ["contacts.file", "no-such-list.csv"]),
    "a missing DNC file": ('file = "dnc.txt"', 'file = "no-such-dnc.txt"',
                           ["dnc.file", "no-such-dnc.txt"]),
    "a TOML syntax error": ("pacing = 5", "pacing = = 5",
                            ["edited.toml", f"line {line_of('pacing = 5')}", "TOML"]),
}


@pytest.mark.parametrize(("old", "new", "fragments"), list(BROKEN_SCENARIOS.values()),
                         ids=list(BROKEN_SCENARIOS))
def test_loading_a_broken_scenario_exits_2_naming_the_field_and_writes_nothing(
    acme: Outbound, edited_scenario: EditScenario, old: str, new: str,
    fragments: list[str],
) -> None:
    before = acme.snapshot()

    done = acme.run("campaigns", "load", edited_scenario(old, new), "--account", "Acme")

    assert done.returncode == 2
    line = one_line(done.stderr)
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} is not in: {line}"
    assert done.stdout == ""
    assert acme.snapshot() == before


def test_a_scenario_file_that_does_not_exist_is_named_in_one_line(
    acme: Outbound, tmp_path: Path
) -> None:
    before = acme.snapshot()
    missing = tmp_path / "nowhere.toml"

    done = acme.run("campaigns", "load", missing, "--account", "Acme")

    assert done.returncode == 2
    assert "nowhere.toml" in one_line(done.stderr)
    assert acme.snapshot() == before


def test_loading_into_an_unknown_account_exits_2_and_writes_nothing(
    acme: Outbound, scenario_dir: Path
) -> None:
    before = acme.snapshot()

    done = acme.run("campaigns", "load", scenario_dir / "scenario.toml",
                    "--account", "Initech")

    assert done.returncode == 2
    assert "Initech" in one_line(done.stderr)
    assert acme.snapshot() == before


BAD_CREATE_OPTIONS = {
    "pacing 0": (["--pacing", "0"], ["pacing", "1 to 20"]),
    "pacing 21": (["--pacing", "21"], ["pacing", "1 to 20"]),
    "concurrency 0": (["--concurrency", "0"], ["concurrency", "1 to 50"]),
    "attempts 9": (["--attempts", "9"], ["attempts", "1 to 5"]),
    "a negative backoff": (["--backoff-seconds", "-5"], ["backoff_seconds"]),
    "an unknown rotation": (["--rotation", "sideways"], ["rotation", "round-robin", "sticky"]),
    "an unknown dial mode": (["--dial-mode", "robocall"], ["dial_mode", "agent-first"]),
    "an unknown transfer kind": (["--transfer", "queue=Sales"],
                                 ["transfer", "department", "voice_menu"]),
    "a malformed number": (["--numbers", "+14155550100,555"], ["numbers[1]", "555"]),
    "a number twice in the pool": (["--numbers", "+14155550100,(415) 555-0100"],
                                   ["numbers[1]", "+14155550100"]),
}


@pytest.mark.parametrize(("options", "fragments"), list(BAD_CREATE_OPTIONS.values()),
                         ids=list(BAD_CREATE_OPTIONS))
def test_creating_a_campaign_with_a_bad_setting_exits_2_naming_it_and_writes_nothing(
    acme: Outbound, options: list[str], fragments: list[str]
) -> None:
    before = acme.snapshot()

    done = acme.run("campaigns", "create", "Acme", "--name", "Renewals", *options)

    assert done.returncode == 2
    line = one_line(done.stderr)
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} is not in: {line}"
    assert done.stdout == ""
    assert acme.snapshot() == before


@pytest.mark.parametrize(("options", "fragments"), [
    (["--timezone", "Mars/Olympus_Mons"], ["timezone", "IANA", "Mars/Olympus_Mons"]),
    (["--region", "USA"], ["region", "two-letter"]),
], ids=["an unknown time zone", "a three-letter region"])
def test_creating_an_account_with_a_bad_setting_exits_2_naming_it_and_writes_nothing(
    acme: Outbound, options: list[str], fragments: list[str]
) -> None:
    before = acme.snapshot()

    done = acme.run("admin", "create-account", "Globex", *options)

    assert done.returncode == 2
    line = one_line(done.stderr)
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} is not in: {line}"
    assert acme.snapshot() == before


# -- refusals that come after the scenario parsed: still nothing may be written -----------


def test_a_contacts_file_without_a_phone_column_is_refused_and_nothing_is_written(
    acme: Outbound, scenario_dir: Path
) -> None:
    (scenario_dir / "contacts.csv").write_text("name,email\nBob,bob@example.com\n",
                                               encoding="utf-8")
    before = acme.snapshot()

    done = acme.run("campaigns", "load", scenario_dir / "scenario.toml",
                    "--account", "Acme")

    assert done.returncode == 2
    assert "phone" in one_line(done.stderr)
    assert acme.snapshot() == before


def test_loading_a_campaign_name_already_taken_is_refused_and_nothing_is_written(
    acme: Outbound, scenario_dir: Path, edited_scenario: EditScenario
) -> None:
    acme.ok("campaigns", "load", scenario_dir / "scenario.toml", "--account", "Acme")
    before = acme.snapshot()
    # Same campaign name, but another department and another DNC list.
    other = edited_scenario('name = "Sales"', 'name = "Support"')
    (scenario_dir / "dnc.txt").write_text("+12125550123\n", encoding="utf-8")

    done = acme.run("campaigns", "load", other, "--account", "Acme")

    assert done.returncode == 2
    assert "Spring lead-qual" in one_line(done.stderr)
    assert acme.snapshot() == before


def test_creating_a_campaign_name_already_taken_is_refused_and_nothing_is_written(
    acme: Outbound
) -> None:
    acme.ok("campaigns", "create", "Acme", "--name", "Renewals")
    before = acme.snapshot()

    done = acme.run("campaigns", "create", "Acme", "--name", "Renewals",
                    "--numbers", "+14155550100")

    assert done.returncode == 2
    assert "Renewals" in one_line(done.stderr)
    assert acme.snapshot() == before


def test_loading_a_scenario_without_numbers_is_refused_unless_it_stays_a_draft(
    acme: Outbound, edited_scenario: EditScenario
) -> None:
    before = acme.snapshot()
    no_pool = edited_scenario('numbers = ["+14155550100", "+14155550101"]\n', "")

    scheduled = acme.run("campaigns", "load", no_pool, "--account", "Acme")

    assert scheduled.returncode == 2
    assert "numbers" in one_line(scheduled.stderr)
    assert acme.snapshot() == before
    draft = acme.ok("campaigns", "load", no_pool, "--account", "Acme", "--draft")
    assert acme.json("campaigns", "show", draft.strip())["status"] == "draft"


@pytest.mark.parametrize(("options", "fragments"), [
    (["--pacing", "25"], ["pacing", "1 to 20"]),
    (["--concurrency", "60"], ["concurrency", "1 to 50"]),
], ids=["pacing 25", "concurrency 60"])
def test_changing_a_campaign_to_a_bad_setting_exits_2_naming_it_and_writes_nothing(
    acme: Outbound, options: list[str], fragments: list[str]
) -> None:
    acme.ok("campaigns", "create", "Acme", "--name", "Renewals")
    before = acme.snapshot()

    done = acme.run("campaigns", "set", "Renewals", *options)

    assert done.returncode == 2
    line = one_line(done.stderr)
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} is not in: {line}"
    assert acme.snapshot() == before
