"""Running a scenario on a real store and reading back what happened.

`run_scenario` drives `outbound.engine.simulation.Simulation` as `outbound simulate` wires it
(`bootstrap.build_simulation`: the real engine, store and routing in virtual time) and
snapshots the store right after: the campaign, its contacts, its call attempts, the DNC list
and the campaign's event log. It also reads the files a user gets, `calls.csv` and
`report.json`. The checks below (windows, overlaps) are written here on purpose
rather than borrowed from `outbound.engine.report`, so a wrong report cannot agree with itself.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from outbound.bootstrap import build_simulation
from outbound.engine.simulation import SimulationResult
from outbound.scenario import load_scenario
from outbound.store import Store
from outbound.store.schema import call_attempts, campaigns, contacts, dnc, events

CALLS_HEADER = [
    "attempt_id", "contact_id", "phone", "attempt", "caller_id", "agent", "started_at",
    "ringing_at", "answered_at", "bridged_at", "ended_at", "outcome", "sip_code",
    "status_after", "digit", "recording",
]


def iso_ms(text: str) -> int | None:
    """An ISO-8601 UTC time from calls.csv as whole milliseconds since the epoch.

    Whole milliseconds keep window arithmetic exact: POSIX seconds as floats are only about
    0.24 µs fine, and a difference of two parsed times could land a hair under one second.
    """
    if not text:
        return None
    assert text.endswith("Z"), f"{text!r} is not in UTC"
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return round(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class CsvCall:
    """One row of calls.csv, times in whole milliseconds."""

    attempt_id: int
    contact_id: int
    phone: str
    attempt: int
    caller_id: str
    agent: str
    started_ms: int
    ringing_ms: int | None
    answered_ms: int | None
    bridged_ms: int | None
    ended_ms: int | None
    outcome: str
    sip_code: str
    status_after: str
    digit: str
    recording: str


def read_calls_csv(path: Path) -> list[CsvCall]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        assert header == CALLS_HEADER, f"calls.csv header is {header}"
        calls = []
        for row in reader:
            record = dict(zip(header, row, strict=True))
            started = iso_ms(record["started_at"])
            assert started is not None, f"attempt {record['attempt_id']} has no start"
            calls.append(CsvCall(
                int(record["attempt_id"]), int(record["contact_id"]), record["phone"],
                int(record["attempt"]), record["caller_id"], record["agent"], started,
                iso_ms(record["ringing_at"]), iso_ms(record["answered_at"]),
                iso_ms(record["bridged_at"]), iso_ms(record["ended_at"]), record["outcome"],
                record["sip_code"], record["status_after"], record["digit"],
                record["recording"],
            ))
        return calls


@dataclass(frozen=True, slots=True)
class Run:
    """Everything a finished simulation left behind."""

    url: str
    out_dir: Path
    result: SimulationResult
    campaign: Any  # the campaigns row
    contacts: list[Any]  # contacts rows in list order
    attempts: list[Any]  # call_attempts rows in id order (times are exact POSIX floats)
    dnc: set[str]  # the account's do-not-call list at the end
    events: list[Any]  # the campaign's event log in order
    calls: list[CsvCall]  # calls.csv
    report: dict[str, Any]  # report.json

    @property
    def contact_by_id(self) -> dict[int, Any]:
        return {c.id: c for c in self.contacts}

    def attempts_by_contact(self) -> dict[int, list[Any]]:
        """Each contact's attempts in attempt order."""
        grouped: dict[int, list[Any]] = defaultdict(list)
        for attempt in self.attempts:
            grouped[attempt.contact_id].append(attempt)
        return {k: sorted(v, key=lambda a: a.attempt) for k, v in grouped.items()}

    def event_times(self, kind: str) -> list[float]:
        return [e.at for e in self.events if e.kind == kind]


def run_scenario(path: Path, out_dir: Path, url: str) -> Run:
    """Simulate the scenario at `path` on the store at `url` and snapshot the outcome."""
    simulation = build_simulation(load_scenario(path), out_dir, store_url=url)
    try:
        return snapshot(simulation.store, simulation.run(), url, out_dir)
    finally:
        simulation.store.close()


