"""Pacing against agents (issue 14), through the real engine and store in virtual time.

A predictive campaign whose agents log off mid-campaign slows down and keeps its abandon cap;
a progressive one never abandons while its agents stay; the same list at a fixed pace does;
and the limit that binds (`campaigns.limited_by`) names each one in turn as a day's script
walks the campaign through them.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scenario_runs import (
    MONDAY_OPEN,
    Run,
    overlapping,
    posix,
    small_scenario,
    snapshot,
)

from outbound.bootstrap import build_simulation
from outbound.scenario import load_scenario

pytestmark = pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"], indirect=True)

START = posix(MONDAY_OPEN)
MINUTE = 60.0


def at(minutes: float) -> str:
    """An ISO time `minutes` after Monday's opening (New York)."""
    return datetime.fromtimestamp(START + minutes * MINUTE, UTC).isoformat()


def run_sampled(path: Path, out: Path, url: str, every: float = 2.0
                ) -> tuple[Run, list[tuple[float, str | None]]]:
    """Simulate, reading the campaign's `limited_by` from the store every `every` seconds
    for the first hour, then every minute."""
    simulation = build_simulation(load_scenario(path), out, store_url=url)
    samples: list[tuple[float, str | None]] = []
    clock, store, cid = simulation.clock, simulation.store, simulation.campaign_id

    def sample() -> None:
        samples.append((clock.now(), store.campaigns.get(cid).limited_by))
        if not store.campaigns.status(cid).terminal:
            later = every if clock.now() < START + 60 * MINUTE else MINUTE
            clock.call_at(clock.now() + later, sample)

    clock.call_at(START + every, sample)
    try:
        return snapshot(store, simulation.run(), url, out), samples
    finally:
        store.close()


def most_common(samples: list[tuple[float, str | None]], start: float, end: float
                ) -> tuple[str | None, float]:
    """The limit most often seen between `start` and `end` minutes, and its share."""
    seen = Counter(limit for t, limit in samples
                   if START + start * MINUTE <= t < START + end * MINUTE)
    limit, count = seen.most_common(1)[0]
    return limit, count / sum(seen.values())


def abandon_rate(run: Run) -> float:
    answered = [a for a in run.attempts if a.answered_at is not None]
    return sum(a.outcome == "abandoned" for a in answered) / len(answered)


def dials_per_minute(run: Run, start: float, end: float) -> float:
    lo, hi = START + start * MINUTE, START + end * MINUTE
    return sum(lo <= a.started_at < hi for a in run.attempts) / (end - start)


def busy_agent_overlaps(run: Run) -> list[Any]:
    spans: dict[str, list[tuple[float, float, int]]] = {}
    for a in run.attempts:
        if a.agent and a.bridged_at is not None:
            spans.setdefault(a.agent, []).append((a.bridged_at, a.ended_at, a.id))
    return [pair for agent_spans in spans.values() for pair in overlapping(agent_spans)]


@pytest.fixture
def simulate(store_kind: str, empty_store: Any, scenario_files: Any, tmp_path: Path) -> Any:
    def go(scenario: dict[str, Any]) -> tuple[Run, list[tuple[float, str | None]]]:
        directory = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
        directory.mkdir()
        url = empty_store(store_kind, directory)
        path = scenario_files(directory, scenario)
        return run_sampled(path, directory / "out", url)
    return go


NETWORK = {"answer": 0.35, "busy": 0.1, "no_answer": 0.4, "invalid": 0.05, "rejected": 0.05,
           "provider_error": 0.05, "ring_seconds": [3, 15], "talk_seconds": [20, 60]}


def staffed(dialing: str, contacts: int, agents: int = 12, **campaign: Any) -> dict[str, Any]:
    return small_scenario(
        campaign={"dialing": dialing, "pacing": 10, "concurrency": 50, "attempts": 1,
                  **campaign},
        contacts={"generate": contacts},
        departments=[{"name": "Sales", "agents": agents, "handle_seconds": [20, 60]}],
        network=NETWORK,
    )


