"""The dialer's core: driven, never driving.

`step(now)` dials whatever pacing, concurrency, business hours and free agents allow at `now`
and returns when it next wants to be woken; `apply(event)` records a call event and takes the
routing decision it calls for; `housekeeping(now)` starts scheduled campaigns, takes and renews
campaign leases, renews the leases of the calls this engine is driving and sweeps orphans.
None of them sleeps: a runner calls them, on the wall clock or in virtual time.

The store is the truth. What this engine keeps in memory (the calls it drives, its pacers) is
a cache that a crash may lose: the contacts' leases then run out and the sweeper, in this
process or another, resets them with their attempt counted.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from sqlalchemy import bindparam, select

from outbound.clock import Clock
from outbound.domain.contacts import AfterCall, Outcome, after_call
from outbound.domain.errors import CannotStart, InvalidInput, InvalidTransition, ProviderError
from outbound.domain.hours import BusinessHours
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.domain.pacer import Departures, Pacer, interval
from outbound.domain.rotation import Rotation, pick_caller_id
from outbound.domain.settings import (
    ABANDON_WINDOW_SECONDS,
    CampaignSettings,
    DialMode,
    TransferKind,
)
from outbound.routing.router import Target, endpoint, reserve_agent, resolve_target
from outbound.store import Store, fast
from outbound.store.campaigns import Campaign
from outbound.store.dialing import AttemptRef, Claimed, ReservedAgent
from outbound.store.schema import campaigns
from outbound.telephony.port import (
    CallEvent,
    EventKind,
    HangupReason,
    Leg,
    OriginateRequest,
    Provider,
)

log = logging.getLogger(__name__)

_VERSION = select(campaigns.c.version, campaigns.c.owner).where(
    campaigns.c.id == bindparam("p_id"))


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
    abandon_window: float = ABANDON_WINDOW_SECONDS
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

THROTTLE_FLOOR = 1 / 16  # congestion never slows a campaign below this share of its pacing
THROTTLE_STEP = 1 / 8


class _NoAgentFree(Exception):
    """Raised inside a dial's transaction to roll it back: no agent could be reserved."""


class CallState(StrEnum):
    AGENT_LEG = "agent_leg"  # agent-first: the agent is being dialed
    DIALING = "dialing"  # the customer is being dialed
    RINGING = "ringing"  # the customer's phone rings
    WAITING = "waiting"  # answered; waiting (at most the abandon window) for a free agent
    BRIDGED = "bridged"  # talking with an agent
    MENU = "menu"  # hearing the voice menu
    ABANDONING = "abandoning"  # no agent came; the apology plays, then the call ends


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
    # frees up (`Engine._needing_agent`): a step looks only at the campaigns that are due.
    wake_at: float = float("-inf")
    throttle: float = 1.0  # share of the configured pacing in use; below 1 after congestion
    congested_at: float = float("-inf")
    sent_at: float = float("-inf")  # when its last request left for the network
    departures: Departures = field(default_factory=Departures)  # its last second's requests

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


@dataclass(frozen=True, slots=True)
class _Dial:
    """A claimed call, committed or about to be, waiting to go out."""

    run: CampaignRun
    claimed: Claimed
    attempt_id: int
    caller_id: str
    agent: ReservedAgent | None
    at: float  # the moment it was claimed for: its dial start


@dataclass(slots=True)
class Counters:
    """What this engine did, for reports and tests."""

    dials: int = 0
    blocks: int = 0
    resets: int = 0
    events: int = 0
    per_campaign_dials: dict[int, int] = field(default_factory=dict)


