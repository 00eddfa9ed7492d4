"""'Why is it not dialing?': each limit a running campaign can be held by, in words, with the
figures the doors know and without them."""

from __future__ import annotations

import pytest

from outbound.domain.governor import Limit
from outbound.domain.limits import LimitFigures, abandon_words, limit_of, limit_words
from outbound.domain.settings import AbandonWindow

FIGURES = LimitFigures(free_agents=0, agents=12, abandon_rate=0.029, abandon_target=3.0,
                       abandon_window=AbandonWindow.DAYS_30, pacing=5.0, in_flight=20,
                       concurrency=20)


@pytest.mark.parametrize(("limit", "words"), [
    (Limit.AGENTS, "Waiting for agents: 0 of 12 free"),
    (Limit.ABANDON_CAP, "Abandon cap: 2.9% of 3.0% over 30 days"),
    (Limit.PACING, "Pacing: 5 calls/s"),
    (Limit.CONCURRENCY, "Concurrency: 20 of 20 calls"),
    (Limit.BUSINESS_HOURS, "Outside business hours"),
    (Limit.CARRIER, "Carrier back-off"),
    (Limit.NOTHING_DUE, "Nothing due"),
])
def test_each_limit_reads_as_words_with_its_figures(limit: Limit, words: str) -> None:
    assert limit_words(limit, FIGURES) == words


def test_every_limit_the_engine_can_name_has_words_even_without_figures() -> None:
    said = {limit: limit_words(limit) for limit in Limit}
    assert all(said.values())
    assert said[Limit.AGENTS] == "Waiting for agents"
    assert said[Limit.PACING] == "Pacing"
    assert len(set(said.values())) == len(Limit), "two limits read the same"


def test_a_daily_window_is_said_as_today_and_a_fractional_pacing_as_typed() -> None:
    assert abandon_words(0.0125, 2.5, AbandonWindow.HOURS_24) == "1.2% of 2.5% today"
    assert limit_words(Limit.PACING, LimitFigures(pacing=2.5)) == "Pacing: 2.5 calls/s"


def test_a_stored_limit_this_version_does_not_know_reads_as_none() -> None:
    assert limit_of("agents") is Limit.AGENTS
    assert limit_of(None) is None
    assert limit_of("") is None
    assert limit_of("solar_flare") is None
