"""Benchmarks (`make bench`): every figure beside its floor and its target, printed as a table
and written to bench/results.json.

Sections (bench/README.md says what each measures; each script also runs alone):

- dial_rate: one worker, N campaigns × 20 calls/s, SQLite and PostgreSQL (dial_rate.py);
- pacing: 1, 5 and 20 calls/s on the real clock (pacing.py);
- ten_thousand: examples/ten-thousand.toml in virtual time (ten_thousand.py);
- predictive: 20,000 contacts by 10 and 30 agents, predictive beside progressive and fixed
  pace, in virtual time (predictive.py);
- size: a 1,000,000-contact campaign (size.py);
- imports: contact and DNC imports, DNC lookups (ingest.py);
- api_stats: the dashboard's stats under load while dialing (api_stats.py);
- sip_load: the SIP trunk at 20 calls/s for 60 s against SIPp (sip_load.py; skipped, saying
  why, where sipp or pjsua2 is missing).

    .venv/bin/python bench/run.py [--only dial_rate,pacing] [--quick]
        [--postgres URL | --no-postgres] [--show]

A run of some sections replaces those sections in results.json and keeps the others; each
section records when it was measured and how busy the machine was with others' work meanwhile.
Speed targets live here, never in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import api_stats
import dial_rate
import harness
import ingest
import pacing
import predictive
import sip_load
import size
import ten_thousand
from figures import Figure, Section, at_least, at_most, table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
STATS_P99_TARGET_MS = 100.0  # issue 4


def _store_flags(args: argparse.Namespace) -> list[str]:
    if args.postgres == "off":
        return ["--no-postgres"]
    return ["--postgres", args.postgres] if args.postgres else []


def sip_trunk(args: argparse.Namespace) -> list[Section]:
    section = Section("SIP trunk through SIPp, 20 calls/s (sip_load.py)")
    seconds = 10.0 if args.quick else 60.0
    with harness.section_load() as load:
        result = sip_load.run(20.0, seconds)
    section.load = load.to_dict()
    section.details = result
    if "skipped" in result:
        section.figures = [Figure("skipped", result["skipped"])]
        return [section]
    section.figures = [
        Figure(f"calls placed in {seconds:g} s", result["calls_logged_by_outbound"],
               floor=result["contacts"]),
        at_most("calls lost or not matching SIPp's log", result["calls_lost_or_unmatched"], 0),
        at_least("dials per second", result["dials_per_second"], 19.0, "/s"),
    ]
    return [section]


def imports(args: argparse.Namespace) -> list[Section]:
    section = Section("imports: contacts and DNC lists, SQLite")
    with harness.section_load() as load:
        result = ingest.main(0.1 if args.quick else 1.0)
    section.load = load.to_dict()
    section.details = result
    section.figures = [
        Figure(f"import {result['contacts_rows']:,} contacts (floor: plain phonenumbers loop)",
               result["contacts_import_seconds"], "s",
               floor=result["plain_phonenumbers_loop_seconds"]),
        Figure("normalization alone (floor: plain phonenumbers loop)",
               result["normalize_seconds"], "s",
               floor=result["plain_phonenumbers_loop_seconds"]),
        Figure("rows differing from the plain phonenumbers calls",
               result["normalize_rows_differing_from_plain_calls"], target="0",
               ok=result["normalize_rows_differing_from_plain_calls"] == 0),
        Figure("contact import peak RSS", result["import_peak_rss_mib"], "MiB"),
        Figure(f"DNC import, {result['dnc_import_rows']:,} lines", result["dnc_import_seconds"],
               "s"),
        Figure(f"DNC lookup median in {result['dnc_entries']:,} (floor: raw SQLite)",
               result["dnc_lookup_median_us"], "µs",
               floor=result["dnc_lookup_sqlite_floor_median_us"]),
        Figure("DNC lookup p99", result["dnc_lookup_p99_us"], "µs"),
    ]
    return [section]


def stats_under_load(args: argparse.Namespace) -> list[Section]:
    argv = ["--campaigns", "5", "--seconds", "5"] if args.quick else []
    section = Section("API stats under load while dialing, SQLite (api_stats.py)")
    with harness.section_load() as load:
        result = api_stats.main(argv)
    section.load = load.to_dict()
    section.details = result
    configured = result["dial_rate_configured_per_second"]
    section.figures = [
        Figure("GET …/stats p50", result["stats_p50_ms"], "ms"),
        at_most(f"GET …/stats p99 at {result['requests_per_second']:g} req/s",
                result["stats_p99_ms"], STATS_P99_TARGET_MS, "ms"),
        at_most("failed requests", result["failed_requests"], 0),
        at_least(f"dial rate meanwhile ({result['campaigns']} × 20/s)",
                 result["dial_rate_achieved_per_second"], 0.99 * configured, "/s",
                 label=f"≥ {0.99 * configured:,.0f} ({configured:,} - 1%)"),
    ]
    return [section]


SECTIONS: dict[str, Callable[[argparse.Namespace], list[Section]]] = {
    "dial_rate": lambda a: dial_rate.run(dial_rate.options(
        (["--quick"] if a.quick else []) + _store_flags(a))),
    "pacing": lambda a: pacing.run(pacing.options(["--quick"] if a.quick else [])),
    "ten_thousand": lambda a: ten_thousand.run(),
    "predictive": lambda a: predictive.run(a.quick),
    "size": lambda a: size.run(size.options((["--quick"] if a.quick else []) + _store_flags(a))),
    "imports": imports,
    "api_stats": stats_under_load,
    "sip_load": sip_trunk,
}


def _key(name: str, section: Section) -> str:
    """results.json key: the section's name, with the store when it ran on several."""
    for store in ("SQLite", "PostgreSQL"):
        if name in ("dial_rate", "size") and section.title.endswith(store):
            return f"{name}_{store.lower()}"
    return name


