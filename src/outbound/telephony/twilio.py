"""The Twilio adapter: calls placed with Twilio's REST API, followed through Twilio's webhooks.

`originate` returns our own call id at once (`tw-<attempt>-<leg>`) and runs `calls.create` on
a small thread pool, so the engine's loop never waits on Twilio. Twilio then reports the call
to this server's webhooks (`/twilio/<account>/<kind>/<attempt>/<leg>`, served by
`api/twilio_hooks.py`, which checks each signature and hands the request here on the engine's
loop); events carry the CallSid as their call id. What an answered call does next is TwiML
pushed onto the live call (`calls(sid).update(twiml=…)`): a <Dial> to the agent, a <Gather>
around the voice menu's prompt, or one around the abandon message (a 9 opts out), then
<Hangup/>.

Twilio's 429 (error 20429) and 5xx on create mean nothing was dialed: they become a REFUSED
event with the Retry-After Twilio asked for, never a failed contact. Every other failure is
translated here into the project's outcomes or `ProviderError`; nothing of the SDK leaks out.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from outbound.domain.contacts import Outcome
from outbound.domain.errors import InvalidInput, ProviderError
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
from outbound.telephony.settings import TwilioProvider
from outbound.telephony.twiml import (
    API_BASE,
    FINAL_STATUSES,
    HookKind,
    Webhook,
    abandon_twiml,
    bridge_twiml,
    client_identity,
    events_for,
    hook_url,
    menu_twiml,
    recordings_prefix,
)

if TYPE_CHECKING:
    from outbound.telephony.registry import ProviderContext

log = logging.getLogger(__name__)

STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
WORKERS = 8  # REST requests in flight per account; Twilio answers a create in ~0.3 s
HTTP_TIMEOUT = 10.0  # seconds before a REST request is given up
DEFAULT_RETRY_AFTER = 1.0  # a refusal without Retry-After: try again after this
MAX_RETRY_AFTER = 300.0
_SDK_ENVIRONMENT = {"TWILIO_EDGE": "", "TWILIO_REGION": ""}
# Twilio's create errors that say the number itself is wrong: final, not worth a retry.
_INVALID_TO = frozenset({21211, 21217})


# -- the REST side ---------------------------------------------------------------------------


class _Http(TwilioHttpClient):  # type: ignore[misc]  # the SDK ships no types
    """The SDK's own HTTP client, sent to `api_url` instead of api.twilio.com when one is set
    (tests, a regional proxy), and remembering each thread's last response: the SDK's errors
    keep the status and Twilio's code but drop the headers, Retry-After among them."""

    def __init__(self, api_url: str | None) -> None:
        super().__init__(timeout=HTTP_TIMEOUT)
        self.api_url = api_url.rstrip("/") if api_url else None
        self._local = threading.local()

    def request(self, method: str, url: str, params: dict[str, object] | None = None,
                data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None, timeout: float | None = None,
                allow_redirects: bool = False) -> TwilioResponse:
        if self.api_url and url.startswith(API_BASE):
            url = self.api_url + url[len(API_BASE):]
        self._local.response = None
        response: TwilioResponse = super().request(
            method, url, params=params, data=data, headers=headers, auth=auth,
            timeout=timeout, allow_redirects=allow_redirects)
        self._local.response = response
        return response

    def last_headers(self) -> Mapping[str, str]:
        response = getattr(self._local, "response", None)
        return response.headers if response is not None and response.headers else {}


@dataclass(frozen=True, slots=True)
class _Created:
    sid: str


@dataclass(frozen=True, slots=True)
class _Refused:
    retry_after: float
    why: str


@dataclass(frozen=True, slots=True)
class _Failed:
    outcome: Outcome
    why: str


def retry_after(value: str | None, now: float) -> float:
    """Retry-After as seconds to wait (delta-seconds or an HTTP date), within sane bounds."""
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _describe(exc: TwilioRestException) -> str:
    """The error as one plain line: the SDK's own str() adds colours on a terminal."""
    return f"HTTP {exc.status}, Twilio error {exc.code}: {exc.msg}"


@dataclass(slots=True)
class _Call:
    request: OriginateRequest
    call_id: str  # ours, returned by originate
    sid: str | None = None  # Twilio's CallSid, once create returned or a webhook told us
    answered: bool = False
    ended: bool = False
    ops: deque[Callable[[str], None]] = field(default_factory=deque)  # REST work, in order
    busy: bool = False  # one REST request per call at a time, so updates keep their order


