"""Phone-number normalization to E.164 with `phonenumbers`, fast enough for bulk imports.

`normalize` decides exactly as `phonenumbers.parse` + `is_valid_number` + `number_type` +
`format_number(E164)` do, row for row (tests/unit/test_phone_equivalence.py checks it on a
generated corpus), several times faster (bench/phone.py measures it). Two things make it so:

- Most rows are "simple": ASCII digits and the separators `space - . ( )`, with at most a
  leading `+`. For those we retrace what `parse` does, step by step, with phonenumbers' own
  metadata, skipping the text scanning (trimming, extension and vanity-letter regexes) that
  cannot change anything when no other character is present. Any other input, and every step
  whose outcome is unusual (an IDD prefix followed by 0, an unknown country code, too short,
  too long), takes the plain `phonenumbers.parse` path instead.
- `is_valid_number` and `number_type` both classify the number against every pattern of its
  region (and `region_code_for_number` does it once more for shared codes such as +1 and +44).
  A number is valid exactly when its type is not UNKNOWN, so we classify once, with the
  metadata's patterns compiled up front rather than looked up in `re`'s cache at each test.

The code follows phonenumberutil of the version pinned in pyproject.toml (9.0.18), whose
function names the comments cite, and calls two of its private helpers for rare cases. When
that pin moves, the equivalence test is the guard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, phonenumberutil
from phonenumbers.phonemetadata import (
    REGION_CODE_FOR_NON_GEO_ENTITY,
    PhoneMetadata,
    PhoneNumberDesc,
)

from outbound.domain.errors import InvalidInput

# Types that are not a person we may call: refuse them at import. A number whose type is
# UNKNOWN is exactly one that `is_valid_number` refuses, hence its wording.
_REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE: "premium-rate number",
    PhoneNumberType.UAN: "universal access number",
    PhoneNumberType.PAGER: "pager number",
    PhoneNumberType.VOICEMAIL: "voicemail access number",
    PhoneNumberType.UNKNOWN: "not a valid number",
}

# Limits of phonenumberutil.parse (its _MAX_INPUT_STRING_LENGTH, _MIN_LENGTH_FOR_NSN,
# _MAX_LENGTH_FOR_NSN, _MAX_LENGTH_COUNTRY_CODE); outside them we let parse give its reason.
_MAX_INPUT_LENGTH = 250
_MIN_NSN = 2
_MAX_NSN = 17
_MAX_COUNTRY_CODE_DIGITS = 3

# Separators that parse drops without any other effect: none of them can start an
# extension ("x", "#", ";", ","...), a second number ("/x") or an RFC 3966 parameter.
_SEPARATORS = str.maketrans("", "", " -.()")

_LENGTH = phonenumberutil.ValidationResult


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
    if not raw or raw.isspace():
        return Rejected("empty phone number")
    region_code = region.upper() if region else None
    return _fast(raw, region_code) or _slow(raw, region_code)


def normalize_or_raise(raw: str, region: str | None, field: str) -> str:
    """E.164 for `raw`, or InvalidInput naming `field`."""
    result = normalize(raw, region)
    if isinstance(result, Rejected):
        raise InvalidInput(field, f"{result.reason} (got {raw!r})")
    return result.e164


def _slow(raw: str, region_code: str | None) -> Normalized | Rejected:
    """The plain phonenumbers path, for every input the fast path does not vouch for."""
    try:
        number = phonenumbers.parse(raw, region_code)
    except NumberParseException as exc:
        return Rejected(_parse_reason(exc))
    nsn = phonenumbers.national_significant_number(number)
    code = _calling_code(number.country_code)
    if code is not None:
        verdict = code.verdict(nsn)
    elif not phonenumbers.is_valid_number(number):
        return Rejected("not a valid number")
    else:
        verdict = _verdict(phonenumbers.number_type(number), f"+{number.country_code}{nsn}")
    if isinstance(verdict, Normalized) and number.extension:
        # A dialer cannot key in an extension after the call connects: refuse the row
        # rather than call the switchboard (the fast path never sees extensions).
        return Rejected(extension_reason(number.extension))
    return verdict


def extension_reason(extension: str) -> str:
    return (f"has an extension ({extension}), which cannot be dialed; put the extension in "
            "a column of its own")


def _fast(raw: str, region_code: str | None) -> Normalized | Rejected | None:
    """The verdict for a simple input, retracing phonenumberutil.parse; None if not simple."""
    if len(raw) > _MAX_INPUT_LENGTH:
        return None
    text = raw.strip()  # parse ignores what precedes the first digit or "+" and trailing blanks
    plus = text.startswith("+")
    digits = (text[1:] if plus else text).translate(_SEPARATORS)
    # Three digits or more and only separators: parse finds a viable number and no extension
    # (its _VALID_PHONE_NUMBER_PATTERN and _EXTN_PATTERN).
    if len(digits) < 3 or not (digits.isascii() and digits.isdigit()):
        return None
    home = _region(region_code) if region_code is not None else None
    if region_code is not None and home is None:
        return None  # a region parse does not read numbers in ("ZZ", "001"...)
    if plus:
        return _international(digits)
    if home is None:
        return None  # no "+" and no region: parse's INVALID_COUNTRY_CODE
    if home.idd is not None and (idd := home.idd.match(digits)):
        # Dialled with the home region's international prefix (00, 011): like "+", unless a
        # 0 follows (parse then reads it as a national number) or too little is left.
        rest = digits[idd.end():]
        if len(rest) <= _MIN_NSN or rest[0] == "0":
            return None
        return _international(rest)
    if digits.startswith(home.code_digits):
        # "14155550100" in US, "919876543210" in IN: parse takes the country code off the
        # front only if that turns an unworkable number into a workable one
        # (the last branch of phonenumberutil._maybe_extract_country_code).
        rules = home.rules
        after = rules.strip_prefix(digits[len(home.code_digits):])
        if (
            not rules.is_general(digits) and rules.is_general(after)
        ) or rules.length(digits) == _LENGTH.TOO_LONG:
            return _national(home.code, home.code.rules, after)
    return _national(home.code, home.rules, digits)


def _international(digits: str) -> Normalized | Rejected | None:
    """The verdict for the digits after "+" or an IDD prefix, reading the country code as
    phonenumberutil._extract_country_code does."""
    if digits[0] == "0":
        return None  # no country code starts with 0; parse then retries without the "+"
    for size in range(1, _MAX_COUNTRY_CODE_DIGITS + 1):
        country_code = int(digits[:size])
        if country_code in phonenumberutil.COUNTRY_CODE_TO_REGION_CODE:
            code = _calling_code(country_code)
            if code is None:
                return None
            return _national(code, code.rules, digits[size:])
    return None


def _national(code: _CallingCode, rules: _Rules, number: str) -> Normalized | Rejected | None:
    """The verdict for a national number once its country code is known, dropping a national
    prefix ("0" in GB and IN, "1" in US) by `rules` as parse does."""
    if len(number) < _MIN_NSN:
        return None
    number = rules.strip_national_prefix(number)
    if not _MIN_NSN <= len(number) <= _MAX_NSN:
        return None
    # These digits are the national significant number: parse's "Italian leading zeros"
    # bookkeeping gives back exactly them.
    return code.verdict(number)


def _verdict(kind: int, e164: str) -> Normalized | Rejected:
    refused = _REFUSED_TYPES.get(kind)
    return Rejected(refused) if refused else Normalized(e164)


def _pattern(desc: PhoneNumberDesc | None) -> re.Pattern[str] | None:
    """A description's pattern, or None where phonenumberutil._match_national_number would
    match nothing."""
    if desc is None or not desc.national_number_pattern:
        return None
    return re.compile(desc.national_number_pattern)


@dataclass(frozen=True, slots=True)
class _Rules:
    """How parse handles a national number with one region's metadata."""

    metadata: PhoneMetadata
    general: re.Pattern[str] | None
    prefix: re.Pattern[str] | None  # metadata.national_prefix_for_parsing
    lengths: tuple[int, ...]  # general_desc.possible_length, sorted
    local_lengths: frozenset[int]
    # A national prefix rewritten rather than dropped (Argentina, the Caribbean...), or
    # metadata without lengths: leave it all to phonenumbers' own helpers.
    own_helpers: bool

    @classmethod
    def of(cls, metadata: PhoneMetadata) -> _Rules:
        general = metadata.general_desc
        lengths = general.possible_length if general else ()
        return cls(
            metadata=metadata,
            general=_pattern(general),
            prefix=(
                re.compile(metadata.national_prefix_for_parsing)
                if metadata.national_prefix_for_parsing
                else None
            ),
            lengths=tuple(lengths),
            local_lengths=frozenset(general.possible_length_local_only if general else ()),
            own_helpers=bool(metadata.national_prefix_transform_rule) or not lengths,
        )

    def is_general(self, number: str) -> bool:
        """phonenumberutil._match_national_number against the general description."""
        return self.general is not None and self.general.fullmatch(number) is not None

    def length(self, number: str) -> int:
        """phonenumberutil._test_number_length for any type (a ValidationResult)."""
        if self.own_helpers:
            return phonenumberutil._test_number_length(number, self.metadata)
        size, lengths = len(number), self.lengths
        if size in self.local_lengths:
            return _LENGTH.IS_POSSIBLE_LOCAL_ONLY
        if lengths[0] == size:
            return _LENGTH.IS_POSSIBLE
        if lengths[0] > size:
            return _LENGTH.TOO_SHORT
        if lengths[-1] < size:
            return _LENGTH.TOO_LONG
        return _LENGTH.IS_POSSIBLE if size in lengths[1:] else _LENGTH.INVALID_LENGTH

    def strip_prefix(self, number: str) -> str:
        """phonenumberutil._maybe_strip_national_prefix_carrier_code, less the carrier code."""
        found = self.prefix.match(number) if self.prefix is not None and number else None
        if found is None:
            return number
        if self.own_helpers:
            _, stripped, _ = phonenumberutil._maybe_strip_national_prefix_carrier_code(
                number, self.metadata
            )
            return stripped
        stripped = number[found.end():]
        if self.is_general(number) and not self.is_general(stripped):
            return number  # only the whole number is workable: the "prefix" is part of it
        return stripped

    def strip_national_prefix(self, number: str) -> str:
        """What parse keeps after trying to drop a national prefix: the shorter number,
        unless its length is not a possible one."""
        stripped = self.strip_prefix(number)
        if stripped == number or self.length(stripped) in (
            _LENGTH.TOO_SHORT, _LENGTH.IS_POSSIBLE_LOCAL_ONLY, _LENGTH.INVALID_LENGTH
        ):
            return number
        return stripped


