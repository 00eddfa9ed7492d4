"""The SIP-trunk adapter: the Provider the engine dials through, called on the engine's loop.

Each request is queued to the phone's thread and returns at once; call events come back with
`loop.call_soon_threadsafe`. Nothing of pjsua2 leaves the package: its failures become
`ProviderError` or a call that ends as `provider_error`. The registry imports this module
only for accounts that use a SIP trunk, so a missing pjsua2 matters only to them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from outbound.telephony.prompts import APOLOGY, prompt_wav, wav_seconds
from outbound.telephony.settings import SipProvider
from outbound.telephony.sip.legs import Owner
from outbound.telephony.sip.phone import Phone
from outbound.telephony.sip.trunk import Trunk, parse_settings

if TYPE_CHECKING:
    from outbound.telephony.registry import ProviderContext

# One logger name for the whole SIP adapter, as when it was one module.
log = logging.getLogger("outbound.telephony.sip")

RETRIED_IDS = 50_000  # finished calls remembered so that a retried originate is recognised


class SipTrunk:
    """One account's SIP trunk: the Provider the engine dials through."""

    def __init__(self, phone: Phone, trunk: Trunk, settings: SipProvider,
                 context: ProviderContext, loop: asyncio.AbstractEventLoop) -> None:
        self.calls_per_second = settings.calls_per_second
        self._phone = phone
        self._trunk = trunk
        self._loop = loop
        self._sink: EventSink = context.sink
        self._prompts = context.recordings_dir / "prompts"
        self._owner = Owner(self._emit, context.clock.now, trunk, context.recordings_dir)
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
        calls = self._phone.calls
        self._phone.submit(functools.partial(calls.place, self._owner, request, call_id, uri))
        self._placed[key] = call_id
        return call_id

    def bridge(self, call_id: str, agent: AgentEndpoint, agent_call_id: str | None) -> None:
        address = None
        if agent_call_id is None:
            target = agent.sip_uri or agent.phone
            address = self._trunk.agent_uri(target) if target else None
        self._phone.submit(functools.partial(self._phone.calls.bridge, call_id, address,
                                             agent_call_id, self._apology()))

    def play_menu(self, call_id: str, menu: MenuPrompt) -> None:
        prompt = prompt_wav(menu.prompt, self._prompts)
        self._phone.submit(functools.partial(self._phone.calls.play_menu, call_id, prompt,
                                             wav_seconds(prompt), frozenset(menu.options)))

    def hangup(self, call_id: str, reason: HangupReason) -> None:
        self._phone.submit(functools.partial(self._phone.calls.hang_up, call_id))

    def abandon(self, call_id: str, message: str) -> None:
        # Spoken once per text (cached by it), on this loop: a campaign's message is the
        # same for all its calls, so only the first abandon of a campaign waits for it.
        try:
            path = prompt_wav(message, self._prompts)
        except ProviderError:
            self.hangup(call_id, HangupReason.NORMAL)  # never leave the customer on the line
            raise
        self._phone.submit(functools.partial(self._phone.calls.abandon, call_id,
                                             (path, wav_seconds(path))))

    def close(self) -> None:
        """Place no more calls; the account goes once the calls in flight have ended."""
        self._closed = True
        self._release()

    # -- inside ---------------------------------------------------------------------------

    def _address(self, request: OriginateRequest) -> str:
        if request.leg is Leg.AGENT:
            return self._trunk.agent_uri(request.to)
        return self._trunk.customer_uri(request.to)

    def _apology(self) -> tuple[Path, float]:
        """What a customer hears when the agent a bridge dialed never answers (the adapter
        decides that, not the engine, so it has no campaign's message to say)."""
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
    phone = Phone.shared()
    try:
        phone.ask(functools.partial(phone.open_account, trunk))
    except TimeoutError:
        raise ProviderError("the SIP stack did not answer within 10 s") from None
    return SipTrunk(phone, trunk, settings, context, loop)
