"""Virtual time: examples/ten-thousand.toml through `outbound simulate`'s code path (the real
engine and store, the simulated network, a VirtualClock) in this process; wall time and
simulated hours per wall second. The example dials predictively since issue 14 (two business
days of dialing); ten-thousand-fixed.toml, the same list at a fixed pace (the example as it was
before), is measured beside it.

    .venv/bin/python bench/ten_thousand.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import harness
from figures import Figure, Section, at_most, table

from outbound.bootstrap import build_simulation
from outbound.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
WALL_TARGET = 10.0  # seconds, issue 7


def measure(example: str = "ten-thousand") -> dict[str, Any]:
    scenario = load_scenario(ROOT / "examples" / f"{example}.toml")
    with tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        cpu = time.process_time()
        result = build_simulation(scenario, Path(out)).run()
        wall = time.perf_counter() - began
        cpu = time.process_time() - cpu
    return {
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "calls": result.report["calls"],
        "simulated_hours": round(result.virtual_seconds / 3600, 2),
        "simulated_hours_per_wall_second": round(result.virtual_seconds / 3600 / wall, 3),
    }


def run() -> list[Section]:
    section = Section("virtual time, examples/ten-thousand.toml")
    with harness.section_load() as load:
        result = measure()
        fixed = measure("ten-thousand-fixed")
    section.load = load.to_dict()
    section.details = {"predictive": result, "fixed": fixed}
    section.figures = [
        at_most("wall time (floor: CPU time)", result["wall_seconds"], WALL_TARGET, "s",
                floor=result["cpu_seconds"]),
        Figure("calls | simulated hours", f"{result['calls']} | {result['simulated_hours']}"),
        Figure("simulated hours per wall second", result["simulated_hours_per_wall_second"],
               "h/s"),
        Figure("ten-thousand-fixed.toml: wall time (floor: CPU time)", fixed["wall_seconds"],
               "s", floor=fixed["cpu_seconds"]),
        Figure("ten-thousand-fixed.toml: calls | simulated hours",
               f"{fixed['calls']} | {fixed['simulated_hours']}"),
    ]
    return [section]


if __name__ == "__main__":
    print(table([s.to_dict() for s in run()]))
