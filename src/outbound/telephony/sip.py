"""The SIP-trunk adapter: Outbound as a back-to-back user agent, on pjsua2.

Customers are dialed through the trunk (`INVITE sip:+E164@proxy`, From the rotation's number,
P-Asserted-Identity when enabled, digest credentials, REGISTER when asked); agents at their
`sip_uri`, or at their number through the trunk. A bridged call's two legs meet in pjsua2's
conference bridge, which also feeds the call's recording; a voice menu plays its prompt and
reads RFC 4733 digits; an abandoned call hears an apology before the BYE.

Threads: pjsua2 is one library per process, driven by whoever polls it. One `_Phone` per
process owns it on a thread of its own (`libHandleEvents` in a loop). The engine's event loop
calls `SipTrunk`, which queues each request to that thread and returns at once; call events
go back with `loop.call_soon_threadsafe`. Every pjsua2 object is made, used and dropped on
the phone's thread, and nothing of pjsua2 leaves this module: its failures become
`ProviderError` or a call that ends as `provider_error`.

Limits of the pinned build (pjsua2-python 2.15.1.post1, measured): 4 simultaneous calls per
process (PJSUA_MAX_CALLS, fixed when the library is compiled) and 8 accounts. A bridged
call needs two, so the phone holds two call slots per attempt from its first leg to its
last, and answers an originate it has no slots for with a REFUSED event: nothing is dialed,
and the engine slows down and tries the contact again later.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import functools
import heapq
import itertools
import logging
import queue
import re
import socket
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pjsua2 as pj
from pydantic import ValidationError

from outbound.domain.contacts import Outcome
from outbound.domain.errors import InvalidInput, ProviderError
from outbound.domain.settings import ABANDON_WINDOW_SECONDS
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
from outbound.telephony.prompts import APOLOGY, prompt_wav, wav_seconds
from outbound.telephony.settings import SipProvider

if TYPE_CHECKING:
    from outbound.telephony.registry import ProviderContext

log = logging.getLogger(__name__)

T = TypeVar("T")

# -- what the network said ----------------------------------------------------------------

_BUSY = frozenset({486, 600})
_NO_ANSWER = frozenset({408, 480})
_INVALID = frozenset({404, 484, 604})
_REJECTED = frozenset({403, 603})


def outcome_for(code: int) -> Outcome:
    """The outcome of a call the network ended with final response `code`, unanswered."""
    if code in _BUSY:
        return Outcome.BUSY
    if code in _NO_ANSWER:
        return Outcome.NO_ANSWER
    if code in _INVALID:
        return Outcome.INVALID_NUMBER
    if code in _REJECTED:
        return Outcome.REJECTED
    return Outcome.PROVIDER_ERROR


# -- settings -----------------------------------------------------------------------------

_PROXY = re.compile(r"^sip:(?P<host>\[[0-9a-fA-F:.]+\]|[^:;\[\]]+)(?::(?P<port>\d{1,5}))?$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SIP_URI = re.compile(r"^sips?:[^\s<>\"]+$")

REFUSED_RETRY_AFTER = 1.0  # seconds: how long the engine waits after a refusal for capacity
MENU_PATIENCE = 8.0  # seconds after the prompt ends before a silent caller is hung up on
AFTER_DIGIT = 1.0  # seconds between the digit pressed and the BYE
REPORT_WAIT = 2.0  # seconds a call's end waits for its partner's end and its recording
RETRIED_IDS = 50_000  # finished calls remembered so that a retried originate is recognised


@dataclass(frozen=True, slots=True)
class Trunk:
    """A trunk as the phone dials through it."""

    host: str
    port: int
    transport: str  # "udp" | "tcp"
    username: str | None
    password: str | None = field(repr=False)  # never in a log line
    register: bool
    domain: str | None
    p_asserted_identity: bool
    local_ip: str  # our address on the route to the proxy: where RTP and Contact point

    @classmethod
    def from_settings(cls, settings: SipProvider) -> Trunk:
        match = _PROXY.match(settings.proxy)
        if match is None:
            raise InvalidInput("proxy", "must be sip:HOST or sip:HOST:PORT (sips: is not "
                                        f"supported: no TLS here) (got {settings.proxy!r})")
        port = int(match["port"] or 5060)
        if not 0 < port < 65536:
            raise InvalidInput("proxy", f"port must be 1-65535 (got {port})")
        host = match["host"]
        return cls(host, port, settings.transport, settings.username, settings.password,
                   settings.registration, settings.domain, settings.p_asserted_identity,
                   _local_ip(host.strip("[]"), port))

    def uri(self, user: str) -> str:
        """`sip:user@proxy`, the way to reach `user` through the trunk."""
        tail = ";transport=tcp" if self.transport == "tcp" else ""
        return f"sip:{user}@{self.host}:{self.port}{tail}"

    def identity(self, user: str) -> str:
        """Our identity as `user` (the caller ID) in From and P-Asserted-Identity."""
        return f"<sip:{user}@{self.domain or self.host}>"

    @property
    def registrar(self) -> str:
        """Where REGISTER goes: the proxy (the address of record is user@domain)."""
        tail = ";transport=tcp" if self.transport == "tcp" else ""
        return f"sip:{self.host}:{self.port}{tail}"


def _local_ip(host: str, port: int) -> str:
    """The local address the system routes `host` through (no packet is sent)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((host, port))
            return str(probe.getsockname()[0])
    except OSError as exc:
        raise ProviderError(f"cannot reach the SIP proxy {host}:{port}: {exc}") from exc


