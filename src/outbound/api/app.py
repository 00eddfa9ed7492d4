"""The FastAPI application: the Partner API under /api/v1, health, OpenAPI."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from outbound import __version__
from outbound.api import errors, metrics, people
from outbound.api.routes import router
from outbound.store import Store


def create_app(store: Store, on_change: Callable[[], None] | None = None) -> FastAPI:
    """The API over `store`; `on_change` is called after a change the engine should see at
    once (a start, a pause, new contacts)."""
    app = FastAPI(
        title="Outbound Partner API", version=__version__,
        openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None,
        description="Campaigns, contacts and the do-not-call list of an account. "
                    "Authenticate with `Authorization: Bearer <token>` "
                    "(`outbound admin create-token`).",
    )
    app.state.store = store
    app.state.on_change = on_change
    errors.install(app)
    app.include_router(people.router)
    app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False, response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(store),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    return app
