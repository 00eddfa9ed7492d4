"""Caller-ID rotation as a run sees it: sticky keeps a contact's first number for all its
attempts, even across a crash; random draws only from the pool and, for one seed, the same way
every time (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from scenario_runs import POOL, Run, run_scenario, small_scenario

RETRY_HEAVY = {"answer": 0.2, "busy": 0.2, "no_answer": 0.6, "invalid": 0.0, "rejected": 0.0,
               "provider_error": 0.0}


def run(store_kind: str, empty_store: Any, scenario_files: Any, directory: Path,
        scenario: dict[str, Any]) -> Run:
    url = empty_store(store_kind, directory)
    return run_scenario(scenario_files(directory, scenario), directory / "out", url)


def test_sticky_rotation_keeps_each_contacts_first_number_for_every_attempt(
        store_kind: str, empty_store: Any, scenario_files: Any, tmp_path: Path) -> None:
    scenario = small_scenario(
        campaign={"rotation": "sticky", "attempts": 3}, contacts={"generate": 60},
        network=RETRY_HEAVY,
        events=[{"at": "2026-03-02T09:00:40-05:00", "action": "crash"}])
    result = run(store_kind, empty_store, scenario_files, tmp_path, scenario)
    numbers: dict[int, set[str]] = defaultdict(set)
    for attempt in result.attempts:
        numbers[attempt.contact_id].add(attempt.caller_id)
    assert all(len(n) == 1 for n in numbers.values()), numbers
    stored = {c.id: c.caller_id for c in result.contacts}
    assert all(stored[k] == next(iter(v)) for k, v in numbers.items())
    assert sum(1 for a in result.attempts if a.attempt > 1) > 30
    # First attempts still take the numbers in turn.
    firsts = Counter(a.caller_id for a in result.attempts if a.attempt == 1)
    assert sorted(firsts) == sorted(POOL)
    assert max(firsts.values()) - min(firsts.values()) <= 1


def test_random_rotation_draws_from_the_pool_the_same_way_for_the_same_seed(
        store_kind: str, empty_store: Any, scenario_files: Any, tmp_path: Path) -> None:
    scenario = small_scenario(campaign={"rotation": "random"}, contacts={"generate": 60},
                              network=RETRY_HEAVY)
    first = run(store_kind, empty_store, scenario_files, tmp_path / "first", scenario)
    second = run(store_kind, empty_store, scenario_files, tmp_path / "second", scenario)
    picks = [a.caller_id for a in first.attempts]
    assert set(picks) == set(POOL)
    assert picks == [a.caller_id for a in second.attempts]
    # Not round-robin in disguise: somewhere the same number comes twice in a row.
    assert any(a == b for a, b in itertools.pairwise(picks))
