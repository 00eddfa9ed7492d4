"""The FastAPI application: the Partner API under /api/v1, the dashboard's pages, health,
OpenAPI."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outbound import __version__, web
from outbound.api import errors, metrics, people, twilio_hooks
from outbound.api.errors import error_body
from outbound.api.routes import MAX_UPLOAD_BYTES, router
from outbound.clock import Clock, RealClock
from outbound.store import Store


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


def create_app(store: Store, clock: Clock | None = None, *,
               on_change: Callable[[], None] | None = None,
               on_provider_change: Callable[[int], None] | None = None,
               on_twilio: twilio_hooks.Deliver | None = None) -> FastAPI:
    """The API and the dashboard over `store`, on `clock` (the wall clock by default);
    `on_change` is called after a change the engine
    should see at once (a start, a pause, new contacts), `on_provider_change` with the account
    whose telephony settings changed, `on_twilio` with each checked Twilio webhook (all three
    from the API's worker threads)."""
    app = FastAPI(
        title="Outbound Partner API", version=__version__,
        openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None,
        description="Campaigns, contacts and the do-not-call list of an account. "
                    "Authenticate with `Authorization: Bearer <token>` "
                    "(`outbound admin create-token`).",
    )
    app.add_middleware(BodyLimit, limit=MAX_UPLOAD_BYTES)
    app.state.store = store
    app.state.clock = clock or RealClock()
    app.state.on_change = on_change
    app.state.on_provider_change = on_provider_change
    app.state.on_twilio = on_twilio
    errors.install(app)
    app.include_router(people.router)
    app.include_router(router)
    app.include_router(twilio_hooks.router)
    web.install(app)  # the dashboard's pages, after the API's own error handlers

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False, response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(store),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    return app
