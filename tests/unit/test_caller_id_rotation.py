"""Caller-ID rotation: round-robin with a cursor that survives restarts, seeded random, sticky."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.domain.rotation import Rotation, pick_caller_id

POOL = ("+12025550100", "+12025550101", "+12025550102")


def dial(rotation: Rotation, numbers: tuple[str, ...], count: int, cursor: int = 0,
         seed: int = 7) -> tuple[list[str], int]:
    """Caller IDs for `count` first attempts, and the cursor after them."""
    rng, picked = random.Random(seed), []
    for _ in range(count):
        caller_id, cursor = pick_caller_id(rotation, numbers, cursor, rng, None)
        picked.append(caller_id)
    return picked, cursor


def test_round_robin_takes_each_number_in_turn_and_cycles() -> None:
    picked, cursor = dial(Rotation.ROUND_ROBIN, POOL, 7)

    assert picked == [*POOL, *POOL, POOL[0]]
    assert cursor == 7


def test_round_robin_continues_from_a_saved_cursor_as_after_a_restart() -> None:
    uninterrupted, _ = dial(Rotation.ROUND_ROBIN, POOL, 8)

    before, saved = dial(Rotation.ROUND_ROBIN, POOL, 5, seed=1)
    after, _ = dial(Rotation.ROUND_ROBIN, POOL, 3, cursor=saved, seed=2)

    assert before + after == uninterrupted


def test_round_robin_wraps_a_cursor_beyond_a_shrunken_pool() -> None:
    caller_id, cursor = pick_caller_id(Rotation.ROUND_ROBIN, POOL[:2], 5, random.Random(0), None)

    assert (caller_id, cursor) == (POOL[1], 6)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=50),
    dials=st.integers(min_value=0, max_value=400),
    cursor=st.integers(min_value=0, max_value=10_000),
)
def test_round_robin_uses_every_number_within_one_of_the_others(
    size: int, dials: int, cursor: int
) -> None:
    pool = tuple(f"+1202555{i:04d}" for i in range(size))

    picked, _ = dial(Rotation.ROUND_ROBIN, pool, dials, cursor=cursor)

    counts = Counter(picked)
    per_number = [counts[n] for n in pool]
    assert max(per_number) - min(per_number) <= 1
    assert sum(per_number) == dials


def test_random_draws_only_pool_numbers_and_leaves_the_cursor_alone() -> None:
    picked, cursor = dial(Rotation.RANDOM, POOL, 300, cursor=4)

    assert set(picked) == set(POOL)
    assert cursor == 4


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_random_rotation_repeats_itself_for_the_same_seed(seed: int) -> None:
    first, _ = dial(Rotation.RANDOM, POOL, 50, seed=seed)
    second, _ = dial(Rotation.RANDOM, POOL, 50, seed=seed)

    assert first == second


def test_random_rotation_differs_between_seeds() -> None:
    assert dial(Rotation.RANDOM, POOL, 50, seed=1)[0] != dial(Rotation.RANDOM, POOL, 50, seed=2)[0]


def test_sticky_gives_a_first_attempt_the_next_number_in_turn() -> None:
    picked, cursor = dial(Rotation.STICKY, POOL, 4, cursor=1)

    assert picked == [POOL[1], POOL[2], POOL[0], POOL[1]]
    assert cursor == 5


def test_sticky_keeps_a_contacts_first_number_on_every_retry() -> None:
    rng = random.Random(3)
    first, cursor = pick_caller_id(Rotation.STICKY, POOL, 0, rng, None)

    for _ in range(4):
        again, next_cursor = pick_caller_id(Rotation.STICKY, POOL, cursor, rng, first)
        assert again == first
        assert next_cursor == cursor


def test_sticky_gives_a_new_number_when_the_first_left_the_pool() -> None:
    caller_id, cursor = pick_caller_id(
        Rotation.STICKY, POOL[1:], 0, random.Random(0), POOL[0]
    )

    assert caller_id == POOL[1]
    assert cursor == 1


@pytest.mark.parametrize("rotation", list(Rotation))
def test_an_empty_pool_is_refused(rotation: Rotation) -> None:
    with pytest.raises(ValueError, match="empty"):
        pick_caller_id(rotation, (), 0, random.Random(0), None)


@pytest.mark.parametrize("rotation", [Rotation.ROUND_ROBIN, Rotation.RANDOM])
def test_only_sticky_remembers_a_contacts_first_number(rotation: Rotation) -> None:
    picked = {
        pick_caller_id(rotation, POOL, cursor, random.Random(cursor), POOL[0])[0]
        for cursor in range(30)
    }

    assert picked == set(POOL)
