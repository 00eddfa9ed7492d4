"""Try the SIP trunk adapter locally in one command (`make sip-demo`): SIPp plays a carrier and
two agents on 127.0.0.1, `outbound serve` dials a small customer-first campaign through them,
and the call log is printed beside what the carrier did with each call.

Everything lives under .outbound/sip-demo/ (the store, calls.csv, the recordings, SIPp's logs)
and is started afresh on each run. Needs `sipp` (Debian/Ubuntu: apt-get install sip-tester).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from sipp import peer  # noqa: E402  (the SIPp scenarios and harness live beside the tests)

HERE = ROOT / ".outbound" / "sip-demo"
OUTBOUND = [sys.executable, "-m", "outbound.cli"]
KINDS = ["answer", "busy", "not_found", "short", "decline", "unavailable", "ring", "short",
         "overloaded", "answer", "busy_everywhere", "short"]
WHAT = {"answer": "answers, talks 3 s", "short": "answers, talks 0.2 s", "busy": "486 busy",
        "busy_everywhere": "600 busy everywhere", "not_found": "404 not found",
        "decline": "603 decline", "unavailable": "480 unavailable",
        "overloaded": "503 overloaded", "ring": "rings until cancelled"}
SCENARIO = """\
[campaign]
name = "SIP demo"
pacing = 2
concurrency = 2
attempts = 1
numbers = ["+14155550100"]
transfer = { department = "Sales" }
recording = true
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
agents = 2
"""


def cli(env: dict[str, str], *args: str | Path) -> str:
    return subprocess.run([*OUTBOUND, *map(str, args)], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    why = peer.missing()
    if why is not None:
        print(f"cannot run the SIP demo: {why}", file=sys.stderr)
        return 2
    shutil.rmtree(HERE, ignore_errors=True)
    HERE.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTBOUND_")}
    env["OUTBOUND_DATA_DIR"] = str(HERE / "data")
    numbers = [peer.number(kind, i) for i, kind in enumerate(KINDS)]
    (HERE / "contacts.csv").write_text("phone,name\n" + "".join(
        f"{n},{KINDS[i]}\n" for i, n in enumerate(numbers)))
    (HERE / "demo.toml").write_text(SCENARIO)

    account = cli(env, "admin", "create-account", "Demo", "--timezone", "UTC")
    cli(env, "admin", "create-user", "Demo", "you@demo.test", "--role", "owner")
    token = cli(env, "admin", "create-token", "Demo", "you@demo.test")
    campaign = cli(env, "campaigns", "load", HERE / "demo.toml", "--account", "Demo", "--draft")
    carrier = peer.start("carrier", HERE / "carrier")
    agents = peer.start("agents", HERE / "agents")
    port = free_port()
    with (HERE / "serve.log").open("w") as log:
        server = subprocess.Popen([*OUTBOUND, "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=log)
    base = f"/api/v1/accounts/{account}"
    print(f"SIPp carrier on {carrier.proxy}, agents on sip:127.0.0.1:{agents.port}; "
          f"outbound serve on http://127.0.0.1:{port}")
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                              headers={"Authorization": f"Bearer {token}"})
        for _ in range(300):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        # What an operator does over the API: the trunk, the agents' SIP addresses, start.
        client.put(f"{base}/provider", json={"kind": "sip", "proxy": carrier.proxy,
                                             "p_asserted_identity": True}).raise_for_status()
        for agent in client.get(f"{base}/agents").json()["items"]:
            client.patch(f"{base}/agents/{agent['id']}",
                         json={"sip_uri": agents.uri(agent["name"])}).raise_for_status()
        client.post(f"{base}/campaigns/{campaign}/start").raise_for_status()
        path = f"{base}/campaigns/{campaign}"
        while True:
            stats = client.get(f"{path}/stats").json()
            counts = {k: v for k, v in stats["contacts"].items() if v}
            print(f"  {stats['status']:<10} in flight {stats['in_flight']}  {counts}")
            if stats["status"] == "completed":
                break
            if server.poll() is not None:
                raise RuntimeError("outbound serve stopped; see .outbound/sip-demo/serve.log")
            time.sleep(2)
        text = client.get(f"{path}/calls.csv").text
        (HERE / "calls.csv").write_text(text)
        rows = list(csv.DictReader(io.StringIO(text)))
        client.close()
        time.sleep(0.5)
        logged = carrier.calls()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        carrier.stop()
        agents.stop()

    print(f"\n{'number':<14}{'the carrier':<24}{'outcome':<16}{'sip':<5}agent")
    for row in sorted(rows, key=lambda r: int(r["attempt_id"])):
        print(f"{row['phone']:<14}{WHAT[peer.kind_of(row['phone'])]:<24}{row['outcome']:<16}"
              f"{row['sip_code']:<5}{row['agent']}")
    problems = peer.compare(rows, logged, {})
    print(f"\n{len(rows)} calls, {dict(Counter(r['outcome'] for r in rows))}")
    print("the call log matches what SIPp logged, call by call" if not problems
          else "MISMATCHES:\n  " + "\n  ".join(problems))
    print(f"calls.csv, recordings and SIPp's logs are in {HERE.relative_to(ROOT)}/")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
