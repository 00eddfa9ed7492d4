"""Campaign settings: every limit accepted at its edges, refused just outside, naming the
setting and the allowed range."""

from __future__ import annotations

from typing import Any

import pytest

from outbound.domain.contacts import Backoff
from outbound.domain.errors import InvalidInput
from outbound.domain.rotation import Rotation
from outbound.domain.settings import CampaignSettings, DialMode, Transfer, TransferKind


def pool(size: int) -> list[str]:
    return [f"+1202555{i:04d}" for i in range(size)]


def parse(**data: Any) -> CampaignSettings:
    return CampaignSettings.parse({"name": "Spring renewals", **data}, region="US")


def refusal(**data: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        parse(**data)
    return refused.value


def test_a_name_alone_gives_the_documented_defaults() -> None:
    settings = parse()

    assert settings == CampaignSettings(
        name="Spring renewals",
        dial_mode=DialMode.CUSTOMER_FIRST,
        pacing=1.0,
        concurrency=10,
        attempts=3,
        backoff=Backoff(0.0, 1.0),
        rotation=Rotation.ROUND_ROBIN,
        numbers=(),
        transfer=None,
        recording=True,
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("pacing", 1), ("pacing", 20), ("pacing", 2.5), ("pacing", 1.0), ("pacing", 20.0),
        ("concurrency", 1), ("concurrency", 50), ("concurrency", 50.0),
        ("attempts", 1), ("attempts", 5),
    ],
    ids=str,
)
def test_a_limit_is_accepted_at_its_edges(key: str, value: float) -> None:
    assert getattr(parse(**{key: value}), key) == value


def test_pacing_keeps_its_fraction_and_counts_are_whole_numbers() -> None:
    settings = parse(pacing=2.5, concurrency=50.0, attempts=5)

    assert settings.pacing == 2.5
    assert type(settings.concurrency) is int
    assert type(settings.attempts) is int


@pytest.mark.parametrize("size", [1, 50])
def test_a_pool_of_one_to_fifty_numbers_is_accepted(size: int) -> None:
    assert parse(numbers=pool(size)).numbers == tuple(pool(size))


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("pacing", 0.99, "from 1 to 20 calls per second"),
        ("pacing", 20.01, "from 1 to 20 calls per second"),
        ("pacing", 0, "from 1 to 20 calls per second"),
        ("concurrency", 0, "from 1 to 50 calls in flight"),
        ("concurrency", 51, "from 1 to 50 calls in flight"),
        ("attempts", 0, "from 1 to 5 attempts"),
        ("attempts", 6, "from 1 to 5 attempts"),
    ],
    ids=str,
)
def test_a_limit_is_refused_just_outside_naming_the_setting_and_range(
    key: str, value: float, allowed: str
) -> None:
    refused = refusal(**{key: value})

    assert refused.field == key
    assert allowed in refused.message
    assert repr(value) in refused.message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("pacing", "fast"), ("pacing", True), ("pacing", float("nan")), ("pacing", float("inf")),
        ("concurrency", 2.5), ("concurrency", "10"), ("attempts", False), ("attempts", 1.5),
    ],
    ids=str,
)
def test_a_limit_that_is_not_a_suitable_number_is_refused(key: str, value: object) -> None:
    refused = refusal(**{key: value})

    assert refused.field == key
    assert "number from" in refused.message


def test_a_pool_of_fifty_one_numbers_is_refused_naming_the_range() -> None:
    refused = refusal(numbers=pool(51))

    assert refused.field == "numbers"
    assert "1–50" in refused.message


def test_an_empty_pool_is_accepted_as_a_draft_but_stops_the_start() -> None:
    settings = parse(numbers=[], transfer={"department": "Sales"})

    assert settings.numbers == ()
    assert settings.missing_to_start() == ["a number pool (numbers)"]


def test_a_pool_that_is_not_a_list_is_refused() -> None:
    assert refusal(numbers="+12025550100").field == "numbers"


def test_pool_numbers_are_stored_in_e164() -> None:
    assert parse(numbers=["(202) 555-0143", "+44 20 7946 0018"]).numbers == (
        "+12025550143",
        "+442079460018",
    )


def test_a_duplicate_pool_number_is_refused_naming_its_position() -> None:
    refused = refusal(numbers=["+12025550100", "+12025550101", "(202) 555-0100"])

    assert refused.field == "numbers[2]"
    assert "+12025550100" in refused.message


def test_an_invalid_pool_number_is_refused_naming_its_position() -> None:
    refused = refusal(numbers=["+12025550100", "not a number"])

    assert refused.field == "numbers[1]"
    assert "'not a number'" in refused.message


