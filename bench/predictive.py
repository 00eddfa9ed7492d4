"""Pacing against agents (issue 14), in virtual time: one list of 20,000 contacts dialed
customer-first by 10 and by 30 agents, predictive beside progressive (and fixed pace, for
contrast), through `outbound simulate`'s code path (the real engine and store, the simulated
network). Figures come from the store's call attempts, as calls.csv gives them.

    .venv/bin/python bench/predictive.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
from figures import Figure, Section, at_least, at_most, table
from sqlalchemy import select

from outbound.bootstrap import build_simulation
from outbound.scenario import load_scenario
from outbound.store.schema import call_attempts

TARGET = 3.0  # percent: the abandon target (the default)
GAIN = {30: 1.25, 10: 1.15}  # predictive's bridged calls per hour over progressive's
HOUR = 3600.0
WARM_UP_ANSWERED = 50


def scenario(agents: int, dialing: str, contacts: int) -> str:
    """A campaign that dials all day: about 35% of dials answer after 4–20 s, talks last
    about 60 s."""
    return f"""
seed = 20260302
[campaign]
name = "Predictive bench"
dial_mode = "customer-first"
dialing = "{dialing}"
pacing = 10
concurrency = 50
attempts = 1
rotation = "round-robin"
numbers = ["+14155550100", "+14155550101"]
transfer = {{ department = "Sales" }}
recording = false
start = "2026-03-02T00:00:00-05:00"
[business_hours]
timezone = "America/New_York"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
open = "00:00"
close = "23:59"
[contacts]
generate = {contacts}
region = "US"
[[departments]]
name = "Sales"
agents = {agents}
handle_seconds = [20, 100]
[network]
answer = 0.35
busy = 0.10
no_answer = 0.45
invalid = 0.05
rejected = 0.05
provider_error = 0.0
ring_seconds = [4, 20]
talk_seconds = [20, 100]
"""


def simulate(agents: int, dialing: str, contacts: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        path = Path(out) / "scenario.toml"
        path.write_text(scenario(agents, dialing, contacts), encoding="utf-8")
        simulation = build_simulation(load_scenario(path), Path(out) / "run")
        try:
            simulation.run()
            with simulation.store.engine.connect() as conn:
                rows = list(conn.execute(select(
                    call_attempts.c.started_at, call_attempts.c.answered_at,
                    call_attempts.c.bridged_at, call_attempts.c.ended_at,
                    call_attempts.c.outcome)))
        finally:
            simulation.store.close()
    return figures(rows, agents)


def figures(rows: list[Any], agents: int) -> dict[str, Any]:
    start = min(r.started_at for r in rows)
    end = max(r.ended_at for r in rows if r.ended_at is not None)
    hours = (end - start) / HOUR
    answered = sorted((r for r in rows if r.answered_at is not None),
                      key=lambda r: r.answered_at)
    abandoned = sum(r.outcome == "abandoned" for r in answered)
    bridged = [r for r in rows if r.bridged_at is not None]
    busy = sum(r.ended_at - r.bridged_at for r in bridged)
    # Every rolling hour (stepped by 5 minutes) after the warm-up's answered calls.
    warm = answered[WARM_UP_ANSWERED].answered_at if len(answered) > WARM_UP_ANSWERED else end
    worst, t = 0.0, warm
    while t + HOUR <= end:
        hour = [r for r in answered if t <= r.answered_at < t + HOUR]
        if hour:
            worst = max(worst, sum(r.outcome == "abandoned" for r in hour) / len(hour))
        t += 300.0
    return {
        "dials": len(rows),
        "answered": len(answered),
        "abandoned": abandoned,
        "abandon_percent": round(100 * abandoned / len(answered), 3) if answered else 0.0,
        "worst_hour_abandon_percent": round(100 * worst, 3),
        "bridged": len(bridged),
        "drain_hours": round(hours, 3),
        "bridged_per_hour": round(len(bridged) / hours, 1),
        "agent_occupancy": round(busy / (agents * (end - start)), 4),
        "first_dial": datetime.fromtimestamp(start, UTC).isoformat(),
    }


def run(quick: bool = False) -> list[Section]:
    contacts = 4000 if quick else 20000
    sections = []
    for agents in (10, 30):
        section = Section(f"predictive vs progressive, {agents} agents, {contacts:,} contacts "
                          "(predictive.py)")
        with harness.section_load() as load:
            result = {mode: simulate(agents, mode, contacts)
                      for mode in ("predictive", "progressive", "fixed")}
        section.load = load.to_dict()
        section.details = result
        p, q, f = result["predictive"], result["progressive"], result["fixed"]
        gain = round(p["bridged_per_hour"] / q["bridged_per_hour"], 3)
        section.figures = [
            at_most("abandoned over the run, predictive", p["abandon_percent"], TARGET, "%"),
            at_most("worst rolling hour after warm-up, predictive",
                    p["worst_hour_abandon_percent"], TARGET, "%"),
            at_least("bridged calls per hour, predictive over progressive", gain,
                     GAIN[agents], "×"),
            Figure("bridged calls per hour (predictive | progressive | fixed)",
                   f"{p['bridged_per_hour']} | {q['bridged_per_hour']} | "
                   f"{f['bridged_per_hour']}"),
            Figure("agent occupancy (predictive | progressive | fixed)",
                   f"{p['agent_occupancy']:.1%} | {q['agent_occupancy']:.1%} | "
                   f"{f['agent_occupancy']:.1%}"),
            Figure("abandoned at a fixed pace of 10/s", f["abandon_percent"], "%"),
        ]
        sections.append(section)
    return sections


if __name__ == "__main__":
    print(table([s.to_dict() for s in run("--quick" in sys.argv)]))
