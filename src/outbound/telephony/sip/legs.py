"""One SIP call (a leg) on the phone's thread, from its INVITE to its end: pjsua2's
callbacks, what the call does (answer, join, menu, apology, ring timeout, hangup), and how
its end is reported to the engine.

A leg reports RINGING, ANSWERED, DIGIT and COMPLETED for its attempt; a quiet leg (the agent a
bridge dials) reports nothing: it belongs to its customer's call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from outbound import clock
from outbound.domain.contacts import Outcome
from outbound.telephony.port import CallEvent, EventKind, OriginateRequest
from outbound.telephony.sip.media import Media, wav_complete, wire
from outbound.telephony.sip.native import describe
from outbound.telephony.sip.outcomes import outcome_for
from outbound.telephony.sip.trunk import Trunk

if TYPE_CHECKING:
    from outbound.telephony.sip.phone import Account, Timer
    from outbound.telephony.sip.switchboard import Switchboard

# One logger name for the whole SIP adapter, as when it was one module.
log = logging.getLogger("outbound.telephony.sip")

AFTER_DIGIT = 1.0  # seconds between the digit pressed and the BYE
REPORT_WAIT = 2.0  # seconds a call's end waits for its partner's end and its recording


@dataclass(frozen=True, slots=True)
class Owner:
    """What a call needs of the account that placed it; safe to use from the phone thread."""

    emit: Callable[[CallEvent], None]
    now: Callable[[], float]
    trunk: Trunk
    recordings_dir: Path


class SipCall(pj.Call):  # type: ignore[misc]  # pjsua2 has no type information
    """pjsua2's handle on one SIP call, passing its callbacks to the call's `CallLeg`.

    It is released inside its DISCONNECTED callback (which pjsua2 allows) and nowhere else:
    pjsua2 reuses call ids, and a Call destroyed later unhooks, and hangs up, whichever new
    call has taken its id meanwhile.
    """

    def __init__(self, account: Account, leg: CallLeg) -> None:
        super().__init__(account)
        self.leg: CallLeg | None = leg

    def onCallState(self, prm: Any) -> None:
        if self.leg is not None:
            self.leg.on_state(self, prm)

    def onCallMediaState(self, prm: Any) -> None:
        if self.leg is not None:
            self.leg.on_media(self)

    def onDtmfDigit(self, prm: Any) -> None:
        if self.leg is not None:
            self.leg.on_digit(str(prm.digit))


class CallLeg:
    """One SIP call: a customer, an agent-first agent, or (quiet) the agent a bridge dials.

    A quiet leg reports nothing to the engine: it belongs to its customer's call.
    """

    def __init__(self, board: Switchboard, account: Account, owner: Owner, call_id: str,
                 request: OriginateRequest, *, quiet: bool,
                 recording: Path | None = None) -> None:
        self.sip: SipCall | None = SipCall(account, self)
        self.board = board
        self.phone = board.phone
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
        self.media = Media(recording)
        self.partner: CallLeg | None = None
        self.joined = False
        self.menu: frozenset[str] | None = None
        self.pressed = False
        self.apology: tuple[Path, float] | None = None
        self.ring_timer: Timer | None = None
        self.timers: list[Timer] = []
        self.on_end: list[Callable[[], None]] = []  # run when this leg has ended

    # -- pjsua2's callbacks (on the phone's thread) -----------------------------------------

    def on_state(self, sip: SipCall, prm: Any) -> None:
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
            if self.ended:  # the handle goes when this callback returns (see SipCall)
                sip.leg = None
                self.sip = None

    def on_media(self, sip: SipCall) -> None:
        try:
            if self.media.take_audio(sip):
                self._wire()
        except Exception:
            log.exception("call %s: media callback failed", self.call_id)

    def on_digit(self, digit: str) -> None:
        try:
            if self.menu is None or self.pressed or digit not in self.menu or self.ended:
                return
            self.pressed = True
            self.media.silence_players()
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
        self.media.start_recording(self.call_id)
        partner = self.partner
        if self.quiet and partner is not None and not partner.ended:
            partner.join(self)  # the bridge's agent answered
        self._wire()
        self._emit(EventKind.ANSWERED)

    def join(self, agent: CallLeg) -> None:
        """Put the customer (self) and the agent in the conference bridge together."""
        self.partner, agent.partner = agent, self
        self.joined = agent.joined = True
        self._wire()
        agent._wire()

    def play(self, path: Path) -> None:
        if self.media.add_player(path, self.call_id):
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
            log.debug("call %s: hangup: %s", self.call_id, describe(exc))

    def finished(self, code: int | None, *, from_network: bool, reason: str = "") -> None:
        """The call is over: tell the engine how, and end what depended on it."""
        self.ended = True
        # Queued first, so that its call slots are free before the engine, told of this end,
        # can ask for another call.
        self.board.forget(self)
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
        recording = self.media.stop_recording()
        self.media.drop()
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

    def _report(self, event: CallEvent, recording: Path | None, partner: CallLeg | None) -> None:
        """Send the call's end to the engine once its partner leg has ended too (so the
        engine never counts call slots that are still taken) and its recording is written;
        waiting at most REPORT_WAIT seconds for either."""
        deadline = clock.monotonic() + REPORT_WAIT
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

    def _wire(self) -> None:
        partner = self.partner
        wire(self.media, partner.media if partner is not None else None, joined=self.joined,
             quiet=self.quiet)

    def _emit_when_written(self, event: CallEvent, path: Path | None, deadline: float) -> None:
        """Report the call once its recording is a complete WAV file (pjsua2 writes the
        header when the recorder is destroyed, a clock tick or two after it is dropped)."""
        if path is None or wav_complete(path) or clock.monotonic() > deadline:
            self.owner.emit(event)
        else:
            self.phone.after(0.02, lambda: self._emit_when_written(event, path, deadline))

    def _emit(self, kind: EventKind, digit: str | None = None) -> None:
        if self.quiet:
            return
        request = self.request
        self.owner.emit(CallEvent(request.attempt_id, request.leg, self.call_id, kind,
                                  self.owner.now(), digit=digit))