def test_an_unknown_setting_is_refused_naming_it() -> None:
    refused = refusal(pace=5)

    assert refused.field == "pace"
    assert "unknown setting" in refused.message
    assert "pacing" in refused.message


def test_a_campaign_needs_a_name() -> None:
    with pytest.raises(InvalidInput) as refused:
        CampaignSettings.parse({"pacing": 2})

    assert refused.value.field == "name"


@pytest.mark.parametrize("name", ["", "   ", 42, "x" * 201])
def test_a_blank_or_overlong_name_is_refused(name: object) -> None:
    assert refusal(name=name).field == "name"


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("dial_mode", "predictive", "customer-first, agent-first"),
        ("rotation", "shuffle", "round-robin, random, sticky"),
    ],
)
def test_an_unknown_choice_is_refused_listing_the_choices(
    key: str, value: str, allowed: str
) -> None:
    refused = refusal(**{key: value})

    assert refused.field == key
    assert allowed in refused.message


def test_recording_must_be_true_or_false() -> None:
    assert refusal(recording="yes").field == "recording"
    assert parse(recording=False).recording is False


def test_backoff_settings_make_the_backoff() -> None:
    assert parse(backoff_seconds=90, backoff_multiplier=2.5).backoff == Backoff(90.0, 2.5)


@pytest.mark.parametrize(
    ("key", "value"),
    [("backoff_seconds", -1), ("backoff_seconds", 30 * 86400 + 1),
     ("backoff_multiplier", 0.5), ("backoff_multiplier", 10.5)],
    ids=str,
)
def test_a_backoff_outside_its_limits_is_refused(key: str, value: float) -> None:
    assert refusal(**{key: value}).field == key


@pytest.mark.parametrize(
    ("value", "kind", "name"),
    [
        ({"department": "Sales"}, TransferKind.DEPARTMENT, "Sales"),
        ({"agent": " alice "}, TransferKind.AGENT, "alice"),
        ({"voice_menu": "survey"}, TransferKind.VOICE_MENU, "survey"),
    ],
    ids=str,
)
def test_a_transfer_names_one_department_agent_or_voice_menu(
    value: dict[str, str], kind: TransferKind, name: str
) -> None:
    transfer = parse(transfer=value).transfer

    assert transfer == Transfer(kind, name)
    assert transfer.to_dict() == {kind.value: name}


def test_a_transfer_of_an_unknown_kind_is_refused_listing_the_kinds() -> None:
    refused = refusal(transfer={"queue": "Sales"})

    assert refused.field == "transfer"
    assert "department, agent, voice_menu" in refused.message
    assert "'queue'" in refused.message


@pytest.mark.parametrize(
    "value", [{"department": "Sales", "agent": "alice"}, {}, "Sales", ["agent", "alice"]], ids=str
)
def test_a_transfer_must_name_exactly_one_target(value: object) -> None:
    assert refusal(transfer=value).field == "transfer"


def test_a_transfer_with_a_blank_name_is_refused_naming_its_kind() -> None:
    assert refusal(transfer={"agent": "  "}).field == "transfer.agent"


def test_a_transfer_can_be_cleared() -> None:
    base = parse(transfer={"agent": "alice"})

    assert CampaignSettings.with_changes(base, {"transfer": None}).transfer is None


def test_missing_to_start_lists_the_pool_and_the_transfer_target() -> None:
    assert parse().missing_to_start() == [
        "a number pool (numbers)",
        "a transfer target (transfer)",
    ]
    assert parse(numbers=pool(1)).missing_to_start() == ["a transfer target (transfer)"]
    assert parse(numbers=pool(1), transfer={"agent": "alice"}).missing_to_start() == []


def test_changes_keep_every_setting_not_mentioned() -> None:
    base = parse(pacing=5, attempts=2, backoff_seconds=60, numbers=pool(2))

    changed = CampaignSettings.with_changes(base, {"backoff_multiplier": 3})

    assert changed.backoff == Backoff(60.0, 3.0)
    assert (changed.pacing, changed.attempts, changed.numbers) == (5.0, 2, tuple(pool(2)))


def test_changes_are_checked_like_a_new_campaign() -> None:
    with pytest.raises(InvalidInput) as refused:
        CampaignSettings.with_changes(parse(), {"pacing": 21})

    assert refused.value.field == "pacing"


def test_settings_survive_a_round_trip_through_plain_data() -> None:
    settings = parse(
        dial_mode="agent-first", pacing=2.5, concurrency=7, attempts=4, backoff_seconds=30,
        backoff_multiplier=2, rotation="sticky", numbers=pool(3), transfer={"agent": "alice"},
        recording=False, start=1_780_000_000.0,
    )

    assert CampaignSettings.parse(settings.to_dict()) == settings
