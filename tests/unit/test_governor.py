"""The governor's promises: progressive never has more unanswered calls than free agents; a
predictive campaign warms up progressively, dials ahead of agents about to be free, never dials
fewer calls for more free agents, and falls back to progressive when the abandon cap could be
reached; the margin controller settles under the target and does not wind up."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.domain.estimates import Rings, Talks
from outbound.domain.governor import (
    AIM,
    THRESHOLD_MAX,
    THRESHOLD_MIN,
    Decision,
    Dialing,
    Floor,
    Limit,
    Policy,
    Rule,
    Threshold,
    Window,
    affordable,
    cap_allows,
    decide,
    progressive_calls,
    tightest,
)

FAST = settings(max_examples=60, deadline=None)
NOW = 10_000.0
PREDICTIVE = Policy(Dialing.PREDICTIVE, abandon_target=3.0)
CALM = Window(answered=10_000, abandoned=100)  # 1%: far from the cap


def trained(answered: int = 60, talks: int = 400, seed: int = 7) -> tuple[Rings, Talks]:
    """Estimates from a campaign where about 35% of dials answer after 4–20 s and talks
    (with wrap-up) last 30–150 s."""
    rng = random.Random(seed)
    rings, handle = Rings(), Talks()
    while rings.answered < answered:
        if rng.random() < 0.35:
            rings.record(rng.uniform(4.0, 20.0), answered=True, now=NOW)
        else:
            rings.record(30.0, answered=False, now=NOW)
    for _ in range(talks):
        handle.record(rng.uniform(30.0, 150.0), now=NOW)
    return rings, handle


RINGS, TALKS = trained()


def floor(free: int, talking: tuple[float, ...] = (), ringing: tuple[float, ...] = (),
          room: int = 50) -> Floor:
    return Floor(free, talking, ringing, room)


def predictive(f: Floor, threshold: float = 0.05, window: Window = CALM) -> Decision:
    return decide(PREDICTIVE, f, window, RINGS, TALKS, Threshold(threshold), NOW)


# Progressive and fixed


def test_progressive_dials_one_unanswered_call_per_free_agent() -> None:
    policy = Policy(Dialing.PROGRESSIVE)
    rings, talks = Rings(), Talks()
    d = decide(policy, floor(3, ringing=(5.0,)), CALM, rings, talks, Threshold(), NOW)
    assert d == Decision(2, Rule.PROGRESSIVE, Limit.AGENTS)
    d = decide(policy, floor(2, ringing=(1.0, 2.0, 3.0)), CALM, rings, talks, Threshold(), NOW)
    assert d == Decision(0, Rule.PROGRESSIVE, Limit.AGENTS)
    d = decide(policy, floor(5, room=1), CALM, rings, talks, Threshold(), NOW)
    assert d == Decision(1, Rule.PROGRESSIVE, Limit.CONCURRENCY)


def test_progressive_ignores_agents_about_to_be_free_even_when_trained() -> None:
    d = decide(Policy(Dialing.PROGRESSIVE), floor(0, talking=(140.0,) * 10), CALM, RINGS, TALKS,
               Threshold(), NOW)
    assert d.calls == 0


def test_fixed_dialing_leaves_the_count_to_pacing_and_concurrency() -> None:
    d = decide(Policy(Dialing.FIXED), floor(0, room=7), CALM, Rings(), Talks(), Threshold(), NOW)
    assert d == Decision(7, Rule.FIXED, None)


# Warm-up


@pytest.mark.parametrize(("answered", "talks"), [(49, 40), (60, 19), (0, 0)])
def test_a_predictive_campaign_dials_progressively_until_its_estimates_rest_on_enough_calls(
    answered: int, talks: int
) -> None:
    rings, handle = trained(answered, talks)
    f = floor(1, talking=(140.0,) * 10)
    d = decide(PREDICTIVE, f, CALM, rings, handle, Threshold(0.3), NOW)
    assert d == Decision(1, Rule.WARM_UP, Limit.AGENTS)


def test_a_predictive_campaign_dials_ahead_once_warmed_up_on_50_answers_and_20_talks() -> None:
    rings, handle = trained(50, 20)
    d = decide(PREDICTIVE, floor(1, talking=(140.0,) * 10), CALM, rings, handle, Threshold(0.3),
               NOW)
    assert d.rule is Rule.PREDICTIVE
    assert d.calls > 1


def test_a_new_threshold_starts_cautious() -> None:
    assert Threshold.start(3.0).value <= 0.02


# Predictive


def test_predictive_dials_ahead_of_agents_about_to_be_free() -> None:
    # Ten agents 140 s into talks that never last past 150 s: all free before most answers.
    d = predictive(floor(0, talking=(140.0,) * 10))
    assert d.rule is Rule.PREDICTIVE and d.limited_by is Limit.AGENTS
    # More calls than agents, but no more answers expected (35% answer) than agents freed.
    assert d.calls > 10
    assert d.calls * 0.35 <= 10
    assert 8.0 < d.spare <= 10.0


def test_predictive_waits_when_every_agent_has_just_begun_to_talk() -> None:
    # Talks last at least 30 s and an answer comes in under 20: nobody is free in time.
    d = predictive(floor(0, talking=(0.0,) * 10))
    assert d == Decision(0, Rule.PREDICTIVE, Limit.AGENTS, d.risk, d.spare)
    assert d.risk >= 0.05


def test_calls_already_ringing_count_against_the_agents_they_will_take() -> None:
    idle = predictive(floor(5))
    busy = predictive(floor(5, ringing=(10.0,) * 10))
    assert busy.calls < idle.calls
    assert busy.spare < idle.spare


def test_a_higher_threshold_dials_more() -> None:
    f = floor(2, talking=tuple(float(a) for a in range(0, 150, 15)))
    assert predictive(f, 0.02).calls < predictive(f, 0.3).calls


def test_predictive_never_dials_fewer_than_progressive() -> None:
    # Even a threshold that accepts no risk at all places the calls that have a free agent of
    # their own: such a call cannot lack one.
    f = floor(5, talking=(60.0,) * 3, ringing=(10.0, 10.0))
    assert predictive(f, threshold=0.0).calls == 3
    assert predictive(f, threshold=THRESHOLD_MIN).calls >= 3


def test_concurrency_binds_when_the_agents_would_take_more() -> None:
    d = predictive(floor(0, talking=(140.0,) * 10, room=4))
    assert d == Decision(4, Rule.PREDICTIVE, Limit.CONCURRENCY, d.risk, d.spare)


# The cap


def test_the_cap_falls_back_to_progressive_when_the_window_affords_no_more_abandons() -> None:
    f = floor(1, talking=(140.0,) * 10)
    # 3 of 100 is at the target: one more abandon would pass it.
    assert cap_allows(PREDICTIVE, f, Window(answered=100, abandoned=3)) == 1
    d = predictive(f, threshold=0.3, window=Window(answered=100, abandoned=3))
    assert d == Decision(1, Rule.CAP, Limit.ABANDON_CAP)


def test_the_cap_limits_calls_beyond_the_agents_to_the_abandons_the_window_affords() -> None:
    # 20 of 1000: ten more abandons keep it at 30/1010 <= 3%, an eleventh would not.
    f = floor(0, talking=(140.0,) * 10)
    assert cap_allows(PREDICTIVE, f, Window(answered=1000, abandoned=20)) == 10
    d = predictive(f, threshold=0.3, window=Window(answered=1000, abandoned=20))
    assert d == Decision(10, Rule.PREDICTIVE, Limit.ABANDON_CAP, d.risk, d.spare)
    assert predictive(f, threshold=0.3).calls > 10  # what it would dial without the cap


def test_the_cap_counts_every_call_ringing_beyond_the_free_agents_as_a_possible_abandon() -> None:
    # 2 abandoned of 200 answered affords 4 more; five calls already ring beyond the one free
    # agent, so none may be added.
    assert cap_allows(PREDICTIVE, floor(1, ringing=(3.0,) * 6), Window(200, 2)) == 0
    assert cap_allows(PREDICTIVE, floor(6, ringing=(3.0,) * 6), Window(200, 2)) == 4


def test_the_last_hour_binds_when_it_affords_fewer_abandons_than_the_whole_window() -> None:
    month, hour = Window(answered=10_000, abandoned=100), Window(answered=400, abandoned=12)
    assert affordable(3.0, month) == 206  # 306 of 10,206 is 2.998%
    assert affordable(3.0, hour) == 0  # 12 of 400 is at 3%: not one more
    assert tightest(3.0, month, hour) == hour
    assert tightest(3.0, month, Window(answered=400, abandoned=2)) == Window(400, 2)
    assert affordable(3.0, Window(answered=100, abandoned=5)) < 0  # over already


def test_a_zero_target_allows_no_predictive_dialing() -> None:
    policy = Policy(Dialing.PREDICTIVE, abandon_target=0.0)
    d = decide(policy, floor(1, talking=(140.0,) * 10), Window(10**6, 0), RINGS, TALKS,
               Threshold(0.3), NOW)
    assert d.rule is Rule.CAP and d.calls == 1


# The margin controller


def steer(threshold: Threshold, share: float, outcomes: int, seed: int) -> Threshold:
    rng = random.Random(seed)
    held = Decision(1, Rule.PREDICTIVE, Limit.AGENTS)
    for _ in range(outcomes):
        threshold = threshold.after(rng.random() >= share, held)
    return threshold


def test_the_steps_settle_the_abandon_share_at_the_aim_under_the_target() -> None:
    t = Threshold.start(3.0)
    aim = 0.03 * AIM
    assert aim == pytest.approx(0.025)
    # At equilibrium ups * up = downs * down, so downs / (ups + downs) = up / (up + down).
    assert t.up / (t.up + t.down) == pytest.approx(aim)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_threshold_rises_while_abandons_are_under_the_aim_and_falls_above_it(
    seed: int
) -> None:
    start = Threshold.start(3.0)
    middle = Threshold(0.05, start.up, start.down)
    assert steer(middle, 0.010, 3000, seed).value > 0.05 * 3
    assert steer(middle, 0.045, 3000, seed).value < 0.05 / 3
    # Near the aim it neither runs off to a bound.
    settled = steer(middle, 0.025, 3000, seed).value
    assert THRESHOLD_MIN < settled < THRESHOLD_MAX


def test_the_threshold_stays_within_its_bounds() -> None:
    t = Threshold.start(3.0)
    assert steer(t, 0.0, 5000, 1).value == THRESHOLD_MAX
    assert steer(t, 1.0, 50, 1).value == THRESHOLD_MIN


@pytest.mark.parametrize(
    "held",
    [
        Decision(4, Rule.PREDICTIVE, Limit.CONCURRENCY),
        Decision(1, Rule.CAP, Limit.ABANDON_CAP),
        Decision(1, Rule.WARM_UP, Limit.AGENTS),
    ],
)
def test_bridges_do_not_wind_the_threshold_up_while_another_limit_binds(held: Decision) -> None:
    t = Threshold.start(3.0)
    assert t.after(True, held) == t
    assert t.after(False, held).value < t.value  # an abandon still lowers it


def test_a_bridge_raises_and_an_abandon_lowers_by_the_derived_steps() -> None:
    t = Threshold(0.05, 0.01, 0.39)
    held = Decision(1, Rule.PREDICTIVE, Limit.AGENTS)
    assert t.after(True, held).value == pytest.approx(0.05 * math.exp(0.01))
    assert t.after(False, held).value == pytest.approx(0.05 * math.exp(-0.39))


# Properties

ages = st.lists(st.floats(min_value=0.0, max_value=400.0), max_size=30).map(tuple)
windows = st.builds(
    Window, st.integers(min_value=0, max_value=5000), st.integers(min_value=0, max_value=200)
)


@FAST
@given(st.integers(min_value=0, max_value=50), ages, ages, st.integers(min_value=0, max_value=50))
def test_progressive_never_has_more_unanswered_calls_than_free_agents(
    free: int, talking: tuple[float, ...], ringing: tuple[float, ...], room: int
) -> None:
    f = Floor(free, talking, ringing, room)
    d = decide(Policy(Dialing.PROGRESSIVE), f, CALM, RINGS, TALKS, Threshold(0.5), NOW)
    assert 0 <= d.calls <= room
    assert d.calls + len(ringing) <= max(free, len(ringing))
    assert d.calls == min(room, progressive_calls(f))


@FAST
@given(
    st.integers(min_value=0, max_value=40), ages, ages, st.integers(min_value=0, max_value=50),
    st.floats(min_value=THRESHOLD_MIN, max_value=THRESHOLD_MAX), windows,
)
def test_more_free_agents_never_mean_fewer_calls(
    free: int, talking: tuple[float, ...], ringing: tuple[float, ...], room: int,
    threshold: float, window: Window,
) -> None:
    fewer = decide(PREDICTIVE, Floor(free, talking, ringing, room), window, RINGS, TALKS,
                   Threshold(threshold), NOW)
    more = decide(PREDICTIVE, Floor(free + 1, talking, ringing, room), window, RINGS, TALKS,
                  Threshold(threshold), NOW)
    assert more.calls >= fewer.calls
    assert 0 <= fewer.calls <= room


@FAST
@given(
    st.integers(min_value=0, max_value=40), ages, ages, st.integers(min_value=0, max_value=50),
    windows, st.floats(min_value=0.0, max_value=5.0),
)
def test_no_call_beyond_progressive_that_could_take_the_window_over_its_target(
    free: int, talking: tuple[float, ...], ringing: tuple[float, ...], room: int,
    window: Window, target: float,
) -> None:
    policy = Policy(Dialing.PREDICTIVE, abandon_target=target)
    f = Floor(free, talking, ringing, room)
    d = decide(policy, f, window, RINGS, TALKS, Threshold(THRESHOLD_MAX), NOW)
    if d.calls > progressive_calls(f):
        # Even if every call ringing beyond the free agents is abandoned, the window holds.
        exposed = len(ringing) + d.calls - free
        assert window.abandoned + exposed <= target / 100 * (window.answered + exposed) + 1e-9
    if window.abandoned + 1 > target / 100 * (window.answered + 1):
        assert d.calls <= progressive_calls(f)
