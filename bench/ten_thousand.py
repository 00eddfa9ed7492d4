"""Virtual time: examples/ten-thousand.toml through `outbound simulate`'s code path (the real
engine and store, the simulated network, a VirtualClock) in this process; wall time and
simulated hours per wall second.

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


def measure() -> dict[str, Any]:
    scenario = load_scenario(ROOT / "examples" / "ten-thousand.toml")
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
    section.load = load.to_dict()
    section.details = result
    section.figures = [
        at_most("wall time (floor: CPU time)", result["wall_seconds"], WALL_TARGET, "s",
                floor=result["cpu_seconds"]),
        Figure("calls", result["calls"]),
        Figure("simulated hours per wall second", result["simulated_hours_per_wall_second"],
               "h/s"),
    ]
    return [section]


if __name__ == "__main__":
    print(table([s.to_dict() for s in run()]))