def parse_settings(config: dict[str, Any]) -> SipProvider:
    try:
        return SipProvider.model_validate(config)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "provider"
        raise InvalidInput(where, error["msg"]) from None


# -- the adapter: called on the engine's loop -----------------------------------------------


@dataclass(frozen=True, slots=True)
class _Owner:
    """What a call needs of the account that placed it; safe to use from the phone thread."""

    emit: Callable[[CallEvent], None]
    now: Callable[[], float]
    trunk: Trunk
    recordings_dir: Path


class SipTrunk:
    """One account's SIP trunk: the Provider the engine dials through."""

    def __init__(self, phone: _Phone, trunk: Trunk, settings: SipProvider,
                 context: ProviderContext, loop: asyncio.AbstractEventLoop) -> None:
        self.calls_per_second = settings.calls_per_second
        self._phone = phone
        self._trunk = trunk
        self._loop = loop
        self._sink: EventSink = context.sink
        self._prompts = context.recordings_dir / "prompts"
        self._owner = _Owner(self._emit, context.clock.now, trunk, context.recordings_dir)
        self._placed: dict[tuple[int, Leg], str] = {}
        self._finished: OrderedDict[tuple[int, Leg], str] = OrderedDict()
        self._closed = False
        # Release the trunk's pjsua2 account once this object is gone (its calls keep it
        # alive until they end) or closed, whichever comes first.
        self._release = weakref.finalize(self, phone.post,
                                         functools.partial(phone.release, trunk))

    # -- the port -------------------------------------------------------------------------

    def originate(self, request: OriginateRequest) -> str:
        key = (request.attempt_id, request.leg)
        known = self._placed.get(key) or self._finished.get(key)
        if known is not None:  # a retried originate: the same call
            return known
        if self._closed:
            raise ProviderError("this SIP trunk's settings were replaced; it places no calls")
        uri = self._address(request)
        call_id = f"{uuid.uuid4().hex}@outbound"  # the SIP Call-ID, as the carrier logs it
        self._phone.submit(functools.partial(self._phone.place, self._owner, request, call_id,
                                             uri))
        self._placed[key] = call_id
        return call_id

    def bridge(self, call_id: str, agent: AgentEndpoint, agent_call_id: str | None) -> None:
        address = None
        if agent_call_id is None:
            target = agent.sip_uri or agent.phone
            address = self._agent_uri(target) if target else None
        self._phone.submit(functools.partial(self._phone.bridge, call_id, address,
                                             agent_call_id, self._apology()))

    def play_menu(self, call_id: str, menu: MenuPrompt) -> None:
        prompt = prompt_wav(menu.prompt, self._prompts)
        self._phone.submit(functools.partial(self._phone.play_menu, call_id, prompt,
                                             wav_seconds(prompt), frozenset(menu.options)))

    def hangup(self, call_id: str, reason: HangupReason) -> None:
        apology = self._apology() if reason is HangupReason.ABANDONED else None
        self._phone.submit(functools.partial(self._phone.hang_up, call_id, apology))

    def close(self) -> None:
        """Place no more calls; the account goes once the calls in flight have ended."""
        self._closed = True
        self._release()

    # -- inside ---------------------------------------------------------------------------

    def _address(self, request: OriginateRequest) -> str:
        if request.leg is Leg.AGENT:
            return self._agent_uri(request.to)
        if not _E164.match(request.to):
            raise ProviderError(f"cannot dial {request.to!r}: not an E.164 number")
        return self._trunk.uri(request.to)

    def _agent_uri(self, address: str) -> str:
        if _SIP_URI.match(address):
            return address
        if _E164.match(address):
            return self._trunk.uri(address)
        raise ProviderError(f"cannot dial the agent at {address!r}: give the agent a sip_uri "
                            "or an E.164 phone number")

    def _apology(self) -> tuple[Path, float]:
        path = prompt_wav(APOLOGY, self._prompts)
        return path, wav_seconds(path)

    def _emit(self, event: CallEvent) -> None:
        """Hand an event to the engine's loop (called on the phone's thread)."""
        try:
            self._loop.call_soon_threadsafe(self._deliver, event)
        except RuntimeError:  # the loop is closed: the process is stopping
            log.debug("dropped %s for call %s: the event loop is closed", event.kind,
                      event.call_id)

    def _deliver(self, event: CallEvent) -> None:
        if event.kind in (EventKind.COMPLETED, EventKind.REFUSED):
            key = (event.attempt_id, event.leg)
            call_id = self._placed.pop(key, None)
            if call_id is not None and event.kind is EventKind.COMPLETED:
                self._finished[key] = call_id
                if len(self._finished) > RETRIED_IDS:
                    self._finished.popitem(last=False)
        self._sink(event)


