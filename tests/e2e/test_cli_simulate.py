"""`outbound simulate SCENARIO --out DIR`: the call log, the report and the recordings it writes."""

from __future__ import annotations

import csv
import json
import re
import wave
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from e2e_support import Outbound, one_line

HEADER = ("attempt_id,contact_id,phone,attempt,caller_id,agent,started_at,ringing_at,"
          "answered_at,bridged_at,ended_at,outcome,sip_code,status_after,digit,recording")
TIME_COLUMNS = ("started_at", "ringing_at", "answered_at", "bridged_at", "ended_at")
CONTACT_STATES = ("pending", "dialing", "ringing", "answered", "completed", "failed",
                  "retry_queued", "blocked", "abandoned")
REPORT_KEYS = ("status", "started_at", "finished_at", "contacts", "calls", "answered",
               "abandoned", "abandonment_rate", "dnc_blocks", "calls_per_caller_id",
               "peak_concurrency", "max_dials_per_second", "abandon_target", "agent_occupancy",
               "answered_per_agent_hour", "drain_time")
AGENTS = 6
UTC_MILLIS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|\+00:00)")
E164 = re.compile(r"\+[1-9]\d{6,14}")
CONTACTS = 300
DNC_OVERLAP = 12

SCENARIO = f"""\
seed = 21

[campaign]
name = "Simulated"
dial_mode = "customer-first"
pacing = 4
concurrency = 20
attempts = 3
backoff_seconds = 600
rotation = "round-robin"
numbers = ["+14155550100", "+14155550101", "+14155550102"]
transfer = {{ department = "Sales" }}
recording = true
start = "2026-03-02T08:55:00-05:00"
dialing = "fixed"
abandon_target = 2.5
abandon_window = "24h"
abandon_message = "Simulated calling. Call us back on +1 415 555 0100."

[business_hours]
timezone = "America/New_York"
days = ["mon", "tue", "wed", "thu", "fri"]
open = "09:00"
close = "19:00"

[contacts]
generate = {CONTACTS}

[dnc]
generate = 200
overlap = {DNC_OVERLAP}

[[departments]]
name = "Sales"
agents = {AGENTS}
handle_seconds = [20, 90]

[network]
answer = 0.45
busy = 0.10
no_answer = 0.30
invalid = 0.05
rejected = 0.05
provider_error = 0.05
ring_seconds = [3, 20]
talk_seconds = [10, 60]
"""


@dataclass(frozen=True)
class Run:
    out: Path
    calls_text: str
    rows: list[dict[str, str]]
    report: dict[str, Any]


