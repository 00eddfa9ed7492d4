"""A Twilio-compatible carrier for the tests: the REST paths the SDK uses, and signed webhooks.

It speaks just enough of Twilio's Programmable Voice to be a real peer for the adapter:

- `POST /2010-04-01/Accounts/{sid}/Calls.json` places a call (Basic auth checked), answering
  201 with the new CallSid, or 429 (error 20429, with Retry-After) past its calls-per-second
  limit, or a scripted 5xx;
- `POST …/Calls/{sid}.json` updates a live call: new TwiML (`Twiml`/`Url`) or `Status`;
- `GET …/Recordings/{sid}` hands out a recording (a short WAV).

Each call then lives in a thread of its own: status callbacks (initiated, ringing, answered,
completed, signed with the SDK's own RequestValidator as Twilio signs them) go to the
StatusCallback URL; on answer the call's TwiML is fetched from its Url and acted on — <Pause>,
<Say>, <Dial> (a <Number>, <Sip>, <Client> or <Conference>), <Gather> (the scripted digit is
posted to its action), <Hangup/> — until a REST update replaces it. What happens to a call
depends on the number dialed (`Fate`). Everything the carrier did is logged in `calls`,
`creates` and `sent`, for the tests to hold the dialer's call log against, call by call.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import threading
import time
import wave
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "carrier-test-token-0123456789"


@dataclass(frozen=True)
class Fate:
    """What happens to a call to one number."""

    kind: str = "answer"  # answer | busy | no-answer | failed
    sip: int | None = None  # the SipResponseCode of a failed (or busy) call
    digit: str | None = None  # pressed when a <Gather> asks
    talk: float = 0.4  # seconds an answered person stays on a bridged call
    ring: float = 0.15  # seconds of ringing before the answer or the give-up
    create_errors: int = 0  # the first N creates for this number answer a 503


@dataclass
class CarrierCall:
    """One call the carrier placed, and everything that happened to it."""

    sid: str
    to: str
    from_: str
    params: dict[str, list[str]]  # the create request as sent
    fate: Fate
    status: str = "queued"
    sip: int | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    duration: int | None = None
    dialed: list[str] = field(default_factory=list)  # what <Dial> reached: "number:+1…" etc.
    said: list[str] = field(default_factory=list)
    digits: list[str] = field(default_factory=list)
    updates: list[dict[str, list[str]]] = field(default_factory=list)
    recording_sid: str | None = None
    twiml_queue: deque[str] = field(default_factory=deque)

    def first(self, key: str) -> str | None:
        values = self.params.get(key)
        return values[0] if values else None

    @property
    def attempt_id(self) -> int:
        """The dialer's attempt, read back from the StatusCallback URL it gave."""
        match = re.search(r"/status/(\d+)/", self.first("StatusCallback") or "")
        assert match, f"no attempt in StatusCallback of {self.sid}"
        return int(match.group(1))


@dataclass
class Sent:
    """A webhook the carrier sent: enough to send it again, byte for byte."""

    url: str
    params: dict[str, str]
    signature: str
    status: int


def wav_bytes() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x10" * 800)
    return out.getvalue()


