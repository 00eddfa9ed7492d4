"""The governor: how many calls a customer-first campaign should place now, so that answered
calls find agents and the abandon rate stays under its target (issue 14).

The pacer says how fast a campaign may dial; the governor says how many calls it should have
out. The engine dials the smaller of the two and of what concurrency leaves, and shows the
limit that binds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from outbound.domain.estimates import Rings, Talks, answers_within, free_within
from outbound.domain.settings import AbandonWindow, Dialing

HORIZON = 30.0  # seconds; the latest moment a call placed now is assumed to be answered
# The cap holds over the campaign's window and also over the last hour: an hour is short
# enough that a settled dialer's chance scatter takes it over the target now and then (seen at
# 10 agents: 3.4% in the worst hour, 2.4% over the run), and a user reads the hour on the page.
GUARD_SECONDS = 3600.0
WARM_UP_ANSWERED = 50  # answered dials before the estimates are trusted
WARM_UP_TALKS = 20  # finished talks before the estimates are trusted

# The threshold is the chance, for the last call placed, that its answer finds no free agent.
THRESHOLD_MIN, THRESHOLD_MAX = 0.002, 0.5  # above 0.5 the risk stops growing with each call
THRESHOLD_START = 0.02  # cautious: a cold start at full aggressiveness abandoned 4–5% early
STEP_UP = 0.01  # log-step up on each bridged call; the step down follows from the target
AIM = 5 / 6  # aim at this share of the target (2.5% for 3%): a settled dialer's short
# windows still scatter around its mean, and the cap is on the whole window


class Rule(StrEnum):
    PREDICTIVE = "predictive"  # the risk threshold chose the count
    PROGRESSIVE = "progressive"  # the campaign dials progressively
    WARM_UP = "warm_up"  # predictive, but too few calls yet to trust the estimates: progressive
    CAP = "cap"  # predictive, but the window affords no abandon beyond progressive
    FIXED = "fixed"  # the governor stands aside; pacing and concurrency alone decide


class Limit(StrEnum):
    """What keeps a running campaign from dialing more right now (its `limited_by`). The
    governor names the first three; the engine names the others."""

    AGENTS = "agents"  # no free or soon-free agent for another answer
    ABANDON_CAP = "abandon_cap"  # more calls could take the window's abandon rate over target
    CONCURRENCY = "concurrency"  # the agents would take more calls; the concurrency ceiling not
    PACING = "pacing"  # dialing as fast as the campaign's pacing allows
    BUSINESS_HOURS = "business_hours"  # closed: dialing resumes when the hours open
    CARRIER = "carrier"  # the carrier refused calls or caps calls per second: backing off
    NOTHING_DUE = "nothing_due"  # no contact left to dial now; retries wait for their moment


@dataclass(frozen=True, slots=True)
class Policy:
    """The campaign's settings that the governor reads."""

    dialing: Dialing = Dialing.PREDICTIVE
    abandon_target: float = 3.0  # percent of answered calls over the window, 0–5
    horizon: float = HORIZON
    warm_up_answered: int = WARM_UP_ANSWERED
    warm_up_talks: int = WARM_UP_TALKS


@dataclass(frozen=True, slots=True)
class Floor:
    """What the engine sees of a campaign's target (department or agent) and calls right now."""

    free_agents: int  # logged in, idle and not reserved
    talking: tuple[float, ...]  # per busy agent, seconds since its call was answered (talk+wrap)
    ringing: tuple[float, ...]  # per call not yet answered, seconds since it was placed
    room: int  # more calls the concurrency ceiling allows now


@dataclass(frozen=True, slots=True)
class Window:
    """The campaign's answered and abandoned calls over its abandon window (30 days or today)."""

    answered: int
    abandoned: int


