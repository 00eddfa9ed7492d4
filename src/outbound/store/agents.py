"""Agents as the store sees them: who is free to take a call.

One definition of "free", used by the engine's reservations and counts and by the dashboard's
figures, so that the page never shows an agent free that the dialer would not give a call.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_

from outbound.store.schema import agents


def free(account_id: Any) -> ColumnElement[bool]:
    """An agent of the account who is available and on no call: `account_id` is a value or a
    bind parameter."""
    return and_(agents.c.account_id == account_id, agents.c.availability == "available",
                agents.c.busy_attempt_id.is_(None))
