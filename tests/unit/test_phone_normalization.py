"""Phone numbers become E.164 or a reason a user understands; numbers we may not call are
refused."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.domain.errors import InvalidInput
from outbound.domain.phone import Normalized, Rejected, normalize, normalize_or_raise


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(202) 555-0143", "US", "+12025550143"),
        ("202.555.0143", "us", "+12025550143"),
        ("  2025550143  ", "US", "+12025550143"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("01 42 68 53 00", "FR", "+33142685300"),
    ],
    ids=str,
)
def test_a_national_number_with_a_region_becomes_e164(raw: str, region: str, e164: str) -> None:
    assert normalize(raw, region) == Normalized(e164)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+1 202 555 0143", "+12025550143"),
        ("+44 20 7946 0018", "+442079460018"),
        ("+33 1 42 68 53 00", "+33142685300"),
        ("+1 (800) 234-5678", "+18002345678"),
    ],
    ids=str,
)
def test_an_international_number_becomes_e164_in_any_region(raw: str, e164: str) -> None:
    assert normalize(raw, None) == Normalized(e164)
    assert normalize(raw, "GB") == Normalized(e164)


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "US", "empty phone number"),
        ("   ", "US", "empty phone number"),
        ("hello", "US", "not a phone number"),
        ("+1", None, "not a phone number"),
        ("2025550143", None, "no country code and no default region"),
        ("12345678901234567890", "US", "too long"),
    ],
    ids=str,
)
def test_an_unusable_text_is_refused_with_its_reason(
    raw: str, region: str | None, reason: str
) -> None:
    assert normalize(raw, region) == Rejected(reason)


@pytest.mark.parametrize(
    ("raw", "region"), [("12", "US"), ("555-0143", "US"), ("+1 202", None), ("020 7946", "GB")],
    ids=str,
)
def test_a_number_too_short_to_exist_is_refused_with_a_reason(
    raw: str, region: str | None
) -> None:
    result = normalize(raw, region)

    assert isinstance(result, Rejected)
    assert result.reason


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("+1 900 234 5678", None, "premium-rate number"),
        ("900-234-5678", "US", "premium-rate number"),
        ("+44 909 879 0000", None, "premium-rate number"),
        ("+44 76 4012 3456", None, "pager number"),
        ("+44 55 1234 5678", None, "universal access number"),
    ],
    ids=str,
)
def test_a_number_that_is_not_a_person_to_call_is_refused(
    raw: str, region: str | None, reason: str
) -> None:
    assert normalize(raw, region) == Rejected(reason)


def test_us_900_numbers_are_premium_rate_by_phonenumbers_own_reckoning() -> None:
    # Guards the example above: it must test the premium-rate rule, not an invalid number.
    number = phonenumbers.parse("+19002345678")

    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.PREMIUM_RATE


def test_normalize_or_raise_names_the_field_the_reason_and_the_input() -> None:
    with pytest.raises(InvalidInput) as refused:
        normalize_or_raise("+1 900 234 5678", None, "numbers[3]")

    assert refused.value.field == "numbers[3]"
    assert refused.value.message == "premium-rate number (got '+1 900 234 5678')"


def test_normalize_or_raise_gives_e164_for_a_good_number() -> None:
    assert normalize_or_raise("(202) 555-0143", "US", "phone") == "+12025550143"


phone_like = st.text(alphabet="0123456789 +-().x", max_size=25)
any_text = st.one_of(phone_like, st.text(max_size=25))
regions = st.sampled_from([None, "US", "GB", "FR", "DE", "IN", "BR", "us"])


@settings(max_examples=200, deadline=None)
@given(raw=any_text, region=regions)
def test_any_text_is_normalized_or_refused_with_a_reason_never_raising(
    raw: str, region: str | None
) -> None:
    result = normalize(raw, region)

    if isinstance(result, Rejected):
        assert result.reason
    else:
        assert result.e164.startswith("+")
        assert result.e164[1:].isdigit()
        assert normalize(result.e164, None) == result


@settings(max_examples=100, deadline=None)
@given(line=st.integers(min_value=0, max_value=9999), exchange=st.integers(200, 999))
def test_a_washington_number_normalizes_the_same_however_it_is_written(
    line: int, exchange: int
) -> None:
    national = f"202{exchange:03d}{line:04d}"
    forms = [
        (national, "US"),
        (f"({national[:3]}) {national[3:6]}-{national[6:]}", "US"),
        (f"+1 {national}", None),
        (f"+1-{national[:3]}-{national[3:6]}-{national[6:]}", "GB"),
    ]

    results = {normalize(raw, region) for raw, region in forms}

    assert len(results) == 1
