"""Signing in and out of the dashboard."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from outbound import service
from outbound.doors import clock_of, store_of
from outbound.web.auth import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    CsrfRefused,
    LoginLimiter,
    csrf_token,
    new_login_csrf,
    session,
    set_cookie,
)
from outbound.web.forms import text
from outbound.web.pages import campaigns_url
from outbound.web.render import page

router = APIRouter(include_in_schema=False)


def _safe_next(target: str) -> str | None:
    """Only a path on this site: never another host (an open redirect)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and len(target) < 2000:
        return target
    return None


def login_page(request: Request, *, status: int = 200, error: str | None = None,
               email: str = "", next_url: str = "", accounts: list[tuple[int, str]] | None = None
               ) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_csrf()
    response = page(request, "login.html", status, error=error, email=email,
                    next_url=next_url, login_csrf=token, accounts=accounts or [],
                    title="Sign in")
    set_cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("/")
def home(request: Request) -> Response:
    found = session(request)
    if found is None:
        return RedirectResponse("/login", 303)
    return RedirectResponse(campaigns_url(found[0].account_id), 303)


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    found = session(request)
    if found is not None:
        return RedirectResponse(_safe_next(next) or campaigns_url(found[0].account_id), 303)
    return login_page(request, next_url=_safe_next(next) or "")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise CsrfRefused("the sign-in form is out of date or did not come from this site; "
                          "reload it and try again")
    email = text(form, "email").lower()
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    next_url = _safe_next(text(form, "next")) or ""
    limiter: LoginLimiter = request.app.state.login_limiter
    address = request.client.host if request.client else "unknown"
    limiter.check(email, address)  # TooManyAttempts: 429, before any password is checked
    store = store_of(request)
    matches = service.check_login(store, email, password) if email and password else []
    chosen = text(form, "account")
    if chosen.isdigit():
        matches = [m for m in matches if m.account_id == int(chosen)]
    if not matches:
        limiter.failed(email, address)
        return login_page(request, status=401, email=email, next_url=next_url,
                          error="That e-mail and password do not match. Check both and try "
                                "again.")
    if len(matches) > 1:
        accounts = [(m.account_id, str(service.find_account(store, m.account_id).name))
                    for m in matches]
        return login_page(request, email=email, next_url=next_url, accounts=accounts,
                          error="This e-mail belongs to more than one account: choose one and "
                                "enter the password again.")
    limiter.succeeded(email, address)
    user = matches[0]
    token = service.start_session(store, user.user_id, clock_of(request).now(),
                                  SESSION_SECONDS)
    target = next_url if next_url.startswith(f"/crm/settings/calling/{user.account_id}/") \
        else campaigns_url(user.account_id)
    response = RedirectResponse(target, 303)
    set_cookie(response, request, SESSION_COOKIE, token, max_age=SESSION_SECONDS)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    found = session(request)
    if found is not None:
        form = await request.form()
        sent = form.get(CSRF_FIELD)
        if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(found[1])):
            raise CsrfRefused("this form is out of date or did not come from this site; "
                              "reload the page and try again")
        service.end_session(store_of(request), found[1])
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response
