"""What the governor is fed: each governed campaign's estimates, controller and abandon
window, and the calls on each pool of agents, kept up to date by the dialer and the events.

A campaign is governed when it dials customer-first, predictively or progressively, to a
department or an agent (a voice menu needs no agent at the answer; agent-first reserves its
agent before it dials). Its calls live in the `Pool` of its target's agents, shared by every
campaign of this engine that sends answers to the same agents: so two campaigns on one
department do not each take its free agents for their own. The estimates (how dials answer,
how long talks last) are the campaign's own: its list and its script set them.

All of this is memory a crash may lose: the estimates then start over from the warm-up, the
window is read again from the store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from outbound.domain.contacts import Outcome
from outbound.domain.estimates import Rings, Talks
from outbound.domain.governor import (
    Decision,
    Floor,
    Policy,
    Threshold,
    Window,
    decide,
    tightest,
)
from outbound.domain.settings import CampaignSettings, Dialing, DialMode, TransferKind
from outbound.routing.router import Target

# A ring that ended with one of these outcomes was no answer from the network's side; a
# provider error or a lost call says nothing about how people answer.
_UNANSWERED = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.REJECTED,
                         Outcome.INVALID_NUMBER})

PoolKey = tuple[int, int | None, str | None]  # account, department id, agent name


def governed(settings: CampaignSettings, target: Target | None) -> bool:
    """Whether the governor decides how many calls the campaign has out."""
    return (settings.dial_mode is DialMode.CUSTOMER_FIRST
            and settings.dialing is not Dialing.FIXED
            and target is not None and target.transfer.kind is not TransferKind.VOICE_MENU)


def pool_key(account_id: int, target: Target) -> PoolKey:
    if target.transfer.kind is TransferKind.AGENT:
        return account_id, None, target.transfer.name
    return account_id, target.department_id, None


@dataclass(slots=True)
class Pool:
    """The calls this engine has out to one pool of agents, by phase, with their moments."""

    ringing: dict[int, float] = field(default_factory=dict)  # attempt → placed at
    waiting: dict[int, float] = field(default_factory=dict)  # attempt → answered at
    talking: dict[int, float] = field(default_factory=dict)  # attempt → answered at

    def floor(self, free_agents: int, room: int, now: float) -> Floor:
        """What the governor sees: answers already waiting take free agents first."""
        return Floor(
            free_agents - len(self.waiting),
            tuple(now - at for at in self.talking.values()),
            tuple(now - at for at in self.ringing.values()),
            room,
        )


@dataclass(slots=True)
class Steering:
    """A governed campaign's estimates, margin controller and abandon window."""

    policy: Policy
    threshold: Threshold
    pool: Pool
    rings: Rings = field(default_factory=Rings)
    talks: Talks = field(default_factory=Talks)
    decision: Decision | None = None  # the latest, which the controller's feedback reads
    # The window and the last hour (`governor.GUARD_SECONDS`) as last read from the store,
    # and when; what happened since is added here.
    window: Window = field(default_factory=lambda: Window(0, 0))
    hour: Window = field(default_factory=lambda: Window(0, 0))
    read_at: float = -math.inf
    # Abandoned here, not yet ended (the store counts them once their message has played).
    abandoning: set[int] = field(default_factory=set)

    @classmethod
    def start(cls, settings: CampaignSettings, pool: Pool) -> Steering:
        return cls(cls.policy_of(settings), Threshold.start(settings.abandon_target), pool)

    @staticmethod
    def policy_of(settings: CampaignSettings) -> Policy:
        return Policy(settings.dialing, settings.abandon_target)

    def retune(self, settings: CampaignSettings) -> None:
        """The campaign's settings changed: keep what was learnt, follow the new target."""
        policy = self.policy_of(settings)
        if policy != self.policy:
            if policy.abandon_target != self.policy.abandon_target:
                fresh = Threshold.start(settings.abandon_target)
                self.threshold = Threshold(self.threshold.value, fresh.up, fresh.down)
            self.policy = policy

    def decide(self, free_agents: int, room: int, now: float) -> Decision:
        playing = len(self.abandoning)
        window = tightest(self.policy.abandon_target,
                          Window(self.window.answered, self.window.abandoned + playing),
                          Window(self.hour.answered, self.hour.abandoned + playing))
        self.decision = decide(self.policy, self.pool.floor(free_agents, room, now), window,
                               self.rings, self.talks, self.threshold, now)
        return self.decision

    def read(self, window: Window, hour: Window, now: float) -> None:
        """The window and the last hour as the store has them now (abandons still playing
        are added at use)."""
        self.window, self.hour, self.read_at = window, hour, now

    def _count(self, answered: int, abandoned: int) -> None:
        self.window = Window(self.window.answered + answered, self.window.abandoned + abandoned)
        self.hour = Window(self.hour.answered + answered, self.hour.abandoned + abandoned)

    # -- what happens to the calls ---------------------------------------------------------

    def placed(self, attempt_id: int, at: float) -> None:
        self.pool.ringing[attempt_id] = at

    def answered(self, attempt_id: int, at: float) -> None:
        placed = self.pool.ringing.pop(attempt_id, None)
        if placed is None:
            return
        self.rings.record(max(0.0, at - placed), answered=True, now=at)
        self.pool.waiting[attempt_id] = at
        self._count(1, 0)

    def bridged(self, attempt_id: int) -> None:
        answered = self.pool.waiting.pop(attempt_id, None)
        if answered is None:
            return
        self.pool.talking[attempt_id] = answered
        if self.decision is not None:
            self.threshold = self.threshold.after(True, self.decision)

    def abandoned(self, attempt_id: int) -> None:
        """No agent came for an answered call (our grace ran out, or the customer hung up)."""
        if self.pool.waiting.pop(attempt_id, None) is None:
            return
        self.abandoning.add(attempt_id)
        if self.decision is not None:
            self.threshold = self.threshold.after(False, self.decision)

    def ended(self, attempt_id: int, outcome: Outcome, at: float) -> None:
        pool = self.pool
        if attempt_id in pool.waiting:  # the customer hung up before an agent came
            self.abandoned(attempt_id)
        if attempt_id in self.abandoning:
            self.abandoning.discard(attempt_id)
            self._count(0, 1)
            return
        placed = pool.ringing.pop(attempt_id, None)
        if placed is not None:
            if outcome in _UNANSWERED:
                self.rings.record(max(0.0, at - placed), answered=False, now=at)
            return
        answered = pool.talking.pop(attempt_id, None)
        if answered is not None:
            self.talks.record(max(0.0, at - answered), now=at)
