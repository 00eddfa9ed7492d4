"""What the two HTTP doors (the Partner API and the dashboard's pages) share, so that neither
imports the other: the store and the clock a request works with, the bounds of an id and of a
request body, the one table of what each domain error answers, the API's error shape, and the
one role check.

The store and the clock are put on the app by `outbound.app.create_app`, from the composition
root.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from outbound.clock import Clock
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
from outbound.store import Store
from outbound.store.users import Principal

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""The largest request body either door takes (an upload of contacts or of a DNC list, through
the API or the pages): app.py's BodyLimit refuses a larger one with 413 while it streams in,
and the API's upload reader checks it again for a body it reads whole."""

MAX_ID = 2**63 - 1
"""The largest id a store can hold (a signed 64-bit integer on SQLite and PostgreSQL): a
larger one in a path or query answers 422 instead of overflowing the database driver."""


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def clock_of(request: Request) -> Clock:
    """The clock of the process serving the request: the time of every change it records."""
    clock: Clock = request.app.state.clock
    return clock


StoreDep = Annotated[Store, Depends(store_of)]
ClockDep = Annotated[Clock, Depends(clock_of)]


@dataclass(frozen=True, slots=True)
class Refusal:
    """How the doors answer one kind of domain error."""

    status: int  # the HTTP status
    code: str  # the API's `error.code`
    title: str | None  # the page's heading; None: the pages answer with the API's JSON too


REFUSALS: tuple[tuple[type[OutboundError], Refusal], ...] = (
    (InvalidInput, Refusal(422, "invalid", "Not valid")),
    (NotFound, Refusal(404, "not_found", "Not found")),
    (InvalidTransition, Refusal(409, "conflict", "Not possible now")),
    (CannotStart, Refusal(409, "cannot_start", "Cannot start")),
    (Forbidden, Refusal(403, "forbidden", "Not allowed")),
    (Unauthorized, Refusal(401, "unauthorized", None)),
    (TooLarge, Refusal(413, "too_large", None)),
    (ProviderError, Refusal(502, "provider", None)),  # the carrier would not hand something out
)
"""Every domain error a door can answer, and how; one that is none of these answers 400."""


def refusal(exc: OutboundError) -> Refusal | None:
    """The answer to `exc` from `REFUSALS`, or None for an error the table does not know."""
    return next((answer for kind, answer in REFUSALS if isinstance(exc, kind)), None)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The API's one error shape: {"error": {"code", "message", "field"}}."""
    return {"error": {"code": code, "message": message, "field": field}}


def message_of(exc: OutboundError) -> str:
    """What a door says of `exc`: an invalid input's message without its field's name (the
    field is answered beside it), anything else as it reads."""
    return exc.message if isinstance(exc, InvalidInput) else str(exc)


def json_error(exc: OutboundError) -> JSONResponse:
    """The API's answer to a domain error (and the pages' to one they have no page for)."""
    answer = refusal(exc)
    if answer is None:
        return JSONResponse(error_body("error", str(exc)), 400)
    field = exc.field if isinstance(exc, InvalidInput) else None
    message = message_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if answer.status == 401 else None
    return JSONResponse(error_body(answer.code, message, field), answer.status, headers=headers)


def may_change(principal: Principal, why_not: str) -> Principal:
    """The one role rule of both doors: Owners and Admins of an account may change its things;
    a User only looks. Otherwise Forbidden, saying `why_not` (its `{role}` filled in)."""
    if not principal.manages:
        raise Forbidden(why_not.format(role=principal.role))
    return principal
