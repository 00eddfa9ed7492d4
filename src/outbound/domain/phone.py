"""Phone-number normalization to E.164 with `phonenumbers`, fast enough for bulk imports.

`normalize` decides exactly as `phonenumbers.parse` + `is_valid_number` + `number_type` +
`format_number(E164)` do, row for row (tests/unit/test_phone_equivalence.py checks it on a
generated corpus), but several times faster (bench/phone.py measures it). Two things make it so:

- Most rows are "simple": ASCII digits and the separators `space - . ( )`, with at most a
  leading `+`. For those we retrace what `parse` would do with phonenumbers' own metadata,
  skipping the text scanning (start/end trimming, extension and vanity-letter regexes) that
  cannot change anything when no other character is present. Anything else, and every step
  whose outcome is unusual (an IDD prefix followed by 0, an unknown country code, too short,
  too long), takes the plain `phonenumbers.parse` path instead.
- `is_valid_number` and `number_type` both classify the number against every pattern of its
  region (and `region_code_for_number` does it once more for shared codes such as +1 and +44).
  A number is valid exactly when its type is not UNKNOWN, so we classify once, with the
  metadata's patterns compiled up front rather than looked up in `re`'s cache at every test.

This leans on a few private helpers and on the structure of phonenumbers' metadata, as of the
version pinned in pyproject.toml (9.0.18); the equivalence test is the guard when it moves.
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

# After the national prefix is stripped, parse keeps the shorter number unless its length is
# one of these (phonenumberutil.parse, right after _maybe_strip_national_prefix_carrier_code).
_KEEP_UNSTRIPPED = frozenset({
    phonenumberutil.ValidationResult.TOO_SHORT,
    phonenumberutil.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    phonenumberutil.ValidationResult.INVALID_LENGTH,
})


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
    code = _calling_code(number.country_code)
    if code is None:
        if not phonenumbers.is_valid_number(number):
            return Rejected("not a valid number")
        kind = phonenumbers.number_type(number)
        nsn = phonenumbers.national_significant_number(number)
        return _verdict(kind, f"+{number.country_code}{nsn}")
    return code.verdict(phonenumbers.national_significant_number(number))


def _fast(raw: str, region_code: str | None) -> Normalized | Rejected | None:
    """The verdict for a simple input, retracing phonenumberutil.parse; None if not simple."""
    if len(raw) > _MAX_INPUT_LENGTH:
        return None
    text = raw.strip()  # parse ignores what precedes the first digit or "+" and trailing blanks
    plus = text.startswith("+")
    digits = (text[1:] if plus else text).translate(_SEPARATORS)
    # Three digits or more and only separators: parse finds it a viable number without an
    # extension (its _VALID_PHONE_NUMBER_PATTERN and _EXTN_PATTERN).
    if len(digits) < 3 or not (digits.isascii() and digits.isdigit()):
        return None
    home = _region(region_code) if region_code is not None else None
    if region_code is not None and home is None:
        return None  # a region parse would refuse ("ZZ", "001"...): let it say so
    if plus:
        return _international(digits)
    if home is None:
        return None  # no "+" and no region: parse's INVALID_COUNTRY_CODE
    if home.idd is not None and (idd := home.idd.match(digits)):
        # Dialled with the home region's international prefix (00, 011): like "+" unless a
        # 0 follows (then parse keeps it as a national number) or too little is left.
        rest = digits[idd.end():]
        if len(rest) <= _MIN_NSN or rest[0] == "0":
            return None
        return _international(rest)
    if digits.startswith(home.code_digits):
        # "14155550100" in US, "919876543210" in IN: parse reads the country code off the
        # front only if that turns an unworkable number into a workable one
        # (phonenumberutil._maybe_extract_country_code, last branch).
        metadata = home.metadata
        after = digits[len(home.code_digits):]
        _, after, _ = phonenumberutil._maybe_strip_national_prefix_carrier_code(after, metadata)
        general = metadata.general_desc
        if (
            not phonenumberutil._match_national_number(digits, general, False)
            and phonenumberutil._match_national_number(after, general, False)
        ) or (
            phonenumberutil._test_number_length(digits, metadata)
            == phonenumberutil.ValidationResult.TOO_LONG
        ):
            return _national(home.code, home.code.parsing, home.code.prefix, after)
    return _national(home.code, home.metadata, home.prefix, digits)


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
            return _national(code, code.parsing, code.prefix, digits[size:])
    return None


def _national(
    code: _CallingCode, metadata: PhoneMetadata, prefix: re.Pattern[str] | None, number: str
) -> Normalized | Rejected | None:
    """The verdict for a national number once its country code is known, stripping a national
    prefix ("0" in GB and IN, "1" in US) the way parse does with `metadata`."""
    if len(number) < _MIN_NSN:
        return None
    if prefix is not None and prefix.match(number):
        # Rare enough (national formats in GB, IN...) to reuse phonenumbers' own helpers as is.
        _, stripped, _ = phonenumberutil._maybe_strip_national_prefix_carrier_code(
            number, metadata
        )
        if phonenumberutil._test_number_length(stripped, metadata) not in _KEEP_UNSTRIPPED:
            number = stripped
        if len(number) < _MIN_NSN:
            return None
    if len(number) > _MAX_NSN:
        return None
    # The digit string is the national significant number: parse's "Italian leading zeros"
    # bookkeeping gives back exactly these digits.
    return code.verdict(number)


def _verdict(kind: int, e164: str) -> Normalized | Rejected:
    refused = _REFUSED_TYPES.get(kind)
    return Rejected(refused) if refused else Normalized(e164)


@dataclass(frozen=True, slots=True)
class _Desc:
    """One PhoneNumberDesc as phonenumberutil._is_number_matching_desc reads it."""

    lengths: frozenset[int]  # empty: any length
    pattern: re.Pattern[str]

    def matches(self, nsn: str) -> bool:
        return (not self.lengths or len(nsn) in self.lengths) and bool(
            self.pattern.fullmatch(nsn)
        )


def _desc(desc: PhoneNumberDesc | None) -> _Desc | None:
    """None when the description can never match (absent, or without a pattern)."""
    if desc is None or not desc.national_number_pattern:
        return None
    return _Desc(frozenset(desc.possible_length), re.compile(desc.national_number_pattern))


@dataclass(frozen=True, slots=True)
class _Classifier:
    """phonenumberutil._number_type_helper for one region, its patterns compiled once."""

    general: _Desc | None
    specific: tuple[tuple[int, _Desc], ...]  # tried in order before fixed line and mobile
    fixed_line: _Desc | None
    mobile: _Desc | None
    same_mobile_and_fixed_line: bool

    @classmethod
    def of(cls, metadata: PhoneMetadata) -> _Classifier:
        specific = (
            (PhoneNumberType.PREMIUM_RATE, metadata.premium_rate),
            (PhoneNumberType.TOLL_FREE, metadata.toll_free),
            (PhoneNumberType.SHARED_COST, metadata.shared_cost),
            (PhoneNumberType.VOIP, metadata.voip),
            (PhoneNumberType.PERSONAL_NUMBER, metadata.personal_number),
            (PhoneNumberType.PAGER, metadata.pager),
            (PhoneNumberType.UAN, metadata.uan),
            (PhoneNumberType.VOICEMAIL, metadata.voicemail),
        )
        return cls(
            general=_desc(metadata.general_desc),
            specific=tuple((kind, d) for kind, desc in specific if (d := _desc(desc))),
            fixed_line=_desc(metadata.fixed_line),
            mobile=_desc(metadata.mobile),
            same_mobile_and_fixed_line=metadata.same_mobile_and_fixed_line_pattern,
        )

    def type_of(self, nsn: str) -> int:
        if self.general is None or not self.general.matches(nsn):
            return PhoneNumberType.UNKNOWN
        for kind, desc in self.specific:
            if desc.matches(nsn):
                return kind
        mobile = self.mobile
        if self.fixed_line is not None and self.fixed_line.matches(nsn):
            if self.same_mobile_and_fixed_line or (mobile is not None and mobile.matches(nsn)):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_mobile_and_fixed_line and mobile is not None and mobile.matches(nsn):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


_NEVER = _Classifier(None, (), None, None, False)  # a region without metadata: all UNKNOWN


@dataclass(frozen=True, slots=True)
class _CallingCode:
    """What a country calling code needs once it is known: how parse strips a national prefix
    after it, and how number_type picks the region and the type."""

    e164_prefix: str  # "+44"
    parsing: PhoneMetadata  # its main region's metadata, which parse uses after a "+"
    prefix: re.Pattern[str] | None  # parsing.national_prefix_for_parsing
    # (leading digits, classifier) per region sharing the code, in
    # phonenumberutil._region_code_for_number_from_list's order; one entry: no choice to make.
    regions: tuple[tuple[re.Pattern[str] | None, _Classifier], ...]

    def type_of(self, nsn: str) -> int:
        """phonenumbers.number_type, which is UNKNOWN exactly when is_valid_number is false."""
        if len(self.regions) == 1:
            return self.regions[0][1].type_of(nsn)
        for leading, classifier in self.regions:
            if leading is not None:
                if leading.match(nsn):
                    return classifier.type_of(nsn)
            elif (kind := classifier.type_of(nsn)) != PhoneNumberType.UNKNOWN:
                return kind
        return PhoneNumberType.UNKNOWN

    def verdict(self, nsn: str) -> Normalized | Rejected:
        return _verdict(self.type_of(nsn), self.e164_prefix + nsn)


@lru_cache(maxsize=512)
def _calling_code(country_code: int) -> _CallingCode | None:
    """None if the code breaks an assumption above; its numbers then take the plain path."""
    region_codes = phonenumberutil.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not region_codes:
        return None
    parsing = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region_codes[0])
    if parsing is None:
        return None
    non_geo = REGION_CODE_FOR_NON_GEO_ENTITY  # "001"
    regions: list[tuple[re.Pattern[str] | None, _Classifier]] = []
    if len(region_codes) == 1:
        # region_code_for_number needs no choice; number_type then reads this metadata.
        if parsing.country_code != country_code and region_codes[0] != non_geo:
            return None  # is_valid_number_for_region would refuse what number_type accepts
        regions.append((None, _Classifier.of(parsing)))
    else:
        for region_code in region_codes:
            metadata = PhoneMetadata.metadata_for_region(region_code.upper(), None)
            if metadata is None:
                continue  # skipped by _region_code_for_number_from_list too
            if region_code == non_geo or metadata.country_code != country_code:
                return None
            leading = metadata.leading_digits
            regions.append(
                (re.compile(leading) if leading is not None else None, _Classifier.of(metadata))
            )
        if not regions:
            regions.append((None, _NEVER))
    return _CallingCode(
        e164_prefix=f"+{country_code}",
        parsing=parsing,
        prefix=_national_prefix(parsing),
        regions=tuple(regions),
    )


@dataclass(frozen=True, slots=True)
class _Region:
    """A default region, for numbers written without a country code."""

    metadata: PhoneMetadata
    code: _CallingCode
    code_digits: str  # "1", "44", "91"
    idd: re.Pattern[str] | None  # the international prefix dialled from here ("011", "00")
    prefix: re.Pattern[str] | None  # metadata.national_prefix_for_parsing


@lru_cache(maxsize=512)
def _region(region_code: str) -> _Region | None:
    """None for a region parse would not read numbers in (unknown, "ZZ", "001")."""
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
        metadata=metadata,
        code=code,
        code_digits=str(metadata.country_code),
        idd=re.compile(idd) if idd is not None else None,
        prefix=_national_prefix(metadata),
    )


def _national_prefix(metadata: PhoneMetadata) -> re.Pattern[str] | None:
    pattern = metadata.national_prefix_for_parsing
    return re.compile(pattern) if pattern else None


def _parse_reason(exc: NumberParseException) -> str:
    return {
        NumberParseException.INVALID_COUNTRY_CODE: "no country code and no default region",
        NumberParseException.NOT_A_NUMBER: "not a phone number",
        NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        NumberParseException.TOO_SHORT_NSN: "too short",
        NumberParseException.TOO_LONG: "too long",
    }.get(exc.error_type, "not a phone number")
