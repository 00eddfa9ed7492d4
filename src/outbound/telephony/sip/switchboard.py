"""The calls in flight on the phone's thread: placing a customer or agent leg within the
build's call slots, bridging an answered customer to an agent, voice menus and hangups.

Each request comes from the adapter through the phone's queue. The pinned build has 4 call
slots per process; a bridged call needs two, so two are held per attempt from its first leg
to its last, and an originate with none free is answered REFUSED: nothing is dialed.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pjsua2 as pj

from outbound.domain.contacts import Outcome
from outbound.domain.settings import AGENT_GRACE_SECONDS, OPT_OUT_DIGIT
from outbound.telephony.port import CallEvent, EventKind, Leg, OriginateRequest
from outbound.telephony.sip.legs import CallLeg, Owner
from outbound.telephony.sip.native import describe

if TYPE_CHECKING:
    from outbound.telephony.sip.phone import Phone

# One logger name for the whole SIP adapter, as when it was one module.
log = logging.getLogger("outbound.telephony.sip")

REFUSED_RETRY_AFTER = 1.0  # seconds: how long the engine waits after a refusal for capacity
MENU_PATIENCE = 8.0  # seconds after the prompt ends before a silent caller is hung up on

_PJ_ETOOMANY = 70010  # pjlib's "too many objects": no free call slot
_SLOTS_PER_ATTEMPT = 2  # the customer and, once bridged, the agent


class Switchboard:
    """The phone's calls, by Call-ID, and the call slots held for each attempt."""

    def __init__(self, phone: Phone) -> None:
        self.phone = phone
        # Everything below belongs to the phone's thread.
        self.legs: dict[str, CallLeg] = {}
        self._held: dict[int, int] = {}  # attempt id -> call slots held for it

    # -- requests from the adapter --------------------------------------------------------

    def place(self, owner: Owner, request: OriginateRequest, call_id: str, uri: str) -> None:
        account = self.phone.account(owner.trunk)
        if account is None:
            self._fail(owner, request, call_id, "its trunk was closed")
            return
        if request.attempt_id not in self._held:
            if sum(self._held.values()) + _SLOTS_PER_ATTEMPT > self.phone.max_calls:
                owner.emit(CallEvent(request.attempt_id, request.leg, call_id,
                                     EventKind.REFUSED, owner.now(),
                                     retry_after=REFUSED_RETRY_AFTER))
                return
            self._held[request.attempt_id] = _SLOTS_PER_ATTEMPT
        recording = None
        if request.record and request.leg is Leg.CUSTOMER:
            recording = owner.recordings_dir / f"attempt-{request.attempt_id}.wav"
        leg = CallLeg(self, account, owner, call_id, request, quiet=False, recording=recording)
        if self._dial(leg, uri, owner.trunk.identity(request.caller_id)):
            leg.ring_timer = self.phone.after(request.ring_timeout, leg.give_up)

    def bridge(self, call_id: str, agent_uri: str | None, agent_call_id: str | None,
               apology: tuple[Path, float]) -> None:
        customer = self.legs.get(call_id)
        if customer is None or customer.ended or customer.answered_at is None:
            return  # it ended meanwhile: its own event tells the engine
        if agent_call_id is not None:  # agent-first: the agent is on the line already
            agent = self.legs.get(agent_call_id)
            if agent is None or agent.ended or agent.answered_at is None:
                customer.apologize(apology)
                return
            customer.join(agent)
            return
        if agent_uri is None:
            customer.apologize(apology)
            return
        agent = CallLeg(self, customer.account, customer.owner, f"{uuid.uuid4().hex}@outbound",
                       customer.request, quiet=True)
        agent.partner, customer.partner = customer, agent
        agent.apology = apology  # for the customer, if this agent does not answer
        if self._dial(agent, agent_uri, customer.owner.trunk.identity(customer.request.to)):
            # Compliance: a customer who answered must hear an agent within the abandon
            # window; an agent who has not answered by then will not be waited for.
            agent.ring_timer = self.phone.after(AGENT_GRACE_SECONDS, agent.give_up)

    def play_menu(self, call_id: str, prompt: Path, seconds: float,
                  options: frozenset[str]) -> None:
        leg = self.legs.get(call_id)
        if leg is None or leg.ended or leg.answered_at is None:
            return
        leg.menu = options
        leg.play(prompt)
        leg.timers.append(self.phone.after(seconds + MENU_PATIENCE, leg.hang_up))

    def hang_up(self, call_id: str) -> None:
        leg = self.legs.get(call_id)
        if leg is None or leg.ended:
            return
        leg.hang_up()

    def abandon(self, call_id: str, message: tuple[Path, float]) -> None:
        """Play the abandon message, listening for the opt-out digit (RFC 4733, as a menu's
        digits), then the BYE; the call ends as abandoned either way."""
        leg = self.legs.get(call_id)
        if leg is None or leg.ended:
            return
        leg.menu = frozenset({OPT_OUT_DIGIT})
        leg.apologize(message)

    # -- calls ----------------------------------------------------------------------------

    def _dial(self, leg: CallLeg, uri: str, from_uri: str) -> bool:
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
        self.legs[leg.call_id] = leg  # before the INVITE: callbacks may run inside makeCall
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
                log.warning("could not call %s: %s", uri, describe(exc))
                leg.finished(None, from_network=False)
            return False
        return True

    def forget(self, leg: CallLeg) -> None:
        """A leg has ended: drop it once pjsua2's callback has returned."""

        def drop() -> None:
            if self.legs.get(leg.call_id) is leg:
                del self.legs[leg.call_id]
            leg.partner = None  # no cycles: the leg dies here, on this thread
            attempt = leg.request.attempt_id
            if not any(other.request.attempt_id == attempt for other in self.legs.values()):
                self._held.pop(attempt, None)
            leg.account.calls -= 1
            if self.phone.account(leg.account.trunk) is leg.account:
                self.phone.forget_if_idle(leg.account)

        self.phone.post(drop)

    def _fail(self, owner: Owner, request: OriginateRequest, call_id: str, why: str) -> None:
        log.warning("attempt %s not dialed: %s", request.attempt_id, why)
        owner.emit(CallEvent(request.attempt_id, request.leg, call_id, EventKind.COMPLETED,
                             owner.now(), outcome=Outcome.PROVIDER_ERROR))

    # -- at the phone's close -------------------------------------------------------------

    def busy(self) -> bool:
        """Whether a call has not ended yet."""
        return any(not leg.ended for leg in self.legs.values())

    def drop_all(self) -> None:
        for leg in self.legs.values():
            leg.media.drop()
            leg.partner = None
        self.legs.clear()