def snapshot(store: Store, result: SimulationResult, url: str, out_dir: Path) -> Run:
    campaign_id = result.campaign_id
    with store.engine.connect() as conn:
        campaign = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).one()
        contact_rows = list(conn.execute(select(contacts).where(
            contacts.c.campaign_id == campaign_id).order_by(contacts.c.position)))
        attempt_rows = list(conn.execute(select(call_attempts).where(
            call_attempts.c.campaign_id == campaign_id).order_by(call_attempts.c.id)))
        dnc_numbers = set(conn.execute(select(dnc.c.phone).where(
            dnc.c.account_id == campaign.account_id)).scalars())
        event_rows = list(conn.execute(select(events).where(
            events.c.campaign_id == campaign_id).order_by(events.c.id)))
    return Run(
        url, out_dir, result, campaign, contact_rows, attempt_rows, dnc_numbers, event_rows,
        read_calls_csv(out_dir / "calls.csv"),
        json.loads((out_dir / "report.json").read_text(encoding="utf-8")),
    )


# -- checks written independently of the engine's report ---------------------------------


def most_in_window(times: Iterable[float], width: float) -> int:
    """The most of `times` inside any half-open window [t, t + width)."""
    ordered = sorted(times)
    best = 0
    lo = 0
    for hi, t in enumerate(ordered):
        while ordered[lo] + width <= t:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def peak_level(spans: Iterable[tuple[float, float]]) -> int:
    """The most half-open spans [start, end) that hold one instant."""
    edges = []
    for start, end in spans:
        edges.append((start, 1))
        edges.append((end, -1))
    edges.sort()  # at one instant, ends (-1) come before starts (+1): half-open spans
    level = peak = 0
    for _, delta in edges:
        level += delta
        peak = max(peak, level)
    return peak


def overlapping(spans: Iterable[tuple[float, float, Any]]) -> list[tuple[Any, Any]]:
    """Labelled half-open spans [start, end) that share an instant with an earlier one.

    Empty exactly when no two spans overlap: each span is checked against the furthest end
    reached by the spans that started before it.
    """
    clashes = []
    reach, reach_label = float("-inf"), None
    for start, end, label in sorted(spans, key=lambda s: (s[0], s[1])):
        if start < reach:
            clashes.append((reach_label, label))
        if end > reach:
            reach, reach_label = end, label
    return clashes


def attempt_span(attempt: Any) -> tuple[float, float]:
    assert attempt.ended_at is not None, f"attempt {attempt.id} never ended"
    return attempt.started_at, attempt.ended_at


# -- scenarios ---------------------------------------------------------------------------

# Monday 2 March 2026, 09:00 in New York (14:00 UTC): business hours have just opened.
MONDAY_OPEN = "2026-03-02T09:00:00-05:00"
POOL = ["+14155550100", "+14155550101", "+14155550102"]


def small_scenario(**sections: Any) -> dict[str, Any]:
    """A brisk scenario: 60 contacts, 3 numbers, short rings and talks, agents to spare.

    Keyword arguments replace whole sections (`contacts={...}`) or, for `campaign` and
    `network`, are merged into the defaults.
    """
    scenario: dict[str, Any] = {
        "seed": 11,
        "campaign": {
            "name": "Integration", "dial_mode": "customer-first", "pacing": 2,
            "concurrency": 10, "attempts": 3, "backoff_seconds": 30,
            "rotation": "round-robin", "numbers": POOL, "transfer": {"department": "Sales"},
            "recording": False, "start": MONDAY_OPEN,
        },
        "business_hours": {"timezone": "America/New_York",
                           "days": ["mon", "tue", "wed", "thu", "fri"],
                           "open": "09:00", "close": "19:00"},
        "contacts": {"generate": 60},
        "departments": [{"name": "Sales", "agents": 10, "handle_seconds": [5, 15]}],
        "network": {"answer": 0.4, "busy": 0.1, "no_answer": 0.3, "invalid": 0.1,
                    "rejected": 0.05, "provider_error": 0.05,
                    "ring_seconds": [1, 6], "talk_seconds": [5, 15]},
    }
    for key, value in sections.items():
        if key in ("campaign", "network"):
            scenario[key] = {**scenario[key], **value}
        else:
            scenario[key] = value
    return scenario


def posix(text: str) -> float:
    """POSIX seconds for an ISO-8601 time with an offset."""
    return datetime.fromisoformat(text).timestamp()


def contacts_csv(numbers: Iterable[str], agents: dict[int, str] | None = None) -> str:
    """A contacts file with phone, name and agent columns (agent by position)."""
    lines = ["phone,name,agent"]
    for i, number in enumerate(numbers):
        lines.append(f"{number},Contact {i},{(agents or {}).get(i, '')}")
    return "\n".join(lines) + "\n"
