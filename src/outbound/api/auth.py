"""Who is calling, and what they may do: bearer tokens, roles, tenancy.

Another account's resources answer 404 (their existence is never revealed); a User's attempt
to change anything answers 403; a missing or unknown token answers 401.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from outbound.api.errors import Forbidden, Unauthorized
from outbound.domain.errors import NotFound
from outbound.store import Store
from outbound.store.users import Principal

MAX_ID = 2**63 - 1
"""The largest id a store can hold (a signed 64-bit integer on SQLite and PostgreSQL): a
larger one in a path or query answers 422 instead of overflowing the database driver."""

AccountId = Annotated[int, Path(ge=1, le=MAX_ID)]
ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(store_of)]


def principal(request: Request, store: StoreDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required (Authorization: Bearer …)")
    found = store.users.authenticate(token.strip())
    if found is None:
        raise Unauthorized("the bearer token is unknown or revoked")
    return found


Caller = Annotated[Principal, Depends(principal)]


def reader(account_id: AccountId, caller: Caller) -> Principal:
    """Anyone of the account may read; nobody else learns it exists."""
    if caller.account_id != account_id:
        raise NotFound(f"no account {account_id}")
    return caller


def manager(account_id: AccountId, caller: Caller) -> Principal:
    """Owners and Admins of the account may change things."""
    reader(account_id, caller)
    if not caller.manages:
        raise Forbidden(f"a {caller.role} may read but not change anything; ask an owner or "
                        "admin")
    return caller


Reader = Annotated[Principal, Depends(reader)]
Manager = Annotated[Principal, Depends(manager)]
