"""The pacing settings of issue 14 through `outbound campaigns create/set`, and "why is it
not dialing?" in `outbound campaigns show`.

No worker runs here, so what an engine would write as the campaign's binding limit is written
the way it writes it (`CampaignsRepo.set_limits`), and the command must show each one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import Outbound, one_line

from outbound.domain.governor import Limit
from outbound.store import Store


@pytest.fixture
def store_beside(acme: Outbound) -> Iterator[Store]:
    """The command's SQLite store, opened as a worker would open it."""
    store = Store.open(f"sqlite:///{acme.db_path}")
    try:
        yield store
    finally:
        store.close()


def test_campaigns_create_and_set_store_the_dialing_and_abandon_settings(acme: Outbound) -> None:
    created = acme.json("campaigns", "create", "Acme", "--name", "Paced",
                        "--dialing", "progressive", "--abandon-target", "2.5",
                        "--abandon-window", "24h", "--abandon-message",
                        "Acme calling; call us back on 415 555 0100.")
    assert (created["dialing"], created["abandon_target"], created["abandon_window"]) == (
        "progressive", 2.5, "24h")
    assert created["abandon_message"] == "Acme calling; call us back on 415 555 0100."

    changed = acme.json("campaigns", "set", str(created["id"]), "--dialing", "fixed",
                        "--abandon-target", "1", "--abandon-window", "30d")

    assert (changed["dialing"], changed["abandon_target"], changed["abandon_window"]) == (
        "fixed", 1.0, "30d")
    assert acme.json("campaigns", "show", str(created["id"]))["dialing"] == "fixed"


@pytest.mark.parametrize(("flag", "value", "field", "says"), [
    ("--abandon-target", "5.5", "abandon_target", "5"),
    ("--abandon-target", "-1", "abandon_target", "0"),
    ("--dialing", "turbo", "dialing", "predictive"),
    ("--abandon-window", "7d", "abandon_window", "30d"),
    ("--abandon-message", "x" * 501, "abandon_message", "500"),
], ids=["target-over-5", "target-negative", "unknown-dialing", "unknown-window",
        "message-too-long"])
def test_an_out_of_range_pacing_setting_is_refused_in_one_line_naming_the_field(
    acme: Outbound, flag: str, value: str, field: str, says: str,
) -> None:
    done = acme.run("campaigns", "create", "Acme", "--name", "Refused", flag, value)

    assert done.returncode == 2
    line = one_line(done.stderr)
    assert field in line and says in line
    assert acme.scalar("SELECT count(*) FROM campaigns") == 0


def test_campaigns_show_says_in_words_what_keeps_a_running_campaign_from_dialing(
    acme: Outbound, scenario_dir: Path, store_beside: Store,
) -> None:
    campaign = acme.ok("campaigns", "load", scenario_dir / "scenario.toml", "--account",
                       "Acme", "--draft").strip()
    acme.ok("campaigns", "start", campaign)
    said = {
        Limit.AGENTS: "Waiting for agents: 5 of 5 free",
        Limit.ABANDON_CAP: "Abandon cap: 0.0% of 3.0% over 30 days",
        Limit.PACING: "Pacing: 5 calls/s",
        Limit.CONCURRENCY: "Concurrency: 0 of 10 calls",
        Limit.BUSINESS_HOURS: "Outside business hours",
        Limit.CARRIER: "Carrier back-off",
        Limit.NOTHING_DUE: "Nothing due",
    }
    for limit, words in said.items():
        store_beside.campaigns.set_limits({int(campaign): limit.value})

        shown = acme.json("campaigns", "show", campaign)
        table = acme.ok("campaigns", "show", campaign)

        assert (shown["limited_by"], shown["limited_by_text"]) == (limit.value, words)
        assert words in table
    assert shown["abandon"] | {"since": None} == {
        "rate": 0.0, "target": 3.0, "window": "30d", "since": None, "answered": 0,
        "abandoned": 0}
    assert shown["agents"] == {"logged_in": 5, "busy": 0, "free": 5, "occupancy": 0.0}
    assert "0.0% of 3.0% over 30 days" in table and "0 of 5 busy" in table

    acme.ok("campaigns", "pause", campaign)
    paused = acme.json("campaigns", "show", campaign)
    assert paused["limited_by"] is None, "a paused campaign is not held by a limit"
