"""The Partner API's part of the app: its routers under /api/v1 and Twilio's webhooks, and the
token cache they share. `outbound.app.create_app` mounts it beside the pages."""

from __future__ import annotations

from fastapi import FastAPI

from outbound.api import people, twilio_hooks
from outbound.api.auth import TokenCache
from outbound.api.routes import router


def install(app: FastAPI) -> None:
    """Add the API's routes to `app`, with a token cache of its own (see `TokenCache`)."""
    app.state.tokens = TokenCache()
    app.include_router(people.router)
    app.include_router(router)
    app.include_router(twilio_hooks.router)
