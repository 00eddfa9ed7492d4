"""Campaign settings and their limits, checked the same way at every entry point."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from outbound.domain.contacts import Backoff
from outbound.domain.errors import InvalidInput
from outbound.domain.hours import BusinessHours
from outbound.domain.phone import normalize_or_raise
from outbound.domain.rotation import Rotation

PACING_MIN, PACING_MAX = 1.0, 20.0  # calls per second
CONCURRENCY_MIN, CONCURRENCY_MAX = 1, 50  # calls in flight
ATTEMPTS_MIN, ATTEMPTS_MAX = 1, 5  # calls per contact
POOL_MIN, POOL_MAX = 1, 50  # caller-ID numbers
BACKOFF_MULTIPLIER_MAX = 10.0
RING_TIMEOUT_MIN, RING_TIMEOUT_MAX = 15.0, 120.0  # seconds; below 15 s is a dropped call
AGENT_GRACE_SECONDS = 2.0  # an answered customer waits at most this long for an agent
ABANDON_TARGET_MIN, ABANDON_TARGET_MAX = 0.0, 5.0  # percent of answered calls over the window
ABANDON_TARGET_DEFAULT = 3.0  # US TCPA/TSR safe harbour; Ofcom's too (over 24 h)
ABANDON_MESSAGE_MAX = 500  # characters; said within 2 s of the answer, so keep it short
OPT_OUT_DIGIT = "9"  # pressed during the abandon message: the number goes on the DNC list
OPT_OUT_SOURCE = "opt-out"  # the DNC entry's source when the called party asked for it


class DialMode(StrEnum):
    CUSTOMER_FIRST = "customer-first"  # dial the customer; bridge a free agent on answer
    AGENT_FIRST = "agent-first"  # reserve and dial an agent, then the customer; never abandons


class Dialing(StrEnum):
    """How a customer-first campaign paces itself against its agents (agent-first campaigns
    reserve an agent before each dial and never abandon, whatever this says)."""

    PREDICTIVE = "predictive"  # dial ahead of free agents, steered to keep abandons under target
    PROGRESSIVE = "progressive"  # one unanswered call per free agent; an answer always finds one
    FIXED = "fixed"  # dial at the pacing, whatever the agents (the behaviour before issue 14)


class AbandonWindow(StrEnum):
    """The span the abandon rate is held to its target over."""

    DAYS_30 = "30d"  # rolling 30 days (US TCPA 47 CFR 64.1200(a)(7), FTC TSR)
    HOURS_24 = "24h"  # the calendar day in the account's time zone (UK Ofcom)


class TransferKind(StrEnum):
    DEPARTMENT = "department"  # the longest-idle free agent of a department
    AGENT = "agent"  # one named agent
    VOICE_MENU = "voice_menu"  # a recorded prompt that collects a digit; no agent


@dataclass(frozen=True, slots=True)
class Transfer:
    """Where an answered call goes: `kind` and the name of the department, agent or menu."""

    kind: TransferKind
    name: str

    @classmethod
    def parse(cls, value: Any) -> Transfer:
        kinds = ", ".join(k.value for k in TransferKind)
        if not isinstance(value, dict) or len(value) != 1:
            raise InvalidInput("transfer", f"must name exactly one of {kinds}")
        ((key, name),) = value.items()
        try:
            kind = TransferKind(key)
        except ValueError:
            raise InvalidInput("transfer", f"must be one of {kinds} (got {key!r})") from None
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput(f"transfer.{key}", "must be a non-empty name")
        return cls(kind, name.strip())

    def to_dict(self) -> dict[str, str]:
        return {self.kind.value: self.name}


def _number(value: Any, field: str, low: float, high: float, unit: str, *, integer: bool) -> Any:
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float) or (
        integer and not float(value).is_integer()
    ) or (isinstance(value, float) and not math.isfinite(value)):
        raise InvalidInput(field, f"must be {kind} from {low:g} to {high:g}{unit} (got {value!r})")
    if not low <= value <= high:
        raise InvalidInput(field, f"must be from {low:g} to {high:g}{unit} (got {value!r})")
    return int(value) if integer else float(value)


def _enum(cls: type[StrEnum], value: Any, field: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise InvalidInput(field, f"must be one of {allowed} (got {value!r})") from None


@dataclass(frozen=True, slots=True)
class CampaignSettings:
    """Everything a user sets on a campaign; construct with `CampaignSettings.parse`."""

    name: str
    dial_mode: DialMode = DialMode.CUSTOMER_FIRST
    pacing: float = 1.0  # calls started per second, 1–20, fractions allowed
    concurrency: int = 10  # calls in flight at once, 1–50
    attempts: int = 3  # calls per contact at most, 1–5
    backoff: Backoff = field(default_factory=Backoff)  # wait between attempts
    rotation: Rotation = Rotation.ROUND_ROBIN
    numbers: tuple[str, ...] = ()  # caller-ID pool in E.164, 1–50 to start
    transfer: Transfer | None = None  # where answered calls go; needed to start
    recording: bool = True
    ring_timeout: float = 30.0  # seconds a customer's phone may ring before we hang up
    start: float | None = None  # when a scheduled campaign starts by itself
    business_hours: BusinessHours | None = None  # None: the account's default
    dialing: Dialing = Dialing.PREDICTIVE  # customer-first only: how to pace against agents
    abandon_target: float = ABANDON_TARGET_DEFAULT  # percent, 0–5, over `abandon_window`
    abandon_window: AbandonWindow = AbandonWindow.DAYS_30
    abandon_message: str | None = None  # said to an abandoned call; None: the account's

    KEYS = (
        "name", "dial_mode", "pacing", "concurrency", "attempts", "backoff_seconds",
        "backoff_multiplier", "rotation", "numbers", "transfer", "recording", "ring_timeout",
        "start", "business_hours", "dialing", "abandon_target", "abandon_window",
        "abandon_message",
    )

    @classmethod
    def parse(cls, data: dict[str, Any], region: str | None = None) -> CampaignSettings:
        """Settings from plain data (a scenario's [campaign], an API body), every limit checked.

        `start` must already be a POSIX time or None; `business_hours` a BusinessHours or None.
        """
        unknown = sorted(set(data) - set(cls.KEYS))
        if unknown:
            raise InvalidInput(unknown[0], f"unknown setting (allowed: {', '.join(cls.KEYS)})")
        if "name" not in data:
            raise InvalidInput("name", "is required")
        return cls.with_changes(cls(name="-"), data, region)

    @classmethod
    def with_changes(
        cls, base: CampaignSettings, data: dict[str, Any], region: str | None = None
    ) -> CampaignSettings:
        changes: dict[str, Any] = {}
        if "name" in data:
            name = data["name"]
            if not isinstance(name, str) or not name.strip() or len(name) > 200:
                raise InvalidInput("name", "must be a non-empty text of at most 200 characters")
            changes["name"] = name.strip()
        if "dial_mode" in data:
            changes["dial_mode"] = _enum(DialMode, data["dial_mode"], "dial_mode")
        if "pacing" in data:
            changes["pacing"] = _number(
                data["pacing"], "pacing", PACING_MIN, PACING_MAX, " calls per second",
                integer=False,
            )
        if "concurrency" in data:
            changes["concurrency"] = _number(
                data["concurrency"], "concurrency", CONCURRENCY_MIN, CONCURRENCY_MAX,
                " calls in flight", integer=True,
            )
        if "attempts" in data:
            changes["attempts"] = _number(
                data["attempts"], "attempts", ATTEMPTS_MIN, ATTEMPTS_MAX, " attempts",
                integer=True,
            )
        if "backoff_seconds" in data or "backoff_multiplier" in data:
            seconds = data.get("backoff_seconds", base.backoff.seconds)
            multiplier = data.get("backoff_multiplier", base.backoff.multiplier)
            changes["backoff"] = Backoff(
                _number(seconds, "backoff_seconds", 0, 30 * 86400, " seconds", integer=False),
                _number(multiplier, "backoff_multiplier", 1, BACKOFF_MULTIPLIER_MAX, "",
                        integer=False),
            )
        if "rotation" in data:
            changes["rotation"] = _enum(Rotation, data["rotation"], "rotation")
        if "numbers" in data:
            changes["numbers"] = _parse_pool(data["numbers"], region)
        if "transfer" in data:
            changes["transfer"] = None if data["transfer"] is None else Transfer.parse(
                data["transfer"]
            )
        if "recording" in data:
            if not isinstance(data["recording"], bool):
                raise InvalidInput("recording",
                                   f"must be true or false (got {data['recording']!r})")
            changes["recording"] = data["recording"]
        if "ring_timeout" in data:
            changes["ring_timeout"] = _number(
                data["ring_timeout"], "ring_timeout", RING_TIMEOUT_MIN, RING_TIMEOUT_MAX,
                " seconds", integer=False,
            )
        if "start" in data:
            changes["start"] = data["start"]
        if "business_hours" in data:
            changes["business_hours"] = data["business_hours"]
        if "dialing" in data:
            changes["dialing"] = _enum(Dialing, data["dialing"], "dialing")
        if "abandon_target" in data:
            changes["abandon_target"] = _number(
                data["abandon_target"], "abandon_target", ABANDON_TARGET_MIN,
                ABANDON_TARGET_MAX, " percent of answered calls", integer=False,
            )
        if "abandon_window" in data:
            changes["abandon_window"] = _enum(AbandonWindow, data["abandon_window"],
                                              "abandon_window")
        if "abandon_message" in data:
            changes["abandon_message"] = _message(data["abandon_message"])
        return replace(base, **changes)

    def missing_to_start(self, message: str | None = None) -> list[str]:
        """What the campaign lacks to dial, in words (empty when it can start). `message` is
        what its abandoned calls would hear (`abandon_message()`), when known: a
        customer-first campaign may abandon calls, and must then say something."""
        missing = []
        if not self.numbers:
            missing.append("a number pool (numbers)")
        if self.transfer is None:
            missing.append("a transfer target (transfer)")
        if self.dial_mode is DialMode.CUSTOMER_FIRST and message == "":
            missing.append("a message for abandoned calls (abandon_message: the account's is "
                           "empty and the campaign sets none)")
        return missing

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dial_mode": self.dial_mode.value,
            "pacing": self.pacing,
            "concurrency": self.concurrency,
            "attempts": self.attempts,
            "backoff_seconds": self.backoff.seconds,
            "backoff_multiplier": self.backoff.multiplier,
            "rotation": self.rotation.value,
            "numbers": list(self.numbers),
            "transfer": self.transfer.to_dict() if self.transfer else None,
            "recording": self.recording,
            "ring_timeout": self.ring_timeout,
            "start": self.start,
            "business_hours": self.business_hours.to_dict() if self.business_hours else None,
            "dialing": self.dialing.value,
            "abandon_target": self.abandon_target,
            "abandon_window": self.abandon_window.value,
            "abandon_message": self.abandon_message,
        }


def default_abandon_message(account_name: str, callback_number: str | None) -> str:
    """The safe-harbour wording an account gets unless it sets its own: who called, a number
    to call back (the campaign's first caller ID), and how to opt out."""
    back = f" To call us back, dial {callback_number}." if callback_number else ""
    return (f"This is {account_name}. We are sorry, none of our agents was free to take "
            f"this call.{back} To stop our calls, press {OPT_OUT_DIGIT}. Goodbye.")


def abandon_message(settings: CampaignSettings, account_message: str | None,
                    account_name: str) -> str:
    """What a campaign's abandoned calls hear: the campaign's message, else the account's,
    else the default wording. The account may set its own to empty text (it wants no
    default): then only a campaign's own message serves, and a customer-first campaign
    without one cannot start."""
    if settings.abandon_message:
        return settings.abandon_message
    if account_message is not None:
        return " ".join(account_message.split())
    return default_abandon_message(account_name, settings.numbers[0] if settings.numbers
                                   else None)


def account_abandon_message(value: Any) -> str | None:
    """An account's abandon message as set through a door: text of at most
    ABANDON_MESSAGE_MAX characters (spaces tidied), or None for the default wording. Unlike a
    campaign's, blank text stays empty: the account wants no default, so each of its
    customer-first campaigns must set its own to start."""
    if value is None:
        return None
    _message(value)  # the same type and length rule as a campaign's
    return " ".join(str(value).split())


def _message(value: Any) -> str | None:
    """An abandon message: text of at most ABANDON_MESSAGE_MAX characters, or None (the
    account's). Blank text is None: a campaign never plays silence for a message."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > ABANDON_MESSAGE_MAX:
        raise InvalidInput("abandon_message",
                           f"must be a text of at most {ABANDON_MESSAGE_MAX} characters")
    return " ".join(value.split()) or None


def _parse_pool(value: Any, region: str | None) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise InvalidInput("numbers", f"must be a list of {POOL_MIN}–{POOL_MAX} phone numbers")
    if len(value) > POOL_MAX:
        raise InvalidInput(
            "numbers", f"must hold {POOL_MIN}–{POOL_MAX} phone numbers (got {len(value)})"
        )
    pool: list[str] = []
    for i, raw in enumerate(value):
        e164 = normalize_or_raise(str(raw), region, f"numbers[{i}]")
        if e164 in pool:
            raise InvalidInput(f"numbers[{i}]", f"{e164} is already in the pool")
        pool.append(e164)
    return tuple(pool)
