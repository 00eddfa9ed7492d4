"""Who is looking at the dashboard, and what they may do: session cookies, CSRF tokens,
sign-in rate limits, and the same tenancy and role rules as the API.

A session is a random cookie value whose SHA-256 is stored (web_sessions), so logging out ends
it everywhere and any web server sharing the store knows it. The CSRF token of a session is an
HMAC of the session's cookie value: only a page served to that session can know it. The login
form, which comes before any session, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import deque
from typing import Annotated

from fastapi import Depends, Path, Request, Response

from outbound import service
from outbound.clock import monotonic
from outbound.domain.errors import Forbidden, NotFound, OutboundError
from outbound.doors import MAX_ID, clock_of, may_change, store_of
from outbound.store.users import Principal

SESSION_COOKIE = "outbound_session"
LOGIN_CSRF_COOKIE = "outbound_login_csrf"
SESSION_SECONDS = 12 * 3600  # a working day; then sign in again
CSRF_FIELD = "csrf_token"

WebAccountId = Annotated[int, Path(ge=1, le=MAX_ID)]
WebObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]


class LoginRequired(OutboundError):
    """No session, or an ended or expired one: the page sends the browser to /login."""


class CsrfRefused(Forbidden):
    """A state-changing request without the token of the session's own pages."""


class TooManyAttempts(OutboundError):
    """Sign-in refused before the password is even checked: too many failures lately."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")
        self.retry_after = retry_after


def secure_cookies(request: Request) -> bool:
    """Cookies carry Secure when the browser reached us over HTTPS (directly, or through a
    proxy uvicorn trusts for X-Forwarded-Proto)."""
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str,
               max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="lax", secure=secure_cookies(request))


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"outbound csrf", hashlib.sha256).hexdigest()


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def session(request: Request) -> tuple[Principal, str] | None:
    """The signed-in user and the session's cookie value, or None."""
    cached: tuple[Principal, str] | None = getattr(request.state, "web_session", None)
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token or len(token) > 200:
        return None
    principal = service.session_user(store_of(request), token, clock_of(request).now())
    if principal is None:
        return None
    request.state.web_session = (principal, token)
    return principal, token


def viewer(request: Request, account_id: WebAccountId) -> Principal:
    """Anyone signed in to the account may look; other accounts' pages do not exist."""
    found = session(request)
    if found is None:
        raise LoginRequired("sign in to see this page")
    principal, _ = found
    if principal.account_id != account_id:
        raise NotFound(f"no account {account_id}")
    return principal


async def _check_csrf(request: Request, principal: Principal) -> None:
    found = session(request)
    assert found is not None  # viewer() ran first
    form = await request.form()  # parsed once; the route reads it again from the cache
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(found[1])):
        raise CsrfRefused("this form is out of date or did not come from this site; reload "
                          "the page and try again")


async def editor(request: Request, principal: Annotated[Principal, Depends(viewer)]
                 ) -> Principal:
    """A change: the form must come from our own page (CSRF), and the user must be an Owner or
    Admin of the account."""
    await _check_csrf(request, principal)
    return may_change(principal, "your role ({role}) can look at campaigns but not change them; "
                                 "ask an owner or admin of the account")


Viewer = Annotated[Principal, Depends(viewer)]
Editor = Annotated[Principal, Depends(editor)]


class LoginLimiter:
    """At most `limit` failed sign-ins per e-mail and client address in any `window` seconds;
    past that, sign-in is refused without checking the password until the oldest failure
    leaves the window. Kept in the process (see docs/decisions.md)."""

    def __init__(self, limit: int = 5, window: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, email: str, address: str) -> None:
        """TooManyAttempts when this e-mail and address have used up their failures."""
        now = monotonic()
        with self._lock:
            failures = self._failures.get((email, address))
            if failures is None:
                return
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) >= self.limit:
                raise TooManyAttempts(max(1, int(failures[0] + self.window - now + 0.999)))

    def failed(self, email: str, address: str) -> None:
        now = monotonic()
        with self._lock:
            if len(self._failures) >= self.max_keys:
                self._forget_old(now)
            self._failures.setdefault((email, address), deque()).append(now)

    def succeeded(self, email: str, address: str) -> None:
        with self._lock:
            self._failures.pop((email, address), None)

    def _forget_old(self, now: float) -> None:
        for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window]:
            del self._failures[key]
        if len(self._failures) >= self.max_keys:  # a flood of fresh keys: start over
            self._failures.clear()


def manager_page(principal: Annotated[Principal, Depends(viewer)]) -> Principal:
    """A page that exists only to change things (the wizard): Owners and Admins."""
    return may_change(principal, "your role ({role}) can look at campaigns but not set them up; "
                                 "ask an owner or admin of the account")


ManagerPage = Annotated[Principal, Depends(manager_page)]
