"""The virtual clock: callbacks run in time order, ties in scheduling order, at their time."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.clock import VirtualClock


def run_all(clock: VirtualClock) -> int:
    steps = 0
    while clock.run_next():
        steps += 1
    return steps


def test_callbacks_run_in_time_order_whatever_the_scheduling_order() -> None:
    clock, ran = VirtualClock(100.0), []
    for when in (130.0, 110.0, 120.0):
        clock.call_at(when, lambda when=when: ran.append(when))

    run_all(clock)

    assert ran == [110.0, 120.0, 130.0]


def test_callbacks_due_at_the_same_time_run_in_scheduling_order() -> None:
    clock, ran = VirtualClock(0.0), []
    for name in ("first", "second", "third"):
        clock.call_at(5.0, lambda name=name: ran.append(name))

    run_all(clock)

    assert ran == ["first", "second", "third"]


def test_now_is_the_callbacks_time_while_it_runs() -> None:
    clock, seen = VirtualClock(1_000.0), []
    for when in (1_002.5, 1_001.0):
        clock.call_at(when, lambda: seen.append(clock.now()))

    run_all(clock)

    assert seen == [1_001.0, 1_002.5]
    assert clock.now() == 1_002.5


def test_time_stands_still_until_a_callback_runs() -> None:
    clock = VirtualClock(50.0)
    clock.call_at(60.0, lambda: None)

    assert clock.now() == 50.0
    assert clock.next_time() == 60.0


def test_a_callback_due_in_the_past_runs_now_without_turning_time_back() -> None:
    clock, seen = VirtualClock(50.0), []
    clock.call_at(10.0, lambda: seen.append(clock.now()))

    run_all(clock)

    assert seen == [50.0]


def test_a_callback_due_in_the_past_queues_behind_those_already_due_now() -> None:
    clock, ran = VirtualClock(50.0), []
    clock.call_at(50.0, lambda: ran.append("due now"))
    clock.call_at(10.0, lambda: ran.append("overdue, scheduled later"))

    run_all(clock)

    assert ran == ["due now", "overdue, scheduled later"]


def test_a_cancelled_callback_never_runs() -> None:
    clock, ran = VirtualClock(0.0), []
    clock.call_at(1.0, lambda: ran.append("kept"))
    clock.call_at(2.0, lambda: ran.append("cancelled")).cancel()

    assert run_all(clock) == 1
    assert ran == ["kept"]
    assert clock.now() == 1.0


def test_the_next_time_skips_cancelled_callbacks() -> None:
    clock = VirtualClock(0.0)
    clock.call_at(1.0, lambda: None).cancel()
    clock.call_at(3.0, lambda: None)

    assert clock.next_time() == 3.0


def test_cancel_all_forgets_every_pending_callback() -> None:
    clock, ran = VirtualClock(0.0), []
    for when in (1.0, 2.0, 3.0):
        clock.call_at(when, lambda: ran.append(1))

    clock.cancel_all()

    assert clock.next_time() is None
    assert not clock.run_next()
    assert ran == []
    assert clock.now() == 0.0


def test_a_clock_with_nothing_pending_does_not_run_or_move() -> None:
    clock = VirtualClock(7.0)

    assert not clock.run_next()
    assert clock.next_time() is None
    assert clock.now() == 7.0


def test_cancelling_a_callback_that_already_ran_is_harmless() -> None:
    clock, ran = VirtualClock(0.0), []
    handle = clock.call_at(1.0, lambda: ran.append(1))
    run_all(clock)

    handle.cancel()

    assert ran == [1]
    assert not clock.run_next()


def test_a_callback_can_schedule_another_that_runs_after_those_already_due() -> None:
    clock, ran = VirtualClock(0.0), []

    def chain() -> None:
        ran.append("chain")
        clock.call_at(clock.now(), lambda: ran.append("scheduled inside"))

    clock.call_at(1.0, chain)
    clock.call_at(1.0, lambda: ran.append("already due"))

    run_all(clock)

    assert ran == ["chain", "already due", "scheduled inside"]


@settings(max_examples=100, deadline=None)
@given(
    plan=st.lists(
        st.tuples(st.integers(min_value=0, max_value=20).map(float), st.booleans()),
        max_size=40,
    )
)
def test_the_uncancelled_callbacks_run_once_each_sorted_by_time_then_scheduling(
    plan: list[tuple[float, bool]],
) -> None:
    clock, ran, times = VirtualClock(0.0), [], []
    for index, (when, cancel) in enumerate(plan):
        def record(index: int = index) -> None:
            ran.append(index)
            times.append(clock.now())

        handle = clock.call_at(when, record)
        if cancel:
            handle.cancel()

    run_all(clock)

    expected = sorted((when, i) for i, (when, cancel) in enumerate(plan) if not cancel)
    assert ran == [i for _, i in expected]
    assert times == [when for when, _ in expected]