class Carrier:
    """The carrier's HTTP server and its calls; start() it, point the SDK's api_url at `url`."""

    def __init__(self, fate: Callable[[str], Fate], *, calls_per_second: float | None = None,
                 account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.fate = fate
        self.calls_per_second = calls_per_second
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.calls: dict[str, CarrierCall] = {}
        self.creates: list[tuple[float, str, int]] = []  # (when, To, HTTP status answered)
        self.sent: list[Sent] = []
        self.errors: list[str] = []  # anything the dialer did that Twilio would refuse
        self._lock = threading.Lock()
        self._accepted: deque[float] = deque()
        self._create_errors: dict[str, int] = {}
        self._rooms: dict[str, list[CarrierCall]] = {}
        self._updated = threading.Condition(self._lock)
        self._http = httpx.Client(timeout=10)
        carrier = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                carrier._serve(self, "POST")

            def do_GET(self) -> None:
                carrier._serve(self, "GET")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Carrier:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    # -- what the tests read ---------------------------------------------------------------

    def finished(self) -> list[CarrierCall]:
        with self._lock:
            return [c for c in self.calls.values() if c.ended_at is not None]

    def in_progress(self) -> int:
        with self._lock:
            return sum(1 for c in self.calls.values() if c.ended_at is None)

    def sign(self, url: str, params: dict[str, str], token: str | None = None) -> str:
        return str(RequestValidator(token or self.auth_token).compute_signature(url, params))

    # -- HTTP --------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        try:
            self._route(handler, method)
        except Exception as exc:  # a carrier bug: say so in the test's failure
            self.errors.append(f"{method} {handler.path}: {type(exc).__name__}: {exc}")
            self._json(handler, 500, {"code": 20500, "message": "carrier error", "status": 500})

    def _route(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        prefix = f"/2010-04-01/Accounts/{self.account_sid}/"
        if not handler.path.startswith(prefix):
            self._json(handler, 404, {"code": 20404, "message": "not found", "status": 404})
            return
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if handler.headers.get("Authorization") != f"Basic {expected}":
            self._json(handler, 401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        rest = handler.path[len(prefix):]
        if method == "GET" and rest.startswith("Recordings/"):
            body = wav_bytes()
            handler.send_response(200)
            handler.send_header("Content-Type", "audio/x-wav")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        length = int(handler.headers.get("Content-Length") or 0)
        form = parse_qs(handler.rfile.read(length).decode(), keep_blank_values=True)
        if method == "POST" and rest == "Calls.json":
            self._create(handler, form)
            return
        match = re.fullmatch(r"Calls/(CA[0-9a-f]{32})\.json", rest)
        if method == "POST" and match:
            self._update(handler, match.group(1), form)
            return
        self._json(handler, 404, {"code": 20404, "message": "not found", "status": 404})

    def _json(self, handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _create(self, handler: BaseHTTPRequestHandler, form: dict[str, list[str]]) -> None:
        to = form.get("To", [""])[0]
        now = time.monotonic()
        fate = self.fate(to)
        with self._lock:
            while self._accepted and self._accepted[0] <= now - 1.0:
                self._accepted.popleft()
            if self.calls_per_second is not None and len(self._accepted) >= (
                    self.calls_per_second):
                self.creates.append((time.time(), to, 429))
                refuse: tuple[int, dict[str, Any], dict[str, str]] | None = (429, {
                    "code": 20429, "message": "Too Many Requests", "status": 429},
                    {"Retry-After": "1"})
            elif self._create_errors.get(to, 0) < fate.create_errors:
                self._create_errors[to] = self._create_errors.get(to, 0) + 1
                self.creates.append((time.time(), to, 503))
                refuse = (503, {"code": 20503, "message": "Service Unavailable",
                                "status": 503}, {})
            else:
                refuse = None
                self._accepted.append(now)
                self.creates.append((time.time(), to, 201))
                sid = "CA" + secrets.token_hex(16)
                call = CarrierCall(sid, to, form.get("From", [""])[0], form, fate)
                self.calls[sid] = call
        if refuse is not None:
            self._json(handler, refuse[0], refuse[1], refuse[2])
            return
        for key in ("Url", "StatusCallback"):
            if not form.get(key):
                self.errors.append(f"create without {key}")
        self._json(handler, 201, self._resource(call))
        threading.Thread(target=self._run, args=(call,), daemon=True).start()

    def _resource(self, call: CarrierCall) -> dict[str, Any]:
        return {"sid": call.sid, "account_sid": self.account_sid, "to": call.to,
                "from": call.from_, "status": call.status, "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call.sid}.json"}

    def _update(self, handler: BaseHTTPRequestHandler, sid: str,
                form: dict[str, list[str]]) -> None:
        with self._lock:
            call = self.calls.get(sid)
            if call is None:
                self._json(handler, 404, {"code": 20404, "message": "not found",
                                          "status": 404})
                return
            call.updates.append(form)
            status = form.get("Status", [None])[0]
            twiml = form.get("Twiml", [None])[0]
            if call.ended_at is not None:
                error: tuple[int, int] | None = (400, 21220)
            elif twiml is not None and call.status != "in-progress":
                error = (400, 21220)
            else:
                error = None
                if twiml is not None:
                    call.twiml_queue.append(twiml)
                elif status in ("canceled", "completed"):
                    call.twiml_queue.append("<Response><Hangup/></Response>")
                self._updated.notify_all()
        if error is not None:
            self._json(handler, error[0], {"code": error[1], "status": error[0],
                                           "message": "Call is not in-progress."})
            return
        self._json(handler, 200, self._resource(call))

    # -- a call's life ------------------------------------------------------------------------

    def _params(self, call: CarrierCall, status: str, **extra: Any) -> dict[str, str]:
        params = {"AccountSid": self.account_sid, "CallSid": call.sid, "From": call.from_,
                  "To": call.to, "Direction": "outbound-api", "ApiVersion": "2010-04-01",
                  "CallStatus": status}
        params.update({k: str(v) for k, v in extra.items() if v is not None})
        return params

    def post(self, url: str, params: dict[str, str]) -> httpx.Response:
        """A signed webhook, as Twilio sends it; remembered for replays."""
        signature = self.sign(url, params)
        try:
            response = self._http.post(url, data=params,
                                       headers={"X-Twilio-Signature": signature})
        except (httpx.HTTPError, RuntimeError) as exc:  # the dialer is gone (or so are we)
            self.errors.append(f"{url}: {type(exc).__name__}")
            return httpx.Response(599, text="<Response/>")
        with self._lock:
            self.sent.append(Sent(url, params, signature, response.status_code))
        if response.status_code != 200:
            self.errors.append(f"{url} answered {response.status_code}: {response.text[:200]}")
        return response

    def _status(self, call: CarrierCall, event: str, status: str, **extra: Any) -> None:
        if event not in call.params.get("StatusCallbackEvent", []) and event != "completed":
            return
        url = call.first("StatusCallback")
        if url:
            self.post(url, self._params(call, status, CallbackSource="call-progress-events",
                                        **extra))

    def _wait(self, call: CarrierCall, seconds: float) -> bool:
        """Sleep, unless a REST update arrives first (True then)."""
        deadline = time.monotonic() + seconds
        with self._lock:
            while not call.twiml_queue:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._updated.wait(left)
            return True

    def _run(self, call: CarrierCall) -> None:
        try:
            self._live(call)
        except Exception as exc:
            self.errors.append(f"call {call.sid}: {type(exc).__name__}: {exc}")
            self._end(call, "failed", 500)

    def _live(self, call: CarrierCall) -> None:
        fate = call.fate
        call.status = "initiated"
        self._status(call, "initiated", "initiated")
        time.sleep(0.02)
        if fate.kind in ("busy", "failed"):
            self._end(call, fate.kind, fate.sip or (486 if fate.kind == "busy" else 500))
            return
        call.status = "ringing"
        self._status(call, "ringing", "ringing")
        timeout = float(call.first("Timeout") or 60)
        if self._wait(call, min(fate.ring, timeout)):
            self._end(call, "canceled", 487)  # hung up by the dialer while ringing
            return
        if fate.kind == "no-answer":
            self._end(call, "no-answer", 480)
            return
        with self._lock:
            call.status = "in-progress"
            call.answered_at = time.monotonic()
        answered_by = "human" if call.first("MachineDetection") else None
        twiml = self.post(call.first("Url") or "", self._params(
            call, "in-progress", AnsweredBy=answered_by)).text
        self._status(call, "answered", "in-progress", AnsweredBy=answered_by)
        self._execute(call, twiml)

    def _execute(self, call: CarrierCall, twiml: str) -> None:
        """Act on TwiML until it runs out, hangs up, or an update replaces it."""
        while True:
            verbs = list(ET.fromstring(twiml))
            replaced = None
            for verb in verbs:
                outcome = self._verb(call, verb)
                if outcome == "hangup":
                    self._end(call, "completed", 200)
                    return
                if outcome is not None:
                    replaced = outcome
                    break
                with self._lock:
                    if call.twiml_queue:
                        replaced = call.twiml_queue.popleft()
                        break
            if replaced is None:
                self._end(call, "completed", 200)
                return
            twiml = replaced

    def _next_update(self, call: CarrierCall) -> str:
        with self._lock:
            return call.twiml_queue.popleft()

    def _verb(self, call: CarrierCall, verb: ET.Element) -> str | None:
        """Run one verb: None to go on, "hangup", or TwiML that replaces the rest."""
        if verb.tag == "Pause":
            if self._wait(call, float(verb.get("length", "1"))):
                return self._next_update(call)
            return None
        if verb.tag == "Say":
            call.said.append(verb.text or "")
            return self._next_update(call) if self._wait(call, 0.05) else None
        if verb.tag == "Hangup":
            return "hangup"
        if verb.tag == "Gather":
            for child in verb:
                if child.tag == "Say":
                    call.said.append(child.text or "")
            if self._wait(call, 0.05):
                return self._next_update(call)
            if call.fate.digit is None:
                return self._next_update(call) if self._wait(call, 0.2) else None
            call.digits.append(call.fate.digit)
            response = self.post(verb.get("action") or "", self._params(
                call, "in-progress", Digits=call.fate.digit))
            return response.text
        if verb.tag == "Dial":
            return self._dial(call, verb)
        self.errors.append(f"call {call.sid}: unknown verb <{verb.tag}>")
        return None

    def _dial(self, call: CarrierCall, verb: ET.Element) -> str | None:
        noun = next(iter(verb), None)
        if noun is None:
            self.errors.append(f"call {call.sid}: <Dial> without a noun")
            return None
        target = (noun.text or "").strip()
        call.dialed.append(f"{noun.tag.lower()}:{target}")
        if noun.tag == "Conference":
            with self._lock:
                members = self._rooms.setdefault(target, [])
                members.append(call)
                self._updated.notify_all()
            # Wait for the other party, then talk; whoever leaves ends the room.
            deadline = time.monotonic() + 60
            while True:
                with self._lock:
                    if len(members) >= 2 or call.twiml_queue:
                        break
                    if time.monotonic() > deadline:
                        return "hangup"
                    self._updated.wait(0.05)
            with self._lock:
                if call.twiml_queue and len(members) < 2:
                    return call.twiml_queue.popleft()
            if self._wait(call, call.fate.talk):
                return self._next_update(call)
            return "hangup"
        if self._wait(call, call.fate.talk):
            return self._next_update(call)
        return None  # the agent hung up: the TwiML after <Dial> runs (or the call ends)

    def _end(self, call: CarrierCall, status: str, sip: int) -> None:
        with self._lock:
            if call.ended_at is not None:
                return
            call.status = status
            call.sip = sip
            call.ended_at = time.monotonic()
            if call.answered_at is not None:
                call.duration = max(0, round(call.ended_at - call.answered_at))
            record = call.first("Record") == "true" and call.answered_at is not None
            if record:
                call.recording_sid = "RE" + secrets.token_hex(16)
            for members in self._rooms.values():
                if call in members:
                    for other in members:
                        if other is not call:
                            other.twiml_queue.append("<Response><Hangup/></Response>")
                    self._updated.notify_all()
        recording_url = (f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Recordings/"
                         f"{call.recording_sid}") if call.recording_sid else None
        self._status(call, "completed", status, SipResponseCode=sip,
                     CallDuration=call.duration if status == "completed" else None,
                     RecordingUrl=recording_url, RecordingSid=call.recording_sid)
        callback = call.first("RecordingStatusCallback")
        if recording_url and callback:
            self.post(callback, {"AccountSid": self.account_sid, "CallSid": call.sid,
                                 "RecordingSid": call.recording_sid or "",
                                 "RecordingUrl": recording_url, "RecordingStatus": "completed",
                                 "RecordingDuration": str(call.duration or 0),
                                 "RecordingChannels": "1", "RecordingSource": "OutboundAPI"})
