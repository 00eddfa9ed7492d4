"""Who is asking, through the HTTP doors: an API bearer token or a dashboard session cookie
turned into a Principal, and signing in to and out of the pages.

Tokens and session cookies are kept only as hashes (store/users.py); the doors decide what a
Principal may do (doors.may_change).
"""

from __future__ import annotations

from outbound.store import Store
from outbound.store.users import Principal


def authenticate(store: Store, token: str) -> Principal | None:
    """The user an API bearer token stands for, or None (unknown or revoked)."""
    return store.users.authenticate(token)


def check_login(store: Store, email: str, password: str) -> list[Principal]:
    """Every user (one per account) with this e-mail whose password this is; the same work
    whether or not the e-mail is known."""
    return store.users.check_login(email, password)


def start_session(store: Store, user_id: int, now: float, seconds: float) -> str:
    """A new dashboard session for the user, lasting `seconds`: its cookie value, returned
    once."""
    return store.users.start_session(user_id, now, seconds)


def session_user(store: Store, token: str, now: float) -> Principal | None:
    """The user a session cookie stands for at `now`, or None (unknown, ended or expired)."""
    return store.users.session(token, now)


def end_session(store: Store, token: str) -> None:
    """Sign out: the session ends everywhere that shares the store."""
    store.users.end_session(token)
