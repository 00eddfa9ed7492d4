"""Caller-ID rotation over a campaign's number pool."""

from __future__ import annotations

import random
from collections.abc import Sequence
from enum import StrEnum


class Rotation(StrEnum):
    ROUND_ROBIN = "round-robin"  # each number in turn; the cursor survives restarts
    RANDOM = "random"  # any number, drawn from the campaign's seeded generator
    STICKY = "sticky"  # a contact keeps the number of its first attempt on every retry


def pick_caller_id(
    rotation: Rotation,
    numbers: Sequence[str],
    cursor: int,
    rng: random.Random,
    first_caller_id: str | None,
) -> tuple[str, int]:
    """The caller ID for one dial and the cursor after it.

    Sticky gives a contact's first attempt the next number in turn, so first attempts spread
    evenly, then keeps it (unless it left the pool, when the contact gets a new one).
    """
    if not numbers:
        raise ValueError("the number pool is empty")
    if rotation is Rotation.STICKY and first_caller_id is not None and first_caller_id in numbers:
        return first_caller_id, cursor
    if rotation is Rotation.RANDOM:
        return numbers[rng.randrange(len(numbers))], cursor
    return numbers[cursor % len(numbers)], cursor + 1