@dataclass(frozen=True, slots=True)
class _Plan:
    """The checks of phonenumberutil._number_type_helper for one region and one number
    length, descriptions whose possible lengths exclude it left out beforehand."""

    general: re.Pattern[str]
    specific: tuple[tuple[int, re.Pattern[str]], ...]  # tried in order before the rest
    fixed_line: re.Pattern[str] | None
    mobile: re.Pattern[str] | None
    same_mobile_and_fixed_line: bool

    def type_of(self, nsn: str) -> int:
        if not self.general.fullmatch(nsn):
            return PhoneNumberType.UNKNOWN
        for kind, pattern in self.specific:
            if pattern.fullmatch(nsn):
                return kind
        mobile = self.mobile
        if self.fixed_line is not None and self.fixed_line.fullmatch(nsn):
            if self.same_mobile_and_fixed_line or (mobile is not None and mobile.fullmatch(nsn)):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_mobile_and_fixed_line and mobile is not None and mobile.fullmatch(nsn):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


def _plans(metadata: PhoneMetadata | None) -> tuple[_Plan | None, ...]:
    """A plan per national number length up to _MAX_NSN; None where nothing can match."""

    def admitted(desc: PhoneNumberDesc | None, size: int) -> re.Pattern[str] | None:
        # phonenumberutil._is_number_matching_desc: no possible lengths means any length.
        if desc is None or (desc.possible_length and size not in desc.possible_length):
            return None
        return _pattern(desc)

    if metadata is None:
        return (None,) * (_MAX_NSN + 1)
    ordered = (
        (PhoneNumberType.PREMIUM_RATE, metadata.premium_rate),
        (PhoneNumberType.TOLL_FREE, metadata.toll_free),
        (PhoneNumberType.SHARED_COST, metadata.shared_cost),
        (PhoneNumberType.VOIP, metadata.voip),
        (PhoneNumberType.PERSONAL_NUMBER, metadata.personal_number),
        (PhoneNumberType.PAGER, metadata.pager),
        (PhoneNumberType.UAN, metadata.uan),
        (PhoneNumberType.VOICEMAIL, metadata.voicemail),
    )
    plans: list[_Plan | None] = []
    for size in range(_MAX_NSN + 1):
        general = admitted(metadata.general_desc, size)
        plans.append(
            _Plan(
                general=general,
                specific=tuple(
                    (kind, pattern) for kind, desc in ordered
                    if (pattern := admitted(desc, size)) is not None
                ),
                fixed_line=admitted(metadata.fixed_line, size),
                mobile=admitted(metadata.mobile, size),
                same_mobile_and_fixed_line=metadata.same_mobile_and_fixed_line_pattern,
            )
            if general is not None
            else None
        )
    return tuple(plans)


