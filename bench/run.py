"""Benchmarks (`make bench`): figures printed as a table and written to bench/results.json.

- the virtual-time run of examples/ten-thousand.toml;
- the SIP trunk at 20 calls/s for 60 s against SIPp (bench/sip_load.py; skipped, saying why,
  where sipp or pjsua2 is missing);
- imports (bench/ingest.py): 200,000 contacts against a 1,000,000-entry DNC list beside the
  plain phonenumbers loop over the same rows, the DNC bulk import, DNC lookups among
  10,000,000 entries beside SQLite's own floor.

Speed targets live here, never in the tests.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ingest
import sip_load

from outbound.engine.simulation import Simulation
from outbound.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


def ten_thousand() -> dict[str, float]:
    scenario = load_scenario(ROOT / "examples" / "ten-thousand.toml")
    with tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        cpu = time.process_time()
        result = Simulation(scenario, Path(out)).run()
        wall = time.perf_counter() - began
        cpu = time.process_time() - cpu
    return {
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "calls": result.report["calls"],
        "simulated_hours": round(result.virtual_seconds / 3600, 2),
        "simulated_hours_per_wall_second": round(result.virtual_seconds / 3600 / wall, 3),
    }


def _sip_load() -> dict[str, Any]:
    result = sip_load.run(20.0, 60.0)
    if not result.get("first_problems"):
        result.pop("first_problems", None)
    return result


def main() -> int:
    results: dict[str, Any] = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "ten_thousand_virtual_time": ten_thousand(),
        "imports": ingest.main(),
        "sip_trunk_20_per_second_for_60_s": _sip_load(),
    }
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    for section in ("ten_thousand_virtual_time", "imports", "sip_trunk_20_per_second_for_60_s"):
        print(f"\n{section}")
        for name, value in results[section].items():
            print(f"  {name:<42}{value!s:>14}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
