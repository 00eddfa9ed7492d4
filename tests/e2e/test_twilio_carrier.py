"""Campaigns through the Twilio adapter: the real SDK against a Twilio-compatible carrier.

`outbound serve` runs as a subprocess with an account whose provider is Twilio, its REST API
pointed at the carrier (`tests/twilio_carrier.py`, in this process) and its callback URL
at the server itself. The carrier answers, rings out, reports busy, declines or fails calls
by the number dialed, sends signed status callbacks, fetches the call's TwiML and acts on it
(the <Dial> to an agent, the voice menu's <Gather>, the apology's <Hangup/>). Each test holds
the dialer's call log against what the carrier logged, call by call.
"""

from __future__ import annotations

import csv
import io
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import Outbound, store_snapshot, wait_for

from outbound.domain.settings import default_abandon_message
from twilio_carrier import AUTH_TOKEN, Carrier, CarrierCall, Fate

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ALWAYS_OPEN = {"timezone": "UTC", "days": EVERY_DAY, "open": "00:00", "close": "24:00"}
NUMBERS = ["+14155550100", "+14155550101"]
AGENTS = {  # name: (phone, sip_uri); the one with neither is reached as a <Client>
    "Ann": ("+14155550901", None),
    "Bob": (None, "sip:bob@agents.example.com"),
    "Cy": (None, None),
}
# The main campaign's contacts and what happens when each is dialed.
FATES: dict[str, Fate] = {}
for i in range(8):
    FATES[f"+1415555{2000 + i:04d}"] = Fate("answer")
FATES.update({
    "+14155552100": Fate("busy", 486), "+14155552101": Fate("busy", 486),
    "+14155552110": Fate("no-answer"), "+14155552111": Fate("no-answer"),
    "+14155552120": Fate("failed", 404), "+14155552121": Fate("failed", 404),
    "+14155552130": Fate("failed", 603),
    "+14155552140": Fate("failed", 500),
})
MENU_FATES = {"+14155553000": Fate("answer", digit="1"), "+14155553001": Fate("answer", digit="2"),
              "+14155553002": Fate("answer", digit=None)}
# The second presses 9 during the abandon message: it opts out.
ABANDON_FATES = {"+14155554000": Fate("answer"), "+14155554001": Fate("answer", digit="9")}
# What the abandoned calls hear: the account sets no message, so the default wording.
ABANDON_MESSAGE = default_abandon_message("Acme", NUMBERS[0])
DESK_AGENT = "+14155550950"  # agent-first: the agent's phone, dialed before the customer
AGENT_FIRST_FATES = {"+14155557000": Fate("answer"), "+14155557001": Fate("answer"),
                     DESK_AGENT: Fate("answer", ring=0.05, talk=5)}
ALL_FATES = FATES | MENU_FATES | ABANDON_FATES | AGENT_FIRST_FATES
# Outcome and SIP code the call log must show for what the carrier did.
EXPECTED = {("completed", 200): ("completed", "200"), ("busy", 486): ("busy", "486"),
            ("no-answer", 480): ("no_answer", "480"),
            ("failed", 404): ("invalid_number", "404"), ("failed", 603): ("rejected", "603"),
            ("failed", 500): ("provider_error", "500")}


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path} answered "
        f"{response.status_code}, not {status}: {response.text}")
    return response.json() if response.content else None


