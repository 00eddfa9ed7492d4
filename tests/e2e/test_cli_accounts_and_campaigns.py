"""`outbound admin` and `outbound campaigns` as a user types them, against a private store."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from e2e_support import GOOD_CONTACTS, Outbound, one_line

SCENARIO_START = datetime.fromisoformat("2026-03-02T08:55:00-05:00").timestamp()
AN_ID = re.compile(r"\d+\n")


# -- accounts ----------------------------------------------------------------------------


def test_create_account_prints_the_new_id_alone_on_stdout(outbound: Outbound) -> None:
    first = outbound.ok("admin", "create-account", "Acme", "--timezone", "America/New_York",
                        "--region", "US")
    second = outbound.ok("admin", "create-account", "Globex")

    assert AN_ID.fullmatch(first) and AN_ID.fullmatch(second)
    assert int(first) != int(second)
    row = outbound.query("SELECT name, timezone, region FROM accounts WHERE id = ?",
                         (int(first),))[0]
    assert tuple(row) == ("Acme", "America/New_York", "US")


def test_create_account_with_json_prints_the_whole_account(outbound: Outbound) -> None:
    account = json.loads(outbound.ok("admin", "create-account", "Acme", "--timezone",
                                     "America/New_York", "--region", "US", "--json"))

    assert account["name"] == "Acme"
    assert account["timezone"] == "America/New_York"
    assert account["region"] == "US"
    assert isinstance(account["id"], int)
    assert account["id"] == outbound.scalar("SELECT id FROM accounts WHERE name = 'Acme'")
    assert account["business_hours"]["timezone"] == "America/New_York"


def test_an_account_name_already_taken_is_refused_in_one_line(acme: Outbound) -> None:
    done = acme.run("admin", "create-account", "Acme")

    assert done.returncode == 2
    assert "name" in one_line(done.stderr)
    assert acme.scalar("SELECT count(*) FROM accounts") == 1


# -- campaigns load ----------------------------------------------------------------------


def test_loading_a_scenario_prints_the_campaign_id_and_schedules_it_at_its_start(
    outbound: Outbound, scenario_dir: Path
) -> None:
    outbound.ok("admin", "create-account", "Acme", "--timezone", "America/New_York")

    stdout = outbound.ok("campaigns", "load", scenario_dir / "scenario.toml",
                         "--account", "Acme")

    assert AN_ID.fullmatch(stdout)
    campaign = outbound.json("campaigns", "show", stdout.strip())
    assert campaign["name"] == "Spring lead-qual"
    assert campaign["status"] == "scheduled"
    assert campaign["start"] == SCENARIO_START
    assert outbound.scalar("SELECT start_at FROM campaigns WHERE id = ?",
                           (int(stdout),)) == SCENARIO_START
    assert sum(campaign["contacts"].values()) == GOOD_CONTACTS
    assert campaign["contacts"]["pending"] == GOOD_CONTACTS


def test_loading_a_scenario_creates_its_numbers_people_menus_contacts_and_dnc_entries(
    acme: Outbound, scenario_dir: Path
) -> None:
    campaign_id = int(acme.ok("campaigns", "load", scenario_dir / "scenario.toml",
                              "--account", "Acme"))

    numbers = {r[0] for r in acme.query("SELECT e164 FROM phone_numbers")}
    assert numbers == {"+14155550100", "+14155550101"}
    agents = acme.query(
        "SELECT agents.name FROM agents JOIN departments ON departments.id = department_id "
        "WHERE departments.name = 'Sales' ORDER BY agents.id")
    assert [a[0] for a in agents] == [f"Sales-{n}" for n in range(1, 6)]
    assert acme.scalar("SELECT count(*) FROM voice_menus WHERE name = 'confirm'") == 1
    assert {r[0] for r in acme.query("SELECT phone FROM dnc")} == {
        "+14155552003", "+14155552007", "+12125550199"}
    # National numbers became E.164, custom columns were kept, DNC matches were flagged.
    first = acme.query("SELECT phone, name, fields FROM contacts WHERE campaign_id = ? "
                       "ORDER BY position LIMIT 1", (campaign_id,))[0]
    assert (first["phone"], first["name"]) == ("+14155552000", "Person 0")
    assert json.loads(first["fields"]) == {"segment": "A"}
    flagged = acme.query("SELECT phone FROM contacts WHERE dnc_flagged ORDER BY phone")
    assert [r[0] for r in flagged] == ["+14155552003", "+14155552007"]


def test_loading_with_draft_leaves_the_campaign_a_draft(
    acme: Outbound, scenario_dir: Path
) -> None:
    stdout = acme.ok("campaigns", "load", scenario_dir / "scenario.toml",
                     "--account", "Acme", "--draft")

    assert AN_ID.fullmatch(stdout)
    assert acme.json("campaigns", "show", stdout.strip())["status"] == "draft"


def test_loading_with_json_prints_the_campaign_and_what_was_imported(
    outbound: Outbound, scenario_dir: Path
) -> None:
    account_id = outbound.ok("admin", "create-account", "Acme").strip()

    campaign = outbound.json("campaigns", "load", scenario_dir / "scenario.toml",
                             "--account", account_id)

    assert campaign["id"] == outbound.scalar("SELECT id FROM campaigns")
    assert campaign["account_id"] == int(account_id)
    assert campaign["status"] == "scheduled"
    assert campaign["import"]["imported"] == GOOD_CONTACTS
    assert campaign["import"]["dnc_flagged"] == 2
    assert campaign["dnc_added"] == 3


# -- campaigns create, list, show and the lifecycle verbs ----------------------------------


def test_campaigns_create_prints_the_id_and_stores_the_settings_given(
    acme: Outbound
) -> None:
    stdout = acme.ok("campaigns", "create", "Acme", "--name", "Renewals", "--pacing", "3",
                     "--concurrency", "7", "--attempts", "2", "--backoff-seconds", "900",
                     "--rotation", "sticky", "--numbers", "(415) 555-0100,+14155550101",
                     "--transfer", "department=Sales", "--no-recording")

    assert AN_ID.fullmatch(stdout)
    campaign = acme.json("campaigns", "show", stdout.strip())
    assert campaign["status"] == "draft"
    assert (campaign["name"], campaign["pacing"], campaign["concurrency"]) == (
        "Renewals", 3.0, 7)
    assert (campaign["attempts"], campaign["backoff_seconds"]) == (2, 900.0)
    assert campaign["rotation"] == "sticky"
    assert campaign["numbers"] == ["+14155550100", "+14155550101"]
    assert campaign["transfer"] == {"department": "Sales"}
    assert campaign["recording"] is False


def test_campaigns_create_with_json_prints_the_whole_campaign(outbound: Outbound) -> None:
    account_id = outbound.ok("admin", "create-account", "Acme").strip()

    campaign = outbound.json("campaigns", "create", account_id, "--name", "Renewals",
                             "--pacing", "2.5")

    assert campaign["id"] == outbound.scalar("SELECT id FROM campaigns")
    assert campaign["pacing"] == 2.5
    assert campaign["status"] == "draft"


def test_campaigns_list_shows_each_campaign_with_its_status_and_progress(
    acme: Outbound, scenario_dir: Path
) -> None:
    acme.ok("admin", "create-account", "Globex")
    loaded = int(acme.ok("campaigns", "load", scenario_dir / "scenario.toml",
                         "--account", "Acme"))
    created = int(acme.ok("campaigns", "create", "Globex", "--name", "Renewals"))

    everything = acme.json("campaigns", "list")
    only_globex = acme.json("campaigns", "list", "Globex")
    table = acme.ok("campaigns", "list")

    assert [(c["id"], c["status"], c["contacts"], c["finished"]) for c in everything] == [
        (loaded, "scheduled", GOOD_CONTACTS, 0), (created, "draft", 0, 0)]
    assert [c["id"] for c in only_globex] == [created]
    assert "Spring lead-qual" in table and "Renewals" in table


def test_campaign_verbs_accept_an_id_or_a_unique_name(
    acme: Outbound, scenario_dir: Path
) -> None:
    campaign_id = acme.ok("campaigns", "load", scenario_dir / "scenario.toml",
                          "--account", "Acme", "--draft").strip()
    name = "Spring lead-qual"

    def status() -> str:
        return str(acme.json("campaigns", "show", name)["status"])

    assert "running" in acme.run("campaigns", "start", name).stderr
    assert acme.json("campaigns", "show", campaign_id)["status"] == "running"
    acme.ok("campaigns", "pause", campaign_id)
    assert status() == "paused"
    acme.ok("campaigns", "resume", name)
    assert status() == "running"
    acme.ok("campaigns", "cancel", campaign_id)
    assert status() == "cancelled"
    assert acme.json("campaigns", "list")[0]["status"] == "cancelled"
    kinds = [r[0] for r in acme.query("SELECT kind FROM events ORDER BY id")]
    assert kinds == ["created", "started", "paused", "running", "cancelled"]


def test_campaigns_show_without_json_prints_settings_and_counts(
    acme: Outbound, scenario_dir: Path
) -> None:
    acme.ok("campaigns", "load", scenario_dir / "scenario.toml", "--account", "Acme")

    shown = acme.ok("campaigns", "show", "Spring lead-qual")

    assert "scheduled" in shown
    assert re.search(rf"contacts pending\s*│?\s*{GOOD_CONTACTS}\b", shown), shown


def test_a_lifecycle_action_the_status_does_not_allow_is_refused_in_one_line(
    acme: Outbound
) -> None:
    acme.ok("campaigns", "create", "Acme", "--name", "Renewals")
    acme.ok("campaigns", "cancel", "Renewals")

    done = acme.run("campaigns", "resume", "Renewals")

    assert done.returncode == 2
    assert "cancelled" in one_line(done.stderr)
    assert acme.json("campaigns", "show", "Renewals")["status"] == "cancelled"


def test_an_unknown_campaign_is_refused_in_one_line(acme: Outbound) -> None:
    done = acme.run("campaigns", "start", "Nope")

    assert done.returncode == 2
    assert "Nope" in one_line(done.stderr)


def test_a_campaign_name_used_in_two_accounts_is_refused_as_ambiguous(
    acme: Outbound
) -> None:
    acme.ok("admin", "create-account", "Globex")
    acme.ok("campaigns", "create", "Acme", "--name", "Spring")
    acme.ok("campaigns", "create", "Globex", "--name", "Spring")

    done = acme.run("campaigns", "cancel", "Spring")

    assert done.returncode == 2
    assert "Spring" in one_line(done.stderr)
    statuses = [r[0] for r in acme.query("SELECT status FROM campaigns ORDER BY id")]
    assert statuses == ["draft", "draft"]


# -- what a campaign needs to start ------------------------------------------------------


def test_a_campaign_without_numbers_refuses_to_start_and_says_numbers_are_missing(
    acme: Outbound
) -> None:
    acme.ok("campaigns", "create", "Acme", "--name", "Renewals",
            "--transfer", "voice_menu=confirm")

    done = acme.run("campaigns", "start", "Renewals")

    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "number" in line and "transfer" not in line
    assert acme.json("campaigns", "show", "Renewals")["status"] == "draft"


def test_a_campaign_without_a_transfer_target_refuses_to_start_and_says_so(
    acme: Outbound
) -> None:
    acme.ok("campaigns", "create", "Acme", "--name", "Renewals",
            "--numbers", "+14155550100")

    done = acme.run("campaigns", "start", "Renewals")

    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "transfer" in line and "number" not in line
    assert acme.json("campaigns", "show", "Renewals")["status"] == "draft"


def test_a_campaign_without_either_names_both_when_refusing_to_start(
    acme: Outbound
) -> None:
    acme.ok("campaigns", "create", "Acme", "--name", "Renewals")

    done = acme.run("campaigns", "start", "Renewals")

    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "number" in line and "transfer" in line


def test_a_campaign_whose_transfer_target_does_not_exist_refuses_to_start(
    acme: Outbound
) -> None:
    acme.ok("campaigns", "create", "Acme", "--name", "Renewals",
            "--numbers", "+14155550100", "--transfer", "department=Nobody")

    done = acme.run("campaigns", "start", "Renewals")

    assert done.returncode == 2
    assert "Nobody" in one_line(done.stderr)
    assert acme.json("campaigns", "show", "Renewals")["status"] == "draft"


def test_campaigns_set_changes_pacing_and_concurrency_of_a_campaign(
    acme: Outbound
) -> None:
    acme.ok("campaigns", "create", "Acme", "--name", "Renewals")

    acme.ok("campaigns", "set", "Renewals", "--pacing", "7.5", "--concurrency", "12")

    campaign = acme.json("campaigns", "show", "Renewals")
    assert (campaign["pacing"], campaign["concurrency"]) == (7.5, 12)