def window_start(window: AbandonWindow, now: float, timezone: str) -> float:
    """When the abandon window that holds `now` began: 30 days back, or the start of the
    calendar day in the account's time zone (Ofcom's 24 hours)."""
    if window is AbandonWindow.DAYS_30:
        return now - 30 * 86400.0
    local = datetime.fromtimestamp(now, ZoneInfo(timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.timestamp()


def window_end(window: AbandonWindow, now: float, timezone: str) -> float:
    """When the calendar-day window that holds `now` ends (inf for the rolling 30 days,
    which never ends: calls only age out of it)."""
    if window is AbandonWindow.DAYS_30:
        return math.inf
    local = datetime.fromtimestamp(now, ZoneInfo(timezone)).date() + timedelta(days=1)
    return datetime(local.year, local.month, local.day, tzinfo=ZoneInfo(timezone)).timestamp()


@dataclass(frozen=True, slots=True)
class Decision:
    """How many calls to place now, which rule chose that, and which limit binds.

    `limited_by` is None only when the governor stands aside (fixed dialing). `risk` is the
    chance that one more call's answer would find no free agent (predictive only, else 0) and
    `spare` the expected free agents left when a call placed now is answered, before new calls.
    """

    calls: int
    rule: Rule
    limited_by: Limit | None
    risk: float = 0.0
    spare: float = 0.0


@dataclass(frozen=True, slots=True)
class Threshold:
    """The margin controller: the risk a new call may carry, steered by outcomes.

    Each bridged call multiplies the threshold by e**up, each abandoned one by e**-down. It
    settles where ups*up = downs*down, that is where abandoned/answered = up/(up+down); so
    down = up * (1 - aim)/aim puts the settling point at the aim (2.5% for a 3% target).
    """

    value: float = THRESHOLD_START
    up: float = STEP_UP
    down: float = STEP_UP * (1 - 0.025) / 0.025

    @classmethod
    def start(cls, abandon_target: float) -> Threshold:
        """A cautious threshold whose steps settle at AIM of `abandon_target` (percent)."""
        aim = abandon_target / 100.0 * AIM
        if aim <= 0.0:
            # No abandon allowed: one abandon sends the threshold to the floor.
            return cls(THRESHOLD_START, STEP_UP, math.log(THRESHOLD_MAX / THRESHOLD_MIN))
        return cls(THRESHOLD_START, STEP_UP, STEP_UP * (1.0 - aim) / aim)

    def after(self, bridged: bool, decision: Decision) -> Threshold:
        """The threshold after an answered call was bridged or abandoned.

        `decision` is the governor's latest. A bridge raises the threshold only when the
        threshold was what held dialing back: while concurrency, the cap or the warm-up binds,
        bridges say nothing about the threshold, and counting them would wind it up to burst
        when the other limit lifts. An abandon always lowers it: that direction is safe.
        """
        if bridged:
            steering = decision.rule is Rule.PREDICTIVE and decision.limited_by is Limit.AGENTS
            if not steering:
                return self
            value = self.value * math.exp(self.up)
        else:
            value = self.value * math.exp(-self.down)
        value = min(THRESHOLD_MAX, max(THRESHOLD_MIN, value))
        return Threshold(value, self.up, self.down)


def progressive_calls(floor: Floor) -> int:
    """At most one call not yet answered per free agent, so that any answer finds one."""
    return max(0, floor.free_agents - len(floor.ringing))


def cap_allows(policy: Policy, floor: Floor, window: Window) -> int:
    """The most calls to place now (never fewer than progressive) such that, even if every
    call ringing beyond the free agents were answered and abandoned, the window's abandon rate
    would stay at or under the target.

    Only calls beyond the free agents can be abandoned for lack of one, so while this holds,
    no window ends over its target because of predictive dialing. The window can afford e more
    abandons while abandoned + e <= target * (answered + e).
    """
    spare = affordable(policy.abandon_target, window)
    return max(progressive_calls(floor), spare + floor.free_agents - len(floor.ringing))


def affordable(abandon_target: float, window: Window) -> int:
    """How many more abandons the window affords: the most e with abandoned + e <= target *
    (answered + e), `abandon_target` in percent (negative when it is over already)."""
    target = abandon_target / 100.0
    return math.floor((target * window.answered - window.abandoned) / (1.0 - target) + 1e-9)


def tightest(abandon_target: float, *windows: Window) -> Window:
    """The window that affords the fewest abandons (the campaign's and the last hour's)."""
    return min(windows, key=lambda w: affordable(abandon_target, w))


def _risk(mean: float, var: float) -> float:
    """P(X <= 0) for an integer X of this mean and variance, by the normal approximation with
    a continuity correction; X is the count of free agents left for the call in question."""
    if var <= 1e-12:
        return 1.0 if mean < 0.5 else 0.0
    return 0.5 * math.erfc((mean - 0.5) / math.sqrt(2.0 * var))


def _progressive(floor: Floor, rule: Rule, held: Limit) -> Decision:
    wanted, room = progressive_calls(floor), max(0, floor.room)
    if room < wanted:
        return Decision(room, rule, Limit.CONCURRENCY)
    return Decision(wanted, rule, held)


def decide(
    policy: Policy, floor: Floor, window: Window, rings: Rings, talks: Talks,
    threshold: Threshold, now: float,
) -> Decision:
    """How many calls to place now (at most `floor.room`).

    Predictive: a call placed now that answers does so at one of three moments standing for
    the time-to-answer distribution (at most the horizon). By a moment s each talking agent is
    free with its conditional chance from the talk survival curve, each ringing call answered
    with its conditional chance from the ring table, and each new call answered with the
    chance a fresh dial is. The k-th new call finds no agent when free agents + freed -
    answered - (k-1 new answers) <= 0 at its moment; the governor places calls while that
    chance, averaged over the moments, stays under the threshold, and never fewer than
    progressive would; never more than the abandon cap allows (`cap_allows`).
    """
    room = max(0, floor.room)
    if policy.dialing is Dialing.FIXED:
        return Decision(room, Rule.FIXED, None)
    if policy.dialing is Dialing.PROGRESSIVE:
        return _progressive(floor, Rule.PROGRESSIVE, Limit.AGENTS)
    if rings.answered < policy.warm_up_answered or talks.finished < policy.warm_up_talks:
        return _progressive(floor, Rule.WARM_UP, Limit.AGENTS)
    cap = cap_allows(policy, floor, window)
    if cap <= progressive_calls(floor):
        return _progressive(floor, Rule.CAP, Limit.ABANDON_CAP)

    moments = [min(policy.horizon, s) for s in rings.answer_moments()] or [policy.horizon]
    reach = max(moments)
    ring_curve = rings.curve(floor.ringing, max(floor.ringing, default=0.0) + reach, now)
    talk_curve = talks.curve(floor.talking, max(floor.talking, default=0.0) + reach, now)
    # Per moment s: free agents left for a call answered at s, before other new calls (mean,
    # variance), and the chance a call placed now is answered by s.
    views = [
        (floor.free_agents + freed - taken, freed_var + taken_var, ring_curve.incident(s))
        for (freed, freed_var), (taken, taken_var), s in zip(
            free_within(talk_curve, moments), answers_within(ring_curve, moments), moments,
            strict=True,
        )
    ]

    def risk_of(k: int) -> float:
        """The chance that the (k+1)-th new call, answered at one of the moments (equally
        likely), finds no free agent after the k new calls before it took theirs."""
        return sum(_risk(m - k * p, v + k * p * (1.0 - p)) for m, v, p in views) / len(views)

    spare = sum(m for m, _, _ in views) / len(views)
    calls, risk = 0, risk_of(0)
    # One past the smaller ceiling tells whether it or the agents bind.
    ceiling = min(room, cap)
    while calls <= ceiling and risk < threshold.value:
        calls += 1
        risk = risk_of(calls)
    wanted = max(calls, progressive_calls(floor))
    if wanted > ceiling:
        limit = Limit.ABANDON_CAP if cap <= room else Limit.CONCURRENCY
        return Decision(ceiling, Rule.PREDICTIVE, limit, risk, spare)
    return Decision(wanted, Rule.PREDICTIVE, Limit.AGENTS, risk, spare)
