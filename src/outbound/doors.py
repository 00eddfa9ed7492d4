"""What the two HTTP doors (the Partner API and the dashboard's pages) share, so that neither
imports the other: the store and the clock a request works with, and the bounds of an id.

Both are put on the app by `outbound.app.create_app`, from the composition root.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from outbound.clock import Clock
from outbound.store import Store

MAX_ID = 2**63 - 1
"""The largest id a store can hold (a signed 64-bit integer on SQLite and PostgreSQL): a
larger one in a path or query answers 422 instead of overflowing the database driver."""


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def clock_of(request: Request) -> Clock:
    """The clock of the process serving the request: the time of every change it records."""
    clock: Clock = request.app.state.clock
    return clock


StoreDep = Annotated[Store, Depends(store_of)]
ClockDep = Annotated[Clock, Depends(clock_of)]
