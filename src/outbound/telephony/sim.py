"""The simulated telephone network: a real Provider adapter whose calls live on a Clock.

Each call's fate is drawn from a network profile with a generator seeded by the network seed
and the attempt, so a run is the same for the same seed whatever order calls are placed in, and
a retried originate of the same attempt is the same call. Events are scheduled on whichever
Clock the network is given: virtual time for `outbound simulate`, the wall clock for the demo
and the worker. Recorded calls leave a short, real, playable WAV file.
"""

from __future__ import annotations

import io
import math
import os
import random
import struct
import wave
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outbound.clock import Clock, TimerHandle
from outbound.domain.contacts import Outcome
from outbound.domain.errors import InvalidInput, ProviderError
from outbound.domain.settings import OPT_OUT_DIGIT
from outbound.telephony.port import (
    AgentEndpoint,
    CallEvent,
    EventKind,
    EventSink,
    HangupReason,
    Leg,
    MenuPrompt,
    OriginateRequest,
)

if TYPE_CHECKING:
    from outbound.telephony.registry import ProviderContext

FATES = ("answer", "busy", "no_answer", "invalid", "rejected", "provider_error")
_SIP = {"busy": 486, "no_answer": 480, "invalid": 404, "rejected": 603,
        "provider_error": 500}  # a failure, not overload: a 503 would slow the campaign
_OUTCOME = {
    "busy": Outcome.BUSY,
    "no_answer": Outcome.NO_ANSWER,
    "invalid": Outcome.INVALID_NUMBER,
    "rejected": Outcome.REJECTED,
    "provider_error": Outcome.PROVIDER_ERROR,
}
PATIENCE = 30.0  # seconds an answered customer listens to silence, unless the profile says
PLAYED_KEPT = 10_000  # abandon messages the network remembers having said (the latest)


def seconds_range(data: dict[str, Any], key: str, default: tuple[float, float]
                  ) -> tuple[float, float]:
    """`data[key]` as a [low, high] span of seconds within a day (`default` when absent); a
    bad one is refused naming `key`. Scenario files give their durations this way."""
    value = data.get(key, list(default))
    ok = (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and 0 <= value[0] <= value[1] <= 86400
    )
    if not ok:
        raise InvalidInput(
            key, f"must be [low, high] seconds with 0 <= low <= high (got {value!r})")
    return float(value[0]), float(value[1])