class TwilioNetwork:
    """A Provider whose calls are Twilio's; webhooks come in through `on_webhook`."""

    def __init__(self, account_id: int, config: TwilioProvider, sink: EventSink,
                 now: Callable[[], float]) -> None:
        if not config.auth_token:
            raise InvalidInput("provider.auth_token", "is required for Twilio")
        self.account_id = account_id
        self.config = config
        self.sink = sink
        self.now = now
        self.calls_per_second: float | None = config.calls_per_second
        self._http = _Http(config.api_url)
        # Credentials are the account's, never TWILIO_* from the environment: the SDK reads
        # os.environ unless given a mapping that is not empty, and TWILIO_EDGE/TWILIO_REGION
        # there would send an account's calls to another host.
        self._client = Client(config.account_sid, config.auth_token, http_client=self._http,
                              environment=_SDK_ENVIRONMENT)
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix=f"twilio-{account_id}")
        self._calls: dict[str, _Call] = {}
        self._by_sid: dict[str, _Call] = {}

    # -- the port ---------------------------------------------------------------------------

    def originate(self, request: OriginateRequest) -> str:
        call_id = f"tw-{request.attempt_id}-{request.leg.value}"
        known = self._calls.get(call_id)
        if known is not None and not known.ended:  # a retried originate: the same call
            return call_id
        if not request.to or not request.caller_id:
            raise ProviderError("Twilio needs a number to call and a caller ID")
        call = _Call(request, call_id)
        self._calls[call_id] = call
        params = self._create_params(request)
        try:
            future = self._loop().run_in_executor(self._pool, self._create, params)
        except RuntimeError as exc:  # closed: the account's settings changed, or shutdown
            del self._calls[call_id]
            raise ProviderError(f"the Twilio adapter is closed ({exc})") from None
        future.add_done_callback(lambda done: self._created(call, done))
        return call_id

    def bridge(self, call_id: str, agent: AgentEndpoint, agent_call_id: str | None) -> None:
        call = self._resolve(call_id)
        twiml = bridge_twiml(self.account_id, call.request.attempt_id, agent,
                             agent_leg=agent_call_id is not None)
        self._enqueue(call, lambda sid: self._update(sid, twiml=twiml))

    def play_menu(self, call_id: str, menu: MenuPrompt) -> None:
        call = self._resolve(call_id)
        action = hook_url(self.config.callback_url, self.account_id, HookKind.GATHER,
                          call.request.attempt_id, call.request.leg)
        twiml = menu_twiml(action, menu)
        self._enqueue(call, lambda sid: self._update(sid, twiml=twiml))

    def hangup(self, call_id: str, reason: HangupReason) -> None:
        call = self._calls.get(call_id) or self._by_sid.get(call_id)
        if call is None and call_id.startswith("CA"):
            # A CallSid this adapter has not seen: still Twilio's call to end.
            call = _Call(OriginateRequest(0, Leg.CUSTOMER, "", "", record=False), call_id,
                         answered=True)
            self._bind(call, call_id)
        if call is None or call.ended:
            return
        answered = call.answered
        self._enqueue(call, lambda sid: self._end(sid, answered))

    def abandon(self, call_id: str, message: str) -> None:
        call = self._resolve(call_id)
        action = hook_url(self.config.callback_url, self.account_id, HookKind.GATHER,
                          call.request.attempt_id, call.request.leg)
        twiml = abandon_twiml(action, message)
        self._enqueue(call, lambda sid: self._update(sid, twiml=twiml))

    def close(self) -> None:
        """Stop taking REST work; requests already running finish on their own."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- webhooks (on the engine's loop) ------------------------------------------------------

    def on_webhook(self, hook: Webhook) -> None:
        """Turn a checked webhook into the port's events."""
        call_id = f"tw-{hook.attempt_id}-{hook.leg.value}"
        call = self._calls.get(call_id)
        sid = hook.params.get("CallSid") or None
        if call is None and sid and hook.kind is not HookKind.RECORDING and (
                hook.params.get("CallStatus") not in FINAL_STATUSES):
            # A call placed before this adapter was built (the account's settings changed):
            # still ours to follow.
            call = _Call(OriginateRequest(hook.attempt_id, hook.leg, "", "", record=False),
                         call_id)
            self._calls[call_id] = call
        if call is not None and sid and call.sid is None:
            self._bind(call, sid)
        events = events_for(hook, sid or call_id, self.now(),
                            machine_detection=self.config.machine_detection,
                            recording_prefix=recordings_prefix(self.config))
        for event in events:
            if call is not None:
                if event.kind is EventKind.ANSWERED:
                    call.answered = True
                elif event.kind is EventKind.COMPLETED:
                    self._forget(call)
            self.sink(event)

    # -- inside ---------------------------------------------------------------------------------

    @staticmethod
    def _loop() -> asyncio.AbstractEventLoop:
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            raise ProviderError("the Twilio adapter runs on the engine's asyncio loop") from None

    def _hook(self, kind: HookKind, request: OriginateRequest) -> str:
        return hook_url(self.config.callback_url, self.account_id, kind, request.attempt_id,
                        request.leg)

    def _create_params(self, request: OriginateRequest) -> dict[str, Any]:
        to = request.to
        if request.leg is Leg.AGENT and not to.startswith(("+", "sip:", "sips:", "client:")):
            to = "client:" + client_identity(to)  # an agent known by name only
        params: dict[str, Any] = {
            "to": to,
            "from_": request.caller_id,
            "url": self._hook(HookKind.ANSWER, request),
            "method": "POST",
            "status_callback": self._hook(HookKind.STATUS, request),
            "status_callback_event": STATUS_EVENTS,
            "status_callback_method": "POST",
            # Compliance: never a ring shorter than 15 s (the campaign setting enforces it).
            "timeout": max(15, round(request.ring_timeout)),
        }
        if request.record:
            params["record"] = True
            params["recording_status_callback"] = self._hook(HookKind.RECORDING, request)
            params["recording_status_callback_method"] = "POST"
        if self.config.machine_detection and request.leg is Leg.CUSTOMER:
            params["machine_detection"] = "Enable"
        return params

    def _create(self, params: dict[str, Any]) -> _Created | _Refused | _Failed:
        """calls.create, on a pool thread: its result as one of ours, never an SDK error."""
        try:
            instance = self._client.calls.create(**params)
        except TwilioRestException as exc:
            status = int(exc.status or 0)
            if status == 429 or exc.code == 20429 or status >= 500:
                wait = retry_after(self._http.last_headers().get("Retry-After"), self.now())
                return _Refused(wait, _describe(exc))
            outcome = Outcome.INVALID_NUMBER if exc.code in _INVALID_TO else (
                Outcome.PROVIDER_ERROR)
            return _Failed(outcome, _describe(exc))
        except (TwilioException, requests.RequestException) as exc:
            # The request may or may not have reached Twilio: a provider error (retryable,
            # counted) rather than a refusal, so an unclear create is never repeated at once.
            return _Failed(Outcome.PROVIDER_ERROR, f"{type(exc).__name__}: {exc}")
        return _Created(str(instance.sid))

    def _created(self, call: _Call, done: asyncio.Future[_Created | _Refused | _Failed]) -> None:
        """The create's result, back on the loop."""
        try:
            result = done.result()
        except Exception as exc:  # a bug in the pool: count the call as failed
            log.exception("Twilio create crashed for attempt %s", call.request.attempt_id)
            result = _Failed(Outcome.PROVIDER_ERROR, f"{type(exc).__name__}: {exc}")
        request = call.request
        if isinstance(result, _Created):
            if call.sid is None and not call.ended:  # a webhook may have told us first
                self._bind(call, result.sid)
            return
        self._forget(call)
        if isinstance(result, _Refused):
            log.info("Twilio refused attempt %s (%s); retry after %.1f s", request.attempt_id,
                     result.why, result.retry_after)
            self.sink(CallEvent(request.attempt_id, request.leg, call.call_id,
                                EventKind.REFUSED, self.now(), retry_after=result.retry_after))
        else:
            log.warning("Twilio failed attempt %s: %s", request.attempt_id, result.why)
            self.sink(CallEvent(request.attempt_id, request.leg, call.call_id,
                                EventKind.COMPLETED, self.now(), outcome=result.outcome))

    def _bind(self, call: _Call, sid: str) -> None:
        call.sid = sid
        self._by_sid[sid] = call
        self._next(call)

    def _forget(self, call: _Call) -> None:
        call.ended = True
        call.ops.clear()
        if self._calls.get(call.call_id) is call:
            del self._calls[call.call_id]
        if call.sid is not None:
            self._by_sid.pop(call.sid, None)

    def _resolve(self, call_id: str) -> _Call:
        """The call an engine request names, by CallSid or by our id."""
        call = self._by_sid.get(call_id) or self._calls.get(call_id)
        if call is None or call.ended:
            raise ProviderError(f"call {call_id} is not in progress")
        return call

    def _enqueue(self, call: _Call, op: Callable[[str], None]) -> None:
        call.ops.append(op)
        self._next(call)

    def _next(self, call: _Call) -> None:
        if call.busy or not call.ops or call.sid is None:
            return
        op = call.ops.popleft()
        sid = call.sid
        try:
            future = self._loop().run_in_executor(self._pool, op, sid)
        except RuntimeError:  # closed: nothing more is sent for this call
            call.ops.clear()
            return
        call.busy = True

        def finished(done: asyncio.Future[None]) -> None:
            call.busy = False
            if done.exception() is not None:
                log.warning("Twilio request for call %s failed: %s", sid, done.exception())
            self._next(call)

        future.add_done_callback(finished)

    def _update(self, sid: str, **changes: Any) -> None:
        try:
            self._client.calls(sid).update(**changes)
        except TwilioRestException as exc:
            # Most often the call ended meanwhile; its status webhook tells the engine.
            log.warning("Twilio refused to update call %s: %s", sid, _describe(exc))
        except (TwilioException, requests.RequestException) as exc:
            log.warning("updating Twilio call %s failed: %s", sid, type(exc).__name__)

    def _end(self, sid: str, answered: bool) -> None:
        """Hang up: `completed` ends a call in progress, `canceled` one still ringing; the
        other is tried when Twilio says the call was not in the state we thought."""
        first, second = ("completed", "canceled") if answered else ("canceled", "completed")
        try:
            self._client.calls(sid).update(status=first)
        except TwilioRestException as exc:
            if exc.status != 400:
                log.warning("Twilio refused to end call %s: %s", sid, _describe(exc))
                return
            self._update(sid, status=second)
        except (TwilioException, requests.RequestException) as exc:
            log.warning("ending Twilio call %s failed: %s", sid, type(exc).__name__)


