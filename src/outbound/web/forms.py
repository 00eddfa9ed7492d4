"""From the wizard's form fields to campaign setting changes, each one checked by the domain's
own rules, so a page can say beside every field what is wrong with it (all of them at once,
not only the first)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.datastructures import FormData

from outbound.domain.errors import InvalidInput
from outbound.domain.hours import BusinessHours
from outbound.domain.settings import CampaignSettings
from outbound.web.render import zone_of

Errors = dict[str, str]  # form field → what is wrong with it
MIN_LEAD_SECONDS = 5 * 60  # a scheduled start is at least this far ahead

# The form field a domain error belongs beside, by the start of its field name.
_FORM_FIELD = (("numbers", "numbers"), ("transfer", "transfer"),
               ("business_hours.timezone", "hours_timezone"),
               ("business_hours.days", "hours_days"), ("business_hours.open", "hours_open"),
               ("business_hours.close", "hours_close"), ("business_hours", "hours_mode"))


def form_field(domain_field: str) -> str:
    for prefix, name in _FORM_FIELD:
        if domain_field == prefix or domain_field.startswith((prefix + ".", prefix + "[")):
            return name
    return domain_field


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(raw: str) -> Any:
    """The number typed, or the text itself for the domain to refuse in its own words."""
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw


class Checked:
    """Setting changes gathered from a form, each checked against `base` on its own."""

    def __init__(self, base: CampaignSettings, region: str) -> None:
        self.base = base
        self.region = region
        self.changes: dict[str, Any] = {}
        self.errors: Errors = {}

    def add(self, key: str, value: Any, field: str | None = None) -> None:
        try:
            CampaignSettings.with_changes(self.base, {key: value}, self.region)
        except InvalidInput as exc:
            self.fail(field or form_field(exc.field), exc.message)
            return
        self.changes[key] = value

    def add_number(self, key: str, form: FormData, unit: str = "") -> None:
        raw = text(form, key)
        if not raw:
            self.fail(key, "is required" + (f" ({unit})" if unit else ""))
            return
        self.add(key, _number(raw))

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def check(self, key: str, build: Callable[[], Any], field: str) -> None:
        """A value whose own parsing may fail (business hours), then checked like the rest."""
        try:
            value = build()
        except InvalidInput as exc:
            self.fail(form_field(f"{field}.{exc.field}") if field == "business_hours"
                      else field, exc.message)
            return
        self.add(key, value, None)


def basics(form: FormData, base: CampaignSettings, region: str) -> Checked:
    checked = Checked(base, region)
    name = text(form, "name")
    if not name:
        checked.fail("name", "is required: a name your team will recognise")
    else:
        checked.add("name", name)
    checked.add("dial_mode", text(form, "dial_mode"))
    checked.add_number("pacing", form, "calls per second")
    checked.add_number("concurrency", form, "calls in flight")
    pacing(form, checked)
    return checked


def pacing(form: FormData, checked: Checked) -> None:
    """How a customer-first campaign paces itself against its agents: dialing mode, abandon
    target and window, and the message an abandoned call hears (empty: the account's)."""
    checked.add("dialing", text(form, "dialing"))
    checked.add_number("abandon_target", form, "percent of answered calls")
    checked.add("abandon_window", text(form, "abandon_window"))
    checked.add("abandon_message", text(form, "abandon_message") or None)


def split_numbers(raw: str) -> list[str]:
    """Numbers typed one per line or separated by commas or semicolons."""
    return [n.strip() for n in re.split(r"[\n,;]+", raw) if n.strip()]


def pool(form: FormData, base: CampaignSettings, region: str) -> Checked:
    checked = Checked(base, region)
    picked = [v for v in form.getlist("numbers") if isinstance(v, str) and v.strip()]
    typed = split_numbers(text(form, "new_numbers"))
    numbers = list(dict.fromkeys([*picked, *typed]))
    if not numbers:
        checked.fail("numbers", "pick at least one number for caller ID, or type one")
    else:
        checked.add("numbers", numbers)
    checked.add("rotation", text(form, "rotation"))
    return checked


def routing(form: FormData, base: CampaignSettings, region: str,
            targets: dict[str, list[str]]) -> Checked:
    checked = Checked(base, region)
    kind, _, name = text(form, "transfer").partition(":")
    if not name:
        checked.fail("transfer", "choose where answered calls go")
    elif name not in targets.get(kind, []):
        checked.fail("transfer", f"there is no {kind.replace('_', ' ')} named {name!r} in "
                     "this account")
    else:
        checked.add("transfer", {kind: name})
    checked.add_number("attempts", form, "calls per contact")
    checked.add_number("backoff_seconds", form, "seconds")
    checked.add_number("backoff_multiplier", form)
    checked.add("recording", form.get("recording") == "on")
    mode = text(form, "hours_mode")
    if mode == "default":
        checked.add("business_hours", None)
    elif mode == "override":
        checked.check("business_hours", lambda: BusinessHours.parse(
            text(form, "hours_timezone"),
            [d for d in form.getlist("hours_days") if isinstance(d, str)],
            text(form, "hours_open"), text(form, "hours_close")), "business_hours")
    else:
        checked.fail("hours_mode", "choose the account's business hours or your own")
    return checked


def start_time(raw: str, request: Any, account_id: int, now: float, *,
               scheduling: bool) -> tuple[float | None, str | None]:
    """(POSIX start, error) for a datetime-local value read in the account's zone; a start
    used to schedule must be at least five minutes ahead."""
    if not raw:
        return None, ("is required to schedule: pick a date and time" if scheduling else None)
    try:
        wall = datetime.fromisoformat(raw)
    except ValueError:
        return None, f"must be a date and time such as 2026-03-02T09:00 (got {raw!r})"
    zone = zone_of(request, account_id)
    if wall.tzinfo is not None:
        return None, "give the time without a UTC offset; it is read in the account's zone"
    start = wall.replace(tzinfo=zone).timestamp()
    if scheduling and start < now + MIN_LEAD_SECONDS:
        earliest = datetime.fromtimestamp(now + MIN_LEAD_SECONDS, zone)
        return None, (f"must be at least 5 minutes from now: {earliest:%Y-%m-%d %H:%M} "
                      f"({zone.key}) or later; or choose Start now")
    return start, None


def datetime_local(ts: float | None, request: Any, account_id: int) -> str:
    """A POSIX time as a datetime-local input's value in the account's zone."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, zone_of(request, account_id)).strftime("%Y-%m-%dT%H:%M")
