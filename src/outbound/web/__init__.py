"""The dashboard: server-rendered pages (Jinja2) with a little of our own JavaScript that polls
JSON for live numbers. Mounted on the API's app by `install`; the pages sign in with a session
cookie, the API with bearer tokens, and both go through `outbound.service` for what they do."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outbound.api.errors import Forbidden, error_body
from outbound.domain.errors import (
    CannotStart,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OutboundError,
)
from outbound.web import dnc, login, pages, wizard
from outbound.web.auth import LoginLimiter, LoginRequired, TooManyAttempts
from outbound.web.render import page

STATIC = Path(__file__).parent / "static"
_NOT_WEB = ("/api/", "/healthz", "/metrics")

# No inline script or style anywhere: every page's code and look come from /static.
_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
     b"base-uri 'none'; object-src 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def is_web(path: str) -> bool:
    return not path.startswith(_NOT_WEB)


class SecurityHeaders:
    """The dashboard's responses carry a strict CSP and their friends; pages and their JSON
    are never cached (they show live, per-user data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web(scope["path"]):
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(_HEADERS)
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


_STATUS: list[tuple[type[OutboundError], int, str]] = [
    (NotFound, 404, "Not found"),
    (Forbidden, 403, "Not allowed"),
    (InvalidTransition, 409, "Not possible now"),
    (CannotStart, 409, "Cannot start"),
    (InvalidInput, 422, "Not valid"),
]


def _message(exc: Exception) -> str:
    text = exc.message if isinstance(exc, InvalidInput) else str(exc)
    return text[:1].upper() + text[1:]


async def _delegate(handler: Any, request: Request, exc: Exception) -> Response:
    """Hand an error to the API's own handler (sync or async)."""
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    assert isinstance(result, Response)
    return result


def install(app: FastAPI) -> None:
    """Mount the pages, their static files and their error pages on `app`."""
    app.state.login_limiter = LoginLimiter()
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(login.router)
    app.include_router(wizard.router)  # before pages: /new is not a campaign id
    app.include_router(dnc.router)
    app.include_router(pages.router)

    api_error = app.exception_handlers[OutboundError]
    api_invalid = app.exception_handlers[RequestValidationError]
    api_http = app.exception_handlers[HTTPException]

    async def outbound_error(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if not is_web(path):
            return await _delegate(api_error, request, exc)
        if isinstance(exc, LoginRequired):
            if path.endswith(".json"):
                return JSONResponse(error_body("unauthorized", str(exc)), 401)
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
        if isinstance(exc, TooManyAttempts):
            response = login.login_page(request, status=429, error=(
                f"Too many failed sign-ins for this e-mail from your address. Wait "
                f"{exc.retry_after} seconds, then try again."))
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        for kind, status, title in _STATUS:
            if isinstance(exc, kind):
                if path.endswith(".json"):
                    return JSONResponse(error_body(title.lower(), _message(exc)), status)
                return page(request, "error.html", status, title=title,
                            message=_message(exc))
        return await _delegate(api_error, request, exc)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        if not is_web(request.url.path):
            return await _delegate(api_invalid, request, exc)
        return page(request, "error.html", 404, title="Not found",
                    message="There is no such page.")

    async def http_error(request: Request, exc: Exception) -> Response:
        if not is_web(request.url.path) or not isinstance(exc, HTTPException):
            return await _delegate(api_http, request, exc)
        titles = {404: ("Not found", "There is no such page."),
                  405: ("Not allowed", "That page cannot be used this way.")}
        title, message = titles.get(exc.status_code, ("Error", str(exc.detail)))
        return page(request, "error.html", exc.status_code, title=title, message=message)

    app.add_exception_handler(OutboundError, outbound_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
