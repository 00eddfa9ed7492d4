"""Who is calling, and what they may do: bearer tokens, roles, tenancy.

Another account's resources answer 404 (their existence is never revealed); a User's attempt
to change anything answers 403; a missing or unknown token answers 401.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from outbound import service
from outbound.clock import monotonic
from outbound.domain.errors import NotFound, Unauthorized
from outbound.doors import MAX_ID, StoreDep, may_change
from outbound.store.users import Principal

AccountId = Annotated[int, Path(ge=1, le=MAX_ID)]
ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]

TOKEN_CACHE_SECONDS = 2.0
"""How long a checked token is taken on trust for reads (see `TokenCache`)."""


class TokenCache:
    """Tokens this app checked in the last `ttl` seconds, by their SHA-256 (one cache per app,
    on `app.state`, rather than a module global that every app in a process would share).

    A dashboard polls every second or two; without this each poll is a database read before
    any work. The price: a token revoked by `outbound admin revoke-token` (another process)
    still works here for up to `ttl` seconds — for reads only: a request that changes anything
    always checks the token in the database. Unknown tokens are never cached."""

    def __init__(self, ttl: float = TOKEN_CACHE_SECONDS, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._found: dict[bytes, tuple[float, Principal]] = {}

    def get(self, token: str) -> Principal | None:
        hit = self._found.get(_key(token))
        if hit is None or monotonic() >= hit[0]:
            return None
        return hit[1]

    def put(self, token: str, found: Principal) -> None:
        if len(self._found) >= self.size:
            self._found.clear()
        self._found[_key(token)] = (monotonic() + self.ttl, found)

    def clear(self) -> None:
        self._found.clear()


def _key(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def tokens_of(request: Request) -> TokenCache:
    """The token cache of the app serving the request (one per app, put there by
    `outbound.api.app.install`)."""
    tokens: TokenCache = request.app.state.tokens
    return tokens


async def principal(request: Request, store: StoreDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required (Authorization: Bearer …)")
    reads = request.method in ("GET", "HEAD")
    tokens = tokens_of(request)
    found = tokens.get(token) if reads else None
    if found is None:
        found = await run_in_threadpool(service.authenticate, store, token)
        if found is None:
            raise Unauthorized("the bearer token is unknown or revoked")
        tokens.put(token, found)
    return found


Caller = Annotated[Principal, Depends(principal)]


async def reader(account_id: AccountId, caller: Caller) -> Principal:
    """Anyone of the account may read; nobody else learns it exists."""
    if caller.account_id != account_id:
        raise NotFound(f"no account {account_id}")
    return caller


async def manager(account_id: AccountId, caller: Caller) -> Principal:
    """Owners and Admins of the account may change things."""
    await reader(account_id, caller)
    return may_change(caller, "a {role} may read but not change anything; ask an owner or admin")


Reader = Annotated[Principal, Depends(reader)]
Manager = Annotated[Principal, Depends(manager)]
