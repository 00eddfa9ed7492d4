""""Why is it not dialing?": a running campaign's binding limit (`governor.Limit`) in words,
with the figures that make it concrete where the door knows them.

One function for every door (the detail page, the API's stats, `outbound campaigns show`), so
they all say the same thing about the same campaign.
"""

from __future__ import annotations

from dataclasses import dataclass

from outbound.domain.governor import Limit
from outbound.domain.settings import AbandonWindow

WINDOW_WORDS = {
    AbandonWindow.DAYS_30: "over 30 days",  # rolling (US TCPA/TSR)
    AbandonWindow.HOURS_24: "today",  # the calendar day in the account's zone (Ofcom)
}


@dataclass(frozen=True, slots=True)
class LimitFigures:
    """What the doors know of a campaign now; None where a figure is unknown."""

    free_agents: int | None = None  # free agents of the transfer target
    agents: int | None = None  # logged-in agents of the transfer target
    abandon_rate: float | None = None  # abandoned over answered in the window, 0–1
    abandon_target: float | None = None  # percent
    abandon_window: AbandonWindow | None = None
    pacing: float | None = None  # calls per second configured
    in_flight: int | None = None  # calls in flight now
    concurrency: int | None = None  # the ceiling on calls in flight


UNKNOWN = LimitFigures()


def limit_words(limit: Limit, figures: LimitFigures = UNKNOWN) -> str:
    """The limit as a person reads it: "Waiting for agents: 0 of 12 free"; without its
    figures where they are not known ("Waiting for agents")."""
    f = figures
    if limit is Limit.AGENTS:
        if f.free_agents is not None and f.agents is not None:
            return f"Waiting for agents: {f.free_agents} of {f.agents} free"
        return "Waiting for agents"
    if limit is Limit.ABANDON_CAP:
        if f.abandon_rate is not None and f.abandon_target is not None:
            words = abandon_words(f.abandon_rate, f.abandon_target, f.abandon_window)
            return f"Abandon cap: {words}"
        return "Abandon cap"
    if limit is Limit.CONCURRENCY:
        if f.in_flight is not None and f.concurrency is not None:
            return f"Concurrency: {f.in_flight} of {f.concurrency} calls"
        return "Concurrency"
    if limit is Limit.PACING:
        return f"Pacing: {f.pacing:g} calls/s" if f.pacing is not None else "Pacing"
    return _PLAIN[limit]


def abandon_words(rate: float, target: float, window: AbandonWindow | None) -> str:
    """The abandon rate beside its target and window: "2.9% of 3.0% over 30 days"."""
    over = f" {WINDOW_WORDS[window]}" if window else ""
    return f"{rate * 100:.1f}% of {target:.1f}%{over}"


_PLAIN = {
    Limit.BUSINESS_HOURS: "Outside business hours",
    Limit.CARRIER: "Carrier back-off",
    Limit.NOTHING_DUE: "Nothing due",
}


def limit_of(value: str | None) -> Limit | None:
    """A stored `limited_by` as a Limit; None when unset or not a name we know (a newer
    worker may name a limit this one does not)."""
    try:
        return Limit(value) if value else None
    except ValueError:
        return None
