"""A campaign dialed by `outbound serve` through the SIP trunk adapter, against SIPp.

SIPp plays the carrier (each number's eighth digit decides: answer, busy, not found, decline,
unavailable, overloaded, ring until cancelled) and the agents (who answer at their sip_uri).
The account is set up the way an operator would: `outbound admin` and `campaigns load
--draft`, then over HTTP the SIP provider, the agents' sip_uri and the start. When the
campaign completes, its call log (calls.csv) must match what SIPp logged, call by call: the
same calls (paired number by number in the order placed, and by SIP Call-ID wherever the
store kept the provider's call id), each with the outcome and SIP code of what the carrier
did, and not one call more on either side (`sipp.peer.compare`).
"""

from __future__ import annotations

import csv
import io
import signal
import socket
import subprocess
import time
import wave
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import Outbound, wait_for

from outbound.telephony.prompts import prompt_wav, wav_seconds
from sipp import peer
from sipp.peer import OPT_OUT_AREA, Peer, number

pytestmark = pytest.mark.skipif(peer.missing() is not None, reason=str(peer.missing()))

CALLER_ID = "+14155550100"
ALWAYS = {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
          "open": "00:00", "close": "24:00"}


def scenario(name: str, contacts: str, *, pacing: float, concurrency: int, attempts: int,
             dial_mode: str = "customer-first", agents: int = 2,
             transfer: str = '{ department = "Sales" }', more: str = "") -> str:
    return f"""\
[campaign]
name = "{name}"
dial_mode = "{dial_mode}"
{more}pacing = {pacing}
concurrency = {concurrency}
attempts = {attempts}
backoff_seconds = 1
numbers = ["{CALLER_ID}"]
transfer = {transfer}
recording = true
ring_timeout = 15

[business_hours]
timezone = "UTC"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
open = "00:00"
close = "24:00"

[contacts]
file = "{contacts}"
region = "US"

[[departments]]
name = "Sales"
agents = {agents}

[[voice_menus]]
name = "confirm"
prompt = "Press 1 to confirm your appointment, 2 to cancel it."
options = {{ "1" = "confirm", "2" = "cancel" }}
"""


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    """`outbound serve` on a fresh SQLite store, with the owner's client, and the SIPp peers."""

    cli: Outbound
    process: subprocess.Popen[str]
    log: Path
    client: httpx.Client
    account: int
    carrier: Peer
    agents: Peer

    def path(self, rest: str) -> str:
        return f"/api/v1/accounts/{self.account}{rest}"

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, (
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text}")
        return response.json() if response.content else None

    def alive(self) -> None:
        assert self.process.poll() is None, (
            f"outbound serve exited {self.process.returncode}:\n" + self.log.read_text())
        self.carrier.assert_alive()
        self.agents.assert_alive()

    def load(self, directory: Path, toml: str, contacts: list[str]) -> int:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "contacts.csv").write_text(
            "phone,name\n" + "".join(f"{p},Contact {i}\n" for i, p in enumerate(contacts)),
            encoding="utf-8")
        (directory / "scenario.toml").write_text(toml, encoding="utf-8")
        return int(self.cli.ok("campaigns", "load", directory / "scenario.toml", "--account",
                               "Acme", "--draft"))

    def run(self, campaign: int, timeout: float) -> list[dict[str, str]]:
        """Start the campaign, wait for it to complete; its calls.csv rows."""
        path = self.path(f"/campaigns/{campaign}")
        assert self.ok(self.client.post(f"{path}/start"))["status"] == "running"

        def completed() -> bool:
            self.alive()
            return bool(self.ok(self.client.get(path))["status"] == "completed")

        wait_for(completed, timeout, f"campaign {campaign} to complete", interval=0.5)
        response = self.client.get(f"{path}/calls.csv")
        assert response.status_code == 200
        return list(csv.DictReader(io.StringIO(response.text)))

    def call_ids(self, campaign: int) -> dict[str, str | None]:
        """attempt id -> the provider's call id (the SIP Call-ID), from the store."""
        rows = self.cli.query("SELECT id, call_id FROM call_attempts WHERE campaign_id = ?",
                              (campaign,))
        return {str(r["id"]): r["call_id"] for r in rows}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One server and one pair of SIPp peers for the module; each test dials numbers of its
    own, so each reads its own calls in the peers' logs."""
    tmp_path = tmp_path_factory.mktemp("sip-site")
    cli = Outbound(tmp_path / "outbound")
    carrier = peer.start("carrier", tmp_path / "carrier")
    agents = peer.start("agents", tmp_path / "agents")
    try:
        account = int(cli.ok("admin", "create-account", "Acme", "--timezone", "UTC"))
        cli.ok("admin", "create-user", "Acme", "owner@acme.test", "--role", "owner")
        token = cli.ok("admin", "create-token", "Acme", "owner@acme.test").strip()
        port = free_port()
        log = tmp_path / "serve.log"
        process = cli.spawn("serve", "--port", str(port), log=log)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                              headers={"Authorization": f"Bearer {token}"})

        def healthy() -> bool:
            assert process.poll() is None, log.read_text()
            try:
                return client.get("/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, 30, "GET /healthz to answer 200")
        site = Site(cli, process, log, client, account, carrier, agents)
        site.ok(client.put(site.path("/provider"), json={
            "kind": "sip", "proxy": carrier.proxy, "p_asserted_identity": True}))
        yield site
        client.close()
        site.alive()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        cli.close()
        carrier.stop()
        agents.stop()


def give_agents_sip_uris(site: Site) -> dict[str, str]:
    uris = {}
    for agent in site.ok(site.client.get(site.path("/agents")))["items"]:
        uris[agent["name"]] = site.agents.uri(agent["name"])
        site.ok(site.client.patch(site.path(f"/agents/{agent['id']}"),
                                  json={"sip_uri": uris[agent["name"]]}))
    return uris


def assert_matches_the_carrier(site: Site, campaign: int,
                               rows: list[dict[str, str]]) -> dict[str, peer.Call]:
    """calls.csv and the carrier's log agree call by call (see `peer.compare`); the carrier's
    calls of this campaign (the numbers it dialed), by Call-ID."""
    numbers = {row["phone"] for row in rows}

    def campaign_calls() -> dict[str, peer.Call]:
        return {i: c for i, c in site.carrier.calls().items() if c.who in numbers}

    calls: dict[str, peer.Call] = wait_for(
        lambda: (found := campaign_calls()) and all(c.done for c in found.values()) and found,
        10, "the carrier to log every call's end")
    assert peer.compare(rows, calls, site.call_ids(campaign)) == []
    return calls


def test_a_customer_first_campaign_through_sipp_logs_every_call_as_the_carrier_did(
    site: Site, tmp_path: Path,
) -> None:
    kinds = ["answer", "short", "busy", "busy_everywhere", "not_found", "decline",
             "unavailable", "overloaded", "short", "ring", "answer", "not_found"]
    contacts = [number(kind, 200 + i) for i, kind in enumerate(kinds)]
    campaign = site.load(tmp_path / "load", scenario("SIP", "contacts.csv", pacing=5,
                                                     concurrency=2, attempts=2), contacts)
    uris = give_agents_sip_uris(site)
    agents_before = set(site.agents.calls())

    rows = site.run(campaign, timeout=150)

    matched = assert_matches_the_carrier(site, campaign, rows)
    per_phone = Counter(row["phone"] for row in rows)
    retryable = {"busy", "busy_everywhere", "unavailable", "overloaded", "ring"}
    for phone, kind in zip(contacts, kinds, strict=True):
        assert per_phone[phone] == (2 if kind in retryable else 1), (phone, kind)
    answered = [row for row in rows if row["answered_at"]]
    assert len(answered) == 4
    for row in answered:  # bridged to an agent, recorded
        assert row["outcome"] == "completed" and row["agent"] in uris and row["bridged_at"]
        assert row["recording"]
    agent_calls = [c for c in site.agents.calls().values()
                   if c.answered and c.call_id not in agents_before]
    assert len(agent_calls) == len(answered)
    assert all(c.last in ("bye-received", "bye-sent") for c in agent_calls)
    assert {c.who for c in agent_calls} <= set(uris)
    invites = [i for i in site.carrier.requests("INVITE")
               if any(f"Call-ID: {call_id}" in i for call_id in matched)]
    assert len(invites) == len(matched)
    assert all(f"P-Asserted-Identity: <sip:{CALLER_ID}@" in i for i in invites)
    recording = site.client.get(answered[0]["recording"])
    assert recording.status_code == 200
    with wave.open(io.BytesIO(recording.content)) as wav:
        assert wav.getnframes() / wav.getframerate() > 0.1


def test_an_agent_first_campaign_rings_the_agent_before_each_customer(
    site: Site, tmp_path: Path,
) -> None:
    kinds = ["short", "busy", "answer", "not_found"]
    contacts = [number(kind, 100 + i) for i, kind in enumerate(kinds)]
    campaign = site.load(tmp_path / "load", scenario(
        "Agent first", "contacts.csv", pacing=5, concurrency=1, attempts=1,
        dial_mode="agent-first", agents=1), contacts)
    give_agents_sip_uris(site)
    agents_before = set(site.agents.calls())

    rows = site.run(campaign, timeout=90)

    matched = assert_matches_the_carrier(site, campaign, rows)
    agent_calls = [c for i, c in site.agents.calls().items() if i not in agents_before]
    assert len(agent_calls) == len(rows)  # one agent leg per customer dialed
    assert all(c.answered and c.done for c in agent_calls)
    by_phone = {row["phone"]: row for row in rows}
    for call in matched.values():
        assert by_phone[call.who]["agent"]
    assert Counter(r["outcome"] for r in rows) == Counter(
        {"completed": 2, "busy": 1, "invalid_number": 1})


def test_a_voice_menu_campaign_stores_the_digit_each_customer_pressed(
    site: Site, tmp_path: Path,
) -> None:
    contacts = [number("menu", 300 + i) for i in range(2)] + [number("busy", 300)]
    campaign = site.load(tmp_path / "load", scenario(
        "Menu", "contacts.csv", pacing=5, concurrency=2, attempts=1,
        transfer='{ voice_menu = "confirm" }'), contacts)

    rows = site.run(campaign, timeout=60)

    assert_matches_the_carrier(site, campaign, rows)
    by_phone = {row["phone"]: row for row in rows}
    for phone in contacts[:2]:  # the carrier presses 1 (RFC 4733) 1.5 s after answering
        assert (by_phone[phone]["outcome"], by_phone[phone]["digit"]) == ("completed", "1")
        assert by_phone[phone]["recording"]
    assert by_phone[contacts[2]]["digit"] == ""


# Short: it must end before the carrier's BYE (16.5 s after the answer); a number read out
# digit by digit alone takes espeak-ng ~5 s.
ABANDON_MESSAGE = "This is Acme. No agent was free. To stop our calls, press 9. Goodbye."


def test_an_abandoned_call_hears_its_message_and_a_9_opts_the_number_out(
    site: Site, tmp_path: Path,
) -> None:
    site.ok(site.client.post(site.path("/departments"), json={"name": "Night"}), 201)
    site.ok(site.client.post(site.path("/agents"), json={
        "name": "Owl", "department": "Night", "availability": "offline"}), 201)
    # Both answer; no agent is free, so each hears the message 2 s after the answer. The
    # first presses 9 (RFC 4733) 3 s after the answer; the second presses 1 at 1.5 s, while
    # waiting for an agent, which nothing listens for.
    opting_out, staying = number("menu", 400, area=OPT_OUT_AREA), number("menu", 401)
    campaign = site.load(tmp_path / "load", scenario(
        "Night", "contacts.csv", pacing=5, concurrency=2, attempts=1,
        transfer='{ department = "Night" }',
        more=f'abandon_message = "{ABANDON_MESSAGE}"\ndialing = "fixed"\n'),
        [opting_out, staying])

    rows = {row["phone"]: row for row in site.run(campaign, timeout=60)}

    assert {p: (r["outcome"], r["digit"]) for p, r in rows.items()} == {
        opting_out: ("abandoned", "9"), staying: ("abandoned", "")}
    spoken = wav_seconds(prompt_wav(ABANDON_MESSAGE, tmp_path / "probe"))
    heard = posix(rows[staying]["ended_at"]) - posix(rows[staying]["answered_at"])
    assert heard >= 2 + spoken - 0.5  # the 2 s grace, then the whole message, then the BYE
    assert site.carrier.calls()[site.call_ids(campaign)[rows[staying]["attempt_id"]] or ""
                                ].last == "bye-received"
    listed = site.ok(site.client.get(site.path("/dnc"), params={"q": "+1"}))["items"]
    assert [(e["phone"], e["source"]) for e in listed if e["phone"] in rows] == [
        (opting_out, "opt-out")]

    again = site.load(tmp_path / "again", scenario(
        "Night again", "contacts.csv", pacing=5, concurrency=2, attempts=1,
        transfer='{ department = "Night" }',
        more=f'abandon_message = "{ABANDON_MESSAGE}"\ndialing = "fixed"\n'),
        [opting_out])
    site.run(again, timeout=30)
    blocked = site.ok(site.client.get(site.path(f"/campaigns/{again}/contacts"),
                                      params={"status": "blocked"}))["items"]
    assert [c["phone"] for c in blocked] == [opting_out]


def posix(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_a_short_burst_at_20_calls_per_second_loses_no_call(
    site: Site, tmp_path: Path,
) -> None:
    # Calls the carrier ends at once, and a few it answers for 0.2 s: 100 contacts at the
    # fastest pacing allowed. The full minute is `make bench` (bench/sip_load.py). Each test
    # of this module dials numbers of its own (n from 100, 200, 300 and 400).
    kinds = ["busy", "not_found", "decline", "unavailable", "busy_everywhere"] * 18 + (
        ["short"] * 10)
    contacts = [number(kind, 400 + i) for i, kind in enumerate(kinds)]
    campaign = site.load(tmp_path / "load", scenario("Burst", "contacts.csv", pacing=20,
                                                     concurrency=2, attempts=1), contacts)
    give_agents_sip_uris(site)
    began = time.monotonic()

    rows = site.run(campaign, timeout=120)

    assert len(rows) == len(contacts)
    assert_matches_the_carrier(site, campaign, rows)
    assert time.monotonic() - began < 60