# -- recordings -------------------------------------------------------------------------------


def fetch_recording(config: dict[str, Any], url: str, limit: int) -> Iterator[bytes]:
    """A recording's bytes, fetched with the account's credentials; only from under the
    account's own recordings URL, so a stored URL can never send the credentials elsewhere."""
    settings = TwilioProvider.model_validate(config)
    if not settings.auth_token or not url.startswith(recordings_prefix(settings)):
        raise ProviderError("this recording is not one of the account's Twilio recordings")
    try:
        response = requests.get(url, auth=(settings.account_sid, settings.auth_token),
                                timeout=HTTP_TIMEOUT, stream=True, allow_redirects=False)
        if response.is_redirect:
            # Twilio hands media out through a signed link elsewhere: follow it without the
            # credentials.
            location = response.headers.get("Location", "")
            response.close()
            if not location.startswith("https://"):
                raise ProviderError("Twilio sent the recording somewhere unexpected")
            response = requests.get(location, timeout=HTTP_TIMEOUT, stream=True,
                                    allow_redirects=False)
    except requests.RequestException as exc:
        raise ProviderError(f"Twilio did not hand out the recording ({type(exc).__name__})"
                            ) from exc
    if response.status_code != 200:
        response.close()
        raise ProviderError(f"Twilio answered {response.status_code} for the recording")
    return _chunks(response, limit)


def _chunks(response: requests.Response, limit: int) -> Iterator[bytes]:
    seen = 0
    try:
        for chunk in response.iter_content(64 * 1024):
            seen += len(chunk)
            if seen > limit:
                break
            yield chunk
    finally:
        response.close()


def build(context: ProviderContext, config: dict[str, Any]) -> TwilioNetwork:
    return TwilioNetwork(context.account_id, TwilioProvider.model_validate(config), context.sink,
                         context.clock.now)
