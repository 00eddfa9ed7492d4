"""A campaign's figures as the doors show them: progress, stats, the dashboard's live numbers,
and the totals behind /metrics.

Dashboards refresh every second or two, so the figures are computed at most once per short
window per campaign (`CampaignCache`), however many pages and clients ask.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from outbound.clock import monotonic
from outbound.domain.contacts import IN_FLIGHT, ContactStatus
from outbound.domain.governor import window_start
from outbound.domain.lifecycle import CampaignStatus
from outbound.domain.limits import LimitFigures, limit_of, limit_words
from outbound.domain.timefmt import iso
from outbound.service.campaigns import campaign_of, progress
from outbound.store import Store
from outbound.store.campaigns import Campaign
from outbound.store.stats import Totals

T = TypeVar("T")

RECENT_DIALS_WINDOW = 10.0  # seconds: "pacing now" is the dials started over this window


class CampaignCache(Generic[T]):
    """Values per campaign, computed at most once per `ttl` seconds however many callers ask:
    dashboards refresh every second or two, and counting a large campaign's contacts for every
    request would crowd out the dialer in the same process."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}
        self._values: dict[int, tuple[float, T]] = {}

    def fresh(self, campaign_id: int) -> T | None:
        """The value if computed within the TTL; takes no lock."""
        cached = self._values.get(campaign_id)
        if cached is None or monotonic() - cached[0] >= self.ttl:
            return None
        return cached[1]

    def get(self, campaign_id: int, compute: Callable[[], T]) -> T:
        with self._lock:
            lock = self._locks.setdefault(campaign_id, threading.Lock())
        with lock:  # one computation at a time per campaign; the others wait and share it
            cached = self.fresh(campaign_id)
            if cached is not None:
                return cached
            value = compute()
            self._values[campaign_id] = (monotonic(), value)
            return value


_progress_cache: CampaignCache[dict[str, Any]] = CampaignCache(ttl=1.0)
# The dashboard polls every second; half a second keeps its numbers at most that stale.
_live_cache: CampaignCache[dict[str, Any]] = CampaignCache(ttl=0.5)


def cached_progress(store: Store, campaign_id: int) -> tuple[int, int, int]:
    """`progress`, computed at most once a second per campaign: for lists that every
    dashboard refreshes every second."""
    value = _progress_cache.get(campaign_id, lambda: dict(zip(
        ("total", "finished", "in_flight"), progress(store, campaign_id), strict=True)))
    return value["total"], value["finished"], value["in_flight"]


def compute_stats(store: Store, account_id: int, campaign: Campaign,
                  now: float) -> dict[str, Any]:
    """Counts per contact state, calls in flight, free agents of the target, pacing at `now`
    (dials over the last 10 s) against configured, DNC blocks, abandonment, recent events.
    Uncached: the API keeps its own per-campaign cache of the JSON it sends."""
    counts = store.contacts.counts(campaign.id)
    calls = store.stats.calls(account_id, campaign.id, campaign.settings.transfer,
                              since=now - RECENT_DIALS_WINDOW)
    answered, abandoned = calls.answered, calls.abandoned
    data: dict[str, Any] = {
        "status": campaign.status.value,
        "contacts": counts,
        "in_flight": sum(counts[s.value] for s in IN_FLIGHT),
        "free_agents": calls.free_agents,
        "pacing": {"configured": campaign.settings.pacing,
                   "now": calls.recent_dials / RECENT_DIALS_WINDOW},
        "concurrency": campaign.settings.concurrency,
        "dnc_blocks": counts[ContactStatus.BLOCKED.value],
        "answered": answered,
        "abandoned": abandoned,
        "abandonment_rate": round(abandoned / answered, 6) if answered else 0.0,
        "recent_events": [{"at": iso(e.at), "kind": e.kind, "contact_id": e.contact_id,
                           "detail": e.detail} for e in calls.recent_events],
        "abandon": _abandon(store, account_id, campaign, now),
        "agents": _agents(store, account_id, campaign),
    }
    return data | _why(campaign, data)


def _abandon(store: Store, account_id: int, campaign: Campaign, now: float) -> dict[str, Any]:
    """The abandon rate over the campaign's window (30 days, or today in the account's zone),
    beside its target: what the cap holds it to."""
    settings = campaign.settings
    since = window_start(settings.abandon_window, now,
                         str(store.accounts.get(account_id).timezone))
    window = store.stats.abandon_window(campaign.id, since)
    return {"rate": round(window.abandoned / window.answered, 6) if window.answered else 0.0,
            "target": settings.abandon_target, "window": settings.abandon_window.value,
            "since": iso(since), "answered": window.answered, "abandoned": window.abandoned}


def _agents(store: Store, account_id: int, campaign: Campaign) -> dict[str, Any] | None:
    """The target's agents now and their occupancy (busy over logged in); None for a voice
    menu."""
    counts = store.stats.agents(account_id, campaign.settings.transfer)
    if counts is None:
        return None
    return {"logged_in": counts.logged_in, "busy": counts.busy, "free": counts.free,
            "occupancy": round(counts.busy / counts.logged_in, 4) if counts.logged_in else 0.0}


def _why(campaign: Campaign, data: dict[str, Any]) -> dict[str, Any]:
    """What keeps the campaign from dialing more, as the engine that owns it last wrote it,
    and in words with the figures in `data`. Only while it runs: a paused or finished
    campaign is not dialing for the reason its status already gives."""
    limit = limit_of(campaign.limited_by) if campaign.status is CampaignStatus.RUNNING \
        else None
    if limit is None:
        return {"limited_by": None, "limited_by_text": None}
    agents, abandon = data["agents"], data["abandon"]
    settings = campaign.settings
    figures = LimitFigures(
        free_agents=agents["free"] if agents else None,
        agents=agents["logged_in"] if agents else None,
        abandon_rate=abandon["rate"], abandon_target=abandon["target"],
        abandon_window=settings.abandon_window, pacing=settings.pacing,
        in_flight=data["in_flight"], concurrency=settings.concurrency)
    return {"limited_by": limit.value, "limited_by_text": limit_words(limit, figures)}


def live_stats(store: Store, account_id: int, campaign_id: int, now: float) -> dict[str, Any]:
    """What the dashboard's detail page shows and refreshes: the campaign's status and
    settings as they are now, its stats, its progress and its latest calls."""
    campaign = campaign_of(store, account_id, campaign_id)  # tenancy, before any cached value

    def compute() -> dict[str, Any]:
        data = dict(compute_stats(store, account_id, campaign, now))
        data["total"], data["finished"], _ = progress(store, campaign.id)
        data["recent_calls"] = [{
            "at": iso(a.ended_at or a.started_at), "contact_id": a.contact_id,
            "phone": a.phone, "attempt": a.attempt, "outcome": a.outcome,
            "ended": a.ended_at is not None,
        } for a in store.stats.recent_calls(campaign_id)]
        return data

    data = dict(_live_cache.get(campaign_id, compute))
    # The status and settings just read, not the cached ones: a page that has just paused
    # the campaign must not be told it still runs.
    data["status"] = campaign.status.value
    data["pacing"] = {**data["pacing"], "configured": campaign.settings.pacing}
    data["concurrency"] = campaign.settings.concurrency
    return data | _why(campaign, data)


def totals(store: Store) -> Totals:
    """Every campaign's dials, outcomes and contact states, for /metrics: read from the store,
    so every process reports the same."""
    return store.stats.totals()
