"""One error shape everywhere: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from outbound.domain.errors import (
    CannotStart,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OutboundError,
    ProviderError,
)


class Forbidden(OutboundError):
    """The caller's role does not allow this."""


class Unauthorized(OutboundError):
    """No valid bearer token."""


class TooLarge(OutboundError):
    """The upload is over the limit."""


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorBody(BaseModel):
    """The body of every 4xx answer."""

    error: ErrorDetail


_DESCRIPTIONS = {
    401: "No bearer token, or an unknown or revoked one",
    403: "The caller's role may read but not change anything",
    404: "No such resource in this account (or no such account for this token)",
    409: "The resource is in a state that does not allow this",
    413: "The upload is over 50 MB",
    422: "The input is invalid; `field` names the offending part",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the error answers an operation can give, for `responses=`."""
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
            for status in statuses}


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
    (ProviderError, 502, "provider"),  # the carrier would not hand something out
]


def _allowed_keys(request: Request, path: list[str]) -> list[str]:
    """The fields of the request body's model at `path`, to say what an unknown key could be."""
    route = request.scope.get("route")
    body = getattr(route, "body_field", None)
    model = getattr(getattr(body, "field_info", None), "annotation", None)
    for name in path:
        field = getattr(model, "model_fields", {}).get(name)
        model = getattr(field, "annotation", None)
        model = next((a for a in getattr(model, "__args__", ()) if hasattr(a, "model_fields")),
                     model)
    return list(getattr(model, "model_fields", {}))


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
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or None
        message = str(first.get("msg"))
        if first.get("type") == "extra_forbidden":
            allowed = _allowed_keys(request, loc[:-1])
            message = "unknown field" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        return JSONResponse(error_body("invalid", message, field), 422)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # A body FastAPI or Starlette could not parse at all (bytes that are not UTF-8 in a
            # JSON body, a broken multipart): bad input like any other, so 422 naming the body,
            # as an upload that is not valid JSON answers.
            return JSONResponse(error_body("invalid", f"cannot be parsed ({exc.detail})",
                                           "body"), 422)
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)
