"""Dialing: the step that claims what is due, and placing the claimed calls.

A step looks only at the campaigns that are due (heaps of their wake-ups and refresh
moments), checks business hours, concurrency, the pacer and the account's carrier gate, and
claims one contact at a time. Customer-first claims share the step's transaction and go out
at `dispatch`, once it has committed; an agent-first claim has a transaction of its own,
which rolls back when no agent can be reserved. Each request is held for the wire, if need
be, so that no campaign (and no carrier) sees more calls in a second than it allows.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
from dataclasses import dataclass
from enum import Enum

from outbound.domain.errors import CannotStart, InvalidInput, InvalidTransition, ProviderError
from outbound.domain.governor import GUARD_SECONDS, Limit, window_start
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.domain.pacer import Departures, Pacer, interval
from outbound.domain.rotation import Rotation, pick_caller_id
from outbound.domain.settings import DialMode
from outbound.engine.state import CallState, CampaignRun, EngineState, LiveCall
from outbound.engine.steering import Pool, PoolKey, Steering, governed, pool_key
from outbound.routing.router import candidates
from outbound.store.dialing import AttemptRef, Claimed, ReservedAgent
from outbound.telephony.port import Leg, OriginateRequest

log = logging.getLogger(__name__)


class DialResult(Enum):
    """What one try to dial for a campaign came to."""

    DIALED = "dialed"  # a call was claimed (customer-first: it leaves once the claims commit)
    BLOCKED = "blocked"  # the next contact is on the do-not-call list: blocked, not dialed
    NO_AGENT = "no_agent"  # agent-first: no agent is free, so nobody was dialed
    NOTHING_DUE = "nothing_due"  # no contact is pending, nor any retry due


@dataclass(frozen=True, slots=True)
class Dial:
    """A claimed call, committed or about to be, waiting to go out."""

    run: CampaignRun
    claimed: Claimed
    attempt_id: int
    caller_id: str
    agent: ReservedAgent | None  # agent-first: the agent reserved for it, dialed first
    at: float  # the moment it was claimed for: its dial start


class _NoAgentFree(Exception):
    """Raised inside a dial's transaction to roll it back: no agent could be reserved."""


