"""The error tree: one root, and input errors that name their field."""

from __future__ import annotations

import pytest

from outbound.domain.errors import (
    CannotStart,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OutboundError,
    ProviderError,
)


@pytest.mark.parametrize(
    "error", [InvalidInput, InvalidTransition, NotFound, CannotStart, ProviderError]
)
def test_every_outbound_error_shares_one_root(error: type[Exception]) -> None:
    assert issubclass(error, OutboundError)
    assert not issubclass(OutboundError, error)


def test_an_input_error_reads_as_field_then_message() -> None:
    error = InvalidInput("pacing", "must be from 1 to 20")

    assert str(error) == "pacing: must be from 1 to 20"
    assert (error.field, error.message) == ("pacing", "must be from 1 to 20")


def test_an_input_error_without_a_field_reads_as_its_message() -> None:
    assert str(InvalidInput("", "the file is empty")) == "the file is empty"


def test_an_input_error_can_be_placed_under_its_parent_field() -> None:
    nested = InvalidInput("pacing", "must be from 1 to 20").under("campaign")

    assert isinstance(nested, InvalidInput)
    assert (nested.field, nested.message) == ("campaign.pacing", "must be from 1 to 20")
    assert str(nested) == "campaign.pacing: must be from 1 to 20"


def test_an_input_error_without_a_field_takes_the_parent_as_its_field() -> None:
    assert InvalidInput("", "is required").under("campaign").field == "campaign"


def test_placing_under_twice_builds_a_dotted_path() -> None:
    nested = InvalidInput("numbers[2]", "bad").under("campaign").under("scenario")

    assert nested.field == "scenario.campaign.numbers[2]"
