"""The dashboard: server-rendered pages (Jinja2) with a little of our own JavaScript that polls
JSON for live numbers. Mounted beside the API by `outbound.app.create_app` (`install`, and the
error handlers here for the paths `is_web` claims); the pages sign in with a session cookie,
the API with bearer tokens, and both go through `outbound.service` for what they do."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outbound.domain.errors import OutboundError
from outbound.doors import error_body, json_error, message_of, refusal
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


def _message(exc: OutboundError) -> str:
    text = message_of(exc)
    return text[:1].upper() + text[1:]


def install(app: FastAPI) -> None:
    """Mount the pages, their static files and their sign-in limiter on `app`."""
    app.state.login_limiter = LoginLimiter()
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(login.router)
    app.include_router(wizard.router)  # before pages: /new is not a campaign id
    app.include_router(dnc.router)
    app.include_router(pages.router)


async def outbound_error(request: Request, exc: OutboundError) -> Response:
    """A domain error on a page: an error page (or JSON for the pages' polls) titled by the
    doors' one table; an error without a title there answers as the API does."""
    path = request.url.path
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
    answer = refusal(exc)
    if answer is None or answer.title is None:
        return json_error(exc)
    if path.endswith(".json"):
        return JSONResponse(error_body(answer.title.lower(), _message(exc)), answer.status)
    return page(request, "error.html", answer.status, title=answer.title,
                message=_message(exc))


async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
    """A path or query the pages' routes refuse (an id out of bounds): there is no such page."""
    return page(request, "error.html", 404, title="Not found", message="There is no such page.")


async def http_error(request: Request, exc: HTTPException) -> Response:
    """The framework's own HTTP errors (no such page, a method not allowed) as an error page."""
    titles = {404: ("Not found", "There is no such page."),
              405: ("Not allowed", "That page cannot be used this way.")}
    title, message = titles.get(exc.status_code, ("Error", str(exc.detail)))
    return page(request, "error.html", exc.status_code, title=title, message=message)
