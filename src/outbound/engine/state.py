"""What an engine holds in memory, shared by its three rooms (leases, dialer, events): its
tuning, the campaigns it runs, the calls it drives, its counters and the lookups they all use.

The store is the truth; all of this is a cache that a crash may lose.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from outbound.clock import Clock
from outbound.domain.errors import ProviderError
from outbound.domain.governor import Limit
from outbound.domain.hours import BusinessHours
from outbound.domain.pacer import Departures, Pacer
from outbound.domain.settings import (
    AGENT_GRACE_SECONDS,
    CampaignSettings,
    Transfer,
    TransferKind,
    abandon_message,
    default_abandon_message,
)
from outbound.engine.steering import Steering
from outbound.routing.router import Target, resolve_target
from outbound.store import Store
from outbound.store.campaigns import Campaign
from outbound.store.dialing import AttemptRef, ReservedAgent
from outbound.telephony.port import HangupReason, Provider

log = logging.getLogger(__name__)


class Providers(Protocol):
    """Each account's telephone network."""

    def for_account(self, account_id: int) -> Provider: ...


@dataclass(frozen=True, slots=True)
class Tuning:
    """Timings of the engine's side work, in seconds."""

    lease_ttl: float = 30.0  # a call's contact lease; renewed by events and heartbeats
    campaign_ttl: float = 30.0  # a worker's hold on a campaign; renewed by heartbeats
    heartbeat: float = 10.0  # renew leases this often
    sweep: float = 10.0  # look for expired leases this often
    housekeeping: float = 1.0  # scheduled starts and status changes are noticed this fast
    acquire: float = 5.0  # look for campaigns without a live owner this often
    refresh: float = 1.0  # re-read a running campaign's status and settings this often
    ring_watchdog: float = 180.0  # a call not answered by then is presumed stuck
    call_watchdog: float = 4 * 3600.0  # an answered call longer than this is presumed stuck
    agent_grace: float = AGENT_GRACE_SECONDS  # an answer waits this long for an agent
    # Events that come in within this long of each other are recorded in one transaction
    # (see Runner.on_event); 0 records each at once.
    event_batch: float = 0.002
    max_blocks_per_step: int = 500  # DNC blocks are free of pacing; bound the work per step
    max_claims_per_batch: int = 50  # a step's claims commit together, this many at most
    # Congestion (a refused originate, a SIP 503) halves a campaign's pace, at most once per
    # `congestion_hold`; every `recovery` seconds without one gives back an eighth of it.
    congestion_hold: float = 0.25
    recovery: float = 5.0
    default_retry_after: float = 5.0  # a refused call waits this long unless told otherwise
    # A governed campaign held back by its agents or its abandon cap looks again this often
    # (sooner when an agent frees up): a ringing call's and a talk's chances change with age.
    govern_tick: float = 1.0
    # A governed campaign's abandon window (and last hour) is read from the store this often;
    # between reads the engine adds its own answers and abandons (only the owner dials).
    window_every: float = 30.0
    limits_every: float = 1.0  # save what binds each campaign (`limited_by`) at most this often

THROTTLE_FLOOR = 1 / 16  # congestion never slows a campaign below this share of its pacing
THROTTLE_STEP = 1 / 8


class CallState(StrEnum):
    AGENT_LEG = "agent_leg"  # agent-first: the agent is being dialed
    DIALING = "dialing"  # the customer is being dialed
    RINGING = "ringing"  # the customer's phone rings
    WAITING = "waiting"  # answered; waiting (at most the agent grace) for a free agent
    BRIDGED = "bridged"  # talking with an agent
    MENU = "menu"  # hearing the voice menu
    ABANDONING = "abandoning"  # no agent came; the abandon message plays, then the call ends


@dataclass(slots=True)
class LiveCall:
    """A call attempt this engine is driving."""

    ref: AttemptRef
    account_id: int
    phone: str
    caller_id: str
    preferred_agent: str | None
    record: bool
    ring_timeout: float
    state: CallState
    watchdog: float  # stop renewing the lease after this: the call is presumed stuck
    call_id: str | None = None
    agent_call_id: str | None = None
    agent: ReservedAgent | None = None
    wait_until: float | None = None


