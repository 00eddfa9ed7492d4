"""SIPp as Outbound's test carrier and test agents: start it, and read back what it logged.

Used by the SIP tests, `make bench` and `make sip-demo`. The carrier (carrier.xml) decides a
call's fate by the eighth digit of the dialed number (`number(kind, n)` makes one); the agents
(agents.xml) answer everything. Each scenario logs one line per step of a call,
"CALL-ID WHO WHAT", which `Peer.calls()` reads back, so a test can set Outbound's call log
beside the peer's, call by call (Outbound uses the SIP Call-ID as its provider call id).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent

# What the carrier does, by the eighth digit of the number dialed (see carrier.xml).
DIGITS = {
    "busy_everywhere": "0",  # 600
    "answer": "1",  # answered; the carrier hangs up after 3 s
    "busy": "2",  # 486
    "not_found": "3",  # 404
    "decline": "4",  # 603
    "ring": "5",  # rings until CANCELled
    "unavailable": "6",  # 480
    "overloaded": "7",  # 503
    "menu": "8",  # answered; presses 1 after 1.5 s (9 after 3 s in area OPT_OUT_AREA)
    "short": "9",  # answered; the carrier hangs up after 0.2 s
}

OPT_OUT_AREA = "303"  # a "menu" number here presses 9: an opt-out during the abandon message

# The outcome Outbound must report for what the carrier logged as a call's last step.
EXPECTED = {
    "600": ("busy", "600"),
    "486": ("busy", "486"),
    "404": ("invalid_number", "404"),
    "603": ("rejected", "603"),
    "487": ("no_answer", "487"),  # our CANCEL at the ring timeout
    "480": ("no_answer", "480"),
    "503": ("provider_error", "503"),
    "bye-sent": ("completed", "200"),
    "bye-received": ("completed", "200"),
    "register-ok": ("", ""),  # registrar.xml: a REGISTER, not a call
    "register-bad": ("", ""),
}


def number(kind: str, n: int, area: str = "415") -> str:
    """An E.164 number the carrier treats as `kind` (a key of DIGITS); n from 0 to 999."""
    return f"+1{area}555{DIGITS[kind]}{n:03d}"


def kind_of(e164: str) -> str:
    digit = e164[8]
    return next(k for k, d in DIGITS.items() if d == digit)


def missing() -> str | None:
    """Why SIP tests cannot run here (no sipp, no pjsua2), or None."""
    if shutil.which("sipp") is None:
        return "sipp is not installed (Debian package sip-tester; .ci/run installs it)"
    try:
        import pjsua2  # noqa: F401
    except ImportError as exc:
        return f"pjsua2 is not importable ({exc}); pip install pjsua2-python"
    return None


@dataclass
class Call:
    """One call as the peer logged it."""

    call_id: str
    who: str  # the number dialed (carrier) or the agent's user part (agents)
    steps: list[str] = field(default_factory=list)

    @property
    def last(self) -> str:
        return self.steps[-1]

    @property
    def answered(self) -> bool:
        return "answered" in self.steps

    @property
    def done(self) -> bool:
        return self.last in EXPECTED


@dataclass
class Peer:
    """A running SIPp."""

    scenario: str
    process: subprocess.Popen[bytes]
    port: int
    transport: str
    log: Path
    errors: Path

    @property
    def proxy(self) -> str:
        return f"sip:127.0.0.1:{self.port}"

    def uri(self, user: str) -> str:
        tail = ";transport=tcp" if self.transport == "tcp" else ""
        return f"sip:{user}@127.0.0.1:{self.port}{tail}"

    def calls(self) -> dict[str, Call]:
        """Every call logged so far, by SIP Call-ID, in the order they arrived."""
        calls: dict[str, Call] = {}
        if not self.log.exists():
            return calls
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split()
            if len(parts) != 3:
                continue
            call_id, who, what = parts
            calls.setdefault(call_id, Call(call_id, who)).steps.append(what)
        return calls

    def messages(self) -> str:
        """Every SIP message SIPp sent or received, as text."""
        path = self.log.with_suffix(".messages")
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def requests(self, method: str) -> list[str]:
        """The `method` requests SIPp received, each as its text (start line and headers)."""
        found = []
        for block in self.messages().split("message received")[1:]:
            text = block.split("\n", 1)[1] if "\n" in block else block
            text = text.lstrip()
            if text.startswith(f"{method} "):
                found.append(text.split("\n\n", 1)[0])
        return found

    def assert_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"sipp ({self.scenario}) exited {self.process.returncode}: "
                                 + self.errors.read_text(errors="replace")[-2000:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def compare(rows: list[dict[str, str]], calls: dict[str, Call],
            call_ids: dict[str, str | None]) -> list[str]:
    """Where a call log (calls.csv rows) and the carrier's calls disagree; [] when they match
    call by call.

    Rows and calls are paired number by number in the order they were placed; where Outbound
    kept the provider's call id (`call_ids`, attempt id -> SIP Call-ID), it must be the
    carrier's. Each pair must agree on the outcome, the SIP code and whether it was answered,
    and no call may be left over on either side.
    """
    problems = []
    by_number: dict[str, list[Call]] = {}
    for call in calls.values():  # in the order the carrier received them
        by_number.setdefault(call.who, []).append(call)
    for row in sorted(rows, key=lambda r: (r["started_at"], int(r["attempt_id"]))):
        waiting = by_number.get(row["phone"])
        if not waiting:
            problems.append(f"attempt {row['attempt_id']} to {row['phone']} never reached SIPp")
            continue
        call = waiting.pop(0)
        known = call_ids.get(row["attempt_id"])
        if known is not None and known != call.call_id:
            problems.append(f"attempt {row['attempt_id']} is call {known}, SIPp paired "
                            f"{call.call_id}")
        expected = EXPECTED.get(call.last)
        if (row["outcome"], row["sip_code"]) != expected:
            problems.append(f"attempt {row['attempt_id']} to {row['phone']}: logged "
                            f"{row['outcome']}/{row['sip_code']}, SIPp did {call.steps}")
        if bool(row["answered_at"]) != call.answered:
            problems.append(f"attempt {row['attempt_id']}: answered_at {row['answered_at']!r} "
                            f"but SIPp did {call.steps}")
    problems.extend(f"SIPp call {c.call_id} to {c.who} ({c.steps}) is not in the call log"
                    for left in by_number.values() for c in left)
    return problems


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with closing(socket.socket(socket.AF_INET, kind)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bound(port: int, transport: str) -> bool:
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    with closing(socket.socket(socket.AF_INET, kind)) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


BIND_TRIES = 5  # a port found free can be taken before SIPp binds it: try fresh ones


def start(scenario: str, directory: Path, *, transport: str = "udp") -> Peer:
    """Run tests/sipp/<scenario>.xml as a UAS on a free 127.0.0.1 port, from `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    write_dtmf_pcap(directory / "dtmf-1.pcap", "1")
    write_dtmf_pcap(directory / "dtmf-9.pcap", "9")
    for _ in range(BIND_TRIES - 1):
        try:
            return _start(scenario, directory, transport)
        except PortTaken:
            continue
    return _start(scenario, directory, transport)


class PortTaken(AssertionError):
    """SIPp could not bind a port found free a moment before."""


def _start(scenario: str, directory: Path, transport: str) -> Peer:
    port = free_port(socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM)
    media = free_port() & ~1  # RTP on an even port
    log = directory / f"{scenario}.log"
    errors = directory / f"{scenario}.errors"
    command = [
        "sipp", "-sf", str(SCENARIOS / f"{scenario}.xml"),
        "-i", "127.0.0.1", "-p", str(port), "-t", "t1" if transport == "tcp" else "u1",
        "-mi", "127.0.0.1", "-mp", str(media),
        "-trace_logs", "-log_file", str(log),
        "-trace_msg", "-message_file", str(directory / f"{scenario}.messages"),
        "-nostdin", "-max_socket", "4096",
    ]
    env = {**os.environ, "TERM": "dumb"}
    before = errors.stat().st_size if errors.exists() else 0  # what earlier runs wrote
    with errors.open("ab") as stderr:  # the child keeps its own copy
        process = subprocess.Popen(command, cwd=directory, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr, env=env)
    peer = Peer(scenario, process, port, transport, log, errors)
    deadline = time.monotonic() + 10
    while not _bound(port, transport):
        if (peer.process.poll() is not None
                and b"Address already in use" in errors.read_bytes()[before:]):
            raise PortTaken(f"sipp ({scenario}): a port was taken before it could bind it")
        peer.assert_alive()
        if time.monotonic() > deadline:
            peer.stop()
            raise AssertionError(f"sipp ({scenario}) did not listen on {port} within 10 s")
        time.sleep(0.05)
    return peer


@contextmanager
def running(scenario: str, directory: Path, *, transport: str = "udp") -> Iterator[Peer]:
    peer = start(scenario, directory, transport=transport)
    try:
        yield peer
    finally:
        peer.stop()


def write_dtmf_pcap(path: Path, digit: str, payload_type: int = 120) -> None:
    """A pcap of one RFC 4733 DTMF event (200 ms, then three end packets) for SIPp's
    play_pcap_audio; SIPp re-addresses the packets to the call's media."""
    event = "0123456789*#".index(digit)
    packets: list[tuple[float, bytes]] = []
    sequence, timestamp, ssrc = 4000, 24000, 0x4F55_5442

    def rtp(marker: bool, duration: int, end: bool) -> bytes:
        nonlocal sequence
        header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | payload_type, sequence,
                             timestamp, ssrc)
        sequence += 1
        return header + struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)

    for i in range(10):
        packets.append((i * 0.02, rtp(i == 0, (i + 1) * 160, end=False)))
    packets.extend((0.2 + i * 0.001, rtp(False, 1600, end=True)) for i in range(3))
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for when, payload in packets:
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         bytes((127, 0, 0, 1)), bytes((127, 0, 0, 1))) + udp
        frame = bytes(12) + b"\x08\x00" + ip
        seconds = int(when)
        out.append(struct.pack("<IIII", seconds, int((when - seconds) * 1e6), len(frame),
                               len(frame)) + frame)
    path.write_bytes(b"".join(out))
