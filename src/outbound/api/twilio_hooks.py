"""Twilio's webhooks: call progress, the answered call's TwiML, menu digits, recordings.

Every request is checked with the SDK's RequestValidator against the account's auth token and
the public URL Twilio was given (`callback_url`, which may sit behind a proxy: the URL this
server sees is not what Twilio signed). An unsigned or wrongly signed request answers 403 and
changes nothing. A checked request is handed to the account's Twilio adapter on the engine's
loop (`on_twilio`); the engine's guards make a retried or replayed webhook change nothing.
These routes are Twilio's, not the Partner API's: they stay out of the OpenAPI document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import SIGNATURE_HEADER, RequestValidator

from outbound import service
from outbound.api.auth import AccountId, ObjectId
from outbound.doors import store_of
from outbound.store import Store
from outbound.telephony.port import Leg
from outbound.telephony.settings import TwilioProvider
from outbound.telephony.twiml import (
    HookKind,
    Webhook,
    answer_twiml,
    empty_twiml,
    goodbye_twiml,
    hook_url,
    recordings_prefix,
)

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

Deliver = Callable[[int, Webhook], None]
TWIML = "application/xml"
MAX_FIELDS = 200  # Twilio sends a few dozen


def _forbidden() -> Response:
    # Says nothing about why: whoever is guessing learns nothing.
    return Response("forbidden", status_code=403, media_type="text/plain")


@router.post("/twilio/{account_id}/{kind}/{attempt_id}/{leg}")
async def twilio_hook(account_id: AccountId, kind: HookKind, attempt_id: ObjectId, leg: Leg,
                      request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    params: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            return _forbidden()
        params[key] = value
    signature = request.headers.get(SIGNATURE_HEADER, "")
    query = request.url.query
    # The store is read and written off the loop: the engine runs on it.
    return await run_in_threadpool(_handle, store_of(request),
                                   getattr(request.app.state, "on_twilio", None), account_id,
                                   kind, attempt_id, leg, params, form, signature, query)


def _handle(store: Store, deliver: Deliver | None, account_id: int, kind: HookKind,
            attempt_id: int, leg: Leg, params: dict[str, str], form: Any, signature: str,
            query: str) -> Response:
    config = service.twilio_settings(store, account_id)
    if config is None or not signature:
        return _forbidden()
    assert config.auth_token is not None
    url = hook_url(config.callback_url, account_id, kind, attempt_id, leg)
    if query:
        url = f"{url}?{query}"
    if not RequestValidator(config.auth_token).validate(url, form, signature):
        log.info("refused a Twilio webhook for account %s with a wrong signature", account_id)
        return _forbidden()
    if params.get("AccountSid") not in (None, config.account_sid):
        return _forbidden()
    if not service.is_attempt_of(store, account_id, attempt_id):
        return Response(empty_twiml(), status_code=404, media_type=TWIML)
    if kind is HookKind.RECORDING:
        _attach_recording(store, config, account_id, attempt_id, params)
    if deliver is not None:
        deliver(account_id, Webhook(kind, attempt_id, leg, params))
    if kind is HookKind.ANSWER:
        return Response(answer_twiml(account_id, attempt_id, leg, params.get("AnsweredBy")),
                        media_type=TWIML)
    if kind is HookKind.GATHER:
        return Response(goodbye_twiml(), media_type=TWIML)
    return Response(empty_twiml(), media_type=TWIML)


def _attach_recording(store: Store, config: TwilioProvider, account_id: int, attempt_id: int,
                      params: dict[str, str]) -> None:
    """Keep the recording's URL on its attempt, once. Only a URL under the account's own
    recordings is kept: the recordings endpoint fetches it with the account's credentials."""
    url = params.get("RecordingUrl", "")
    if params.get("RecordingStatus", "completed") != "completed" or not url.startswith(
            recordings_prefix(config)):
        return
    service.attach_recording(store, account_id, attempt_id, url)
