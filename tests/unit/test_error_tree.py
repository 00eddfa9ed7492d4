"""The error tree: one root, input errors that name their field, and the one table that says
what each error answers at the HTTP doors, with the one role check both doors make."""

from __future__ import annotations

import json

import pytest

from outbound import doors
from outbound.domain import errors
from outbound.domain.errors import (
    CannotStart,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OutboundError,
    ProviderError,
    TooLarge,
    Unauthorized,
)
from outbound.store.users import Principal


@pytest.mark.parametrize(
    "error", [InvalidInput, InvalidTransition, NotFound, CannotStart, ProviderError,
              Unauthorized, Forbidden, TooLarge]
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


def _domain_errors() -> list[type[OutboundError]]:
    return [kind for kind in vars(errors).values()
            if isinstance(kind, type) and issubclass(kind, OutboundError)
            and kind is not OutboundError]


@pytest.mark.parametrize("error", _domain_errors(), ids=lambda kind: kind.__name__)
def test_every_error_of_the_domain_tree_has_one_answer_at_the_doors(
        error: type[OutboundError]) -> None:
    instance = error("a", "b") if error is InvalidInput else error("a")

    assert doors.refusal(instance) is not None
    assert sum(isinstance(instance, kind) for kind, _ in doors.REFUSALS) == 1


def test_an_input_error_answers_422_naming_its_field() -> None:
    answer = doors.json_error(InvalidInput("pacing", "must be from 1 to 20"))

    assert answer.status_code == 422
    assert json.loads(answer.body) == {"error": {
        "code": "invalid", "message": "must be from 1 to 20", "field": "pacing"}}


def test_an_unauthorized_answer_asks_for_a_bearer_token() -> None:
    answer = doors.json_error(Unauthorized("a bearer token is required"))

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


def test_an_error_outside_the_table_answers_400() -> None:
    answer = doors.json_error(OutboundError("something else"))

    assert answer.status_code == 400
    assert json.loads(answer.body)["error"]["code"] == "error"


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_may_change_an_account(role: str) -> None:
    principal = Principal(1, 1, "someone@example.com", role)

    assert doors.may_change(principal, "a {role} may not") is principal


def test_a_user_may_look_but_not_change_and_is_told_why() -> None:
    principal = Principal(1, 1, "someone@example.com", "user")

    with pytest.raises(Forbidden) as refused:
        doors.may_change(principal, "a {role} may read but not change anything")

    assert str(refused.value) == "a user may read but not change anything"
