"""A campaign's results as files: the call log (calls.csv) and the summary (report.json)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from outbound.domain.contacts import ContactStatus, Outcome
from outbound.domain.spreadsheet import safe_cell
from outbound.domain.timefmt import iso
from outbound.store import Store

CALLS_HEADER = (
    "attempt_id", "contact_id", "phone", "attempt", "caller_id", "agent", "started_at",
    "ringing_at", "answered_at", "bridged_at", "ended_at", "outcome", "sip_code",
    "status_after", "digit", "recording",
)
def write_calls_csv(attempts: Iterable[Any], out: IO[str],
                    recording_link: Callable[[Any], str] | None = None) -> None:
    """The call log; `recording_link(attempt)` replaces the recording's path (e.g. by a URL)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CALLS_HEADER)
    for a in attempts:
        writer.writerow([safe_cell(v) for v in (
            a.id, a.contact_id, a.phone, a.attempt, a.caller_id, a.agent or "",
            iso(a.started_at), iso(a.ringing_at), iso(a.answered_at), iso(a.bridged_at),
            iso(a.ended_at), a.outcome or "", a.sip_code if a.sip_code is not None else "",
            a.status_after or "", a.digit or "",
            (recording_link(a) if recording_link else a.recording) if a.recording else "",
        )])


def max_in_window(times: list[float], width: float = 1.0) -> int:
    """The most of `times` inside any half-open window [t, t + width)."""
    times = sorted(times)
    best = lo = 0
    for hi, t in enumerate(times):
        while times[lo] <= t - width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def peak_overlap(spans: Iterable[tuple[float, float | None]]) -> int:
    points = []
    for start, end in spans:
        points.append((start, 1))
        if end is not None:
            points.append((end, -1))
    points.sort(key=lambda p: (p[0], p[1]))  # an end and a start at one instant: end first
    peak = level = 0
    for _, delta in points:
        level += delta
        peak = max(peak, level)
    return peak


def campaign_report(store: Store, campaign_id: int) -> dict[str, Any]:
    campaign = store.campaigns.get(campaign_id)
    attempts = list(store.contacts.attempts(campaign_id))
    counts = store.contacts.counts(campaign_id)
    answered = sum(1 for a in attempts if a.answered_at is not None)
    abandoned = sum(1 for a in attempts if a.outcome == Outcome.ABANDONED.value)
    return {
        "status": campaign.status.value,
        "started_at": iso(campaign.started_at) or None,
        "finished_at": iso(campaign.finished_at) or None,
        "contacts": counts,
        "calls": len(attempts),
        "answered": answered,
        "abandoned": abandoned,
        "abandonment_rate": round(abandoned / answered, 6) if answered else 0.0,
        "dnc_blocks": counts[ContactStatus.BLOCKED.value],
        "calls_per_caller_id": dict(sorted(Counter(a.caller_id for a in attempts).items())),
        "peak_concurrency": peak_overlap((a.started_at, a.ended_at) for a in attempts),
        "max_dials_per_second": max_in_window([a.started_at for a in attempts]),
        **forecast(store, campaign, attempts),
    }


def forecast(store: Store, campaign: Any, attempts: list[Any]) -> dict[str, Any]:
    """What a run says of the agents (issue 14): the abandon target beside the rate, agent
    occupancy (their calls' bridged moments to ends, over agents × the business hours open
    during the run: the staffed time), bridged calls per staffed agent-hour, and the drain
    time (first dial to last call end, seconds, nights included). Occupancy and the
    per-agent rate are null for a voice menu or an empty run."""
    ends = [a.ended_at for a in attempts if a.ended_at is not None]
    first = min((a.started_at for a in attempts), default=0.0)
    drain = max(ends) - first if ends else 0.0
    hours = campaign.settings.business_hours or store.accounts.business_hours(
        store.accounts.get(campaign.account_id))
    counts = store.stats.agents(campaign.account_id, campaign.settings.transfer)
    agents = counts.staffed if counts is not None else 0
    bridged = [a for a in attempts if a.bridged_at is not None]
    talk = sum((a.ended_at or a.bridged_at) - a.bridged_at for a in bridged)
    staffed = hours.open_seconds(first, first + drain) if ends else 0.0
    agent_hours = agents * staffed / 3600
    return {
        "abandon_target": campaign.settings.abandon_target,
        "agent_occupancy": round(talk / (agents * staffed), 6) if agent_hours else None,
        "answered_per_agent_hour": round(len(bridged) / agent_hours, 3) if agent_hours else None,
        "drain_time": round(drain, 3),
    }


def write_results(store: Store, campaign_id: int, out_dir: Path) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "calls.csv").open("w", newline="", encoding="utf-8") as out:
        write_calls_csv(store.contacts.attempts(campaign_id), out)
    report = campaign_report(store, campaign_id)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report
