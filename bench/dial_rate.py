"""Aggregate dial rate: ONE `outbound worker` process on the real clock, N campaigns × 20
calls/s (concurrency 50 each, always open, one attempt, recording off) against the simulated
network with near-instant calls, on an empty store; N = 10, 50, 100.

Over a steady window (after a warm-up counted from the first dial): dial starts per second
achieved (call_attempts.started_at), each campaign's pacing error, the most dials any campaign
started in any one-second window (whole run, warm-up included; also at the network, from the
moments calls left the worker: tapped_worker.py), the worker's CPU and memory.
Beside them, on the same database once the worker has stopped: the store's floor (floors.py).
Every N runs on SQLite and, when a server answers, on PostgreSQL.

    .venv/bin/python bench/dial_rate.py [--campaigns 10,50,100] [--seconds 20] [--warmup 5]
        [--postgres URL | --no-postgres] [--profile DIR] [--quick]

`--profile DIR` records the worker with py-spy (`.venv/bin/pip install py-spy`) during each
window; `py-spy record -f raw` stacks, one file per run, ready for flamegraph.pl or speedscope.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import floors
import harness
from figures import Figure, Section, at_least, at_most, table
from harness import Worker

PACING = 20.0
CONCURRENCY = 50
PACING_TOLERANCE = 0.01  # issue 7: every campaign within 1% of its rate


def measure(url: str, work: Path, campaigns: int, *, seconds: float, warmup: float,
            floor_operations: int, profile: Path | None = None) -> dict[str, Any]:
    """One run: N campaigns in one worker, then the floors on the same database."""
    store = harness.empty_store(url)
    account_id = harness.create_account(store, agents_count=max(200, 10 * campaigns))
    # Enough for the worker's boot, the warm-up, the window and the time it takes us to stop it.
    per_campaign = int(PACING * (warmup + seconds + 20))
    began = time.perf_counter()
    ids = [harness.create_campaign(store, account_id, f"Load {n}", pacing=PACING,
                                   concurrency=CONCURRENCY, contacts=per_campaign,
                                   first_number=n * per_campaign)
           for n in range(campaigns)]
    floor_id = harness.create_campaign(store, account_id, "Floor", pacing=PACING,
                                       contacts=3 * floor_operations + 100,
                                       first_number=campaigns * per_campaign, start=False)
    load_seconds = time.perf_counter() - began

    worker = Worker(harness.worker_env(work, url), work).start()
    profile_to = None
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        profile_to = profile / f"worker-{harness.kind(url)}-{campaigns}.txt"
    watched = harness.watch(store, worker, warmup=warmup, seconds=seconds,
                            profile_to=profile_to)
    opens, closes = watched.opens, watched.closes

    starts = harness.dial_starts(store)
    carrier = harness.originates(store, worker.originates_file)
    interval = 1 / PACING
    counts: dict[int, int] = {}
    lateness: list[float] = []
    carrier_lateness: list[float] = []
    for campaign_id in ids:
        inside = [t for t in starts.get(campaign_id, []) if opens <= t < closes]
        counts[campaign_id] = len(inside)
        lateness.extend((b - a - interval) * 1000 for a, b in pairwise(inside))
        left = [t for t in carrier.get(campaign_id, []) if opens <= t < closes]
        carrier_lateness.extend((b - a - interval) * 1000 for a, b in pairwise(left))
    errors = {cid: (n / seconds - PACING) / PACING for cid, n in counts.items()}
    total = sum(counts.values())
    exhausted = sum(len(starts.get(cid, [])) >= per_campaign for cid in ids)
    floor = floors.measure(store, floor_id, account_id, floor_operations)
    settings = harness.store_settings(store)
    store.close()
    return {
        "store": harness.kind(url), "settings": settings,
        "campaigns": campaigns, "pacing": PACING,
        "concurrency": CONCURRENCY, "contacts_per_campaign": per_campaign,
        "load_seconds": round(load_seconds, 2), "window_seconds": seconds,
        "warmup_seconds": warmup,
        "dial_starts_per_second": round(total / seconds, 1),
        "configured_per_second": PACING * campaigns,
        "campaigns_within_1pct": sum(abs(e) <= PACING_TOLERANCE for e in errors.values()),
        "worst_pacing_error_pct": round(100 * max((abs(e) for e in errors.values()),
                                                  default=float("nan")), 2),
        "mean_pacing_error_pct": round(100 * sum(errors.values()) / len(errors), 2),
        "most_dials_in_one_second": max((harness.max_in_window(starts.get(cid, []))
                                         for cid in ids), default=0),
        "campaigns_out_of_contacts": exhausted,
        "dial_lateness_p50_ms": round(harness.percentile(lateness, 50), 2),
        "dial_lateness_p99_ms": round(harness.percentile(lateness, 99), 2),
        # The same at the network: when each call actually left (tapped_worker.py).
        "most_originates_in_one_second": max((harness.max_in_window(carrier.get(cid, []))
                                              for cid in ids), default=0),
        "originate_gap_min_ms": round(min(carrier_lateness, default=float("nan"))
                                      + interval * 1000, 2),
        "originate_lateness_p99_ms": round(harness.percentile(carrier_lateness, 99), 2),
        **worker_figures(watched, total),
        "window_load": watched.machine.to_dict(),
        "floor": floor,
    }


def worker_figures(watched: harness.Watched, dials: int) -> dict[str, Any]:
    counters = watched.counters
    per_dial = 1 / dials if dials else float("nan")
    return {
        "worker_cpu_seconds": round(counters.cpu, 2),
        "worker_cpu_cores": round(watched.cores, 2),
        "worker_cpu_ms_per_dial": round(counters.cpu * per_dial * 1000, 3),
        "worker_system_cpu_share": round(counters.system / counters.cpu, 3)
        if counters.cpu else None,
        "worker_blocking_waits_per_dial": round(counters.waits * per_dial, 2),
        # SQLite: the WAL and its checkpoints, written by the worker itself.
        "worker_written_kib_per_dial": round(counters.written * per_dial / 1024, 1),
        "worker_rss_mib": round(watched.rss_mib, 1),
        "worker_peak_rss_mib": round(watched.peak_rss_mib, 1),
        "worker_exit_code": watched.exit_code,
    }


def figures(result: dict[str, Any]) -> list[Figure]:
    n = result["campaigns"]
    configured = result["configured_per_second"]
    floor = result["floor"]
    prefix = f"N={n}:"
    return [
        at_least(f"{prefix} dial starts/s (floor: claim txn/s)",
                 result["dial_starts_per_second"], configured * (1 - PACING_TOLERANCE), "/s",
                 floor=floor["claim"]["per_second"],
                 label=f"≥ {configured * (1 - PACING_TOLERANCE):,.0f} ({configured:,.0f} - 1%)"),
        Figure(f"{prefix} campaigns within 1% of 20/s", f"{result['campaigns_within_1pct']}/{n}",
               target="all", ok=result["campaigns_within_1pct"] == n),
        at_most(f"{prefix} worst campaign's pacing error", result["worst_pacing_error_pct"],
                100 * PACING_TOLERANCE, "%"),
        at_most(f"{prefix} most dials by a campaign in 1 s", result["most_dials_in_one_second"],
                int(PACING)),
        at_most(f"{prefix} the same, at the network", result["most_originates_in_one_second"],
                int(PACING)),
        Figure(f"{prefix} dial lateness p99 (gap - 50 ms)", result["dial_lateness_p99_ms"],
               "ms"),
        Figure(f"{prefix} worker CPU (floor: call's store work)",
               result["worker_cpu_ms_per_dial"], "ms/dial",
               floor=round(floor["call"]["cpu_us_per_operation"] / 1000, 3)),
        Figure(f"{prefix} worker CPU", result["worker_cpu_cores"], "cores"),
        *([Figure(f"{prefix} worker writes (floor: call's store work)",
                  result["worker_written_kib_per_dial"], "KiB/dial",
                  floor=floor["call"]["written_kib_per_operation"])]
          if result["store"] == "sqlite" else []),
        Figure(f"{prefix} worker RSS", result["worker_rss_mib"], "MiB"),
        Figure(f"{prefix} floor: dial txn/s, call store work/s", floor["dial"]["per_second"],
               "/s", floor=floor["call"]["per_second"]),
        Figure(f"{prefix} others' CPU during the window", result["window_load"]["others_cores"],
               "cores"),
    ]


def run(args: argparse.Namespace) -> list[Section]:
    stores: list[tuple[str, str | None]] = [("SQLite", None)]
    if args.postgres != "off":
        stores.append(("PostgreSQL", harness.postgres_url(args.postgres)))
    sections = []
    with tempfile.TemporaryDirectory(prefix="bench-dial-") as tmp:
        for label, url in stores:
            section = Section(f"dial rate, one worker, {label}")
            why = harness.postgres_unavailable(url) if url else None
            if why:
                section.notes.append(f"skipped: {why}")
                sections.append(section)
                continue
            with harness.section_load() as load:
                for n in args.campaigns:
                    work = Path(tmp) / f"{label}-{n}"
                    work.mkdir()
                    store_url = url or harness.sqlite_url(work)
                    result = measure(store_url, work, n, seconds=args.seconds,
                                     warmup=args.warmup, floor_operations=args.floor,
                                     profile=args.profile)
                    section.details[f"N={n}"] = result
                    section.figures.extend(figures(result))
                    print(f"  {label} N={n}: {result['dial_starts_per_second']}/s of "
                          f"{result['configured_per_second']:.0f}, worker "
                          f"{result['worker_cpu_cores']} cores", file=sys.stderr)
            section.load = load.to_dict()
            if url:
                section.notes.append("others' cores include the PostgreSQL server's work")
            if any(r["campaigns_out_of_contacts"] for r in section.details.values()):
                section.notes.append("a campaign ran out of contacts before the end: raise the "
                                     "margin in measure()")
            if args.profile:
                section.notes.append(f"py-spy sampled the worker (profiles in {args.profile}); "
                                     "it takes some CPU of its own")
            sections.append(section)
    return sections


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--campaigns", type=lambda s: [int(x) for x in s.split(",")],
                   default=[10, 50, 100], help="comma-separated values of N")
    p.add_argument("--seconds", type=float, default=20.0, help="steady window length")
    p.add_argument("--warmup", type=float, default=5.0, help="skipped after the first dial")
    p.add_argument("--floor", type=int, default=5000, help="operations per floor")
    p.add_argument("--postgres", help=f"PostgreSQL URL (default: ${harness.POSTGRES_ENV} or "
                   f"{harness.DEFAULT_POSTGRES})")
    p.add_argument("--no-postgres", dest="postgres", action="store_const", const="off")
    p.add_argument("--profile", type=Path, metavar="DIR",
                   help="record the worker with py-spy over each window, raw stacks in DIR")
    p.add_argument("--quick", action="store_true", help="N = 2, 5; 5 s windows")
    return p


def options(argv: list[str]) -> argparse.Namespace:
    p = parser()
    if "--quick" in argv:  # new defaults: flags given still win
        p.set_defaults(campaigns=[2, 5], seconds=5.0, warmup=2.0, floor=1000)
    return p.parse_args(argv)


if __name__ == "__main__":
    found = run(options(sys.argv[1:]))
    print(table([s.to_dict() for s in found]))