def test_a_predictive_campaign_slows_when_agents_log_off_and_keeps_its_cap(
        simulate: Any) -> None:
    scenario = staffed("predictive", 2500)
    scenario["events"] = [{"at": at(15), "action": "set_agents", "department": "Sales",
                           "available": 3},
                          {"at": at(30), "action": "set_agents", "department": "Sales",
                           "available": 12}]
    run, samples = simulate(scenario)
    assert run.campaign.status == "completed"
    assert abandon_rate(run) <= 0.03, abandon_rate(run)
    staffed_pace = dials_per_minute(run, 5, 15)
    thin_pace = dials_per_minute(run, 17, 30)  # two minutes for the calls out to land
    assert thin_pace < 0.4 * staffed_pace, (thin_pace, staffed_pace)
    assert dials_per_minute(run, 35, 45) > 2 * thin_pace
    limit, share = most_common(samples, 17, 30)
    assert limit in ("agents", "abandon_cap") and share > 0.6, (limit, share)
    assert not busy_agent_overlaps(run)


def test_progressive_never_abandons_while_its_agents_stay_and_fixed_pace_does(
        simulate: Any) -> None:
    progressive, _ = simulate(staffed("progressive", 600, agents=4))
    assert progressive.campaign.status == "completed"
    assert sum(a.answered_at is not None for a in progressive.attempts) >= 100
    assert [a.id for a in progressive.attempts if a.outcome == "abandoned"] == []
    fixed, samples = simulate(staffed("fixed", 600, agents=4))
    assert abandon_rate(fixed) > 0.2
    assert {limit for _, limit in samples} <= {"pacing", "concurrency", "nothing_due", None}


def test_limited_by_names_each_binding_limit_in_turn(simulate: Any) -> None:
    scenario = small_scenario(
        campaign={"dialing": "predictive", "pacing": 1, "concurrency": 8, "attempts": 2,
                  "backoff_seconds": 600, "abandon_target": 0.0},
        contacts={"generate": 1000},
        departments=[{"name": "Sales", "agents": 20, "handle_seconds": [2, 5]}],
        network={**NETWORK, "ring_seconds": [1, 3], "talk_seconds": [2, 5]},
        business_hours={"timezone": "America/New_York",
                        "days": ["mon", "tue", "wed", "thu", "fri"],
                        "open": "09:00", "close": "09:12"},
    )
    staff = {"action": "set_agents", "department": "Sales"}
    scenario["events"] = [
        {**staff, "at": at(0), "available": 1},  # warm-up, one agent: agents bind
        {**staff, "at": at(2), "available": 20},  # agents to spare at 1 call/s: pacing
        {"at": at(6), "action": "set_pacing", "pacing": 20},  # 8 calls out: concurrency
        {**staff, "at": at(9), "available": 1},  # warmed up, no abandon allowed: the cap
    ]
    run, samples = simulate(scenario)
    expected = [(0.5, 2, "agents"), (2.5, 6, "pacing"), (6.5, 9, "concurrency"),
                (9.5, 12, "abandon_cap"), (13, 23 * 60, "business_hours")]
    for start, end, limit in expected:
        seen, share = most_common(samples, start, end)
        assert (seen, share > 0.7) == (limit, True), (start, end, seen, share, Counter(
            v for t, v in samples if START + start * MINUTE <= t < START + end * MINUTE))
    assert "nothing_due" in {limit for _, limit in samples}
    assert run.campaign.status == "completed"
    assert run.campaign.limited_by is None
    # With no abandon allowed and warmed up, the campaign dials no call beyond its agents
    # (once the calls placed before the agents left have ended).
    assert [a.id for a in run.attempts
            if a.outcome == "abandoned" and a.started_at > START + 10 * MINUTE] == []


def test_limited_by_names_the_carrier_when_its_calls_per_second_bind(simulate: Any) -> None:
    scenario = staffed("predictive", 300, agents=40, pacing=5)
    scenario["carrier"] = {"calls_per_second": 1}
    run, samples = simulate(scenario)
    limit, share = most_common(samples, 1, 4)
    assert (limit, share > 0.7) == ("carrier", True), (limit, share)
    assert run.campaign.status == "completed"
