"""Phone-number normalization to E.164 with `phonenumbers`."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from outbound.domain.errors import InvalidInput

# Types that are not a person we may call: refuse them at import.
_REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE: "premium-rate number",
    PhoneNumberType.UAN: "universal access number",
    PhoneNumberType.PAGER: "pager number",
    PhoneNumberType.VOICEMAIL: "voicemail access number",
    PhoneNumberType.UNKNOWN: "number of unknown type",
}


@dataclass(frozen=True, slots=True)
class Normalized:
    """A number that passed: its E.164 form."""

    e164: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """A number that did not pass, and why, in words a user understands."""

    reason: str


def normalize(raw: str, region: str | None) -> Normalized | Rejected:
    """E.164 for `raw`, read in `region` when it has no country code (e.g. "US")."""
    text = (raw or "").strip()
    if not text:
        return Rejected("empty phone number")
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except NumberParseException as exc:
        return Rejected(_parse_reason(exc))
    if not phonenumbers.is_valid_number(number):
        return Rejected("not a valid number")
    refused = _REFUSED_TYPES.get(phonenumbers.number_type(number))
    if refused:
        return Rejected(refused)
    return Normalized(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_or_raise(raw: str, region: str | None, field: str) -> str:
    """E.164 for `raw`, or InvalidInput naming `field`."""
    result = normalize(raw, region)
    if isinstance(result, Rejected):
        raise InvalidInput(field, f"{result.reason} (got {raw!r})")
    return result.e164


def _parse_reason(exc: NumberParseException) -> str:
    return {
        NumberParseException.INVALID_COUNTRY_CODE: "no country code and no default region",
        NumberParseException.NOT_A_NUMBER: "not a phone number",
        NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        NumberParseException.TOO_SHORT_NSN: "too short",
        NumberParseException.TOO_LONG: "too long",
    }.get(exc.error_type, "not a phone number")
