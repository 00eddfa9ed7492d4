"""The pacer's promises: no more than ceil(rate) dial starts in any one-second window, starts at
least 1/rate apart, no catch-up burst after a quiet spell, and the full rate under demand."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.domain.pacer import Departures, Pacer

FAST = settings(max_examples=60, deadline=None)

rates = st.one_of(
    st.integers(min_value=1, max_value=20).map(float),
    st.floats(min_value=1.0, max_value=20.0, allow_nan=False, allow_infinity=False),
)

# Gaps between requests: bursts at one instant, dense demand, and idle spells.
gaps = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.0, max_value=0.1),
    st.floats(min_value=0.0, max_value=5.0),
)


@st.composite
def request_times(draw: st.DrawFn) -> list[float]:
    """A sorted list of request instants, starting anywhere in the first day."""
    start = draw(st.floats(min_value=0.0, max_value=86_400.0))
    times = [start]
    for gap in draw(st.lists(gaps, min_size=0, max_size=150)):
        times.append(times[-1] + gap)
    return times


def grant_with_allowance(times: Iterable[float], rate: float, limit: int) -> list[float]:
    """The dial starts the pacer grants when each request asks for up to `limit` dials."""
    pacer, starts = Pacer(), []
    for now in times:
        granted, pacer = pacer.allowance(now, rate, limit)
        starts.extend([now] * granted)
    return starts


def grant_with_take(times: Iterable[float], rate: float) -> list[float]:
    """The dial starts when each request dials once if the pacer is ready."""
    pacer, starts = Pacer(), []
    for now in times:
        if pacer.ready(now):
            pacer = pacer.take(now, rate)
            starts.append(now)
    return starts


def dial_under_continuous_demand(start: float, until: float, rate: float) -> list[float]:
    """Dial starts when a dial is wanted at every instant: ask at once, and again when ready."""
    pacer, starts, now = Pacer(start), [], start
    while now < until:
        granted, pacer = pacer.allowance(now, rate, 50)
        if granted:
            starts.extend([now] * granted)
        else:
            now = pacer.tat
    return starts


def busiest_second(starts: list[float]) -> int:
    """The most dial starts in any half-open window [t, t+1), computed exactly."""
    exact = [Fraction(s) for s in starts]
    best, end = 0, 0
    for begin, first in enumerate(exact):
        # The busiest window can always be slid right until it opens on a dial start.
        while end < len(exact) and exact[end] - first < 1:
            end += 1
        best = max(best, end - begin)
    return best


def closest_spacing(starts: list[float]) -> Fraction | None:
    exact = [Fraction(s) for s in starts]
    return min((b - a for a, b in itertools.pairwise(exact)), default=None)


@FAST
@given(rate=rates, times=request_times(), limit=st.integers(min_value=1, max_value=50))
def test_no_one_second_window_holds_more_than_ceil_rate_dial_starts(
    rate: float, times: list[float], limit: int
) -> None:
    assert busiest_second(grant_with_allowance(times, rate, limit)) <= math.ceil(rate)
    assert busiest_second(grant_with_take(times, rate)) <= math.ceil(rate)


@FAST
@given(rate=rates, times=request_times(), limit=st.integers(min_value=1, max_value=50))
def test_consecutive_dial_starts_are_at_least_one_interval_apart(
    rate: float, times: list[float], limit: int
) -> None:
    for starts in (grant_with_allowance(times, rate, limit), grant_with_take(times, rate)):
        spacing = closest_spacing(starts)
        assert spacing is None or spacing >= 1 / Fraction(rate)


@FAST
@given(rate=rates, times=request_times())
def test_a_request_a_full_interval_after_the_last_dial_is_always_granted(
    rate: float, times: list[float]
) -> None:
    pacer, last = Pacer(), None
    for now in times:
        granted, after = pacer.allowance(now, rate, 1)
        if last is None or now - last >= 1 / rate + 1e-6:
            assert granted == 1
        if granted:
            last = now
        pacer = after


@FAST
@given(
    rate=rates,
    warm_up=st.integers(min_value=0, max_value=30),
    idle=st.floats(min_value=0.0, max_value=3600.0),
)
def test_a_quiet_spell_earns_no_catch_up_burst(rate: float, warm_up: int, idle: float) -> None:
    pacer, now = Pacer(), 0.0
    for _ in range(warm_up):
        _, pacer = pacer.allowance(now, rate, 1)
        now = pacer.tat
    resume = now + idle

    first, pacer = pacer.allowance(resume, rate, 50)
    again, pacer = pacer.allowance(resume, rate, 50)

    assert (first, again) == (1, 0)
    assert not pacer.ready(resume + (1 / rate) * (1 - 1e-6))
    assert pacer.ready(resume + (1 / rate) * (1 + 1e-6))


@FAST
@given(
    rate=rates,
    start=st.floats(min_value=0.0, max_value=86_400.0),
    duration=st.floats(min_value=1.0, max_value=120.0),
)
def test_continuous_demand_dials_at_the_full_rate(
    rate: float, start: float, duration: float
) -> None:
    starts = dial_under_continuous_demand(start, start + duration, rate)

    assert abs(len(starts) - rate * duration) <= 1
    assert busiest_second(starts) <= math.ceil(rate)


@pytest.mark.parametrize("rate", [1.0, 2.5, 5.0, 20.0])
def test_a_whole_number_rate_fills_each_second_exactly(rate: float) -> None:
    starts = dial_under_continuous_demand(0.0, 60.0, rate)

    assert len(starts) == round(rate * 60)
    assert busiest_second(starts) == math.ceil(rate)


def test_at_most_one_dial_starts_per_instant_whatever_the_limit() -> None:
    granted, pacer = Pacer().allowance(10.0, 20.0, 50)

    assert granted == 1
    assert pacer.allowance(10.0, 20.0, 50)[0] == 0


def test_a_zero_limit_grants_nothing_and_keeps_the_state() -> None:
    pacer = Pacer(tat=3.0)

    assert pacer.allowance(5.0, 2.0, 0) == (0, pacer)


def test_a_request_before_the_next_moment_waits() -> None:
    _, pacer = Pacer().allowance(0.0, 4.0, 1)

    assert pacer.allowance(0.2, 4.0, 1) == (0, pacer)
    assert pacer.allowance(0.250001, 4.0, 1)[0] == 1


def test_idle_time_earns_no_credit_on_take() -> None:
    pacer = Pacer(tat=5.0).take(100.0, 2.0)

    assert pacer.tat == pytest.approx(100.5)


def test_a_rate_change_mid_stream_applies_to_the_next_interval() -> None:
    _, pacer = Pacer().allowance(0.0, 1.0, 1)
    _, pacer = pacer.allowance(pacer.tat, 1.0, 1)
    assert pacer.tat == pytest.approx(2.0)

    # The moment at 2.0 was set at the old rate; the interval after it follows the new one.
    assert pacer.allowance(1.9, 4.0, 1)[0] == 0
    granted, pacer = pacer.allowance(pacer.tat, 4.0, 1)
    assert granted == 1
    assert pacer.tat == pytest.approx(2.25)

    granted, pacer = pacer.allowance(pacer.tat, 1.0, 1)
    assert granted == 1
    assert pacer.tat == pytest.approx(3.25)


def test_a_slower_rate_does_not_delay_the_moment_already_earned() -> None:
    _, pacer = Pacer().allowance(0.0, 10.0, 1)

    assert pacer.allowance(0.100001, 1.0, 1)[0] == 1


# Campaign clocks read POSIX seconds (~1.77e9 in 2026), where a float's resolution is ~2.4e-7 s:
# the pacer's 1e-9 slack vanishes in rounding and the window guarantee breaks.
REAL_CLOCK_START = 1_772_000_000.0  # 2026-02-25, POSIX seconds


def test_the_one_second_window_holds_at_real_clock_timestamps() -> None:
    starts = dial_under_continuous_demand(REAL_CLOCK_START, REAL_CLOCK_START + 10, 20.0)

    assert busiest_second(starts) <= 20


def test_dial_starts_stay_an_interval_apart_at_real_clock_timestamps() -> None:
    starts = dial_under_continuous_demand(REAL_CLOCK_START, REAL_CLOCK_START + 10, 20.0)

    spacing = closest_spacing(starts)
    assert spacing is not None and spacing >= Fraction(1, 20)


# A request leaves a little after the moment it was meant to (the code between the clock's
# reading and the wire), by a varying amount; the moment read once it has gone is later still.
jitters = st.lists(st.tuples(st.floats(min_value=0.0, max_value=2e-3),
                             st.floats(min_value=0.0, max_value=1e-4)), min_size=1, max_size=120)


def send_through(departures: Departures, wanted: list[float], rate: float,
                 jitter: list[tuple[float, float]]) -> list[float]:
    """When each request really left, each held until `departures` opens."""
    left = []
    for want, (before, after) in zip(wanted, itertools.cycle(jitter)):
        leaves = max(want, departures.opens(rate)) + before
        left.append(leaves)
        departures.left(leaves + after)
    return left


@FAST
@given(rate=st.integers(min_value=1, max_value=20).map(float), jitter=jitters)
def test_requests_on_the_wire_never_exceed_the_rate_in_a_second_whatever_their_jitter(
    rate: float, jitter: list[tuple[float, float]]
) -> None:
    wanted = dial_under_continuous_demand(REAL_CLOCK_START, REAL_CLOCK_START + 5, rate)

    left = send_through(Departures(), wanted, rate, jitter)

    assert busiest_second(left) <= rate


def test_jittered_requests_would_exceed_the_rate_without_the_departures_rule() -> None:
    wanted = dial_under_continuous_demand(REAL_CLOCK_START, REAL_CLOCK_START + 3, 20.0)
    # The first request leaves 30 µs after its moment, the rest at theirs.
    left = [wanted[0] + 3e-5, *wanted[1:]]

    assert busiest_second(left) == 21
    jitter = [(3e-5, 0.0)] + [(0.0, 0.0)] * 59
    assert busiest_second(send_through(Departures(), wanted, 20.0, jitter)) == 20


def test_a_new_rate_starts_the_count_afresh() -> None:
    departures = Departures()
    for moment in (0.0, 0.1):
        departures.opens(2.0)
        departures.left(moment)
    assert departures.opens(2.0) == 1.0

    assert departures.opens(1.0) == -math.inf  # slowed: counted afresh from here
    departures.left(0.5)
    assert departures.opens(1.0) == 1.5
