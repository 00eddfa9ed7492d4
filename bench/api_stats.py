"""The dashboard's read path under load: GET …/stats at 200 requests/s from a load generator
on loopback while the same `outbound serve` process dials 20 campaigns at 20 calls/s each
against the simulator. Prints p50/p99 latency beside the dial rate achieved.

    .venv/bin/python bench/api_stats.py [--campaigns 20] [--rate 200] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
OUTBOUND = [sys.executable, "-m", "outbound.cli"]
SCENARIO = """\
[campaign]
name = "seed"
numbers = ["+14155550100"]
transfer = { department = "Sales" }
dialing = "fixed"
[contacts]
generate = 1
[[departments]]
name = "Sales"
agents = 200
handle_seconds = [0.5, 2.0]
[network]
answer = 0.35
busy = 0.15
no_answer = 0.5
invalid = 0
rejected = 0
provider_error = 0
ring_seconds = [0.05, 0.3]
talk_seconds = [0.2, 1.0]
"""


def _cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([*OUTBOUND, *args], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _load(base: str, token: str, ids: list[int], rate: float, seconds: float,
                connections: int = 20) -> tuple[list[float], int]:
    """An open-loop load: request i is due at start + i/rate, spread over keep-alive
    connections; its latency counts from when it was due, so a slow server cannot hide
    behind a client that waits for it (no coordinated omission).

    Plain asyncio streams rather than an HTTP client library: on two cores the load
    generator must cost little, and httpx's pool spent more CPU per request than the server."""
    url = httpx.URL(base)
    host, port = url.host, url.port or 80
    latencies: list[float] = []
    failures = [0]
    total = int(rate * seconds)
    start = time.perf_counter() + 0.5

    async def connection(k: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in range(k, total, connections):
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                path = f"{url.path}/campaigns/{ids[i % len(ids)]}/stats"
                writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
                              f"Authorization: Bearer {token}\r\n\r\n").encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 200"):
                    failures[0] += 1
                    continue
                latencies.append(time.perf_counter() - due)
        finally:
            writer.close()

    await asyncio.gather(*(connection(k) for k in range(connections)))
    return latencies, failures[0]


def _dials(base: str) -> int:
    text = httpx.get(base.split("/api/")[0] + "/metrics", timeout=10).text
    return sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("outbound_dials_total"))


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "OUTBOUND_DATA_DIR": tmp}
        env.pop("OUTBOUND_DATABASE_URL", None)
        account = _cli(env, "admin", "create-account", "Bench", "--timezone", "UTC")
        _cli(env, "admin", "create-user", "Bench", "ops@bench.test", "--role", "owner")
        token = _cli(env, "admin", "create-token", "Bench", "ops@bench.test")
        scenario = Path(tmp) / "people.toml"
        scenario.write_text(SCENARIO)
        _cli(env, "campaigns", "load", str(scenario), "--account", "Bench", "--draft")
        port = _port()
        server = subprocess.Popen([*OUTBOUND, "serve", "--port", str(port)], env=env,
                                  stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}/api/v1/accounts/{account}"
        try:
            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            headers = {"Authorization": f"Bearer {token}"}
            ids = []
            contacts = [{"phone": f"+1212{n:07d}"} for n in range(2_000_000, 2_006_000)]
            for n in range(args.campaigns):
                created = httpx.post(f"{base}/campaigns", headers=headers, timeout=30, json={
                    "name": f"Load {n}", "pacing": 20, "concurrency": 50, "attempts": 1,
                    "numbers": ["+14155550100"], "transfer": {"department": "Sales"},
                    "dialing": "fixed",
                    "business_hours": {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu",
                                                                   "fri", "sat", "sun"],
                                       "open": "00:00", "close": "24:00"}}).json()
                ids.append(created["id"])
                httpx.post(f"{base}/campaigns/{created['id']}/contacts",
                           headers={**headers, "Content-Type": "application/json"},
                           timeout=60, content=json.dumps(contacts),
                           params={"region": "US"}).raise_for_status()
            for campaign_id in ids:
                httpx.post(f"{base}/campaigns/{campaign_id}/start", headers=headers,
                           timeout=30).raise_for_status()
            time.sleep(3)  # let dialing reach its pace
            dials_before, began = _dials(base), time.perf_counter()
            latencies, failures = asyncio.run(_load(base, token, ids, args.rate, args.seconds))
            elapsed = time.perf_counter() - began
            dial_rate = (_dials(base) - dials_before) / elapsed
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    ms = sorted(x * 1000 for x in latencies) or [float("nan")]
    return {
        "campaigns": args.campaigns, "requests_per_second": args.rate,
        "requests": len(ms) + failures, "failed_requests": failures,
        "stats_p50_ms": round(statistics.median(ms), 1),
        "stats_p99_ms": round(ms[int(len(ms) * 0.99) - 1], 1),
        "dial_rate_achieved_per_second": round(dial_rate, 1),
        "dial_rate_configured_per_second": 20 * args.campaigns,
    }


if __name__ == "__main__":
    for key, value in main(sys.argv[1:]).items():
        print(f"{key:<36}{value}")
