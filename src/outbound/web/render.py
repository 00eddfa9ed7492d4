"""Rendering pages: the Jinja2 environment, words for states and events, times in the
account's zone, and the context every page gets (who is signed in, the CSRF token)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from outbound import service
from outbound.domain.contacts import ContactStatus
from outbound.domain.hours import DAY_NAMES, load_zone
from outbound.domain.lifecycle import CampaignStatus
from outbound.domain.limits import WINDOW_WORDS
from outbound.domain.settings import (
    ABANDON_MESSAGE_MAX,
    ABANDON_TARGET_MAX,
    ABANDON_TARGET_MIN,
    ATTEMPTS_MAX,
    ATTEMPTS_MIN,
    CONCURRENCY_MAX,
    CONCURRENCY_MIN,
    PACING_MAX,
    PACING_MIN,
    POOL_MAX,
    POOL_MIN,
)
from outbound.doors import store_of
from outbound.store.users import Principal
from outbound.web.auth import CSRF_FIELD, csrf_token, session

HERE = Path(__file__).parent

CAMPAIGN_STATUS = {
    CampaignStatus.DRAFT: "Draft",
    CampaignStatus.SCHEDULED: "Scheduled",
    CampaignStatus.RUNNING: "Running",
    CampaignStatus.PAUSED: "Paused",
    CampaignStatus.COMPLETED: "Completed",
    CampaignStatus.CANCELLED: "Cancelled",
}
CONTACT_STATUS = {
    ContactStatus.PENDING: "Pending",
    ContactStatus.DIALING: "Dialing",
    ContactStatus.RINGING: "Ringing",
    ContactStatus.ANSWERED: "Answered",
    ContactStatus.COMPLETED: "Completed",
    ContactStatus.FAILED: "Failed",
    ContactStatus.RETRY_QUEUED: "Retry queued",
    ContactStatus.BLOCKED: "Blocked (do-not-call)",
    ContactStatus.ABANDONED: "Abandoned",
}
OUTCOMES = {
    "completed": "completed", "no_answer": "no answer", "busy": "busy",
    "provider_error": "network error", "unknown": "lost (reset)",
    "invalid_number": "invalid number", "rejected": "rejected", "abandoned": "abandoned",
}
DIAL_MODES = {"customer-first": "Customer first", "agent-first": "Agent first"}
ROTATIONS = {"round-robin": "Round-robin", "random": "Random",
             "sticky": "Sticky by contact"}
TRANSFER_KINDS = {"department": "Department", "agent": "Agent", "voice_menu": "Voice menu"}
LIMITS = {"pacing": (PACING_MIN, PACING_MAX), "concurrency": (CONCURRENCY_MIN, CONCURRENCY_MAX),
          "attempts": (ATTEMPTS_MIN, ATTEMPTS_MAX), "pool": (POOL_MIN, POOL_MAX),
          "abandon_target": (ABANDON_TARGET_MIN, ABANDON_TARGET_MAX),
          "abandon_message": (0, ABANDON_MESSAGE_MAX)}
DIALING = {"predictive": "Predictive", "progressive": "Progressive", "fixed": "Fixed pace"}
ABANDON_WINDOWS = {w.value: words for w, words in WINDOW_WORDS.items()}


def local_time(ts: float | None, zone: str, *, seconds: bool = False) -> str:
    """'2026-03-02 09:00 EST' in the account's zone; '—' for None."""
    if ts is None:
        return "—"
    when = datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(zone))
    return when.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def hours_text(hours: dict[str, Any] | None) -> str:
    """'Mon–Fri 09:00–19:00 (America/New_York)' for stored business hours."""
    if not hours:
        return "—"
    days = [DAY_NAMES.index(d) for d in hours["days"]]
    runs: list[str] = []
    start = prev = days[0]
    for day in [*days[1:], None]:
        if day is not None and day == prev + 1:
            prev = day
            continue
        first, last = DAY_NAMES[start].title(), DAY_NAMES[prev].title()
        runs.append(first if start == prev else f"{first}–{last}")
        if day is not None:
            start = prev = day
    return f"{', '.join(runs)} {hours['open']}–{hours['close']} ({hours['timezone']})"


def event_text(kind: str, detail: dict[str, Any] | None) -> str:
    """A campaign event in words."""
    detail = detail or {}
    words = {
        "created": f"Created as {detail.get('status', 'draft')}",
        "scheduled": "Scheduled",
        "started": "Started dialing",
        "paused": "Paused: no new dials; calls in flight finish",
        "running": "Resumed",
        "cancelled": "Cancelled",
        "completed": "Completed: every contact reached a final state",
        "draft": "Back to draft",
        "dnc_block": f"Blocked {detail.get('phone', 'a number')}: on the do-not-call list",
        "lease_expired": "A stalled call was reset",
        "manual_reset": f"A call was reset by {detail.get('by', 'a user')}",
        "start_refused": f"Could not start: {detail.get('why', '')}",
    }
    if kind == "settings_changed":
        changes = ", ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in detail.items()
                            if not isinstance(v, dict | list))
        return "Settings changed" + (f": {changes}" if changes else "")
    return words.get(kind, kind.replace("_", " ").capitalize())


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def call_text(call: dict[str, Any]) -> str:
    attempt = f" (attempt {call['attempt']})" if call["attempt"] > 1 else ""
    if not call["ended"]:
        return f"Calling {call['phone']}{attempt}"
    return f"Call to {call['phone']}{attempt}: {OUTCOMES.get(call['outcome'], call['outcome'])}"


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.globals.update(CAMPAIGN_STATUS=CAMPAIGN_STATUS, CONTACT_STATUS=CONTACT_STATUS,
                       OUTCOMES=OUTCOMES, DIAL_MODES=DIAL_MODES, ROTATIONS=ROTATIONS,
                       DIALING=DIALING, ABANDON_WINDOWS=ABANDON_WINDOWS,
                       TRANSFER_KINDS=TRANSFER_KINDS, LIMITS=LIMITS, DAY_NAMES=DAY_NAMES,
                       CSRF_FIELD=CSRF_FIELD, hours_text=hours_text, local_time=local_time,
                       event_text=event_text)
    return env


ENV = _env()


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A rendered page. Every page knows who is signed in (`me`), whether they may change
    things (`can_manage`), their CSRF token (`csrf`) and the account's zone (`zone`)."""
    found = session(request)
    me: Principal | None = found[0] if found else None
    base: dict[str, Any] = {
        "request": request, "me": me, "can_manage": bool(me and me.manages),
        "csrf": csrf_token(found[1]) if found else "", "zone": "UTC",
        "nav": "dnc" if template.startswith("dnc") else "campaigns"}
    if me is not None:
        account = service.find_account(store_of(request), me.account_id)
        base["account"] = account
        base["zone"] = account.timezone
        base["base"] = f"/crm/settings/calling/{me.account_id}"
    html = ENV.get_template(template).render(**(base | context))
    return HTMLResponse(html, status)


def zone_of(request: Request, account_id: int) -> ZoneInfo:
    return load_zone(service.find_account(store_of(request), account_id).timezone)
