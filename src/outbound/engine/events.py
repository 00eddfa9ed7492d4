"""Call events: record what the network reports and act on it.

A ringing, answer, digit or end is written through the store, guarded by the state it
expects, so duplicates and stragglers change nothing. An answered call is routed: bridged to
the agent already on the line (agent-first), given the voice menu, or held (at most the
agent grace, 2 s) until a free agent can be reserved for it. An ended call is finished by the
retry policy, and what it held (its agent, its campaign's slot) is released.
"""

from __future__ import annotations

import logging

from outbound.domain.contacts import AfterCall, Outcome, after_call
from outbound.domain.errors import ProviderError
from outbound.domain.settings import OPT_OUT_DIGIT, TransferKind
from outbound.engine.dialer import Dialer
from outbound.engine.state import CallState, EngineState, LiveCall
from outbound.routing.router import Target, candidates, endpoint
from outbound.store.dialing import AttemptRef
from outbound.telephony.port import CallEvent, EventKind, Leg, OriginateRequest

log = logging.getLogger(__name__)


class Events:
    """Applies the provider's events to the calls this engine drives (and to stragglers)."""

    def __init__(self, state: EngineState, dialer: Dialer) -> None:
        self.state = state
        self.dialer = dialer
        self.store = state.store
        self.clock = state.clock
        self.tuning = state.tuning
        self.runs = state.runs
        self.calls = state.calls
        self.counters = state.counters
        # Answered calls waiting for an agent, in answer order (a subset of `calls`).
        self.waiting: dict[int, LiveCall] = {}

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
                steering = self.dialer.steered.get(ref.attempt_id)
                if steering is not None:
                    steering.answered(ref.attempt_id, now)
                live.call_id = event.call_id
                live.watchdog = now + self.tuning.call_watchdog
                self._route_answer(live, now)
        elif event.kind is EventKind.DIGIT and event.digit:
            if live is not None and live.state is CallState.ABANDONING:
                # Pressed during the abandon message: only the opt-out digit means anything
                # (the safe-harbour rule: a way to stop the calls), and never a menu answer.
                if event.digit == OPT_OUT_DIGIT:
                    dialing.opt_out(ref, now)
            else:
                dialing.record_digit(ref, event.digit, now)
        elif event.kind is EventKind.COMPLETED:
            outcome = event.outcome or Outcome.UNKNOWN
            # Both kinds of abandonment count (the TCPA's and Ofcom's rate): no agent came
            # within the grace, or the customer hung up while waiting for one.
            if live is not None and live.state in (CallState.ABANDONING, CallState.WAITING):
                outcome = Outcome.ABANDONED
            if event.sip_code == 503:  # the trunk is overloaded: slow down
                self._congested(ref.campaign_id, now)
            self.finish(live, outcome, now, ref=ref, sip_code=event.sip_code,
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
        self._steered_end(ref.attempt_id, Outcome.PROVIDER_ERROR, now)
        self._ended(live, ref, done, now, due, hang_up_partner=event.leg is Leg.CUSTOMER)

    def _apply_agent_leg(self, live: LiveCall | None, ref: AttemptRef, event: CallEvent) -> None:
        if live is None:
            return
        if event.kind is EventKind.ANSWERED and live.state is CallState.AGENT_LEG:
            live.state = CallState.DIALING
            try:
                live.call_id = self.state.provider(live.account_id).originate(OriginateRequest(
                    ref.attempt_id, Leg.CUSTOMER, live.phone, live.caller_id, live.record,
                    live.ring_timeout))
            except ProviderError as exc:
                log.warning("originate failed for attempt %s: %s", ref.attempt_id, exc)
                self.finish(live, Outcome.PROVIDER_ERROR, event.at)
        elif event.kind is EventKind.COMPLETED and live.state is CallState.AGENT_LEG:
            # The agent never came on the line: the customer was not dialed.
            self.finish(live, Outcome.PROVIDER_ERROR, event.at, sip_code=event.sip_code)

    # -- routing an answer -------------------------------------------------------------------

    def _route_answer(self, live: LiveCall, now: float) -> None:
        run = self.runs.get(live.ref.campaign_id)
        target = run.target if run else None
        if target is None:
            campaign = self.store.campaigns.get(live.ref.campaign_id)
            assert campaign.settings.transfer is not None
            target = self.state.target(campaign.account_id, campaign.settings.transfer)
        assert live.call_id is not None
        if target.transfer.kind is TransferKind.VOICE_MENU and live.agent is None:
            live.state = CallState.MENU
            menu = target.menu
            if menu is not None:
                provider = self.state.provider(live.account_id)
                self.state.safely(lambda: provider.play_menu(live.call_id or "", menu))
            return
        if live.agent is not None:  # agent-first: the agent is already on the line
            self.store.dialing.mark_bridged(live.ref.attempt_id, now)
            self._bridge(live, target)
            return
        live.state = CallState.WAITING
        live.wait_until = now + self.tuning.agent_grace
        self.waiting[live.ref.attempt_id] = live
        self._try_assign(live, target, now)

    def _try_assign(self, live: LiveCall, target: Target, now: float) -> bool:
        run = self.runs.get(live.ref.campaign_id)
        account_id = (run.campaign.account_id if run
                      else self.state.settings(live.ref.campaign_id)[2])
        dialing = self.store.dialing
        with dialing.pinned.write() as conn:
            agent = dialing.reserve_agent(
                conn, account_id, live.ref.attempt_id,
                candidates(target, live.preferred_agent, strict_preference=False))
            if agent is None:
                return False
            live.agent = agent
            dialing.mark_bridged(live.ref.attempt_id, now, conn)
        steering = self.dialer.steered.get(live.ref.attempt_id)
        if steering is not None:
            steering.bridged(live.ref.attempt_id)
        self._bridge(live, target)
        return True

    def _bridge(self, live: LiveCall, target: Target) -> None:
        """Join the answered customer to its agent (the bridge time is already recorded)."""
        assert live.agent is not None and live.call_id is not None
        live.state = CallState.BRIDGED
        live.wait_until = None
        agent = endpoint(target, live.agent)
        self.state.safely(lambda: self.state.provider(live.account_id).bridge(
            live.call_id or "", agent, live.agent_call_id))

    def serve_waiting(self, now: float) -> float | None:
        """Give free agents to answered calls in answer order; abandon those out of time.
        Returns when the first of those still waiting runs out of time."""
        calls = self.calls
        waiting = [c for c in self.waiting.values()
                   if c.state is CallState.WAITING and calls.get(c.ref.attempt_id) is c]
        if len(waiting) != len(self.waiting):
            self.waiting = {c.ref.attempt_id: c for c in waiting}
        if not waiting:
            return None
        state = self.state
        recheck = state.agents_changed
        state.agents_changed = False
        wakes = []
        for live in waiting:
            run = self.runs.get(live.ref.campaign_id)
            if recheck and run is not None and run.target is not None and self._try_assign(
                    live, run.target, now):
                continue
            assert live.wait_until is not None
            if now >= live.wait_until:
                live.state = CallState.ABANDONING
                steering = self.dialer.steered.get(live.ref.attempt_id)
                if steering is not None:
                    steering.abandoned(live.ref.attempt_id)
                if live.call_id:
                    state.abandon(live.account_id, live.call_id,
                                  state.abandon_message(live.ref.campaign_id))
            else:
                wakes.append(live.wait_until)
        return min(wakes) if wakes else None

    # -- the end of a call -------------------------------------------------------------------

    def finish(self, live: LiveCall | None, outcome: Outcome, now: float, *,
               ref: AttemptRef | None = None, sip_code: int | None = None,
               duration: float | None = None, recording: str | None = None) -> None:
        """End a call with `outcome`: the retry policy moves its contact, and what it held
        is released."""
        ref = ref or (live.ref if live else None)
        assert ref is not None
        settings, _, _ = self.state.settings(ref.campaign_id)
        after: AfterCall = after_call(outcome, ref.attempt, settings.attempts, settings.backoff,
                                      now)
        done = self.store.dialing.finish(ref, outcome, after, now, sip_code=sip_code,
                                         duration=duration, recording=recording,
                                         phone=live.phone if live else None)
        self._steered_end(ref.attempt_id, outcome, now)
        self._ended(live, ref, done, now, after.due_at)

    def _steered_end(self, attempt_id: int, outcome: Outcome, now: float) -> None:
        """Tell a governed campaign's steering how its call ended (its estimates learn)."""
        steering = self.dialer.steered.pop(attempt_id, None)
        if steering is not None:
            steering.ended(attempt_id, outcome, now)

    def _ended(self, live: LiveCall | None, ref: AttemptRef, done: bool, now: float,
               due: float | None, *, hang_up_partner: bool = True) -> None:
        """Forget a call that ended (or never went out), free what it held, and wake its
        campaign; `done` says whether the store moved its contact (not a straggler)."""
        if live is not None:
            self.calls.pop(ref.attempt_id, None)
            if (hang_up_partner and live.agent_call_id
                    and live.agent_call_id != live.call_id):
                self.state.hangup(live.account_id, live.agent_call_id)
            if live.agent is not None:
                self.state.agents_changed = True
                self.state.agents_freed = True
        if done:
            self.dialer.released(ref.campaign_id, now, due)
