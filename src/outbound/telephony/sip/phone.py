"""The process's pjsua2 library on a thread of its own: the endpoint, the queue of requests
from the engine's loop, the phone's own timers, and the trunks' accounts and transports.

pjsua2 is one library per process, driven by whoever polls it. One `Phone` per process owns
it on a thread of its own (`libHandleEvents` in a loop, between the requests and the timers
that are due). Every pjsua2 object is made, used and dropped on this thread.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pjsua2 as pj

from outbound import clock
from outbound.domain.errors import ProviderError
from outbound.telephony.sip.native import PjLog, describe, native
from outbound.telephony.sip.switchboard import Switchboard
from outbound.telephony.sip.trunk import Trunk

# One logger name for the whole SIP adapter, as when it was one module.
log = logging.getLogger("outbound.telephony.sip")

T = TypeVar("T")

_MAX_ACCOUNTS = 8  # PJSUA_MAX_ACC of the build; one more aborts the process
_POLL_MS = 10  # the longest a queued request waits for the phone's thread


@dataclass(order=True)
class Timer:
    """An action the phone's thread runs at a moment of its own monotonic time."""

    when: float
    seq: int
    action: Callable[[], None] | None = field(compare=False)

    def cancel(self) -> None:
        self.action = None


class Account(pj.Account):  # type: ignore[misc]  # pjsua2 has no type information
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


class Phone:
    """The process's pjsua2 library, on a thread of its own (see the module's docstring)."""

    _lock = threading.Lock()
    _shared: Phone | None = None

    @classmethod
    def shared(cls) -> Phone:
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
        self._timers: list[Timer] = []
        self._seq = itertools.count()
        # Everything below belongs to the phone's thread.
        self.calls = Switchboard(self)
        self._ep: Any = None
        self._transports: dict[tuple[str, str], int] = {}
        self._accounts: dict[Trunk, Account] = {}
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
            self.failure = ProviderError(f"the SIP stack did not start: {describe(exc)}")
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
            self.failure = ProviderError(f"the SIP stack failed: {describe(exc)}")
        finally:
            self._close()

    def _open(self) -> None:
        lib = native()
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
        self._log_writer = PjLog()
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
            now = clock.monotonic()
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

    def after(self, delay: float, action: Callable[[], None]) -> Timer:
        """Run `action` on this thread `delay` seconds from now (the phone's own timing: it
        talks to a real network, whatever clock the engine runs on)."""
        timer = Timer(clock.monotonic() + delay, next(self._seq), action)
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
            deadline = clock.monotonic() + 1.0
            while self.calls.busy() and clock.monotonic() < deadline:
                self._drain()
                ep.libHandleEvents(_POLL_MS)
            self.calls.drop_all()
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
            account = Account(trunk)
            try:
                account.create(config)
            except pj.Error as exc:
                raise ProviderError(f"the SIP account could not be set up: "
                                    f"{describe(exc)}") from None
            self._accounts[trunk] = account
        account.users += 1

    def release(self, trunk: Trunk) -> None:
        account = self._accounts.get(trunk)
        if account is not None:
            account.users -= 1
            self.forget_if_idle(account)

    def account(self, trunk: Trunk) -> Account | None:
        """The trunk's open account, if it is open."""
        return self._accounts.get(trunk)

    def forget_if_idle(self, account: Account) -> None:
        """Close an account no trunk uses and no call is on."""
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
                                    f"{describe(exc)}") from None
            self._transports[key] = transport_id
        return transport_id
