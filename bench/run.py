"""Benchmarks (`make bench`): figures printed as a table and written to bench/results.json.

Today: the virtual-time run of examples/ten-thousand.toml. Speed targets live here, never in
the tests.
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> int:
    results = {"machine": {"python": sys.version.split()[0], "platform": platform.platform()},
               "ten_thousand_virtual_time": ten_thousand()}
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'benchmark':<34}{'figure':>12}  unit")
    for name, value in results["ten_thousand_virtual_time"].items():
        print(f"{'ten-thousand ' + name:<34}{value:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
