"""The API's answers to errors, in the one error shape {"error": {"code", "message", "field"}}
(`outbound.doors.error_body`), and their OpenAPI declarations. Which status each domain error
answers is the doors' one table (`outbound.doors.REFUSALS`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from outbound.domain.errors import OutboundError
from outbound.doors import error_body, json_error


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


async def outbound_error(_: Request, exc: OutboundError) -> JSONResponse:
    """A domain error, answered by the doors' one table."""
    return json_error(exc)


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A request FastAPI's models refused: 422 naming the first offending field."""
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    message = str(first.get("msg"))
    if first.get("type") == "extra_forbidden":
        allowed = _allowed_keys(request, loc[:-1])
        message = "unknown field" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    return JSONResponse(error_body("invalid", message, field), 422)


async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
    """An HTTP error of the framework's own (no such route, a method not allowed), as JSON."""
    if exc.status_code == 400:
        # A body FastAPI or Starlette could not parse at all (bytes that are not UTF-8 in a
        # JSON body, a broken multipart): bad input like any other, so 422 naming the body,
        # as an upload that is not valid JSON answers.
        return JSONResponse(error_body("invalid", f"cannot be parsed ({exc.detail})",
                                       "body"), 422)
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
        exc.status_code, "error")
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)
