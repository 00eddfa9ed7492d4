"""Leases and housekeeping: which campaigns this engine runs, and the calls it vouches for.

Housekeeping starts scheduled campaigns, takes campaigns without a live owner, renews the
leases of the campaigns and calls this engine holds (the heartbeat), and sweeps: any contact
whose lease ran out (its engine died, or stopped vouching for a stuck call) has its attempt
ended as `unknown` and is moved on by the retry policy.
"""

from __future__ import annotations

import logging
import random

from outbound.domain.contacts import Outcome, after_call
from outbound.domain.pacer import Pacer
from outbound.engine.dialer import Dialer
from outbound.engine.state import CampaignRun, EngineState

log = logging.getLogger(__name__)


class Leases:
    """Takes, renews and gives up campaign leases; renews and sweeps contact leases."""

    def __init__(self, state: EngineState, dialer: Dialer) -> None:
        self.state = state
        self.dialer = dialer
        self.store = state.store
        self.tuning = state.tuning
        self.runs = state.runs
        self.calls = state.calls
        self._last_heartbeat = float("-inf")
        self._last_sweep = float("-inf")
        self._last_acquire = float("-inf")

    def housekeeping(self, now: float) -> float:
        """Side work; returns when it next wants to run."""
        next_start = self.store.campaigns.start_due(now)
        tuning = self.tuning
        if now - self._last_acquire >= tuning.acquire:
            self._last_acquire = now
            acquired: list[int] = self.store.campaigns.acquire(self.state.worker_id, now,
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

    def acquire_soon(self) -> None:
        """Look for campaigns to take at the next housekeeping."""
        self._last_acquire = float("-inf")

    def _adopt(self, campaign_id: int, now: float) -> None:
        store = self.store
        campaign = store.campaigns.get(campaign_id)
        account = store.accounts.get(campaign.account_id)
        settings = campaign.settings
        hours = settings.business_hours or store.accounts.business_hours(account)
        target = (self.state.target(campaign.account_id, settings.transfer)
                  if settings.transfer else None)
        run = self.runs[campaign_id] = CampaignRun(
            campaign, hours, target, Pacer(campaign.pacer_tat), campaign.rotation_cursor,
            random.Random(campaign.seed * 1_000_003 + campaign.rotation_cursor),
            store.dialing.in_flight(campaign_id), refreshed_at=now,
        )
        self.dialer.track(run, now)
        log.info("%s owns campaign %s", self.state.worker_id, campaign_id)

    def heartbeat(self, now: float) -> None:
        """Renew what this engine holds: campaign leases and its calls' contact leases."""
        self._last_heartbeat = now
        tuning = self.tuning
        worker_id = self.state.worker_id
        kept = self.store.campaigns.renew(worker_id, list(self.runs), now, tuning.campaign_ttl)
        for campaign_id in list(self.runs):
            if campaign_id not in kept:
                log.warning("%s lost campaign %s", worker_id, campaign_id)
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
                self.state.hangup(live.account_id, live.call_id)
        self.store.dialing.renew_leases(alive, now + tuning.lease_ttl)

    def sweep(self, now: float) -> int:
        """Reset every in-flight contact whose lease ran out: attempt `unknown`, then policy."""
        reset = 0
        dialing = self.store.dialing
        for orphan in dialing.expired(now):
            settings, _, _ = self.state.settings(orphan.campaign_id)
            after = after_call(Outcome.UNKNOWN, orphan.attempts, settings.attempts,
                               settings.backoff, now)
            if dialing.reset_orphan(orphan, after, now):
                reset += 1
                for attempt_id, live in list(self.calls.items()):
                    if live.ref.contact_id == orphan.contact_id:
                        del self.calls[attempt_id]
                        steering = self.dialer.steered.pop(attempt_id, None)
                        if steering is not None:
                            steering.ended(attempt_id, Outcome.UNKNOWN, now)
                self.dialer.released(orphan.campaign_id, now, after.due_at)
        self.state.counters.resets += reset
        return reset

    def release(self) -> None:
        """Give up every campaign lease (graceful shutdown)."""
        self.store.campaigns.release(self.state.worker_id, list(self.runs))
        self.runs.clear()