class Engine:
    def __init__(self, store: Store, clock: Clock, *, worker_id: str | None = None,
                 tuning: Tuning | None = None) -> None:
        self.store = store
        self.clock = clock
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:12]}"
        self.tuning = tuning or Tuning()
        self.providers: Providers | None = None
        self.runs: dict[int, CampaignRun] = {}
        self.calls: dict[int, LiveCall] = {}
        # Answered calls waiting for an agent, in answer order (a subset of `calls`).
        self.waiting: dict[int, LiveCall] = {}
        self.counters = Counters()
        self._settings_cache: dict[int, tuple[int, CampaignSettings, int]] = {}
        self._last_heartbeat = float("-inf")
        self._last_sweep = float("-inf")
        self._last_acquire = float("-inf")
        self._agents_changed = False
        self._gates: dict[int, Pacer] = {}  # per account: its carrier's calls-per-second cap
        self._departures: dict[int, Departures] = {}  # per capped account, as per campaign
        self._agents_freed = False
        self._turn = 0
        # When each run is next due (its `wake_at`) and due to be re-read (`refreshed_at` +
        # refresh), as heaps of (moment, campaign id) that may hold stale entries: a step
        # pops what is due instead of looking at every run.
        self._wakes: list[tuple[float, int]] = []
        self._refreshes: list[tuple[float, int]] = []
        self._needing_agent: set[int] = set()  # campaigns an agent's release wakes
        # A step's claims share one transaction; their calls go out once it has committed,
        # at `dispatch`.
        self._claims: contextlib.ExitStack | None = None
        self._claimed: list[_Dial] = []  # in the open transaction
        self._ready: list[_Dial] = []  # committed, to dispatch

    def attach(self, providers: Providers) -> None:
        self.providers = providers

    def _provider(self, account_id: int) -> Provider:
        if self.providers is None:
            raise RuntimeError("attach providers before running the engine")
        return self.providers.for_account(account_id)

    # -- housekeeping ----------------------------------------------------------------------

    def housekeeping(self, now: float) -> float:
        """Side work; returns when it next wants to run."""
        next_start = self.store.campaigns.start_due(now)
        tuning = self.tuning
        if now - self._last_acquire >= tuning.acquire:
            self._last_acquire = now
            acquired: list[int] = self.store.campaigns.acquire(self.worker_id, now,
                                                               tuning.campaign_ttl)
            for campaign_id in acquired:
                if campaign_id not in self.runs:
                    self._adopt(campaign_id, now)
        if now - self._last_heartbeat >= tuning.heartbeat:
            self.heartbeat(now)
        if now - self._last_sweep >= tuning.sweep:
            self._last_sweep = now
            self.sweep(now)
        wake = now + tuning.housekeeping
        return min(wake, next_start) if next_start is not None and next_start > now else wake

    def _adopt(self, campaign_id: int, now: float) -> None:
        campaign = self.store.campaigns.get(campaign_id)
        account = self.store.accounts.get(campaign.account_id)
        settings = campaign.settings
        hours = settings.business_hours or self.store.accounts.business_hours(account)
        target = (resolve_target(self.store, campaign.account_id, settings.transfer)
                  if settings.transfer else None)
        self.runs[campaign_id] = CampaignRun(
            campaign, hours, target, Pacer(campaign.pacer_tat), campaign.rotation_cursor,
            random.Random(campaign.seed * 1_000_003 + campaign.rotation_cursor),
            self.store.dialing.in_flight(campaign_id), refreshed_at=now,
        )
        self._wake(self.runs[campaign_id], float("-inf"))
        heapq.heappush(self._refreshes, (now + self.tuning.refresh, campaign_id))
        log.info("%s owns campaign %s", self.worker_id, campaign_id)

    def _heartbeat(self, now: float) -> None:
        tuning = self.tuning
        kept = self.store.campaigns.renew(self.worker_id, list(self.runs), now,
                                          tuning.campaign_ttl)
        for campaign_id in list(self.runs):
            if campaign_id not in kept:
                log.warning("%s lost campaign %s", self.worker_id, campaign_id)
                del self.runs[campaign_id]
            else:
                # Another worker's sweeper may have reset orphans counted here: recount.
                self.runs[campaign_id].in_flight = self.store.dialing.in_flight(campaign_id)
        alive = []
        for live in self.calls.values():
            if now < live.watchdog:
                alive.append(live.ref.contact_id)
            elif live.call_id is not None:
                # Presumed stuck: stop vouching for it; the sweeper will reset the contact.
                self._hangup(live.account_id, live.call_id)
        self.store.dialing.renew_leases(alive, now + tuning.lease_ttl)

    def heartbeat(self, now: float) -> None:
        """Renew what this engine holds: campaign leases and its calls' contact leases."""
        self._last_heartbeat = now
        self._heartbeat(now)

    def step_waiting(self, now: float) -> float | None:
        """While draining: serve answered calls waiting for an agent, dial nothing new."""
        return self._serve_waiting(now)

    def sweep(self, now: float) -> int:
        """Reset every in-flight contact whose lease ran out: attempt `unknown`, then policy."""
        reset = 0
        for orphan in self.store.dialing.expired(now):
            settings, _, _ = self._settings(orphan.campaign_id)
            after = after_call(Outcome.UNKNOWN, orphan.attempts, settings.attempts,
                               settings.backoff, now)
            if self.store.dialing.reset_orphan(orphan, after, now):
                reset += 1
                self._agents_changed = True
                for attempt_id, live in list(self.calls.items()):
                    if live.ref.contact_id == orphan.contact_id:
                        del self.calls[attempt_id]
                self._agents_freed = True
                run = self.runs.get(orphan.campaign_id)
                if run is not None:
                    self._wake(run, float("-inf"))
                    run.in_flight = max(0, run.in_flight - 1)
                    run.idle_until = min(run.idle_until, after.due_at or now)
                    if after.due_at is not None:
                        run.retry_due = min(run.retry_due, after.due_at)
        self.counters.resets += reset
        return reset

    def release(self) -> None:
        """Give up every campaign lease (graceful shutdown)."""
        self.store.campaigns.release(self.worker_id, list(self.runs))
        self.runs.clear()

    def invalidate(self, *, acquire: bool = False) -> None:
        """Re-read every campaign on the next step (after a change made elsewhere); with
        `acquire`, also look for campaigns to take at the next housekeeping."""
        if acquire:
            self._last_acquire = float("-inf")
        for run in self.runs.values():
            run.stale = True
            self._wake(run, float("-inf"))
            run.idle_until = float("-inf")
            run.retry_due = float("-inf")

    # -- dialing ---------------------------------------------------------------------------

    def step(self, now: float) -> float | None:
        """Dial what is due at `now`; returns the next time there may be work (None: on event)."""
        wakes: list[float] = []
        waiting = self._serve_waiting(now)
        if waiting is not None:
            wakes.append(waiting)
        agents_freed, self._agents_freed = self._agents_freed, False
        runs = self._due(now, agents_freed)
        try:
            self._dial_due(runs, now, agents_freed)
        except BaseException as exc:
            stack, self._claims, self._claimed = self._claims, None, []
            if stack is not None:  # roll the step's claims back: none of them went out
                stack.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._commit_claims()
        nxt = self._next_wake()
        if nxt is not None:
            wakes.append(nxt)
        return min(wakes) if wakes else None

    def _wake(self, run: CampaignRun, when: float) -> None:
        """Set when a run is next due (inf: only an event or a change wakes it)."""
        run.wake_at = when
        if when != float("inf"):
            heapq.heappush(self._wakes, (when, run.campaign.id))

    def _due(self, now: float, agents_freed: bool) -> list[CampaignRun]:
        """The runs that may have something to do at `now`."""
        due: dict[int, None] = {}
        for heap in (self._wakes, self._refreshes):
            while heap and heap[0][0] <= now:
                due[heapq.heappop(heap)[1]] = None
        if agents_freed:
            due.update(dict.fromkeys(self._needing_agent))
        runs = [run for cid in due if (run := self.runs.get(cid)) is not None]
        if len(self.runs) > 1 and self._gates:  # who dials first takes the carrier's slots:
            # turns. (Only then: a fixed order lets campaigns that fell due together drift
            # apart, so that each later step has fewer to dial at once.)
            self._turn = (self._turn + 1) % len(self.runs)
            position = {cid: i for i, cid in enumerate(self.runs)}
            count, turn = len(self.runs), self._turn
            runs.sort(key=lambda run: (position[run.campaign.id] - turn) % count)
        return runs

    def _next_wake(self) -> float | None:
        """The earliest moment a run is due (stale entries dropped on the way)."""
        heap = self._wakes
        while heap:
            when, cid = heap[0]
            run = self.runs.get(cid)
            if run is not None and run.wake_at == when:
                return when
            heapq.heappop(heap)
        return None

    def dispatch(self) -> None:
        """Place the calls the last step claimed (and committed). A runner on the wall clock
        may step a moment early, claiming at the moment due, and dispatch at that moment."""
        ready, self._ready = self._ready, []
        for dial in ready:
            self._place(dial)

    def _dial_due(self, runs: list[CampaignRun], now: float, agents_freed: bool) -> None:
        refresh = self.tuning.refresh
        clock = self.clock
        for run in runs:
            # Look again by the refresh interval at the latest, for changes made elsewhere.
            needs_agent = run.campaign.id in self._needing_agent
            if (min(run.wake_at, run.refreshed_at + refresh) > now
                    and not (agents_freed and needs_agent)):
                continue  # a stale entry: its moment changed since
            self._needing_agent.discard(run.campaign.id)
            # On the wall clock the campaigns before this one took time: dial on the time
            # it is now, so a campaign's dials leave no closer together than its pacing.
            wake = self._dial(run, max(now, clock.now()))
            self._wake(run, wake if wake is not None else float("inf"))

    def _claiming(self) -> None:
        """Open the step's claim transaction, if it is not open yet."""
        if self._claims is None:
            stack = contextlib.ExitStack()
            stack.enter_context(self.store.dialing.pinned.batch())
            self._claims = stack

    def _commit_claims(self) -> None:
        """Commit the claims made so far; their calls wait for `dispatch`, so that a call
        never goes out before the store knows of it. Anything else that writes (a campaign's
        completion, a pause, a release) comes after this, on a connection of its own."""
        stack, self._claims = self._claims, None
        if stack is None:
            return
        try:
            stack.close()
        finally:
            claimed, self._claimed = self._claimed, []
        self._ready.extend(claimed)

    def _refresh(self, run: CampaignRun, now: float) -> bool:
        """Re-read the campaign if it changed; False when it is no longer ours to dial."""
        if not run.stale and now - run.refreshed_at < self.tuning.refresh:
            return True
        run.stale = False
        run.refreshed_at = now
        heapq.heappush(self._refreshes, (now + self.tuning.refresh, run.campaign.id))
        with self.store.dialing.pinned.read() as conn:
            row = fast.run(conn, _VERSION, {"p_id": run.campaign.id}).first()
        if row is None or row.owner != self.worker_id:
            self.runs.pop(run.campaign.id, None)
            return False
        if row.version != run.campaign.version:
            campaign = self.store.campaigns.get(run.campaign.id)
            settings = campaign.settings
            if settings.business_hours is not None:
                run.hours = settings.business_hours
            run.window = (0.0, 0.0)
            run.campaign = campaign
            run.idle_until = float("-inf")
            run.retry_due = float("-inf")
            if campaign.status.terminal:
                self.runs.pop(campaign.id, None)
                self._commit_claims()
                self.store.campaigns.release(self.worker_id, [campaign.id])
                return False
        return True

    def _dial(self, run: CampaignRun, now: float) -> float | None:
        if not self._refresh(run, now):
            return None
        if run.campaign.status is not CampaignStatus.RUNNING:
            return None
        opens, closes = run.window
        if not opens <= now < closes:
            run.window = opens, closes = run.hours.window(now)
            if now < opens:
                return opens  # compliance: never a dial outside business hours
        if now < run.idle_until:
            return run.idle_until
        blocks = 0
        try:
            cap = self._provider(run.campaign.account_id).calls_per_second
        except InvalidInput as exc:
            self._cannot_dial(run, now, f"the account's telephony settings: {exc}")
            return None
        while True:
            settings = run.settings
            if run.in_flight >= settings.concurrency:
                return None  # a call's end wakes us
            if not run.pacer.ready(now):
                return run.pacer.tat
            if cap is not None:
                gate = self._gates.get(run.campaign.account_id)
                if gate is not None and not gate.ready(now):
                    return gate.tat
            outcome = self._dial_one(run, now)
            if outcome == "blocked":
                blocks += 1
                if blocks >= self.tuning.max_blocks_per_step:
                    return now
                continue
            if outcome == "dialed":
                continue
            if outcome == "no_agent":
                self._needing_agent.add(run.campaign.id)
                return None  # an agent's release wakes us
            return self._nothing_due(run, now)

    def _dial_one(self, run: CampaignRun, now: float) -> str:
        """Claim one call and place it (customer-first: once the step's claims commit):
        'dialed', 'blocked', 'no_agent' or 'none'."""
        if run.settings.dial_mode is DialMode.AGENT_FIRST:
            # Its transaction rolls back when no agent can be reserved: a transaction of its
            # own, never part of the step's.
            self._commit_claims()
            try:
                outcome = self._claim_one(run, now)
            except _NoAgentFree:  # rolled back: the contact stays where it was
                return "no_agent"
            if isinstance(outcome, str):
                return outcome
            self._ready.append(_Dial(run, *outcome))
            return "dialed"
        self._claiming()
        outcome = self._claim_one(run, now)
        if isinstance(outcome, str):
            return outcome
        self._claimed.append(_Dial(run, *outcome))
        if len(self._claimed) >= self.tuning.max_claims_per_batch:
            self._commit_claims()
        return "dialed"

    def _claim_one(self, run: CampaignRun, now: float
                   ) -> str | tuple[Claimed, int, str, ReservedAgent | None, float]:
        """One dial's transaction: claim, caller ID, attempt, agent (agent-first), pacer."""
        settings = run.settings
        campaign = run.campaign
        dialing = self.store.dialing
        agent_first = settings.dial_mode is DialMode.AGENT_FIRST
        agent: ReservedAgent | None = None
        with dialing.pinned.write() as conn:
            free = dialing.free_agent_names(conn, campaign.account_id) if agent_first else None
            if agent_first and not free:
                return "no_agent"
            claimed = None
            lease = now + self.tuning.lease_ttl
            if run.retry_due <= now:
                claimed = dialing.claim(conn, campaign.id, campaign.account_id, now, lease,
                                        retry=True, free_agents=free)
                if claimed is None:
                    due = dialing.next_retry_due(campaign.id, conn)
                    run.retry_due = due if due is not None else float("inf")
            if claimed is None:
                claimed = dialing.claim(conn, campaign.id, campaign.account_id, now, lease,
                                        retry=False, free_agents=free)
            if claimed is None:
                return "none"
            if claimed.blocked:
                self.counters.blocks += 1
                return "blocked"
            caller_id, cursor = pick_caller_id(settings.rotation, settings.numbers, run.cursor,
                                               run.rng, claimed.caller_id)
            attempt_id = dialing.start_attempt(
                conn, campaign.id, claimed, caller_id, now,
                keep_caller_id=settings.rotation is Rotation.STICKY)
            if agent_first:
                assert run.target is not None
                agent = reserve_agent(self.store, conn, campaign.account_id, attempt_id,
                                      run.target, claimed.agent, strict_preference=True)
                if agent is None:
                    raise _NoAgentFree
            pacer = run.pacer.take(now, run.rate(now, self.tuning.recovery))
            self.store.campaigns.save_dial_state(conn, campaign.id, cursor, pacer.tat)
        run.pacer, run.cursor = pacer, cursor
        cap = self._provider(campaign.account_id).calls_per_second
        if cap is not None:
            gate = self._gates.get(campaign.account_id, Pacer())
            self._gates[campaign.account_id] = gate.take(now, cap)
        run.in_flight += 1
        self.counters.dials += 1
        self.counters.per_campaign_dials[campaign.id] = (
            self.counters.per_campaign_dials.get(campaign.id, 0) + 1)
        return claimed, attempt_id, caller_id, agent, now

    def _place(self, dial: _Dial) -> None:
        run, claimed, attempt_id, caller_id, agent, now = (
            dial.run, dial.claimed, dial.attempt_id, dial.caller_id, dial.agent, dial.at)
        ref = AttemptRef(attempt_id, run.campaign.id, claimed.contact_id, claimed.attempt,
                         agent.agent_id if agent else None, False)
        live = LiveCall(ref, run.campaign.account_id, claimed.phone, caller_id, claimed.agent,
                        run.settings.recording, run.settings.ring_timeout,
                        CallState.AGENT_LEG if agent else CallState.DIALING,
                        now + self.tuning.ring_watchdog, agent=agent)
        self.calls[attempt_id] = live
        provider = self._provider(live.account_id)
        self._hold_for_the_wire(run, provider.calls_per_second)
        try:
            if agent is not None:
                assert run.target is not None
                address = agent.sip_uri or agent.phone or agent.name
                live.agent_call_id = provider.originate(OriginateRequest(
                    attempt_id, Leg.AGENT, address, caller_id, record=False,
                    ring_timeout=run.settings.ring_timeout))
            else:
                live.call_id = provider.originate(OriginateRequest(
                    attempt_id, Leg.CUSTOMER, claimed.phone, caller_id, live.record,
                    live.ring_timeout))
        except ProviderError as exc:
            self._left(run)  # it may have reached the carrier before it failed
            log.warning("originate failed for attempt %s: %s", attempt_id, exc)
            self._finish(live, Outcome.PROVIDER_ERROR, now)
            return
        self._left(run)
        if live.agent_call_id is not None:
            self.store.dialing.set_agent_call(attempt_id, live.agent_call_id)

    def _hold_for_the_wire(self, run: CampaignRun, cap: float | None) -> None:
        """Hold a request that would leave too soon. Claims are paced at their moments, and
        the requests are spaced too: one that would leave closer than the pacing to the
        campaign's last (the claims before it took less time) waits the difference,
        microseconds as a rule. And one that would make more than the campaign's rate (or
        the account's cap) in one second, counted from when the requests had left, waits
        until it would not, and moves the pacer's next moment by as much: the waits never
        build up, and a carrier counting its calls per second never sees one too many."""
        clock = self.clock
        rate = run.settings.pacing * run.throttle
        leave = max(clock.now(), run.sent_at + interval(rate))
        opens = run.departures.opens(rate)
        if opens > leave:
            run.pacer = Pacer(run.pacer.tat + (opens - leave))
            if run.wake_at < run.pacer.tat:
                self._wake(run, run.pacer.tat)
            leave = opens
        account_id = run.campaign.account_id
        if cap is not None:
            departures = self._departures.setdefault(account_id, Departures())
            opens = departures.opens(cap)
            if opens > leave:
                gate = self._gates.get(account_id, Pacer())
                self._gates[account_id] = Pacer(gate.tat + (opens - leave))
                leave = opens
        clock.hold(leave)
        run.sent_at = clock.now()

    def _left(self, run: CampaignRun) -> None:
        """Count a request that has gone to the network: it left no later than now."""
        now = self.clock.now()
        run.departures.left(now)
        departures = self._departures.get(run.campaign.account_id)
        if departures is not None:
            departures.left(now)

    def _cannot_dial(self, run: CampaignRun, now: float, why: str) -> None:
        """Pause a campaign this engine cannot dial for (its account's provider cannot be
        built), saying why; the others go on. A user resumes it once the cause is fixed."""
        self._commit_claims()
        log.error("pausing campaign %s: %s", run.campaign.id, why)
        # If it changed meanwhile, the refresh sees how.
        with contextlib.suppress(InvalidTransition, CannotStart):
            self.store.campaigns.act(run.campaign.id, CampaignAction.PAUSE, now, why=why)
        run.stale = True

    def _nothing_due(self, run: CampaignRun, now: float) -> float | None:
        """Nothing claimable now: complete the campaign, or sleep until the next retry."""
        self._commit_claims()
        dialing = self.store.dialing
        if run.in_flight == 0 and not dialing.has_work(run.campaign.id):
            try:
                self.store.campaigns.act(run.campaign.id, CampaignAction.COMPLETE, now)
            except (InvalidTransition, CannotStart):
                run.stale = True
                return now + self.tuning.housekeeping
            self.runs.pop(run.campaign.id, None)
            self.store.campaigns.release(self.worker_id, [run.campaign.id])
            return None
        due = run.retry_due
        if due == float("inf"):
            return None
        run.idle_until = due if due > now else now
        return run.idle_until

    # -- call events -----------------------------------------------------------------------

    def apply_all(self, events: list[CallEvent], until: float = float("inf")) -> int:
        """Record events that came in together, in order, in one transaction; stop early
        once the clock reaches `until` (a dial is due). Returns how many were recorded, at
        least one. A failure loses the batch, as if the process had died before it: the
        contacts' leases run out and the sweeper resets them."""
        if len(events) == 1:
            self.apply(events[0])
            return 1
        done = 0
        clock = self.clock
        with self.store.dialing.pinned.batch():
            for event in events:
                self.apply(event)
                done += 1
                if clock.now() >= until:
                    break
        return done

    def apply(self, event: CallEvent) -> None:
        """Record a provider event; duplicates and stragglers change nothing."""
        self.counters.events += 1
        live = self.calls.get(event.attempt_id)
        ref = live.ref if live else self.store.dialing.attempt_ref(event.attempt_id)
        if ref is None or ref.ended:
            return
        if event.kind is EventKind.REFUSED:
            self._refused(live, ref, event)
            return
        if event.leg is Leg.AGENT:
            self._apply_agent_leg(live, ref, event)
            return
        now = event.at
        lease = now + self.tuning.lease_ttl
        dialing = self.store.dialing
        if event.kind is EventKind.RINGING:
            if dialing.mark_ringing(ref, event.call_id, now, lease) and live:
                live.state = CallState.RINGING
        elif event.kind is EventKind.ANSWERED:
            if dialing.mark_answered(ref, event.call_id, now, lease) and live:
                live.call_id = event.call_id
                live.watchdog = now + self.tuning.call_watchdog
                self._route_answer(live, now)
        elif event.kind is EventKind.DIGIT and event.digit:
            dialing.record_digit(ref, event.digit, now)
        elif event.kind is EventKind.COMPLETED:
            outcome = event.outcome or Outcome.UNKNOWN
            if live is not None and live.state is CallState.ABANDONING:
                outcome = Outcome.ABANDONED
            if event.sip_code == 503:  # the trunk is overloaded: slow down
                self._congested(ref.campaign_id, now)
            self._finish(live, outcome, now, ref=ref, sip_code=event.sip_code,
                         duration=event.duration, recording=event.recording)

    def _congested(self, campaign_id: int, now: float) -> None:
        run = self.runs.get(campaign_id)
        if run is not None:
            run.congested(now, self.tuning.congestion_hold)
            log.info("campaign %s congested: pacing at %.0f%%", campaign_id,
                     100 * run.throttle)

    def _refused(self, live: LiveCall | None, ref: AttemptRef, event: CallEvent) -> None:
        """The network would not place the call: give the contact its attempt back, later."""
        now = event.at
        self._congested(ref.campaign_id, now)
        due = now + (event.retry_after if event.retry_after is not None
                     else self.tuning.default_retry_after)
        done = self.store.dialing.refused(ref, now, due, event.sip_code)
        self._ended(live, ref, done, now, due, hang_up_partner=event.leg is Leg.CUSTOMER)

    def _apply_agent_leg(self, live: LiveCall | None, ref: AttemptRef, event: CallEvent) -> None:
        if live is None:
            return
        if event.kind is EventKind.ANSWERED and live.state is CallState.AGENT_LEG:
            live.state = CallState.DIALING
            try:
                live.call_id = self._provider(live.account_id).originate(OriginateRequest(
                    ref.attempt_id, Leg.CUSTOMER, live.phone, live.caller_id, live.record,
                    live.ring_timeout))
            except ProviderError as exc:
                log.warning("originate failed for attempt %s: %s", ref.attempt_id, exc)
                self._finish(live, Outcome.PROVIDER_ERROR, event.at)
        elif event.kind is EventKind.COMPLETED and live.state is CallState.AGENT_LEG:
            # The agent never came on the line: the customer was not dialed.
            self._finish(live, Outcome.PROVIDER_ERROR, event.at, sip_code=event.sip_code)

    def _route_answer(self, live: LiveCall, now: float) -> None:
        run = self.runs.get(live.ref.campaign_id)
        target = run.target if run else None
        if target is None:
            campaign = self.store.campaigns.get(live.ref.campaign_id)
            assert campaign.settings.transfer is not None
            target = resolve_target(self.store, campaign.account_id, campaign.settings.transfer)
        assert live.call_id is not None
        if target.transfer.kind is TransferKind.VOICE_MENU and live.agent is None:
            live.state = CallState.MENU
            menu = target.menu
            if menu is not None:
                provider = self._provider(live.account_id)
                self._safely(lambda: provider.play_menu(live.call_id or "", menu))
            return
        if live.agent is not None:  # agent-first: the agent is already on the line
            self.store.dialing.mark_bridged(live.ref.attempt_id, now)
            self._bridge(live, target)
            return
        live.state = CallState.WAITING
        live.wait_until = now + self.tuning.abandon_window
        self.waiting[live.ref.attempt_id] = live
        self._try_assign(live, target, now)

    def _try_assign(self, live: LiveCall, target: Target, now: float) -> bool:
        run = self.runs.get(live.ref.campaign_id)
        account_id = run.campaign.account_id if run else self._settings(live.ref.campaign_id)[2]
        with self.store.dialing.pinned.write() as conn:
            agent = reserve_agent(self.store, conn, account_id, live.ref.attempt_id, target,
                                  live.preferred_agent, strict_preference=False)
            if agent is None:
                return False
            live.agent = agent
            self.store.dialing.mark_bridged(live.ref.attempt_id, now, conn)
        self._bridge(live, target)
        return True

    def _bridge(self, live: LiveCall, target: Target) -> None:
        """Join the answered customer to its agent (the bridge time is already recorded)."""
        assert live.agent is not None and live.call_id is not None
        live.state = CallState.BRIDGED
        live.wait_until = None
        agent = endpoint(target, live.agent)
        self._safely(lambda: self._provider(live.account_id).bridge(live.call_id or "", agent,
                                                     live.agent_call_id))

    def _serve_waiting(self, now: float) -> float | None:
        """Give free agents to answered calls in answer order; abandon those out of time."""
        calls = self.calls
        waiting = [c for c in self.waiting.values()
                   if c.state is CallState.WAITING and calls.get(c.ref.attempt_id) is c]
        if len(waiting) != len(self.waiting):
            self.waiting = {c.ref.attempt_id: c for c in waiting}
        if not waiting:
            return None
        recheck = self._agents_changed
        self._agents_changed = False
        wakes = []
        for live in waiting:
            run = self.runs.get(live.ref.campaign_id)
            if recheck and run is not None and run.target is not None and self._try_assign(
                    live, run.target, now):
                continue
            assert live.wait_until is not None
            if now >= live.wait_until:
                live.state = CallState.ABANDONING
                if live.call_id:
                    self._hangup(live.account_id, live.call_id, HangupReason.ABANDONED)
            else:
                wakes.append(live.wait_until)
        return min(wakes) if wakes else None

    def _finish(self, live: LiveCall | None, outcome: Outcome, now: float, *,
                ref: AttemptRef | None = None, sip_code: int | None = None,
                duration: float | None = None, recording: str | None = None) -> None:
        ref = ref or (live.ref if live else None)
        assert ref is not None
        settings, _, _ = self._settings(ref.campaign_id)
        after: AfterCall = after_call(outcome, ref.attempt, settings.attempts, settings.backoff,
                                      now)
        done = self.store.dialing.finish(ref, outcome, after, now, sip_code=sip_code,
                                         duration=duration, recording=recording,
                                         phone=live.phone if live else None)
        self._ended(live, ref, done, now, after.due_at)

    def _ended(self, live: LiveCall | None, ref: AttemptRef, done: bool, now: float,
               due: float | None, *, hang_up_partner: bool = True) -> None:
        """Forget a call that ended (or never went out), free what it held, and wake its
        campaign; `done` says whether the store moved its contact (not a straggler)."""
        if live is not None:
            self.calls.pop(ref.attempt_id, None)
            if (hang_up_partner and live.agent_call_id
                    and live.agent_call_id != live.call_id):
                self._hangup(live.account_id, live.agent_call_id)
            if live.agent is not None:
                self._agents_changed = True
                self._agents_freed = True
        if not done:
            return
        self._agents_changed = True
        self._agents_freed = True
        run = self.runs.get(ref.campaign_id)
        if run is not None:
            self._wake(run, float("-inf"))
            run.in_flight = max(0, run.in_flight - 1)
            run.idle_until = min(run.idle_until, due if due else now)
            if due is not None:
                run.retry_due = min(run.retry_due, due)

    def _hangup(self, account_id: int, call_id: str,
                reason: HangupReason = HangupReason.NORMAL) -> None:
        self._safely(lambda: self._provider(account_id).hangup(call_id, reason))

    def _safely(self, request: Callable[[], None]) -> None:
        """Run a provider request; a refusal is logged, the call's events still decide."""
        try:
            request()
        except ProviderError as exc:
            log.warning("provider refused a request: %s", exc)

    def _settings(self, campaign_id: int) -> tuple[CampaignSettings, int, int]:
        """A campaign's settings, version and account, cached by version."""
        run = self.runs.get(campaign_id)
        if run is not None:
            return run.settings, run.campaign.version, run.campaign.account_id
        cached = self._settings_cache.get(campaign_id)
        if cached is None:
            campaign = self.store.campaigns.get(campaign_id)
            cached = (campaign.version, campaign.settings, campaign.account_id)
            self._settings_cache[campaign_id] = cached
        return cached[1], cached[0], cached[2]