@dataclass(frozen=True, slots=True)
class _CallingCode:
    """A country calling code: how parse reads the national number after it, and how
    number_type picks the region and the type."""

    e164_prefix: str  # "+44"
    rules: _Rules  # its main region's, which parse uses after a "+"
    # (leading digits, plans) per region sharing the code, in the order of
    # phonenumberutil._region_code_for_number_from_list; a single entry: no choice to make.
    regions: tuple[tuple[re.Pattern[str] | None, tuple[_Plan | None, ...]], ...]

    def type_of(self, nsn: str) -> int:
        """phonenumbers.number_type, which is UNKNOWN exactly when is_valid_number is false."""
        if len(self.regions) == 1:
            return _type_of(self.regions[0][1], nsn)
        for leading, plans in self.regions:
            if leading is not None:
                if leading.match(nsn):
                    return _type_of(plans, nsn)
            elif (kind := _type_of(plans, nsn)) != PhoneNumberType.UNKNOWN:
                return kind
        return PhoneNumberType.UNKNOWN

    def verdict(self, nsn: str) -> Normalized | Rejected:
        return _verdict(self.type_of(nsn), self.e164_prefix + nsn)


def _type_of(plans: tuple[_Plan | None, ...], nsn: str) -> int:
    # parse never gives a national significant number longer than _MAX_NSN (TOO_LONG).
    plan = plans[len(nsn)] if len(nsn) < len(plans) else None
    return plan.type_of(nsn) if plan is not None else PhoneNumberType.UNKNOWN