def build(context: ProviderContext, config: dict[str, Any]) -> SipTrunk:
    """The account's SIP trunk; must be called on the engine's event loop.

    Settings the API accepted but the trunk cannot use fail each call (ProviderError), rather
    than the scheduler."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise ProviderError("the SIP trunk runs inside the scheduler's event loop") from None
    try:
        settings = parse_settings(config)
        trunk = Trunk.from_settings(settings)
    except InvalidInput as exc:
        raise ProviderError(f"the account's SIP settings cannot be used: {exc}") from None
    phone = _Phone.shared()
    try:
        phone.ask(functools.partial(phone.open_account, trunk))
    except TimeoutError:
        raise ProviderError("the SIP stack did not answer within 10 s") from None
    return SipTrunk(phone, trunk, settings, context, loop)


# -- the phone: pjsua2, on its own thread ---------------------------------------------------

_PJ_ETOOMANY = 70010  # pjlib's "too many objects": no free call slot
_MAX_ACCOUNTS = 8  # PJSUA_MAX_ACC of the build; one more aborts the process
_SLOTS_PER_ATTEMPT = 2  # the customer and, once bridged, the agent
_POLL_MS = 10  # the longest a queued request waits for the phone's thread


@dataclass(order=True)
class _Timer:
    when: float
    seq: int
    action: Callable[[], None] | None = field(compare=False)

    def cancel(self) -> None:
        self.action = None


class _PjLog(pj.LogWriter):  # type: ignore[misc]  # pjsua2 has no type information
    """pjsua2's own log lines, into Python's logging (errors and warnings only)."""

    def write(self, entry: Any) -> None:
        message = str(entry.msg).rstrip()
        log.log(logging.ERROR if entry.level <= 1 else logging.WARNING, "pjsua2: %s", message)


class _Account(pj.Account):  # type: ignore[misc]
    """One trunk's pjsua2 account: its identity, credentials and registration."""

    def __init__(self, trunk: Trunk) -> None:
        super().__init__()
        self.trunk = trunk
        self.users = 0  # SipTrunks using it
        self.calls = 0  # calls in flight on it

    def onRegState(self, prm: Any) -> None:
        if prm.code // 100 == 2:
            log.info("registered with %s:%s (expires %s s)", self.trunk.host, self.trunk.port,
                     prm.expiration)
        else:
            log.warning("registration with %s:%s failed: %s %s", self.trunk.host,
                        self.trunk.port, prm.code, prm.reason)