class Dialer:
    """Claims what is due and places the calls; owns the runs' wake-ups and the gates."""

    def __init__(self, state: EngineState) -> None:
        self.state = state
        # The same objects as the state's (never rebound): one lookup less on the hot path.
        self.store = state.store
        self.clock = state.clock
        self.tuning = state.tuning
        self.runs = state.runs
        self.calls = state.calls
        self.counters = state.counters
        self._gates: dict[int, Pacer] = {}  # per account: its carrier's calls-per-second cap
        self._departures: dict[int, Departures] = {}  # per capped account, as per campaign
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
        self._claimed: list[Dial] = []  # in the open transaction
        self._ready: list[Dial] = []  # committed, to dispatch
        # The governor's feed: the calls on each pool of agents, and each governed call's
        # campaign steering by attempt (kept past its campaign's run, until the call ends).
        self._pools: dict[PoolKey, Pool] = {}
        self.steered: dict[int, Steering] = {}
        # What binds each campaign, saved to the store when it changes (at most once a
        # `limits_every`): the pages, the API and the CLI read it there.
        self._limits: dict[int, str | None] = {}
        self._saved_limits: dict[int, str | None] = {}
        self._limits_saved_at = float("-inf")

    # -- the runs' wake-ups ------------------------------------------------------------------

    def track(self, run: CampaignRun, now: float) -> None:
        """A run just adopted: due at once, re-read by the refresh interval."""
        run.steering = self._steering(run)
        self.wake(run, float("-inf"))
        heapq.heappush(self._refreshes, (now + self.tuning.refresh, run.campaign.id))

    def wake(self, run: CampaignRun, when: float) -> None:
        """Set when a run is next due (inf: only an event or a change wakes it)."""
        run.wake_at = when
        if when != float("inf"):
            heapq.heappush(self._wakes, (when, run.campaign.id))

    def released(self, campaign_id: int, now: float, due: float | None) -> None:
        """A contact left flight (its call ended, or the sweeper reset it): the agent it held
        is free, its campaign has a call less in flight and may have a retry due at `due`."""
        state = self.state
        state.agents_changed = True
        state.agents_freed = True
        run = self.runs.get(campaign_id)
        if run is not None:
            self.wake(run, float("-inf"))
            run.in_flight = max(0, run.in_flight - 1)
            run.idle_until = min(run.idle_until, due if due else now)
            if due is not None:
                run.retry_due = min(run.retry_due, due)

    def invalidate(self) -> None:
        """Re-read every run on the next step, and look for its work afresh."""
        for run in self.runs.values():
            run.stale = True
            self.wake(run, float("-inf"))
            run.idle_until = float("-inf")
            run.retry_due = float("-inf")

    # -- the step ----------------------------------------------------------------------------

    def step(self, now: float) -> float | None:
        """Claim what is due at `now`; returns the next time there may be work (None: on
        event). The claims go out at `dispatch`."""
        state = self.state
        agents_freed, state.agents_freed = state.agents_freed, False
        runs = self._due(now, agents_freed)
        try:
            self._dial_due(runs, now, agents_freed)
        except BaseException as exc:
            stack, self._claims, self._claimed = self._claims, None, []
            if stack is not None:  # roll the step's claims back: none of them went out
                stack.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._commit_claims()
        self._save_limits(now)
        return self._next_wake()

    def _limit(self, run: CampaignRun, limit: Limit | None) -> None:
        if run.limited_by is not limit:
            run.limited_by = limit
            self._limits[run.campaign.id] = limit.value if limit else None

    def _save_limits(self, now: float) -> None:
        if not self._limits or now - self._limits_saved_at < self.tuning.limits_every:
            return
        changed = {cid: v for cid, v in self._limits.items()
                   if cid in self.runs and self._saved_limits.get(cid, "") != v}
        self._limits.clear()
        self._limits_saved_at = now
        if changed:
            self.store.campaigns.set_limits(changed)
            self._saved_limits.update(changed)

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
            self.wake(run, wake if wake is not None else float("inf"))

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
        campaigns = self.store.campaigns
        with self.store.dialing.pinned.read() as conn:
            held = campaigns.ownership(conn, run.campaign.id)
        if held is None or held.owner != self.state.worker_id:
            self.runs.pop(run.campaign.id, None)
            return False
        if held.version != run.campaign.version:
            campaign = campaigns.get(run.campaign.id)
            settings = campaign.settings
            if settings.business_hours is not None:
                run.hours = settings.business_hours
            run.window = (0.0, 0.0)
            run.campaign = campaign
            run.steering = self._steering(run)
            # Its status may have changed, which clears the stored limit: say it again.
            run.limited_by = None
            self._saved_limits.pop(campaign.id, None)
            run.idle_until = float("-inf")
            run.retry_due = float("-inf")
            if campaign.status.terminal:
                self.runs.pop(campaign.id, None)
                self._commit_claims()
                campaigns.release(self.state.worker_id, [campaign.id])
                return False
        return True

    def _dial(self, run: CampaignRun, now: float) -> float | None:
        """Dial what the run may at `now`; returns when it is next due (None: on event)."""
        if not self._refresh(run, now):
            return None
        if run.campaign.status is not CampaignStatus.RUNNING:
            self._limit(run, None)
            return None
        opens, closes = run.window
        if not opens <= now < closes:
            run.window = opens, closes = run.hours.window(now)
            if now < opens:
                self._limit(run, Limit.BUSINESS_HOURS)
                return opens  # compliance: never a dial outside business hours
        if now < run.idle_until:
            self._limit(run, Limit.NOTHING_DUE)
            return run.idle_until
        blocks = 0
        try:
            cap = self.state.provider(run.campaign.account_id).calls_per_second
        except InvalidInput as exc:
            self._cannot_dial(run, now, f"the account's telephony settings: {exc}")
            return None
        steering = run.steering
        allowed: int | None = None  # what the governor allows now (governed campaigns)
        while True:
            settings = run.settings
            if run.in_flight >= settings.concurrency:
                self._limit(run, Limit.CONCURRENCY)
                return None  # a call's end wakes us
            if allowed is not None and allowed <= 0:
                assert steering is not None and steering.decision is not None
                self._limit(run, steering.decision.limited_by)
                self._needing_agent.add(run.campaign.id)  # an agent's release wakes us
                return now + self.tuning.govern_tick
            gate = self._gates.get(run.campaign.account_id) if cap is not None else None
            if gate is not None and not gate.ready(now) and gate.tat >= run.pacer.tat:
                self._limit(run, Limit.CARRIER)  # the account's calls per second bind
                return gate.tat
            if not run.pacer.ready(now):
                self._limit(run, Limit.CARRIER if run.throttle < 1 else Limit.PACING)
                return run.pacer.tat
            if steering is not None and allowed is None:
                allowed = self._govern(run, steering, now)
                continue
            result = self._dial_one(run, now)
            if result is DialResult.DIALED:
                if allowed is not None:
                    allowed -= 1
                continue
            if result is DialResult.BLOCKED:
                blocks += 1
                if blocks >= self.tuning.max_blocks_per_step:
                    return now
                continue
            if result is DialResult.NO_AGENT:
                self._limit(run, Limit.AGENTS)
                self._needing_agent.add(run.campaign.id)
                return None  # an agent's release wakes us
            self._limit(run, Limit.NOTHING_DUE)
            return self._nothing_due(run, now)

    # -- the governor ------------------------------------------------------------------------

    def _steering(self, run: CampaignRun) -> Steering | None:
        """The run's steering for its current settings: kept (retuned) while it stays
        governed, made on the first governed look, dropped when it no longer is."""
        settings = run.settings
        if not governed(settings, run.target):
            return None
        if run.steering is not None:
            run.steering.retune(settings)
            return run.steering
        assert run.target is not None
        key = pool_key(run.campaign.account_id, run.target)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = Pool()
        return Steering.start(settings, pool)

    def _govern(self, run: CampaignRun, steering: Steering, now: float) -> int:
        """How many calls the governor allows the run to place now."""
        campaign = run.campaign
        if now - steering.read_at >= self.tuning.window_every:
            since = window_start(campaign.settings.abandon_window, now, run.hours.timezone)
            stats = self.store.stats
            steering.read(stats.abandon_window(campaign.id, since),
                          stats.abandon_window(campaign.id, max(since, now - GUARD_SECONDS)),
                          now)
        assert run.target is not None
        dialing = self.store.dialing
        with dialing.pinned.read() as conn:
            free = dialing.free_agents(conn, campaign.account_id, run.target.choices)
        room = run.settings.concurrency - run.in_flight
        return steering.decide(free, room, now).calls

    def _dial_one(self, run: CampaignRun, now: float) -> DialResult:
        """Claim one call, to be placed (customer-first: once the step's claims commit)."""
        if run.settings.dial_mode is DialMode.AGENT_FIRST:
            # Its transaction rolls back when no agent can be reserved: a transaction of its
            # own, never part of the step's.
            self._commit_claims()
            try:
                claim = self._claim_one(run, now)
            except _NoAgentFree:  # rolled back: the contact stays where it was
                return DialResult.NO_AGENT
            if isinstance(claim, DialResult):
                return claim
            self._ready.append(claim)
            return DialResult.DIALED
        self._claiming()
        claim = self._claim_one(run, now)
        if isinstance(claim, DialResult):
            return claim
        self._claimed.append(claim)
        if len(self._claimed) >= self.tuning.max_claims_per_batch:
            self._commit_claims()
        return DialResult.DIALED

    def _claim_one(self, run: CampaignRun, now: float) -> Dial | DialResult:
        """One dial's transaction: claim, caller ID, attempt, agent (agent-first), pacer.
        The dial claimed, or why there is none."""
        settings = run.settings
        campaign = run.campaign
        dialing = self.store.dialing
        agent_first = settings.dial_mode is DialMode.AGENT_FIRST
        agent: ReservedAgent | None = None
        with dialing.pinned.write() as conn:
            free = dialing.free_agent_names(conn, campaign.account_id) if agent_first else None
            if agent_first and not free:
                return DialResult.NO_AGENT
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
                return DialResult.NOTHING_DUE
            if claimed.blocked:
                self.counters.blocks += 1
                return DialResult.BLOCKED
            caller_id, cursor = pick_caller_id(settings.rotation, settings.numbers, run.cursor,
                                               run.rng, claimed.caller_id)
            attempt_id = dialing.start_attempt(
                conn, campaign.id, claimed, caller_id, now,
                keep_caller_id=settings.rotation is Rotation.STICKY)
            if agent_first:
                assert run.target is not None
                agent = dialing.reserve_agent(
                    conn, campaign.account_id, attempt_id,
                    candidates(run.target, claimed.agent, strict_preference=True))
                if agent is None:
                    raise _NoAgentFree
            pacer = run.pacer.take(now, run.rate(now, self.tuning.recovery))
            self.store.campaigns.save_dial_state(conn, campaign.id, cursor, pacer.tat)
        run.pacer, run.cursor = pacer, cursor
        cap = self.state.provider(campaign.account_id).calls_per_second
        if cap is not None:
            gate = self._gates.get(campaign.account_id, Pacer())
            self._gates[campaign.account_id] = gate.take(now, cap)
        run.in_flight += 1
        counters = self.counters
        counters.dials += 1
        counters.per_campaign_dials[campaign.id] = (
            counters.per_campaign_dials.get(campaign.id, 0) + 1)
        return Dial(run, claimed, attempt_id, caller_id, agent, now)

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
            self.store.campaigns.release(self.state.worker_id, [run.campaign.id])
            return None
        due = run.retry_due
        if due == float("inf"):
            return None
        run.idle_until = due if due > now else now
        return run.idle_until

    # -- placing the calls -------------------------------------------------------------------

    def ready(self) -> list[Dial]:
        """The calls the last step claimed and committed, to place now (`place`)."""
        ready, self._ready = self._ready, []
        return ready

    def place(self, dial: Dial) -> LiveCall | None:
        """Send a claimed call to the network; the call, if the provider refused it (the
        caller finishes it as a provider error)."""
        run, claimed, attempt_id, caller_id, agent, now = (
            dial.run, dial.claimed, dial.attempt_id, dial.caller_id, dial.agent, dial.at)
        ref = AttemptRef(attempt_id, run.campaign.id, claimed.contact_id, claimed.attempt,
                         agent.agent_id if agent else None, False)
        live = LiveCall(ref, run.campaign.account_id, claimed.phone, caller_id, claimed.agent,
                        run.settings.recording, run.settings.ring_timeout,
                        CallState.AGENT_LEG if agent else CallState.DIALING,
                        now + self.tuning.ring_watchdog, agent=agent)
        self.calls[attempt_id] = live
        if run.steering is not None:
            run.steering.placed(attempt_id, now)
            self.steered[attempt_id] = run.steering
        provider = self.state.provider(live.account_id)
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
            return live
        self._left(run)
        if live.agent_call_id is not None:
            self.store.dialing.set_agent_call(attempt_id, live.agent_call_id)
        return None

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
                self.wake(run, run.pacer.tat)
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