@lru_cache(maxsize=512)
def _calling_code(country_code: int) -> _CallingCode | None:
    """None if the code breaks an assumption above; its numbers then take the plain path."""
    region_codes = phonenumberutil.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not region_codes:
        return None
    main = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region_codes[0])
    if main is None:
        return None
    regions: list[tuple[re.Pattern[str] | None, tuple[_Plan | None, ...]]] = []
    if len(region_codes) == 1:
        if main.country_code != country_code and region_codes[0] != REGION_CODE_FOR_NON_GEO_ENTITY:
            return None  # is_valid_number_for_region would refuse what number_type accepts
        regions.append((None, _plans(main)))
    else:
        for region_code in region_codes:
            metadata = PhoneMetadata.metadata_for_region(region_code.upper(), None)
            if metadata is None:
                continue  # skipped by _region_code_for_number_from_list too
            if (
                region_code == REGION_CODE_FOR_NON_GEO_ENTITY
                or metadata.country_code != country_code
            ):
                return None
            leading = metadata.leading_digits
            regions.append((re.compile(leading) if leading is not None else None,
                            _plans(metadata)))
        if not regions:
            regions.append((None, _plans(None)))
    return _CallingCode(
        e164_prefix=f"+{country_code}", rules=_Rules.of(main), regions=tuple(regions)
    )


@dataclass(frozen=True, slots=True)
class _Region:
    """A default region, for numbers written without "+"."""

    rules: _Rules
    code: _CallingCode
    code_digits: str  # "1", "44", "91"
    idd: re.Pattern[str] | None  # the international prefix dialled from here ("011", "00")


@lru_cache(maxsize=512)
def _region(region_code: str) -> _Region | None:
    """None for a region parse does not read numbers in (unknown, "ZZ", "001")."""
    if region_code not in phonenumberutil.SUPPORTED_REGIONS:
        return None
    metadata = PhoneMetadata.metadata_for_region(region_code, None)
    if metadata is None or metadata.country_code is None:
        return None
    code = _calling_code(metadata.country_code)
    if code is None:
        return None
    idd = metadata.international_prefix
    return _Region(
        rules=_Rules.of(metadata),
        code=code,
        code_digits=str(metadata.country_code),
        idd=re.compile(idd) if idd is not None else None,
    )


def _parse_reason(exc: NumberParseException) -> str:
    return {
        NumberParseException.INVALID_COUNTRY_CODE: "no country code and no default region",
        NumberParseException.NOT_A_NUMBER: "not a phone number",
        NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        NumberParseException.TOO_SHORT_NSN: "too short",
        NumberParseException.TOO_LONG: "too long",
    }.get(exc.error_type, "not a phone number")