@dataclass(slots=True)
class CampaignRun:
    """A campaign this engine owns: its settings and its dialing state."""

    campaign: Campaign
    hours: BusinessHours
    target: Target | None
    pacer: Pacer
    cursor: int
    rng: random.Random
    in_flight: int
    window: tuple[float, float] = (0.0, 0.0)
    refreshed_at: float = float("-inf")
    idle_until: float = float("-inf")  # nothing claimable before this (or a new event)
    retry_due: float = float("-inf")  # the earliest retry may be due from then on
    stale: bool = False
    # Nothing to do for this campaign before this, unless one of its calls ends or an agent
    # frees up (`Dialer._needing_agent`): a step looks only at the campaigns that are due.
    wake_at: float = float("-inf")
    throttle: float = 1.0  # share of the configured pacing in use; below 1 after congestion
    congested_at: float = float("-inf")
    sent_at: float = float("-inf")  # when its last request left for the network
    departures: Departures = field(default_factory=Departures)  # its last second's requests
    steering: Steering | None = None  # governed campaigns (`steering.governed`) only
    limited_by: Limit | None = None  # what held its last dialing back

    def rate(self, now: float, recovery: float) -> float:
        """Calls per second now: the configured pacing, slowed while congestion lasts."""
        if self.throttle < 1 and now - self.congested_at >= recovery:
            steps = int((now - self.congested_at) // recovery)
            self.throttle = min(1.0, self.throttle + steps * THROTTLE_STEP)
            self.congested_at += steps * recovery
        return self.settings.pacing * self.throttle

    def congested(self, now: float, hold: float) -> None:
        if now - self.congested_at >= hold or self.throttle == 1:
            self.throttle = max(THROTTLE_FLOOR, self.throttle / 2)
        self.congested_at = now

    @property
    def settings(self) -> CampaignSettings:
        return self.campaign.settings


@dataclass(slots=True)
class Counters:
    """What this engine did, for reports and tests."""

    dials: int = 0
    blocks: int = 0
    resets: int = 0
    events: int = 0
    per_campaign_dials: dict[int, int] = field(default_factory=dict)


class EngineState:
    """What the rooms of one engine share. The containers are never rebound, so a room may
    keep its own reference to them."""

    def __init__(self, store: Store, clock: Clock, worker_id: str, tuning: Tuning) -> None:
        self.store = store
        self.clock = clock
        self.worker_id = worker_id
        self.tuning = tuning
        self.providers: Providers | None = None
        self.runs: dict[int, CampaignRun] = {}
        self.calls: dict[int, LiveCall] = {}
        self.counters = Counters()
        # An agent may have come free. Two readers, each clearing its own flag: the answered
        # calls waiting for an agent look again (`agents_changed`), and the campaigns that
        # wait for one to dial are woken (`agents_freed`).
        self.agents_changed = False
        self.agents_freed = False
        # Campaigns this engine does not run but still has events for (it lost or finished
        # them): settings, version and account, by campaign.
        self._settings: dict[int, tuple[CampaignSettings, int, int]] = {}
        # What each campaign's abandoned calls hear, with the campaign version it was
        # resolved for: an abandon costs no read of the store (see `abandon_message`).
        self._messages: dict[int, tuple[int, str]] = {}

    def provider(self, account_id: int) -> Provider:
        if self.providers is None:
            raise RuntimeError("attach providers before running the engine")
        return self.providers.for_account(account_id)

    def settings(self, campaign_id: int) -> tuple[CampaignSettings, int, int]:
        """A campaign's settings, version and account, cached by version."""
        run = self.runs.get(campaign_id)
        if run is not None:
            return run.settings, run.campaign.version, run.campaign.account_id
        cached = self._settings.get(campaign_id)
        if cached is None:
            campaign = self.store.campaigns.get(campaign_id)
            cached = (campaign.settings, campaign.version, campaign.account_id)
            self._settings[campaign_id] = cached
        return cached

    def target(self, account_id: int, transfer: Transfer) -> Target:
        """Where a campaign's answered calls go, resolved from the account's people now."""
        menu = transfer.name if transfer.kind is TransferKind.VOICE_MENU else None
        return resolve_target(transfer, self.store.agents.directory(account_id, menu=menu))

    def abandon_message(self, campaign_id: int) -> str:
        """The safe-harbour text of the campaign's abandoned calls (its own, else its
        account's, else the default wording), resolved once per campaign version. An account
        whose message changes is heard from when its campaigns' settings are next changed
        or the engine restarts: the account has no version of its own to key on."""
        settings, version, account_id = self.settings(campaign_id)
        cached = self._messages.get(campaign_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        account = self.store.accounts.get(account_id)
        # Empty only if the account emptied its message after the campaign started (a start
        # is refused otherwise): the customer still hears the default, never silence.
        text = abandon_message(settings, account.abandon_message, account.name) or (
            default_abandon_message(account.name, settings.numbers[0] if settings.numbers
                                    else None))
        self._messages[campaign_id] = (version, text)
        return text

    def hangup(self, account_id: int, call_id: str,
               reason: HangupReason = HangupReason.NORMAL) -> None:
        self.safely(lambda: self.provider(account_id).hangup(call_id, reason))

    def abandon(self, account_id: int, call_id: str, message: str) -> None:
        self.safely(lambda: self.provider(account_id).abandon(call_id, message))

    def safely(self, request: Callable[[], None]) -> None:
        """Run a provider request; a refusal is logged, the call's events still decide."""
        try:
            request()
        except ProviderError as exc:
            log.warning("provider refused a request: %s", exc)
