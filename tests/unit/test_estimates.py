"""The governor's estimates against hand-computed tables: the talk survival curve by
Kaplan–Meier with censoring, the ring table's answer share and time to answer as competing
risks, and old observations fading by their half-life."""

from __future__ import annotations

import math

import pytest

from outbound.domain.estimates import (
    HALF_LIFE,
    Rings,
    Talks,
    answers_within,
    free_within,
)

EDGES = (0.0, 10.0, 20.0, 30.0, 40.0)


def talks_seen() -> Talks:
    """Talks that ended at 5, 15, 15 and 25 s, and one cut from view at 12 s."""
    talks = Talks(edges=EDGES)
    for duration in (5.0, 15.0, 15.0, 25.0):
        talks.record(duration, now=0.0)
    talks.record(12.0, now=0.0, ended=False)
    return talks


def test_talk_survival_matches_the_hand_computed_life_table_with_a_censored_talk() -> None:
    # Bin [0,10): 5 at risk, 1 ends -> 4/5. Bin [10,20): 4 at risk, one censored inside
    # (counts half) -> 3.5 exposed, 2 end -> 1 - 2/3.5. Bin [20,30): 1 at risk, 1 ends -> 0.
    curve = talks_seen().curve((), until=39.0, now=0.0)
    assert curve.surviving(0.0) == 1.0
    assert curve.surviving(10.0) == pytest.approx(0.8)
    assert curve.surviving(20.0) == pytest.approx(0.8 * (1 - 2 / 3.5))
    assert curve.surviving(30.0) == pytest.approx(0.0)
    assert curve.surviving(15.0) == pytest.approx((0.8 + 0.8 * (1 - 2 / 3.5)) / 2)
    assert talks_seen().finished == 4


def test_a_talk_still_running_counts_as_unfinished_and_keeps_agents_busy_longer() -> None:
    # Add a talk running for 22 s: at risk in every bin up to its own, censored (half) there.
    # [0,10): 6 at risk -> 5/6. [10,20): 5 - 0.5 exposed, 2 end -> 5/9. [20,30): 2 - 0.5, 1
    # ends -> 1/3.
    talks = talks_seen()
    curve = talks.curve((22.0,), until=39.0, now=0.0)
    assert curve.surviving(10.0) == pytest.approx(5 / 6)
    assert curve.surviving(20.0) == pytest.approx(5 / 6 * 5 / 9)
    assert curve.surviving(30.0) == pytest.approx(5 / 6 * 5 / 9 / 3)
    # Ignoring it, the agent talking for 22 s would surely be free by 30 s.
    blind = talks.curve((), until=39.0, now=0.0)
    assert blind.still_going(22.0, 8.0) == pytest.approx(0.0)
    s22 = 5 / 6 * 5 / 9 * (1 - 0.2 * 2 / 3)
    assert curve.still_going(22.0, 8.0) == pytest.approx((5 / 6 * 5 / 9 / 3) / s22)


def test_free_within_sums_each_agents_conditional_chance_of_ending() -> None:
    curve = talks_seen().curve((10.0, 10.0, 30.0), until=39.0, now=0.0)
    q = 1 - curve.surviving(20.0) / curve.surviving(10.0)
    ((mean, var),) = free_within(curve, (10.0,))
    # The talk past every observation (30 s) is assumed to go on: it frees no one.
    assert curve.still_going(30.0, 10.0) == 1.0
    assert mean == pytest.approx(2 * q)
    assert var == pytest.approx(2 * q * (1 - q))
    ((none, _), (some, _)) = free_within(curve, (0.0, 10.0))
    assert none == 0.0 and some == mean


def rings_seen() -> Rings:
    """Answers at 5 and 15 s; a busy line ended at 5 s and a ring-out at 25 s."""
    rings = Rings(edges=(0.0, 10.0, 20.0, 30.0))
    rings.record(5.0, answered=True, now=0.0)
    rings.record(15.0, answered=True, now=0.0)
    rings.record(5.0, answered=False, now=0.0)
    rings.record(25.0, answered=False, now=0.0)
    return rings