class _Phone:
    """The process's pjsua2 library, on a thread of its own (see the module's docstring)."""

    _lock = threading.Lock()
    _shared: _Phone | None = None

    @classmethod
    def shared(cls) -> _Phone:
        """The process's phone, started on first use."""
        with cls._lock:
            if cls._shared is None:
                phone = cls()
                phone.start()
                cls._shared = phone
            phone = cls._shared
        if phone.failure is not None:
            raise phone.failure
        return phone

    def __init__(self) -> None:
        self.failure: ProviderError | None = None
        self._requests: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="pjsua2", daemon=True)
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        # Everything below belongs to the phone's thread.
        self._ep: Any = None
        self._transports: dict[tuple[str, str], int] = {}
        self._accounts: dict[Trunk, _Account] = {}
        self._legs: dict[str, _Leg] = {}
        self._held: dict[int, int] = {}  # attempt id -> call slots held for it
        self._log_writer: Any = None
        self.max_calls = 0

    # -- from any thread ------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30):
            self.failure = ProviderError("the SIP stack did not start within 30 s")
        atexit.register(self.stop)

    def submit(self, request: Callable[[], None]) -> None:
        """Run `request` on the phone's thread, soon."""
        if self.failure is not None:
            raise self.failure
        self._requests.put(request)

    def post(self, request: Callable[[], None]) -> None:
        """`submit`, for housekeeping that may be dropped if the phone has stopped."""
        self._requests.put(request)

    def ask(self, request: Callable[[], T], timeout: float = 10.0) -> T:
        """Run `request` on the phone's thread and wait for its result (or its error)."""
        done: Future[T] = Future()

        def run() -> None:
            try:
                done.set_result(request())
            except BaseException as exc:
                done.set_exception(exc)

        self.submit(run)
        return done.result(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Hang up every call and close the library (at process exit)."""
        if self._thread.is_alive():
            self._requests.put(self._stop)
            self._thread.join(timeout)

    # -- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._open()
        except Exception as exc:
            self.failure = ProviderError(f"the SIP stack did not start: {_describe(exc)}")
            log.error("%s", self.failure)
            self._ready.set()
            return
        self._ready.set()
        try:
            while not self._stopping:
                self._drain()
                wait = self._fire_timers()
                self._ep.libHandleEvents(wait)
        except Exception as exc:
            log.exception("the SIP stack failed")
            self.failure = ProviderError(f"the SIP stack failed: {_describe(exc)}")
        finally:
            self._close()

    def _open(self) -> None:
        lib = _native()
        if lib is not None:
            lib.pj_log_set_level(1)  # quiet the banner libCreate prints before libInit
        ep = pj.Endpoint()
        ep.libCreate()
        config = pj.EpConfig()
        ua = config.uaConfig
        ua.threadCnt = 0  # this thread polls; callbacks run here
        ua.mainThreadOnly = False
        ua.maxCalls = 512  # the build clamps it (to 4 for 2.15.1.post1): read back below
        ua.userAgent = "Outbound"
        media = config.medConfig
        media.threadCnt = 0  # RTP (and so DTMF) is polled here too
        media.clockRate = 8000
        media.sndClockRate = 8000
        media.noVad = True
        media.ecTailLen = 0
        logging_config = config.logConfig
        logging_config.level = 2
        logging_config.consoleLevel = 0
        self._log_writer = _PjLog()
        logging_config.writer = self._log_writer
        ep.libInit(config)
        # No sound card: the null device's clock drives the conference bridge, and so the
        # bridged audio and the recordings.
        ep.audDevManager().setNullDev()
        for codec in ep.codecEnum2():  # G.711 only: what trunks take, and cheap to mix
            ep.codecSetPriority(codec.codecId,
                                200 if codec.codecId.startswith(("PCMU/", "PCMA/")) else 0)
        ep.libStart()
        self._ep = ep
        self.max_calls = int(lib.pjsua_call_get_max_count()) if lib is not None else 4
        log.info("SIP stack started: pjsua2 %s, %s simultaneous calls", ep.libVersion().full,
                 self.max_calls)

    def _drain(self) -> None:
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return
            try:
                request()
            except Exception:
                log.exception("a SIP request failed")

    def _fire_timers(self) -> int:
        """Run the timers that are due; milliseconds until the next one (at most _POLL_MS)."""
        while self._timers:
            timer = self._timers[0]
            now = time.monotonic()
            if timer.action is not None and timer.when > now:
                return max(0, min(_POLL_MS, int((timer.when - now) * 1000)))
            heapq.heappop(self._timers)
            action, timer.action = timer.action, None
            if action is not None:
                try:
                    action()
                except Exception:
                    log.exception("a SIP timer failed")
        return _POLL_MS

    def after(self, delay: float, action: Callable[[], None]) -> _Timer:
        """Run `action` on this thread `delay` seconds from now (the phone's own timing: it
        talks to a real network, whatever clock the engine runs on)."""
        timer = _Timer(time.monotonic() + delay, next(self._seq), action)
        heapq.heappush(self._timers, timer)
        return timer

    def _stop(self) -> None:
        self._stopping = True

    def _close(self) -> None:
        ep = self._ep
        if ep is None:
            return
        try:
            ep.hangupAllCalls()
            deadline = time.monotonic() + 1.0
            while any(not leg.ended for leg in self._legs.values()) and (
                    time.monotonic() < deadline):
                self._drain()
                ep.libHandleEvents(_POLL_MS)
            for leg in self._legs.values():
                leg.drop_media()
                leg.partner = None
            self._legs.clear()
            for account in self._accounts.values():
                account.shutdown()
            self._accounts.clear()
            ep.libDestroy()
        except Exception:
            log.exception("the SIP stack did not close cleanly")
        self._ep = None

    # -- accounts -------------------------------------------------------------------------

    def open_account(self, trunk: Trunk) -> None:
        account = self._accounts.get(trunk)
        if account is None:
            if len(self._accounts) >= _MAX_ACCOUNTS:
                raise ProviderError(f"this process already serves {_MAX_ACCOUNTS} SIP trunks, "
                                    "the most the SIP library allows")
            config = pj.AccountConfig()
            config.idUri = f"sip:{trunk.username or 'outbound'}@{trunk.domain or trunk.host}"
            config.sipConfig.transportId = self._transport(trunk)
            if trunk.username and trunk.password is not None:
                config.sipConfig.authCreds.append(
                    pj.AuthCredInfo("digest", "*", trunk.username, 0, trunk.password))
            if trunk.register:
                config.regConfig.registrarUri = trunk.registrar
                config.regConfig.registerOnAdd = True
            config.mediaConfig.transportConfig.boundAddress = trunk.local_ip
            # Session timers (RFC 4028): offered, and refreshed or honoured as the far end asks.
            config.callConfig.timerUse = pj.PJSUA_SIP_TIMER_OPTIONAL
            config.callConfig.timerSessExpiresSec = 1800
            config.callConfig.timerMinSESec = 90
            account = _Account(trunk)
            try:
                account.create(config)
            except pj.Error as exc:
                raise ProviderError(f"the SIP account could not be set up: "
                                    f"{_describe(exc)}") from None
            self._accounts[trunk] = account
        account.users += 1

    def release(self, trunk: Trunk) -> None:
        account = self._accounts.get(trunk)
        if account is not None:
            account.users -= 1
            self._forget_if_idle(account)

    def _forget_if_idle(self, account: _Account) -> None:
        if account.users <= 0 and account.calls <= 0:
            del self._accounts[account.trunk]
            account.shutdown()

    def _transport(self, trunk: Trunk) -> int:
        key = (trunk.transport, trunk.local_ip)
        transport_id = self._transports.get(key)
        if transport_id is None:
            config = pj.TransportConfig()
            config.port = 0
            config.boundAddress = trunk.local_ip
            kind = pj.PJSIP_TRANSPORT_TCP if trunk.transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
            try:
                transport_id = int(self._ep.transportCreate(kind, config))
            except pj.Error as exc:
                raise ProviderError(f"no SIP {trunk.transport} transport on {trunk.local_ip}: "
                                    f"{_describe(exc)}") from None
            self._transports[key] = transport_id
        return transport_id

    # -- requests from the adapter --------------------------------------------------------

    def place(self, owner: _Owner, request: OriginateRequest, call_id: str, uri: str) -> None:
        account = self._accounts.get(owner.trunk)
        if account is None:
            self._fail(owner, request, call_id, "its trunk was closed")
            return
        if request.attempt_id not in self._held:
            if sum(self._held.values()) + _SLOTS_PER_ATTEMPT > self.max_calls:
                owner.emit(CallEvent(request.attempt_id, request.leg, call_id,
                                     EventKind.REFUSED, owner.now(),
                                     retry_after=REFUSED_RETRY_AFTER))
                return
            self._held[request.attempt_id] = _SLOTS_PER_ATTEMPT
        leg = _Leg(self, account, owner, call_id, request, quiet=False)
        recording = None
        if request.record and request.leg is Leg.CUSTOMER:
            recording = owner.recordings_dir / f"attempt-{request.attempt_id}.wav"
        leg.recording = recording
        if self._dial(leg, uri, owner.trunk.identity(request.caller_id)):
            leg.ring_timer = self.after(request.ring_timeout, leg.give_up)

    def bridge(self, call_id: str, agent_uri: str | None, agent_call_id: str | None,
               apology: tuple[Path, float]) -> None:
        customer = self._legs.get(call_id)
        if customer is None or customer.ended or customer.answered_at is None:
            return  # it ended meanwhile: its own event tells the engine
        if agent_call_id is not None:  # agent-first: the agent is on the line already
            agent = self._legs.get(agent_call_id)
            if agent is None or agent.ended or agent.answered_at is None:
                customer.apologize(apology)
                return
            customer.join(agent)
            return
        if agent_uri is None:
            customer.apologize(apology)
            return
        agent = _Leg(self, customer.account, customer.owner, f"{uuid.uuid4().hex}@outbound",
                     customer.request, quiet=True)
        agent.partner, customer.partner = customer, agent
        agent.apology = apology  # for the customer, if this agent does not answer
        if self._dial(agent, agent_uri, customer.owner.trunk.identity(customer.request.to)):
            # Compliance: a customer who answered must hear an agent within the abandon
            # window; an agent who has not answered by then will not be waited for.
            agent.ring_timer = self.after(ABANDON_WINDOW_SECONDS, agent.give_up)

    def play_menu(self, call_id: str, prompt: Path, seconds: float,
                  options: frozenset[str]) -> None:
        leg = self._legs.get(call_id)
        if leg is None or leg.ended or leg.answered_at is None:
            return
        leg.menu = options
        leg.play(prompt)
        leg.timers.append(self.after(seconds + MENU_PATIENCE, leg.hang_up))

    def hang_up(self, call_id: str, apology: tuple[Path, float] | None) -> None:
        leg = self._legs.get(call_id)
        if leg is None or leg.ended:
            return
        if apology is not None:
            leg.apologize(apology)
        else:
            leg.hang_up()

    # -- calls ----------------------------------------------------------------------------

    def _dial(self, leg: _Leg, uri: str, from_uri: str) -> bool:
        """Send the INVITE; False (and the call ended) when pjsua2 refused to."""
        param = pj.CallOpParam(True)
        param.opt.audioCount = 1
        param.opt.videoCount = 0
        param.opt.customCallId = leg.call_id
        param.txOption.localUri = from_uri
        if leg.owner.trunk.p_asserted_identity and not leg.quiet:
            header = pj.SipHeader()
            header.hName = "P-Asserted-Identity"
            header.hValue = from_uri
            param.txOption.headers.append(header)
        self._legs[leg.call_id] = leg  # before the INVITE: callbacks may run inside makeCall
        leg.account.calls += 1
        try:
            assert leg.sip is not None
            leg.sip.makeCall(uri, param)
        except pj.Error as exc:
            leg.sip = None  # never placed: its id is not pjsua2's to reuse
            if leg.ended:  # its DISCONNECTED already ran inside makeCall
                return False
            if exc.status == _PJ_ETOOMANY and not leg.quiet:  # nothing was dialed
                leg.ended = True
                request = leg.request
                leg.owner.emit(CallEvent(request.attempt_id, request.leg, leg.call_id,
                                         EventKind.REFUSED, leg.owner.now(),
                                         retry_after=REFUSED_RETRY_AFTER))
                self.forget(leg)
            else:
                log.warning("could not call %s: %s", uri, _describe(exc))
                leg.finished(None, from_network=False)
            return False
        return True

    def forget(self, leg: _Leg) -> None:
        """A leg has ended: drop it once pjsua2's callback has returned."""

        def drop() -> None:
            if self._legs.get(leg.call_id) is leg:
                del self._legs[leg.call_id]
            leg.partner = None  # no cycles: the leg dies here, on this thread
            attempt = leg.request.attempt_id
            if not any(other.request.attempt_id == attempt for other in self._legs.values()):
                self._held.pop(attempt, None)
            leg.account.calls -= 1
            if self._accounts.get(leg.account.trunk) is leg.account:
                self._forget_if_idle(leg.account)

        self._requests.put(drop)

    def _fail(self, owner: _Owner, request: OriginateRequest, call_id: str, why: str) -> None:
        log.warning("attempt %s not dialed: %s", request.attempt_id, why)
        owner.emit(CallEvent(request.attempt_id, request.leg, call_id, EventKind.COMPLETED,
                             owner.now(), outcome=Outcome.PROVIDER_ERROR))


class _SipCall(pj.Call):  # type: ignore[misc]  # pjsua2 has no type information
    """pjsua2's handle on one SIP call, passing its callbacks to the call's `_Leg`.

    It is released inside its DISCONNECTED callback (which pjsua2 allows) and nowhere else:
    pjsua2 reuses call ids, and a Call destroyed later unhooks, and hangs up, whichever new
    call has taken its id meanwhile.
    """

    def __init__(self, account: _Account, leg: _Leg) -> None:
        super().__init__(account)
        self.leg: _Leg | None = leg

    def onCallState(self, prm: Any) -> None:
        if self.leg is not None:
            self.leg.on_state(self, prm)

    def onCallMediaState(self, prm: Any) -> None:
        if self.leg is not None:
            self.leg.on_media(self)

    def onDtmfDigit(self, prm: Any) -> None:
        if self.leg is not None:
            self.leg.on_digit(str(prm.digit))


class _Leg:
    """One SIP call: a customer, an agent-first agent, or (quiet) the agent a bridge dials.

    A quiet leg reports nothing to the engine: it belongs to its customer's call.
    """

    def __init__(self, phone: _Phone, account: _Account, owner: _Owner, call_id: str,
                 request: OriginateRequest, *, quiet: bool) -> None:
        self.sip: _SipCall | None = _SipCall(account, self)
        self.phone = phone
        self.account = account
        self.owner = owner
        self.call_id = call_id
        self.request = request
        self.quiet = quiet
        self.rang = False
        self.answered_at: float | None = None
        self.ended = False
        self.by_us = False  # we ended it (CANCEL or BYE)
        self.gave_up = False  # the ring timeout ran out
        self.abandoned = False  # the apology played: the call ends as abandoned
        self.audio: Any = None
        self.partner: _Leg | None = None
        self.joined = False
        self.recording: Path | None = None
        self.recorder: Any = None
        self.players: list[Any] = []
        self.menu: frozenset[str] | None = None
        self.pressed = False
        self.apology: tuple[Path, float] | None = None
        self.ring_timer: _Timer | None = None
        self.timers: list[_Timer] = []
        self.on_end: list[Callable[[], None]] = []  # run when this leg has ended

    # -- pjsua2's callbacks (on the phone's thread) -----------------------------------------

    def on_state(self, sip: _SipCall, prm: Any) -> None:
        try:
            info = sip.getInfo()
            state = info.state
            if state == pj.PJSIP_INV_STATE_EARLY and not self.rang:
                self.rang = True
                self._emit(EventKind.RINGING)
            elif state == pj.PJSIP_INV_STATE_CONFIRMED and self.answered_at is None:
                self._answered()
            elif state == pj.PJSIP_INV_STATE_DISCONNECTED and not self.ended:
                event = prm.e
                from_network = (event.type == pj.PJSIP_EVENT_TSX_STATE
                                and event.body.tsxState.type == pj.PJSIP_EVENT_RX_MSG)
                self.finished(info.lastStatusCode, from_network=from_network,
                              reason=info.lastReason)
        except Exception:
            log.exception("call %s: state callback failed", self.call_id)
        finally:
            if self.ended:  # the handle goes when this callback returns (see _SipCall)
                sip.leg = None
                self.sip = None

    def on_media(self, sip: _SipCall) -> None:
        try:
            info = sip.getInfo()
            for media in info.media:
                if (media.type == pj.PJMEDIA_TYPE_AUDIO
                        and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE):
                    self.audio = sip.getAudioMedia(media.index)
                    self._wire()
                    return
        except Exception:
            log.exception("call %s: media callback failed", self.call_id)

    def on_digit(self, digit: str) -> None:
        try:
            if self.menu is None or self.pressed or digit not in self.menu or self.ended:
                return
            self.pressed = True
            self._silence_players()
            self._emit(EventKind.DIGIT, digit=digit)
            for timer in self.timers:
                timer.cancel()
            self.timers.append(self.phone.after(AFTER_DIGIT, self.hang_up))
        except Exception:
            log.exception("call %s: DTMF callback failed", self.call_id)

    # -- what happens to the call -----------------------------------------------------------

    def _answered(self) -> None:
        if self.by_us:  # answered as our CANCEL crossed it: pjsua2 sends the BYE
            return
        self.answered_at = self.owner.now()
        if self.ring_timer is not None:
            self.ring_timer.cancel()
        if self.recording is not None:
            try:
                self.recording.parent.mkdir(parents=True, exist_ok=True)
                self.recorder = pj.AudioMediaRecorder()
                self.recorder.createRecorder(str(self.recording))
            except (pj.Error, OSError) as exc:
                log.warning("call %s is not recorded: %s", self.call_id, _describe(exc))
                self.recorder = None
        partner = self.partner
        if self.quiet and partner is not None and not partner.ended:
            partner.join(self)  # the bridge's agent answered
        self._wire()
        self._emit(EventKind.ANSWERED)

    def join(self, agent: _Leg) -> None:
        """Put the customer (self) and the agent in the conference bridge together."""
        self.partner, agent.partner = agent, self
        self.joined = agent.joined = True
        self._wire()
        agent._wire()

    def play(self, path: Path) -> None:
        player = pj.AudioMediaPlayer()
        try:
            player.createPlayer(str(path), pj.PJMEDIA_FILE_NO_LOOP)
        except pj.Error as exc:
            log.warning("call %s: cannot play %s: %s", self.call_id, path.name, _describe(exc))
            return
        self.players.append(player)
        self._wire()

    def apologize(self, apology: tuple[Path, float]) -> None:
        """No agent: the apology, then the BYE; the call ends as abandoned."""
        if self.ended or self.abandoned:
            return
        if self.answered_at is None:
            self.hang_up()
            return
        self.abandoned = True
        partner = self.partner
        if partner is not None and not partner.ended:
            partner.hang_up()
        path, seconds = apology
        self.play(path)
        self.timers.append(self.phone.after(seconds + 0.3, self.hang_up))

    def give_up(self) -> None:
        """The ring timeout: CANCEL an unanswered call."""
        if self.answered_at is None and not self.ended:
            self.gave_up = True
            partner = self.partner
            if self.quiet and self.apology is not None and partner is not None:
                # The bridge's agent has not answered in time: the customer is told now,
                # not when this leg ends (an INVITE nobody answers lingers for 32 s).
                partner.apologize(self.apology)
            self.hang_up()

    def hang_up(self) -> None:
        """CANCEL before the answer, BYE after."""
        if self.ended:
            return
        self.by_us = True
        if self.sip is None:
            return
        try:
            self.sip.hangup(pj.CallOpParam(True))
        except pj.Error as exc:  # already on its way out
            log.debug("call %s: hangup: %s", self.call_id, _describe(exc))

    def finished(self, code: int | None, *, from_network: bool, reason: str = "") -> None:
        """The call is over: tell the engine how, and end what depended on it."""
        self.ended = True
        # Queued first, so that its call slots are free before the engine, told of this end,
        # can ask for another call.
        self.phone.forget(self)
        for timer in (self.ring_timer, *self.timers):
            if timer is not None:
                timer.cancel()
        now = self.owner.now()
        duration = None
        if self.answered_at is not None:
            outcome = Outcome.ABANDONED if self.abandoned else Outcome.COMPLETED
            sip_code: int | None = 200
            duration = now - self.answered_at
        elif self.by_us:  # our CANCEL: the ring timeout, or the engine hung up
            outcome, sip_code = Outcome.NO_ANSWER, code if code and code >= 300 else None
        elif from_network and code is not None and code >= 300:
            outcome, sip_code = outcome_for(code), code
        else:  # nothing came back from the network: a timeout or a transport failure
            outcome, sip_code = Outcome.PROVIDER_ERROR, None
            log.warning("call %s to %s failed without a response: %s %s", self.call_id,
                        self.request.to, code, reason)
        partner = self.partner
        if partner is not None and not partner.ended:
            if self.quiet and self.answered_at is None and self.apology is not None:
                partner.apologize(self.apology)  # the bridge's agent never came
            else:
                partner.hang_up()
        recording = self._stop_recording()
        self.drop_media()
        if not self.quiet:
            event = CallEvent(self.request.attempt_id, self.request.leg, self.call_id,
                              EventKind.COMPLETED, now, outcome=outcome, sip_code=sip_code,
                              duration=duration,
                              recording=str(recording) if recording else None)
            self._report(event, recording,
                         partner if partner is not None and not partner.ended else None)
        for action in self.on_end:
            action()
        self.on_end.clear()

    def _report(self, event: CallEvent, recording: Path | None, partner: _Leg | None) -> None:
        """Send the call's end to the engine once its partner leg has ended too (so the
        engine never counts call slots that are still taken) and its recording is written;
        waiting at most REPORT_WAIT seconds for either."""
        deadline = time.monotonic() + REPORT_WAIT
        sent = False

        def send() -> None:
            nonlocal sent
            if not sent:
                sent = True
                self._emit_when_written(event, recording, deadline)

        if partner is None:
            send()
        else:
            partner.on_end.append(send)
            self.phone.after(REPORT_WAIT, send)

    # -- media ------------------------------------------------------------------------------

    def _wire(self) -> None:
        """Make every audio connection this call should have (connecting twice is harmless)."""
        if self.audio is None:
            return
        partner = self.partner
        if self.joined and partner is not None and partner.audio is not None:
            _connect(self.audio, partner.audio)
            _connect(partner.audio, self.audio)
        recorder = self.recorder if not self.quiet else (partner.recorder if partner else None)
        if recorder is not None:
            _connect(self.audio, recorder)
            if self.joined and partner is not None and partner.audio is not None:
                _connect(partner.audio, recorder)
        for player in self.players:
            _connect(player, self.audio)
            if recorder is not None:
                _connect(player, recorder)

    def _silence_players(self) -> None:
        for player in self.players:
            if self.audio is not None:
                with contextlib.suppress(pj.Error):
                    player.stopTransmit(self.audio)

    def _stop_recording(self) -> Path | None:
        if self.recorder is None:
            return None
        self.recorder = None  # pjsua2 closes the file (asynchronously) once unreferenced
        return self.recording

    def drop_media(self) -> None:
        self.players.clear()
        self.recorder = None
        self.audio = None

    def _emit_when_written(self, event: CallEvent, path: Path | None, deadline: float) -> None:
        """Report the call once its recording is a complete WAV file (pjsua2 writes the
        header when the recorder is destroyed, a clock tick or two after it is dropped)."""
        if path is None or _wav_complete(path) or time.monotonic() > deadline:
            self.owner.emit(event)
        else:
            self.phone.after(0.02, lambda: self._emit_when_written(event, path, deadline))

    def _emit(self, kind: EventKind, digit: str | None = None) -> None:
        if self.quiet:
            return
        request = self.request
        self.owner.emit(CallEvent(request.attempt_id, request.leg, self.call_id, kind,
                                  self.owner.now(), digit=digit))


def _connect(source: Any, sink: Any) -> None:
    try:
        source.startTransmit(sink)
    except pj.Error as exc:
        log.warning("audio connection failed: %s", _describe(exc))


def _wav_complete(path: Path) -> bool:
    try:
        size = path.stat().st_size
        with path.open("rb") as wav:
            head = wav.read(8)
    except OSError:
        return False
    return size >= 44 and head[:4] == b"RIFF" and int.from_bytes(head[4:8], "little") == size - 8


def _native() -> Any:
    """The loaded pjsua2 extension as a C library, for the two pjlib calls pjsua2 does not
    wrap (the log level before libCreate, the build's call limit); None where unavailable."""
    try:
        return ctypes.CDLL(pj._pjsua2.__file__)
    except (AttributeError, OSError):
        return None


def _describe(exc: BaseException) -> str:
    """A pjsua2 error in one line, without its C++ file and line."""
    if isinstance(exc, pj.Error):
        reason = str(getattr(exc, "reason", "") or exc)
        return f"{reason} (status {getattr(exc, 'status', '?')})"
    return str(exc) or type(exc).__name__