def _order(item: tuple[str, Any]) -> tuple[int, bool]:
    """The order of SECTIONS; SQLite before PostgreSQL."""
    base = next((i for i, name in enumerate(SECTIONS) if item[0].startswith(name)),
                len(SECTIONS))
    return base, item[0].endswith("postgresql")


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, check=True,
                               capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+uncommitted changes in src" if dirty else "")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", type=lambda s: s.split(","), default=list(SECTIONS),
                   help=f"comma-separated sections: {', '.join(SECTIONS)}")
    p.add_argument("--quick", action="store_true", help="small sizes, short windows")
    p.add_argument("--postgres", help=f"PostgreSQL URL (default: ${harness.POSTGRES_ENV} or "
                   f"{harness.DEFAULT_POSTGRES})")
    p.add_argument("--no-postgres", dest="postgres", action="store_const", const="off")
    p.add_argument("--show", action="store_true", help="print results.json's table and exit")
    args = p.parse_args(argv)
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        p.error(f"unknown section {sorted(unknown)[0]!r}; one of {', '.join(SECTIONS)}")

    stored: dict[str, Any] = {}
    if RESULTS.exists():
        stored = json.loads(RESULTS.read_text())
    sections: dict[str, Any] = stored.get("sections", {}) if isinstance(stored, dict) else {}
    if args.show:
        print(table(list(sections.values())))
        return 0

    ran = []
    for name in args.only:
        print(f"{name}…", file=sys.stderr)
        for section in SECTIONS[name](args):
            if args.quick:
                section.notes.append("--quick: small sizes, not comparable with a full run")
            key = _key(name, section)
            sections[key] = {**section.to_dict(), "commit": _commit()}
            ran.append(sections[key])
        # Written after every section: a long run interrupted keeps what it measured.
        RESULTS.write_text(json.dumps({
            "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                        "cpus": os.cpu_count()},
            "sections": dict(sorted(sections.items(), key=_order)),
        }, indent=2) + "\n")
    print(table(ran))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
