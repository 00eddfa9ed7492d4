"""One error shape everywhere: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from outbound.domain.errors import (
    CannotStart,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OutboundError,
)


class Forbidden(OutboundError):
    """The caller's role does not allow this."""


class Unauthorized(OutboundError):
    """No valid bearer token."""


class TooLarge(OutboundError):
    """The upload is over the limit."""


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


_STATUS: list[tuple[type[OutboundError], int, str]] = [
    (InvalidInput, 422, "invalid"),
    (NotFound, 404, "not_found"),
    (InvalidTransition, 409, "conflict"),
    (CannotStart, 409, "cannot_start"),
    (Forbidden, 403, "forbidden"),
    (Unauthorized, 401, "unauthorized"),
    (TooLarge, 413, "too_large"),
]


def install(app: FastAPI) -> None:
    @app.exception_handler(OutboundError)
    async def outbound_error(_: Request, exc: OutboundError) -> JSONResponse:
        for kind, status, code in _STATUS:
            if isinstance(exc, kind):
                field = exc.field if isinstance(exc, InvalidInput) else None
                message = exc.message if isinstance(exc, InvalidInput) else str(exc)
                headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
                return JSONResponse(error_body(code, message, field), status, headers=headers)
        return JSONResponse(error_body("error", str(exc)), 400)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or None
        return JSONResponse(error_body("invalid", str(first.get("msg")), field), 422)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)
