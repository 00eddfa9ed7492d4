"""The HTTP app of `outbound serve`: the Partner API under /api/v1 and the dashboard's pages on
one FastAPI app, so that neither door imports the other; with what belongs to the process
rather than to a door (the body limit, /healthz, /metrics) and each error sent to its door."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outbound import __version__, web
from outbound.api import errors, metrics, twilio_hooks
from outbound.api.app import install as install_api
from outbound.clock import Clock, RealClock
from outbound.domain.errors import OutboundError
from outbound.doors import MAX_UPLOAD_BYTES, error_body
from outbound.store import Store

E = TypeVar("E", bound=Exception)
Handler = Callable[[Request, E], Awaitable[Response]]


class BodyLimit:
    """Refuse a request body over `limit` bytes with 413 while it streams in, whether or not
    it announced its length: an upload is never read whole before it is refused."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send, int(declared))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(send, seen)

    async def _refuse(self, send: Send, size: int) -> None:
        body = json.dumps(error_body("too_large", f"the upload is over {self.limit:,} bytes "
                                     f"(at least {size:,}); split it")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def _by_door(app: FastAPI, kind: type[E], api_side: Handler[E], web_side: Handler[E]) -> None:
    """Answer `kind` as the door whose path the request took: the pages as pages, the rest
    (/api/, /healthz, /metrics) as the API's JSON."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, kind)  # Starlette hands each handler only its own kind
        door = web_side if web.is_web(request.url.path) else api_side
        return await door(request, exc)

    app.add_exception_handler(kind, handle)


def create_app(store: Store, clock: Clock | None = None, *,
               on_change: Callable[[], None] | None = None,
               on_provider_change: Callable[[int], None] | None = None,
               on_twilio: twilio_hooks.Deliver | None = None) -> FastAPI:
    """The API and the dashboard over `store`, on `clock` (the wall clock by default);
    `on_change` is called after a change the engine should see at once (a start, a pause, new
    contacts), `on_provider_change` with the account whose telephony settings changed,
    `on_twilio` with each checked Twilio webhook (all three from the API's worker threads)."""
    app = FastAPI(
        title="Outbound Partner API", version=__version__,
        openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None,
        description="Campaigns, contacts and the do-not-call list of an account. "
                    "Authenticate with `Authorization: Bearer <token>` "
                    "(`outbound admin create-token`).",
    )
    # Added first, so the pages' SecurityHeaders (added by web.install) wrap its 413 too.
    app.add_middleware(BodyLimit, limit=MAX_UPLOAD_BYTES)
    app.state.store = store
    app.state.clock = clock or RealClock()
    app.state.on_change = on_change
    app.state.on_provider_change = on_provider_change
    app.state.on_twilio = on_twilio
    install_api(app)
    web.install(app)
    _by_door(app, OutboundError, errors.outbound_error, web.outbound_error)
    _by_door(app, RequestValidationError, errors.invalid_request, web.invalid_request)
    _by_door(app, HTTPException, errors.http_error, web.http_error)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False, response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(store),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    return app
