"""A benchmark figure with its floor and target, and the table they are printed in.

Every section returns a `Section`: the figures for the table (value, the floor measured in the
same run, the target from issue 7 and whether it was met), the raw details behind them, and
how busy the machine was meanwhile.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

Number = float | int


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: Number | str | None
    unit: str = ""
    floor: Number | str | None = None  # the same quantity's floor, measured in the same run
    target: str = ""  # as issue 7 states it, e.g. "≥ 1,980"
    ok: bool | None = None  # whether the target was met; None without a target

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def at_least(name: str, value: Number, bound: Number, unit: str = "", *,
             floor: Number | str | None = None, label: str = "") -> Figure:
    return Figure(name, value, unit, floor, label or f"≥ {_show(bound)}",
                  _known(value) and value >= bound)


def at_most(name: str, value: Number, bound: Number, unit: str = "", *,
            floor: Number | str | None = None, label: str = "") -> Figure:
    return Figure(name, value, unit, floor, label or f"≤ {_show(bound)}",
                  _known(value) and value <= bound)


def _known(value: Number) -> bool:
    return not (isinstance(value, float) and math.isnan(value))


@dataclass(slots=True)
class Section:
    """One benchmark's outcome."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    measured_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "measured_at": self.measured_at, "load": self.load,
                "figures": [f.to_dict() for f in self.figures], "details": self.details,
                "notes": self.notes}


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def table(sections: list[dict[str, Any]]) -> str:
    """The sections (as stored in results.json) as one plain-text table."""
    lines = []
    header = f"{'figure':<52}{'value':>14}  {'unit':<10}{'floor':>12}  {'target':<22}pass"
    for section in sections:
        load = section.get("load") or {}
        lines.append("")
        lines.append(f"{section['title']}  ({section['measured_at']}; machine: "
                     f"{_show(load.get('others_cores'))} of {load.get('cpus', '?')} cores busy "
                     f"with others' work, load average {_show(load.get('loadavg_1m'))})")
        lines.append(header)
        for f in section["figures"]:
            ok = {True: "PASS", False: "FAIL", None: ""}[f["ok"]]
            lines.append(f"{f['name']:<52}{_show(f['value']):>14}  {f['unit']:<10}"
                         f"{_show(f['floor']):>12}  {f['target']:<22}{ok}")
        lines.extend(f"  note: {note}" for note in section.get("notes", []))
    return "\n".join(lines)
