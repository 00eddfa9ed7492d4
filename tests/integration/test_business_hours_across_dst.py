"""Business hours hold across a daylight-saving change.

The campaign, open 09:00–19:00 every day in New York, starts on Saturday 7 March 2026 shortly
before closing time (EST, UTC−5), waits out the night in which the clocks go forward (Sunday
8 March, 02:00) and goes on on Sunday (EDT, UTC−4). 09:00 local is 14:00 UTC on Saturday and
13:00 UTC on Sunday: a window fixed in UTC, or in the wrong offset, dials an hour early or late
on one side. (Every day is open so that the idle stretch is one night, not a whole weekend:
virtual time is cheap, but not free.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from scenario_runs import Run, posix, run_scenario, small_scenario

NEW_YORK = ZoneInfo("America/New_York")
START = "2026-03-07T18:57:00-05:00"  # Saturday, three minutes before closing


def local(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).astimezone(NEW_YORK)


@pytest.fixture(scope="module")
def run(store_kind: str, empty_store: Any, scenario_files: Any,
        tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("dst")
    scenario = small_scenario(
        # One call a second: 180 contacts are dialed on Saturday, the rest on Sunday.
        campaign={"pacing": 1, "start": START, "attempts": 2, "backoff_seconds": 3600},
        business_hours={"timezone": "America/New_York",
                        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                        "open": "09:00", "close": "19:00"},
        contacts={"generate": 300},
    )
    url = empty_store(store_kind, directory)
    return run_scenario(scenario_files(directory, scenario), directory / "out", url)


def test_no_dial_starts_outside_nine_to_seven_local_on_either_side_of_the_change(
        run: Run) -> None:
    for attempt in run.attempts:
        moment = local(attempt.started_at)
        assert 9 <= moment.hour < 19, moment
    days = {local(a.started_at).date().isoformat() for a in run.attempts}
    assert days == {"2026-03-07", "2026-03-08"}


def test_saturday_dials_stop_at_seven_pm_eastern_standard_time(run: Run) -> None:
    saturday = [a.started_at for a in run.attempts if local(a.started_at).day == 7]
    assert min(saturday) == posix(START)
    assert local(max(saturday)).utcoffset() == timedelta(hours=-5)
    assert max(saturday) < posix("2026-03-07T19:00:00-05:00")  # = 00:00 UTC Sunday
    # Pacing was the only limit: dialing went on to the last second before closing.
    assert max(saturday) >= posix("2026-03-07T18:59:59-05:00")


def test_sunday_dials_start_at_nine_am_eastern_daylight_time(run: Run) -> None:
    sunday = [a.started_at for a in run.attempts if local(a.started_at).day == 8]
    first = min(sunday)
    assert local(first).utcoffset() == timedelta(hours=-4)
    # Work was waiting all night, so the first dial comes the moment the window opens:
    # 09:00 EDT, which is 13:00 UTC (14:00 UTC would be 10:00 local).
    assert first == posix("2026-03-08T09:00:00-04:00")
    assert datetime.fromtimestamp(first, UTC).hour == 13


def test_the_campaign_completes_after_the_change(run: Run) -> None:
    assert run.campaign.status == "completed"
    assert local(run.campaign.finished_at).date().isoformat() == "2026-03-08"