@dataclass
class Run:
    """`outbound serve` dialing through the carrier, and a client for its API."""

    cli: Outbound
    database_url: str | None  # PostgreSQL, or None for the SQLite file under the data dir
    process: Any
    log: Path
    base_url: str
    carrier: Carrier
    client: httpx.Client
    account: int
    campaigns: dict[str, str] = field(default_factory=dict)  # name: API path

    def path(self, rest: str) -> str:
        return f"/api/v1/accounts/{self.account}{rest}"

    def alive(self) -> None:
        assert self.process.poll() is None, (
            f"outbound serve exited {self.process.returncode}:\n" + self.log.read_text())

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        def check() -> Any:
            self.alive()
            return predicate()
        return wait_for(check, timeout, what, interval=0.2)

    def calls(self, name: str) -> list[dict[str, str]]:
        response = self.client.get(f"{self.campaigns[name]}/calls.csv")
        assert response.status_code == 200, response.text
        return list(csv.DictReader(io.StringIO(response.text)))

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, read beside the server."""
        return store_snapshot(self.cli.db_path, self.database_url)

    def run_campaign(self, name: str, body: dict[str, Any], phones: list[str],
                     timeout: float = 120) -> None:
        created = ok(self.client.post(self.path("/campaigns"), json=body), 201)
        path = self.campaigns[name] = self.path(f"/campaigns/{created['id']}")
        report = ok(self.client.post(f"{path}/contacts", json=[{"phone": p} for p in phones]))
        assert report["imported"] == len(phones), report
        ok(self.client.post(f"{path}/start"))
        self.wait_for(lambda: ok(self.client.get(path))["status"] == "completed", timeout,
                      f"campaign {name} to complete")


def campaign_body(name: str, **changes: Any) -> dict[str, Any]:
    return {"name": name, "pacing": 5, "concurrency": 5, "attempts": 2, "backoff_seconds": 1,
            "numbers": NUMBERS, "transfer": {"department": "Sales"}, "recording": True,
            "ring_timeout": 15, "business_hours": ALWAYS_OPEN} | changes


def twilio_settings(run_url: str, carrier: Carrier, **changes: Any) -> dict[str, Any]:
    return {"kind": "twilio", "account_sid": carrier.account_sid,
            "auth_token": carrier.auth_token, "callback_url": run_url,
            "api_url": carrier.url, "calls_per_second": 50} | changes


def start_serve(root: Path, carrier: Carrier, database_url: str | None = None) -> Run:
    cli = Outbound(root)
    if database_url is not None:
        cli.env["OUTBOUND_DATABASE_URL"] = database_url
    for key in ("TWILIO_EDGE", "TWILIO_REGION", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        cli.env.pop(key, None)
    account = int(cli.ok("admin", "create-account", "Acme", "--timezone", "UTC"))
    cli.ok("admin", "create-user", "Acme", "owner@acme.test", "--role", "owner")
    token = cli.ok("admin", "create-token", "Acme", "owner@acme.test").strip()
    port = free_port()
    log = root / "serve.log"
    process = cli.spawn("serve", "--port", str(port), log=log)
    base_url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
    run = Run(cli, database_url, process, log, base_url, carrier, client, account)

    def healthy() -> bool:
        try:
            return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    run.wait_for(healthy, 30, "GET /healthz to answer 200")
    ok(client.put(run.path("/provider"), json=twilio_settings(base_url, carrier)))
    return run


@pytest.fixture(scope="module")
def run(store_kind: str, empty_store: Callable[[str, Path], str],
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """One server and carrier per kind of store; four campaigns run to completion: agents,
    a voice menu, abandonment, agent-first."""
    root = tmp_path_factory.mktemp(f"twilio-{store_kind}")
    database_url = empty_store(store_kind, root) if store_kind == "postgres" else None
    carrier = Carrier(lambda to: ALL_FATES.get(to, Fate("failed", 404))).start()
    try:
        served = start_serve(root, carrier, database_url)
    except BaseException:
        carrier.stop()
        raise
    try:
        client = served.client
        ok(client.post(served.path("/departments"), json={"name": "Sales"}), 201)
        ok(client.post(served.path("/departments"), json={"name": "Night"}), 201)
        ok(client.post(served.path("/departments"), json={"name": "Desk"}), 201)
        ok(client.post(served.path("/agents"), json={
            "name": "Dee", "department": "Desk", "phone": DESK_AGENT}), 201)
        for name, (phone, sip_uri) in AGENTS.items():
            ok(client.post(served.path("/agents"), json={
                "name": name, "department": "Sales", "phone": phone, "sip_uri": sip_uri}), 201)
        ok(client.post(served.path("/agents"), json={
            "name": "Owl", "department": "Night", "availability": "offline"}), 201)
        ok(client.post(served.path("/voice-menus"), json={
            "name": "confirm", "prompt": "Press 1 to confirm, 2 to cancel.",
            "options": {"1": "confirm", "2": "cancel"}}), 201)
        served.run_campaign("agents", campaign_body("Agents"), list(FATES))
        served.run_campaign("menu", campaign_body(
            "Menu", transfer={"voice_menu": "confirm"}, recording=False), list(MENU_FATES))
        served.run_campaign("abandon", campaign_body(
            "Abandon", transfer={"department": "Night"}, attempts=1, dialing="fixed"),
            list(ABANDON_FATES))  # at a fixed pace: dialing with no agent on duty
        served.run_campaign("agent-first", campaign_body(
            "Agent first", transfer={"department": "Desk"}, dial_mode="agent-first",
            attempts=1), [p for p in AGENT_FIRST_FATES if p != DESK_AGENT])
        # The last webhooks (recordings) may trail the campaign's end by a moment.
        served.wait_for(lambda: carrier.in_progress() == 0, 30, "the carrier's calls to end")
        time.sleep(0.5)
        yield served
        served.alive()
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=30) == 0, served.log.read_text()
    finally:
        served.client.close()
        served.cli.close()
        carrier.stop()


def _by_attempt(calls: list[CarrierCall]) -> dict[int, CarrierCall]:
    found: dict[int, CarrierCall] = {}
    for call in calls:
        assert call.attempt_id not in found, f"attempt {call.attempt_id} was dialed twice"
        found[call.attempt_id] = call
    return found


def _agent_address(name: str) -> str:
    phone, sip_uri = AGENTS[name]
    return f"sip:{sip_uri}" if sip_uri else f"number:{phone}" if phone else f"client:{name}"


# -- the campaigns ---------------------------------------------------------------------------


def test_the_call_log_matches_what_the_carrier_logged_call_by_call(run: Run) -> None:
    assert not run.carrier.errors, run.carrier.errors
    rows = run.calls("agents")
    carrier_calls = _by_attempt([c for c in run.carrier.finished() if c.to in FATES])
    assert sorted(int(r["attempt_id"]) for r in rows) == sorted(carrier_calls), (
        "the dialer's call log and the carrier's calls differ")
    for row in rows:
        call = carrier_calls[int(row["attempt_id"])]
        where = f"attempt {row['attempt_id']} to {row['phone']}"
        assert (row["phone"], row["caller_id"]) == (call.to, call.from_), where
        if row["outcome"] == "abandoned":
            assert ABANDON_MESSAGE in call.said, where
        else:
            assert (row["outcome"], row["sip_code"]) == EXPECTED[(call.status, call.sip)], where
        assert bool(row["answered_at"]) == (call.answered_at is not None), where
        if row["outcome"] == "completed":
            assert call.dialed == [_agent_address(row["agent"])], where
            assert row["recording"], where
        else:
            assert call.dialed == [], where


def test_retryable_outcomes_are_dialed_again_and_final_ones_are_not(run: Run) -> None:
    per_phone: dict[str, int] = {}
    for call in run.carrier.finished():
        if call.to in FATES:
            per_phone[call.to] = per_phone.get(call.to, 0) + 1
    for phone, fate in FATES.items():
        retried = fate.kind in ("busy", "no-answer") or (fate.kind, fate.sip) == ("failed", 500)
        assert per_phone[phone] == (2 if retried else 1), phone


def test_every_create_asks_for_the_status_events_the_ring_timeout_and_the_recording(
        run: Run) -> None:
    for call in run.carrier.finished():
        assert call.params["StatusCallbackEvent"] == ["initiated", "ringing", "answered",
                                                      "completed"]
        assert call.first("Timeout") == "15"
        assert call.first("Url") or "".startswith(f"{run.base_url}/twilio/{run.account}/answer/")
        # The menu campaign does not record; agent legs never are.
        recorded = call.to not in MENU_FATES and call.to != DESK_AGENT
        assert (call.first("Record") == "true") == recorded
        if recorded:
            assert "/recording/" in (call.first("RecordingStatusCallback") or "")


def test_a_recording_kept_by_twilio_plays_through_the_api(run: Run) -> None:
    row = next(r for r in run.calls("agents") if r["recording"])
    response = run.client.get(row["recording"])
    assert response.status_code == 200, response.text
    assert response.content[:4] == b"RIFF"
    assert AUTH_TOKEN not in response.text


def test_the_voice_menu_digit_pressed_at_the_carrier_is_stored(run: Run) -> None:
    rows = {r["phone"]: r for r in run.calls("menu")}
    for phone, fate in MENU_FATES.items():
        assert rows[phone]["digit"] == (fate.digit or ""), phone
        assert rows[phone]["outcome"] == "completed", phone
    calls = [c for c in run.carrier.finished() if c.to in MENU_FATES]
    assert all("Press 1 to confirm, 2 to cancel." in c.said for c in calls)


def test_an_answer_with_no_agent_free_hears_the_abandon_message_and_is_abandoned(
        run: Run) -> None:
    rows = run.calls("abandon")
    assert [r["outcome"] for r in rows] == ["abandoned", "abandoned"]
    for call in (c for c in run.carrier.finished() if c.to in ABANDON_FATES):
        assert ABANDON_MESSAGE in call.said
        assert call.dialed == []


def test_a_9_pressed_during_the_abandon_message_puts_the_number_on_the_dnc_list(
        run: Run) -> None:
    listed = ok(run.client.get(run.path("/dnc"), params={"q": "+1415555400"}))["items"]
    assert [(e["phone"], e["source"]) for e in listed] == [("+14155554001", "opt-out")]
    pressed = [c for c in run.carrier.finished() if c.to == "+14155554001"]
    assert [c.digits for c in pressed] == [["9"]]


def test_agent_first_joins_the_agent_and_the_customer_in_the_attempts_conference(
        run: Run) -> None:
    rows = run.calls("agent-first")
    assert [r["outcome"] for r in rows] == ["completed", "completed"]
    for row in rows:
        legs = [c for c in run.carrier.finished() if c.attempt_id == int(row["attempt_id"])
                and c.to in (row["phone"], DESK_AGENT)]
        agent = next(c for c in legs if c.to == DESK_AGENT)
        customer = next(c for c in legs if c.to == row["phone"])
        room = f"conference:outbound-{run.account}-{row['attempt_id']}"
        assert agent.dialed == [room] and customer.dialed == [room]
        assert agent.answered_at is not None and customer.answered_at is not None
        assert agent.answered_at < customer.answered_at  # the agent was there first
        assert row["agent"] == "Dee"


# -- the webhooks' guard -------------------------------------------------------------------


def _status_hook(run: Run, attempt_id: int) -> str:
    return f"{run.base_url}/twilio/{run.account}/status/{attempt_id}/customer"


def test_unsigned_or_wrongly_signed_webhooks_answer_403_and_change_nothing(run: Run) -> None:
    row = next(r for r in run.calls("agents") if r["outcome"] == "completed")
    attempt = int(row["attempt_id"])
    url = _status_hook(run, attempt)
    # An attempt that has not ended would be ended by a forged "busy": make one up for each.
    forged = {"AccountSid": run.carrier.account_sid, "CallSid": "CA" + "f" * 32,
              "CallStatus": "busy", "SipResponseCode": "486"}
    before = run.snapshot()
    tries = [
        {},  # unsigned
        {"X-Twilio-Signature": "not-a-signature"},
        {"X-Twilio-Signature": run.carrier.sign(url, forged, token="another-accounts-token")},
        {"X-Twilio-Signature": run.carrier.sign(url + "x", forged)},  # signed for another URL
        {"X-Twilio-Signature": run.carrier.sign(url, forged | {"CallStatus": "completed"})},
    ]
    for headers in tries:
        response = httpx.post(url, data=forged, headers=headers)
        assert response.status_code == 403, (headers, response.text)
        assert AUTH_TOKEN not in response.text
    for kind in ("answer", "gather", "recording"):
        hook = f"{run.base_url}/twilio/{run.account}/{kind}/{attempt}/customer"
        assert httpx.post(hook, data=forged).status_code == 403
    # Another account (none such) and a signature for an account that has no Twilio.
    other = f"{run.base_url}/twilio/999/status/{attempt}/customer"
    assert httpx.post(other, data=forged, headers={
        "X-Twilio-Signature": run.carrier.sign(other, forged)}).status_code == 403
    assert run.snapshot() == before


def test_replayed_webhooks_change_nothing(run: Run) -> None:
    before = run.snapshot()
    sent = list(run.carrier.sent)
    assert {s.url.split("/")[5] for s in sent} >= {"status", "answer", "gather", "recording"}
    for hook in sent:
        response = httpx.post(hook.url, data=hook.params,
                              headers={"X-Twilio-Signature": hook.signature})
        assert response.status_code == 200, (hook.url, response.text)
    time.sleep(1.0)  # let the engine apply whatever the replays handed it
    assert run.snapshot() == before


def test_settings_never_show_the_auth_token(run: Run) -> None:
    body = ok(run.client.get(run.path("/provider")))
    assert "auth_token" not in body and body["auth_token_set"] is True
    assert AUTH_TOKEN not in run.client.get(run.path("/provider")).text
    # A PUT without the token keeps it; Twilio without any token is refused, naming the field.
    kept = twilio_settings(run.base_url, run.carrier, auth_token=None)
    assert ok(run.client.put(run.path("/provider"), json=kept))["auth_token_set"] is True
    sim = ok(run.client.put(run.path("/provider"), json={"kind": "sim"}))
    assert "auth_token_set" not in sim
    refused = run.client.put(run.path("/provider"), json=kept)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "auth_token"
    ok(run.client.put(run.path("/provider"), json=twilio_settings(run.base_url, run.carrier)))
    assert AUTH_TOKEN not in run.log.read_text()


# -- load: 429 bursts and 5xx ----------------------------------------------------------------


def test_429_bursts_and_5xx_slow_the_campaign_and_fail_no_contact(
        tmp_path: Path) -> None:
    phones = [f"+1415555{5000 + i:04d}" for i in range(30)]
    flaky = set(phones[:3])  # their first create answers 503
    carrier = Carrier(lambda to: Fate("answer", talk=0.1, create_errors=1 if to in flaky else 0),
                      calls_per_second=3).start()
    try:
        served = start_serve(tmp_path, carrier)
    except BaseException:
        carrier.stop()
        raise
    try:
        client = served.client
        ok(client.post(served.path("/departments"), json={"name": "Sales"}), 201)
        for i in range(8):
            ok(client.post(served.path("/agents"), json={
                "name": f"A{i}", "department": "Sales", "phone": f"+1415555091{i}"}), 201)
        served.run_campaign("load", campaign_body(
            "Load", pacing=10, concurrency=20, attempts=1, recording=False), phones,
            timeout=120)
        rows = served.calls("load")
        refused = [c for c in carrier.creates if c[2] in (429, 503)]
        assert any(c[2] == 429 for c in refused), "the carrier never pushed back"
        assert {c[1] for c in carrier.creates if c[2] == 503} == flaky
        assert sorted(r["phone"] for r in rows) == sorted(phones), "a contact was not called"
        assert {r["outcome"] for r in rows} == {"completed"}, rows
        # Each contact was placed once: a refusal is not an attempt.
        assert len(rows) == len(phones)
        accepted = sorted(c[0] for c in carrier.creates if c[2] == 201)
        assert len(accepted) == len(phones)
        # Slowed: after the first refusals, far fewer than half the creates are refused.
        assert len(refused) < len(phones), f"{len(refused)} refusals for {len(phones)} calls"
    finally:
        served.client.close()
        served.cli.close()
        carrier.stop()