def test_ring_table_gives_the_answer_share_and_the_time_to_answer_as_competing_risks() -> None:
    rings = rings_seen()
    assert rings.answer_share(now=0.0) == pytest.approx(0.5)
    assert rings.answered == 2
    assert rings.finished == 4
    curve = rings.curve((), until=29.0, now=0.0)
    # [0,10): 4 at risk, one answer and one busy -> answered by 10 s: 1/4, still ringing 1/2.
    # [10,20): 2 at risk, one answer -> answered by 20 s: 1/4 + 1/2 * 1/2.
    assert curve.incident(10.0) == pytest.approx(0.25)
    assert curve.incident(20.0) == pytest.approx(0.5)
    assert curve.incident(30.0) == pytest.approx(0.5)  # the answer share, again
    # A call that has rung 10 s is answered within 10 s more half the time (the busy lines
    # are behind it), not the 1/4 of a fresh dial.
    assert curve.ending_for_cause(10.0, 10.0) == pytest.approx(0.5)
    # Two calls ringing, at 10 s and just placed (the curve counts them as unfinished).
    ringing = rings_seen().curve((10.0, 0.0), until=29.0, now=0.0)
    p10, p0 = ringing.ending_for_cause(10.0, 10.0), ringing.incident(10.0)
    ((mean, var),) = answers_within(ringing, (10.0,))
    assert mean == pytest.approx(p10 + p0)
    assert var == pytest.approx(p10 * (1 - p10) + p0 * (1 - p0))


def test_a_call_still_ringing_counts_as_unfinished_in_the_ring_table() -> None:
    # With a call ringing for 12 s: [0,10): 5 at risk -> answered 1/5, ringing 3/5;
    # [10,20): 3 - 0.5 exposed, one answer -> answered 1/5 + 3/5 / 2.5.
    curve = rings_seen().curve((12.0,), until=29.0, now=0.0)
    assert curve.incident(10.0) == pytest.approx(0.2)
    assert curve.incident(20.0) == pytest.approx(0.2 + 0.6 / 2.5)
    assert curve.surviving(20.0) == pytest.approx(0.6 * (1 - 1 / 2.5))


def test_an_observation_weighs_half_after_one_half_life() -> None:
    rings = Rings(half_life=HALF_LIFE)
    rings.record(10.0, answered=True, now=0.0)
    rings.record(10.0, answered=False, now=HALF_LIFE)
    # The answer, one half-life old, weighs 1/2 against the new ring-out's 1.
    assert rings.answer_share(now=HALF_LIFE) == pytest.approx(0.5 / 1.5)
    # Reading later changes nothing: both fade alike.
    assert rings.answer_share(now=5 * HALF_LIFE) == pytest.approx(0.5 / 1.5)
    rings.record(10.0, answered=True, now=2 * HALF_LIFE)
    assert rings.answer_share(now=2 * HALF_LIFE) == pytest.approx((0.25 + 1) / (0.25 + 1 + 0.5))


def test_decay_keeps_its_half_life_across_a_rebasing_of_the_stored_weights() -> None:
    rings = Rings(half_life=60.0)
    rings.record(10.0, answered=True, now=0.0)
    rings.record(10.0, answered=False, now=70 * 60.0)  # past 64 half-lives: weights rebased
    rings.record(10.0, answered=True, now=71 * 60.0)
    # The first answer has faded to nothing; the ring-out is one half-life old.
    assert rings.answer_share(now=71 * 60.0) == pytest.approx(1 / 1.5)
    for i in range(2000):
        rings.record(10.0, answered=bool(i % 2), now=(72 + i) * 60.0)
    assert math.isfinite(rings.answer_share(now=2100 * 60.0))
    assert rings.answer_share(now=2100 * 60.0) == pytest.approx(2 / 3)  # the newest answers


@pytest.mark.parametrize("edges", [(0.0,), (0.0, 10.0, 10.0)])
def test_bins_must_be_increasing(edges: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        Talks(edges=edges)


def test_answer_moments_are_the_sixths_quantiles_of_the_time_to_answer() -> None:
    rings = Rings(edges=(0.0, 10.0, 20.0, 30.0))
    assert rings.answer_moments() == ()
    for ring_time in (5.0, 5.0, 5.0, 15.0, 15.0, 15.0):
        rings.record(ring_time, answered=True, now=0.0)
    rings.record(25.0, answered=False, now=0.0)  # ring-outs do not count
    # Uniform within bins: 1 of 6 answers is in by 10/3 s, 3 by 10 s, 5 by 10 + 20/3 s.
    assert rings.answer_moments() == pytest.approx((10 / 3, 10.0, 10 + 20 / 3))
