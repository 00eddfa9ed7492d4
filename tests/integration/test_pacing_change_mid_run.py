"""A pacing change made while a campaign runs takes effect on the next tick: dial starts keep
the old spacing before it and the new spacing after it (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from scenario_runs import Run, most_in_window, posix, run_scenario, small_scenario

from outbound.domain.pacer import interval

CHANGE = "2026-03-02T09:00:30-05:00"
OLD_RATE, NEW_RATE = 2.0, 5.0


@pytest.fixture(scope="module")
def run(store_kind: str, empty_store: Any, scenario_files: Any,
        tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("pacing")
    scenario = small_scenario(
        # Demand well above either rate, and room in concurrency and agents, so pacing alone
        # sets the rhythm.
        campaign={"pacing": OLD_RATE, "concurrency": 50, "backoff_seconds": 600},
        contacts={"generate": 300},
        departments=[{"name": "Sales", "agents": 50, "handle_seconds": [2, 5]}],
        network={"ring_seconds": [1, 3], "talk_seconds": [2, 5]},
        events=[{"at": CHANGE, "action": "set_pacing", "pacing": NEW_RATE}],
    )
    url = empty_store(store_kind, directory)
    return run_scenario(scenario_files(directory, scenario), directory / "out", url)


def starts(run: Run, low: float, high: float) -> list[float]:
    return sorted(a.started_at for a in run.attempts if low <= a.started_at < high)


def test_dials_before_the_change_keep_the_old_spacing(run: Run) -> None:
    change = posix(CHANGE)
    before = starts(run, float("-inf"), change)
    gaps = [b - a for a, b in itertools.pairwise(before)]
    assert min(gaps) >= interval(OLD_RATE)
    # Under demand the old rate is used in full: 2 dials a second.
    assert len(starts(run, change - 10, change)) == 20
    assert most_in_window(before, 1.0) == 2


def test_dials_after_the_change_follow_the_new_rate(run: Run) -> None:
    change = posix(CHANGE)
    after = starts(run, change, float("inf"))
    gaps = [b - a for a, b in itertools.pairwise(after)]
    assert min(gaps) >= interval(NEW_RATE)
    # The new rate holds from the next tick on: 5 dials a second, not 2.
    assert after[0] - change <= interval(OLD_RATE)
    assert len(starts(run, change + 1, change + 11)) == 50
    assert most_in_window(after, 1.0) == 5


def test_the_change_is_recorded_and_kept_in_the_campaign_settings(run: Run) -> None:
    change = posix(CHANGE)
    changes = [e for e in run.events if e.kind == "settings_changed"]
    assert [(e.at, e.detail) for e in changes] == [(change, {"pacing": NEW_RATE})]
    assert run.campaign.settings["pacing"] == NEW_RATE
    assert run.campaign.status == "completed"
