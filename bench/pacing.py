"""Pacing precision on the real clock: one `outbound worker` process dialing three campaigns
together, at 1, 5 and 20 calls/s, for 60 s against the near-instant simulated network.

Each campaign is measured from its first dial after the warm-up, for exactly the window's
length: a perfect pacer starts rate × seconds dials in it. Beside the count, the deviation of
every gap between consecutive dial starts from 1/rate, p50 and p99 in ms (the pacer never
dials early, so this is how late each dial was behind the one before).

    .venv/bin/python bench/pacing.py [--seconds 60] [--rates 1,5,20] [--warmup 3] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from itertools import pairwise
from pathlib import Path
from typing import Any

import harness
from figures import Figure, Section, at_most, table
from harness import Worker


def measure(work: Path, rates: list[float], seconds: float, warmup: float,
            url: str | None = None) -> dict[str, Any]:
    url = url or harness.sqlite_url(work)
    store = harness.empty_store(url)
    account_id = harness.create_account(store, agents_count=100)
    ids: dict[int, float] = {}
    first_number = 0
    for rate in rates:
        contacts = int(rate * (warmup + seconds + 20)) + 10
        ids[harness.create_campaign(store, account_id, f"Pacing {rate:g}", pacing=rate,
                                    contacts=contacts, first_number=first_number)] = rate
        first_number += contacts
    worker = Worker(harness.worker_env(work, url), work).start()
    # Every campaign's window opens at its first dial after the warm-up: the slowest's opens
    # up to one interval after the others'.
    watched = harness.watch(store, worker, warmup=warmup,
                            seconds=max(1 / r for r in rates) + seconds + 0.5)
    starts = harness.dial_starts(store)
    carrier = harness.originates(store, worker.originates_file)
    store.close()
    campaigns = {}
    for campaign_id, rate in ids.items():
        times = starts.get(campaign_id, [])
        opens = next((t for t in times if t >= watched.opens), float("inf"))
        inside = [t for t in times if opens <= t < opens + seconds]
        interval = 1 / rate
        deviations = [abs(b - a - interval) * 1000 for a, b in pairwise(inside)]
        left = [t for t in carrier.get(campaign_id, []) if opens <= t < opens + seconds]
        at_network = [abs(b - a - interval) * 1000 for a, b in pairwise(left)]
        campaigns[f"{rate:g}/s"] = {
            "rate": rate, "dials": len(inside), "expected": round(rate * seconds),
            "gap_deviation_p50_ms": round(harness.percentile(deviations, 50), 2),
            "gap_deviation_p99_ms": round(harness.percentile(deviations, 99), 2),
            "gap_deviation_max_ms": round(max(deviations, default=float("nan")), 2),
            "most_dials_in_one_second": harness.max_in_window(times),
            # The same gaps at the network: when each call left the worker (tapped_worker.py).
            "originate_gap_deviation_p99_ms": round(harness.percentile(at_network, 99), 2),
            "most_originates_in_one_second": harness.max_in_window(
                carrier.get(campaign_id, [])),
        }
    return {"store": harness.kind(url), "window_seconds": seconds, "warmup_seconds": warmup,
            "together": True, "campaigns": campaigns,
            "worker_cpu_cores": round(watched.cores, 3),
            "worker_rss_mib": round(watched.rss_mib, 1), "worker_exit_code": watched.exit_code,
            "window_load": watched.machine.to_dict()}


def figures(result: dict[str, Any]) -> list[Figure]:
    out = []
    for label, c in result["campaigns"].items():
        miss = c["dials"] - c["expected"]
        out.append(Figure(f"{label}: dials in {result['window_seconds']:g} s", c["dials"],
                          target=f"{c['expected']} ± 1", ok=abs(miss) <= 1))
        out.append(Figure(f"{label}: gap deviation p50", c["gap_deviation_p50_ms"], "ms"))
        out.append(at_most(f"{label}: gap deviation p99", c["gap_deviation_p99_ms"], 10, "ms"))
        out.append(Figure(f"{label}: the same, at the network",
                          c["originate_gap_deviation_p99_ms"], "ms"))
    out.append(Figure("worker CPU", result["worker_cpu_cores"], "cores"))
    return out


def run(args: argparse.Namespace) -> list[Section]:
    section = Section(f"pacing precision, real clock, {', '.join(f'{r:g}' for r in args.rates)}"
                      " calls/s in one worker, SQLite")
    with tempfile.TemporaryDirectory(prefix="bench-pacing-") as tmp, \
            harness.section_load() as load:
        result = measure(Path(tmp), args.rates, args.seconds, args.warmup)
    section.load = load.to_dict()
    section.details = result
    section.figures = figures(result)
    return [section]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="window per campaign")
    p.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")],
                   default=[1.0, 5.0, 20.0], help="comma-separated calls per second")
    p.add_argument("--warmup", type=float, default=3.0, help="skipped after the first dial")
    p.add_argument("--quick", action="store_true", help="a 10 s window")
    return p


def options(argv: list[str]) -> argparse.Namespace:
    p = parser()
    if "--quick" in argv:  # new defaults: flags given still win
        p.set_defaults(seconds=10.0)
    return p.parse_args(argv)


if __name__ == "__main__":
    found = run(options(sys.argv[1:]))
    print(table([s.to_dict() for s in found]))