def simulate(outbound: Outbound, scenario: Path, out: Path, *seed: str) -> Run:
    outbound.ok("simulate", scenario, "--out", out, *seed)
    calls_text = (out / "calls.csv").read_text(encoding="utf-8")
    with (out / "calls.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return Run(out, calls_text, rows, report)


@pytest.fixture(scope="module")
def module_outbound(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outbound]:
    cli = Outbound(tmp_path_factory.mktemp("simulate"))
    try:
        yield cli
    finally:
        cli.close()


@pytest.fixture(scope="module")
def scenario_path(module_outbound: Outbound) -> Path:
    path = module_outbound.root / "simulated.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(module_outbound: Outbound, scenario_path: Path) -> Run:
    return simulate(module_outbound, scenario_path, module_outbound.root / "out")


def test_the_call_log_has_exactly_the_documented_header(run: Run) -> None:
    assert run.calls_text.splitlines()[0] == HEADER


def test_the_call_log_has_one_row_per_attempt_numbered_from_1_per_contact(run: Run) -> None:
    assert run.rows
    by_contact: dict[str, list[int]] = {}
    for row in run.rows:
        by_contact.setdefault(row["contact_id"], []).append(int(row["attempt"]))
    for attempts in by_contact.values():
        assert sorted(attempts) == list(range(1, len(attempts) + 1))
        assert len(attempts) <= 3
    assert len({row["attempt_id"] for row in run.rows}) == len(run.rows)


def test_every_time_in_the_call_log_is_iso8601_utc_to_the_millisecond(run: Run) -> None:
    for row in run.rows:
        assert row["started_at"] and row["ended_at"], row
        present = [row[c] for c in TIME_COLUMNS if row[c]]
        for value in present:
            assert UTC_MILLIS.fullmatch(value), f"{value!r} in {row}"
        assert present == sorted(present), f"times out of order in {row}"


def test_phones_and_caller_ids_in_the_call_log_are_e164(run: Run) -> None:
    for row in run.rows:
        assert E164.fullmatch(row["phone"]), row
        assert row["caller_id"] in {"+14155550100", "+14155550101", "+14155550102"}, row


def test_every_recording_in_the_call_log_is_a_playable_wav_file(run: Run) -> None:
    recorded = [row for row in run.rows if row["recording"]]
    assert recorded, "a campaign with recording on and answered calls has recordings"
    for row in recorded:
        assert row["answered_at"], f"a call that was never answered has a recording: {row}"
        path = Path(row["recording"])
        path = path if path.is_absolute() else run.out / path
        with wave.open(str(path), "rb") as audio:
            assert audio.getnframes() > 0
            assert audio.getframerate() > 0
            assert audio.getnchannels() >= 1
    answered = [row for row in run.rows if row["answered_at"]]
    assert len(recorded) == len(answered)


def test_the_report_has_every_documented_key_and_every_contact_state(run: Run) -> None:
    report = run.report
    assert set(REPORT_KEYS) <= set(report)
    assert set(report["contacts"]) == set(CONTACT_STATES)
    assert sum(report["contacts"].values()) == CONTACTS
    assert report["status"] == "completed"
    assert UTC_MILLIS.fullmatch(report["started_at"])
    assert UTC_MILLIS.fullmatch(report["finished_at"])


def test_the_report_agrees_with_the_call_log(run: Run) -> None:
    report, rows = run.report, run.rows
    answered = sum(1 for r in rows if r["answered_at"])
    abandoned = sum(1 for r in rows if r["outcome"] == "abandoned")
    assert report["calls"] == len(rows)
    assert report["answered"] == answered
    assert report["abandoned"] == abandoned
    assert report["abandonment_rate"] == pytest.approx(abandoned / answered if answered else 0,
                                                       abs=1e-6)
    assert report["calls_per_caller_id"] == dict(Counter(r["caller_id"] for r in rows))
    assert report["dnc_blocks"] == report["contacts"]["blocked"] == DNC_OVERLAP
    assert 0 < report["peak_concurrency"] <= 20
    assert 0 < report["max_dials_per_second"] <= 4
    # A blocked contact was never called; every other one ends in a terminal state.
    called = {r["contact_id"] for r in rows}
    finished = sum(report["contacts"][s] for s in ("completed", "failed", "abandoned"))
    assert len(called) == finished


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_the_forecast_agrees_with_the_call_log(run: Run) -> None:
    report, rows = run.report, run.rows
    first_dial = min(_seconds(r["started_at"]) for r in rows)
    last_end = max(_seconds(r["ended_at"]) for r in rows)
    bridged = [r for r in rows if r["bridged_at"]]
    talk = sum(_seconds(r["ended_at"]) - _seconds(r["bridged_at"]) for r in bridged)
    drain = last_end - first_dial

    assert report["abandon_target"] == 2.5
    assert report["drain_time"] == pytest.approx(drain, abs=0.01)
    assert report["agent_occupancy"] == pytest.approx(talk / (AGENTS * drain), rel=1e-3)
    assert 0 < report["agent_occupancy"] < 1
    assert report["answered_per_agent_hour"] == pytest.approx(
        len(bridged) / (AGENTS * drain / 3600), rel=1e-3)


def test_simulating_twice_with_the_same_seed_gives_the_same_call_log(
    module_outbound: Outbound, scenario_path: Path
) -> None:
    out = module_outbound.root / "twice"

    first = simulate(module_outbound, scenario_path, out, "--seed", "5")
    second = simulate(module_outbound, scenario_path, out, "--seed", "5")
    other = simulate(module_outbound, scenario_path, module_outbound.root / "other",
                     "--seed", "6")

    assert first.calls_text == second.calls_text
    assert first.report == second.report
    other_calls = [{k: v for k, v in r.items() if k != "recording"} for r in other.rows]
    first_calls = [{k: v for k, v in r.items() if k != "recording"} for r in first.rows]
    assert other_calls != first_calls, "the seed changes nothing"


def test_simulate_refuses_a_broken_scenario_in_one_line_and_writes_no_results(
    module_outbound: Outbound, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(SCENARIO.replace("pacing = 4", "pacing = 40"), encoding="utf-8")
    out = tmp_path / "out"

    done = module_outbound.run("simulate", broken, "--out", out)

    assert done.returncode == 2
    assert "campaign.pacing" in one_line(done.stderr)
    assert not (out / "calls.csv").exists()
    assert not (out / "report.json").exists()
