"""The SIP trunk under load: `outbound serve` dials a campaign at 20 calls/s for 60 s through
the SIP adapter, with SIPp as the carrier (and as the agents), then the call log is set beside
SIPp's, call by call: no call may be lost and every outcome must be the one SIPp caused.

The mix is what a list mostly gives: busy, not found, declined, unavailable (the carrier ends
those at once) and one call in ten answered for 0.2 s and bridged to an agent.

    .venv/bin/python bench/sip_load.py [--rate 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from sipp import peer  # noqa: E402  (the SIPp harness lives beside the tests)

OUTBOUND = [sys.executable, "-m", "outbound.cli"]
MIX = ["busy", "not_found", "decline", "unavailable", "busy", "not_found", "decline",
       "unavailable", "busy_everywhere", "short"]
SCENARIO = """\
[campaign]
name = "SIP load"
pacing = {rate}
concurrency = 2
attempts = 1
numbers = ["+14155550100"]
transfer = {{ department = "Sales" }}
dialing = "fixed"
recording = false
ring_timeout = 15

[business_hours]
timezone = "UTC"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
open = "00:00"
close = "24:00"

[contacts]
file = "contacts.csv"
region = "US"

[[departments]]
name = "Sales"
agents = 4
"""


def _cli(env: dict[str, str], *args: str | Path) -> str:
    return subprocess.run([*OUTBOUND, *map(str, args)], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(rate: float = 20.0, seconds: float = 60.0, keep: Path | None = None) -> dict[str, Any]:
    why = peer.missing()
    if why is not None:
        return {"skipped": why}
    calls = int(rate * seconds)
    used: Counter[str] = Counter()
    numbers = []
    for i in range(calls):
        kind = MIX[i % len(MIX)]
        numbers.append(peer.number(kind, used[kind], area="212"))  # each number once
        used[kind] += 1
    with tempfile.TemporaryDirectory() as tmp:
        root = keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OUTBOUND_")}
        env["OUTBOUND_DATA_DIR"] = str(root / "data")
        (root / "contacts.csv").write_text(
            "phone,name\n" + "".join(f"{n},Load {i}\n" for i, n in enumerate(numbers)))
        (root / "load.toml").write_text(SCENARIO.format(rate=rate))
        account = _cli(env, "admin", "create-account", "Acme", "--timezone", "UTC")
        _cli(env, "admin", "create-user", "Acme", "ops@acme.test", "--role", "owner")
        token = _cli(env, "admin", "create-token", "Acme", "ops@acme.test")
        campaign = _cli(env, "campaigns", "load", root / "load.toml", "--account", "Acme",
                        "--draft")
        carrier = peer.start("carrier", root / "carrier")
        agents = peer.start("agents", root / "agents")
        port = _port()
        log = (root / "serve.log").open("w")
        server = subprocess.Popen([*OUTBOUND, "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=log)
        base = f"/api/v1/accounts/{account}"
        try:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                  headers={"Authorization": f"Bearer {token}"})
            for _ in range(300):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            client.put(f"{base}/provider", json={"kind": "sip", "proxy": carrier.proxy}
                       ).raise_for_status()
            for agent in client.get(f"{base}/agents").json()["items"]:
                client.patch(f"{base}/agents/{agent['id']}",
                             json={"sip_uri": agents.uri(agent["name"])}).raise_for_status()
            began = time.monotonic()
            client.post(f"{base}/campaigns/{campaign}/start").raise_for_status()
            deadline = began + seconds * 4 + 60
            while client.get(f"{base}/campaigns/{campaign}").json()["status"] != "completed":
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the load campaign did not complete")
                time.sleep(0.5)
            wall = time.monotonic() - began
            rows = list(csv.DictReader(io.StringIO(
                client.get(f"{base}/campaigns/{campaign}/calls.csv").text)))
            report = client.get(f"{base}/campaigns/{campaign}/stats").json()
            client.close()
            time.sleep(1.0)  # the carrier's last log lines
            logged = carrier.calls()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
            log.close()
            carrier.stop()
            agents.stop()
        problems = peer.compare(rows, logged, {})
        started = sorted(float(_epoch(r["started_at"])) for r in rows)
        span = started[-1] - started[0] if len(started) > 1 else 0.0
        return {
            "contacts": len(set(numbers)),
            "calls_logged_by_outbound": len(rows),
            "calls_logged_by_sipp": len(logged),
            "calls_lost_or_unmatched": len(problems),
            "first_problems": problems[:5],
            "outcomes": dict(sorted(Counter(r["outcome"] for r in rows).items())),
            "dial_span_seconds": round(span, 1),
            "dials_per_second": round((len(started) - 1) / span, 2) if span else 0.0,
            "wall_seconds": round(wall, 1),
            "stats_pacing": report.get("pacing"),
        }


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--keep", type=Path, help="keep the store and every log here")
    args = parser.parse_args()
    result = run(args.rate, args.seconds, args.keep)
    print(json.dumps(result, indent=2))
    return 0 if not result.get("calls_lost_or_unmatched") else 1


if __name__ == "__main__":
    raise SystemExit(main())