def _share(data: dict[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidInput(key, f"must be a share from 0 to 1 (got {value!r})")
    return float(value)


def _patience(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
        raise InvalidInput("patience",
                           f"must be a number of seconds from 0 to 3600 (got {value!r})")
    return float(value)


def _limit(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1000:
        raise InvalidInput("max_calls_per_second",
                           f"must be a number of calls per second from 0 to 1000 (got {value!r})")
    return float(value)


@dataclass(frozen=True, slots=True)
class NetworkProfile:
    """How the simulated network treats calls: shares of each fate and how long things take."""

    answer: float = 0.35
    busy: float = 0.10
    no_answer: float = 0.40
    invalid: float = 0.05
    rejected: float = 0.05
    provider_error: float = 0.05
    ring_seconds: tuple[float, float] = (3.0, 25.0)  # ringing before answer or give-up
    talk_seconds: tuple[float, float] = (20.0, 300.0)  # talk when no agent handle time applies
    digits: dict[str, float] = field(default_factory=lambda: {"1": 0.6, "2": 0.3})
    # The carrier refuses (for load) call starts beyond this many in any one second.
    max_calls_per_second: float | None = None
    # Per department: how long its agents talk on a bridged call.
    handle_seconds: dict[str, tuple[float, float]] = field(default_factory=dict)
    # Share of abandoned customers who press the opt-out digit during the abandon message.
    opt_out: float = 0.0
    # An answered customer who hears nothing (no agent, no message) hangs up after this
    # many seconds; below the agent grace (2 s), some hang up while waiting for an agent.
    patience: float = PATIENCE

    KEYS = (*FATES, "ring_seconds", "talk_seconds", "digits", "max_calls_per_second",
            "opt_out", "patience")

    @classmethod
    def parse(cls, data: dict[str, Any]) -> NetworkProfile:
        if not isinstance(data, dict):
            raise InvalidInput("network", "must be a table of shares and ranges")
        unknown = sorted(set(data) - set(cls.KEYS))
        if unknown:
            raise InvalidInput(unknown[0], f"unknown key (allowed: {', '.join(cls.KEYS)})")
        defaults = cls()
        shares = {fate: _share(data, fate, getattr(defaults, fate)) for fate in FATES}
        if any(fate in data for fate in FATES) and abs(sum(shares.values()) - 1) > 1e-6:
            raise InvalidInput(
                "answer",
                f"the shares {', '.join(FATES)} must add up to 1 (got {sum(shares.values()):g})",
            )
        digits = data.get("digits", defaults.digits)
        if not isinstance(digits, dict) or not all(
            isinstance(k, str) and len(k) == 1 and k in "0123456789*#" for k in digits
        ):
            raise InvalidInput("digits", "must map single digits (0-9, *, #) to shares")
        digit_shares = {k: _share(digits, k, 0) for k in digits}
        if sum(digit_shares.values()) > 1 + 1e-9:
            raise InvalidInput("digits", "shares must add up to at most 1 (the rest press nothing)")
        return cls(
            shares["answer"], shares["busy"], shares["no_answer"], shares["invalid"],
            shares["rejected"], shares["provider_error"],
            ring_seconds=seconds_range(data, "ring_seconds", defaults.ring_seconds),
            talk_seconds=seconds_range(data, "talk_seconds", defaults.talk_seconds),
            digits=digit_shares,
            max_calls_per_second=_limit(data.get("max_calls_per_second")),
            opt_out=_share(data, "opt_out", defaults.opt_out),
            patience=_patience(data.get("patience", defaults.patience)),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {fate: getattr(self, fate) for fate in FATES}
        out["ring_seconds"] = list(self.ring_seconds)
        out["talk_seconds"] = list(self.talk_seconds)
        out["digits"] = dict(self.digits)
        if self.max_calls_per_second is not None:
            out["max_calls_per_second"] = self.max_calls_per_second
        if self.opt_out:
            out["opt_out"] = self.opt_out
        if self.patience != PATIENCE:
            out["patience"] = self.patience
        return out


@dataclass(frozen=True, slots=True)
class Played:
    """An abandon message the simulated network said to a call."""

    attempt_id: int
    call_id: str
    text: str
    at: float  # when it started


@dataclass(slots=True)
class _Call:
    request: OriginateRequest
    call_id: str
    rng: random.Random
    fate: str
    answered_at: float | None = None
    ended: bool = False
    talk_end: float | None = None
    agent_call_id: str | None = None
    timers: list[TimerHandle] = field(default_factory=list)


class SimulatedNetwork:
    """A Provider whose calls are scheduled on a Clock; deterministic for a seed."""

    def __init__(
        self,
        clock: Clock,
        profile: NetworkProfile,
        sink: EventSink,
        *,
        seed: int = 0,
        recordings_dir: Path | None = None,
    ) -> None:
        self.clock = clock
        self.profile = profile
        self.sink = sink
        self.seed = seed
        self.recordings_dir = recordings_dir
        self._calls: dict[str, _Call] = {}
        self.calls_per_second: float | None = None  # the cap we declare to the engine
        self._starts: deque[float] = deque()  # call starts in the last second
        # What abandoned customers heard, latest last: a real network's audio, here text
        # that tests and reports can read.
        self.played: deque[Played] = deque(maxlen=PLAYED_KEPT)

    # -- the port ---------------------------------------------------------------------------

    def originate(self, request: OriginateRequest) -> str:
        call_id = f"sim-{request.attempt_id}-{request.leg.value}"
        if call_id in self._calls:  # a retried originate: the same call
            return call_id
        if not request.to:
            raise ProviderError("the simulated network needs a number to call")
        if self._over_limit():
            call_id = f"sim-{request.attempt_id}-{request.leg.value}-refused"
            self.clock.call_at(self.clock.now() + 0.01, lambda: self.sink(CallEvent(
                request.attempt_id, request.leg, call_id, EventKind.REFUSED, self.clock.now(),
                sip_code=503, retry_after=1.0)))
            return call_id
        rng = random.Random(f"{self.seed}:{request.attempt_id}:{request.leg.value}")
        fate = "answer" if request.leg is Leg.AGENT else self._draw_fate(rng)
        call = _Call(request, call_id, rng, fate)
        self._calls[call_id] = call
        now = self.clock.now()
        ring_lo, ring_hi = self.profile.ring_seconds
        setup = min(0.3, ring_lo / 4)
        if fate in ("busy", "invalid", "provider_error"):
            self._at(call, now + min(1.0, ring_lo), lambda: self._end(call, _OUTCOME[fate], fate))
            return call_id
        self._at(call, now + setup, lambda: self._emit(call, EventKind.RINGING))
        ring = min(1.0, ring_lo) if request.leg is Leg.AGENT else rng.uniform(ring_lo, ring_hi)
        if setup + ring > request.ring_timeout:  # we give up first, as a real adapter CANCELs
            ring, fate = request.ring_timeout - setup, "no_answer"
            call.fate = fate
        if fate == "answer":
            self._at(call, now + setup + ring, lambda: self._answer(call))
        else:
            self._at(call, now + setup + ring, lambda: self._end(call, _OUTCOME[fate], fate))
        return call_id

    def bridge(self, call_id: str, agent: AgentEndpoint, agent_call_id: str | None) -> None:
        call = self._live(call_id)
        call.agent_call_id = agent_call_id
        low, high = self.profile.handle_seconds.get(agent.department or "",
                                                    self.profile.talk_seconds)
        self._talk(call, call.rng.uniform(low, high))

    def play_menu(self, call_id: str, menu: MenuPrompt) -> None:
        call = self._live(call_id)
        pressed = self._draw_digit(call.rng)
        listen = min(3.0, self.profile.talk_seconds[0])
        self._talk(call, listen + min(1.0, self.profile.talk_seconds[0]))
        if pressed is not None:  # after _talk, which replaces the call's timers
            self._at(call, self.clock.now() + listen,
                     lambda: self._emit(call, EventKind.DIGIT, pressed))

    def hangup(self, call_id: str, reason: HangupReason) -> None:
        call = self._calls.get(call_id)
        if call is None or call.ended:
            return
        self._cancel(call)
        if call.answered_at is not None:
            self._end(call, Outcome.COMPLETED)
        else:
            self._end(call, Outcome.NO_ANSWER, "no_answer")

    def abandon(self, call_id: str, message: str) -> None:
        call = self._calls.get(call_id)
        if call is None or call.ended:
            return
        self._cancel(call)
        now = self.clock.now()
        self.played.append(Played(call.request.attempt_id, call_id, message, now))
        # The message's length is not modelled from its words: abandoned calls hold a line
        # for the same short time as before the message was spoken (forecasts unchanged).
        speaking = min(2.0, self.profile.talk_seconds[0])
        if self.profile.opt_out and call.rng.random() < self.profile.opt_out:
            self._at(call, now + speaking / 2,
                     lambda: self._emit(call, EventKind.DIGIT, OPT_OUT_DIGIT))
        self._at(call, now + speaking, lambda: self._end(call, Outcome.ABANDONED))

    def drop_all(self) -> None:
        """Forget every call in flight without a word: what a process death does."""
        for call in self._calls.values():
            self._cancel(call)
        self._calls.clear()

    @property
    def calls_in_flight(self) -> int:
        return sum(1 for c in self._calls.values() if not c.ended)

    # -- inside the network -----------------------------------------------------------------

    def _over_limit(self) -> bool:
        """Whether the carrier refuses a call starting now (and counts it if not)."""
        limit = self.profile.max_calls_per_second
        if limit is None:
            return False
        now = self.clock.now()
        while self._starts and self._starts[0] <= now - 1.0:
            self._starts.popleft()
        if len(self._starts) >= limit:
            return True
        self._starts.append(now)
        return False

    def _draw_fate(self, rng: random.Random) -> str:
        point = rng.random()
        for fate in FATES:
            point -= getattr(self.profile, fate)
            if point < 0:
                return fate
        return "no_answer"

    def _draw_digit(self, rng: random.Random) -> str | None:
        point = rng.random()
        for digit, share in sorted(self.profile.digits.items()):
            point -= share
            if point < 0:
                return digit
        return None

    def _at(self, call: _Call, when: float, action: Any) -> None:
        call.timers.append(self.clock.call_at(when, action))

    def _cancel(self, call: _Call) -> None:
        for timer in call.timers:
            timer.cancel()
        call.timers.clear()

    def _live(self, call_id: str) -> _Call:
        call = self._calls.get(call_id)
        if call is None or call.ended or call.answered_at is None:
            raise ProviderError(f"call {call_id} is not an answered call in progress")
        return call

    def _emit(self, call: _Call, kind: EventKind, digit: str | None = None) -> None:
        request = call.request
        self.sink(
            CallEvent(request.attempt_id, request.leg, call.call_id, kind, self.clock.now(),
                      digit=digit)
        )

    def _answer(self, call: _Call) -> None:
        call.answered_at = self.clock.now()
        # A customer who hears nothing hangs up after a while; set before the event, whose
        # handler may bridge at once and replace this timer.
        if call.request.leg is Leg.CUSTOMER:
            self._at(call, call.answered_at + self.profile.patience,
                     lambda: self._end(call, Outcome.COMPLETED))
        self._emit(call, EventKind.ANSWERED)

    def _talk(self, call: _Call, seconds: float) -> None:
        self._cancel(call)
        call.talk_end = self.clock.now() + seconds
        self._at(call, call.talk_end, lambda: self._end(call, Outcome.COMPLETED))

    def _end(self, call: _Call, outcome: Outcome, fate: str | None = None) -> None:
        if call.ended:
            return
        call.ended = True
        self._cancel(call)
        now = self.clock.now()
        duration = None if call.answered_at is None else now - call.answered_at
        recording = None
        if (call.request.record and call.answered_at is not None
                and call.request.leg is Leg.CUSTOMER and self.recordings_dir is not None):
            recording = str(write_recording(self.recordings_dir, call.request.attempt_id))
        sip = 200 if outcome is Outcome.COMPLETED else _SIP.get(fate or "", None)
        if outcome is Outcome.ABANDONED:
            sip = 200
        request = call.request
        self.sink(CallEvent(request.attempt_id, request.leg, call.call_id, EventKind.COMPLETED,
                            now, outcome=outcome, sip_code=sip, duration=duration,
                            recording=recording))
        if call.agent_call_id:
            agent_leg = self._calls.get(call.agent_call_id)
            if agent_leg is not None:
                self._end(agent_leg, Outcome.COMPLETED)
        del self._calls[call.call_id]


_RATE = 8000
_WAVS: dict[int, bytes] = {}


def _wav(key: int) -> bytes:
    """One second at 8 kHz, 16-bit mono: two tones that differ with `key`, as a WAV file."""
    low, high = 330.0 + 40 * key, 660.0 + 40 * key
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * (low if i < _RATE // 2 else high)
                                              * i / _RATE)))
        for i in range(_RATE))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(_RATE)
        wav.writeframes(frames)
    return out.getvalue()


def write_recording(directory: Path, attempt_id: int) -> Path:
    """The recording of a simulated call: one of eight canned two-tone WAVs, written once
    per directory and shared by every call that drew it (a real network's audio is each
    call's own; the simulator has none to keep, and a file per call cost more than the
    rest of the call's handling)."""
    key = attempt_id % 8
    path = directory / f"sim-tone-{key}.wav"
    if path in _WRITTEN and path.is_file():  # a stat, not a write
        return path
    data = _WAVS.get(key)
    if data is None:
        data = _WAVS[key] = _wav(key)
    directory.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(data)
    os.replace(partial, path)  # whole or absent, even with two processes writing it
    _WRITTEN.add(path)
    return path


_WRITTEN: set[Path] = set()


def profile_from_settings(config: dict[str, Any]) -> NetworkProfile:
    """The network an account's `{"kind": "sim", …}` provider settings describe."""
    profile = NetworkProfile.parse(config.get("network", {}))
    try:
        handle = {name: (float(lo), float(hi))
                  for name, (lo, hi) in config.get("handle_seconds", {}).items()}
    except (TypeError, ValueError):
        raise InvalidInput("handle_seconds",
                           "must map department names to [low, high] seconds") from None
    return replace(profile, handle_seconds=handle)


def build(context: ProviderContext, config: dict[str, Any]) -> SimulatedNetwork:
    network = SimulatedNetwork(context.clock, profile_from_settings(config), context.sink,
                               seed=context.seed + context.account_id,
                               recordings_dir=context.recordings_dir)
    network.calls_per_second = config.get("calls_per_second")
    return network
