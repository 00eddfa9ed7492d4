"""An account and what it is set up with, through any door: the account itself, its users
and their API tokens, its telephone network (provider settings), its phone numbers, and the
CRM webhooks that hear of its calls."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from outbound.domain.errors import InvalidInput, NotFound
from outbound.domain.hours import BusinessHours
from outbound.domain.phone import normalize_or_raise
from outbound.domain.settings import account_abandon_message
from outbound.store import Store
from outbound.telephony.settings import TwilioProvider, merge_secrets, public
from outbound.telephony.sim import profile_from_settings

# -- accounts, users and tokens ----------------------------------------------------------


def find_account(store: Store, ref: str | int) -> Any:
    """An account by id (the doors that know it) or unique name (the operator's command
    line): its name, zone, region, business hours and provider. NotFound otherwise."""
    return store.accounts.get(ref)


def create_account(store: Store, name: str, timezone: str, region: str, now: float, *,
                   business_hours: BusinessHours | None = None,
                   provider: dict[str, Any] | None = None) -> Any:
    """A new account: its business hours 09:00–19:00 on weekdays in `timezone` unless
    `business_hours` are given; its telephony settings `provider` (the simulated network
    with its defaults if not), stored as given."""
    account_id = store.accounts.create(name, timezone=timezone, region=region, now=now,
                                       business_hours=business_hours, provider=provider)
    return store.accounts.get(account_id)


def account_json(store: Store, account_id: int) -> dict[str, Any]:
    """What the account is set up with, as the doors show it. `abandon_message` None means
    the default wording (the account's name and each campaign's first caller ID); empty
    text means none: each customer-first campaign must then set its own."""
    account = store.accounts.get(account_id)
    return {"id": account.id, "name": account.name, "timezone": account.timezone,
            "region": account.region, "abandon_message": account.abandon_message}


def update_account(store: Store, account_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change the account's settings (today its `abandon_message`, at most 500 characters,
    or None for the default wording); the account as `account_json` shows it. Running
    campaigns take the new message when their settings are next re-read."""
    unknown = sorted(set(changes) - {"abandon_message"})
    if unknown:
        raise InvalidInput(unknown[0], "unknown setting (allowed: abandon_message)")
    store.accounts.get(account_id)  # NotFound first
    if "abandon_message" in changes:
        store.accounts.set_abandon_message(
            account_id, account_abandon_message(changes["abandon_message"]))
    return account_json(store, account_id)


def create_user(store: Store, account_id: int, email: str, role: str, now: float,
                password: str | None = None) -> int:
    """A user of the account (owner, admin or user); with a password, one who can sign in to
    the pages. Its id."""
    return store.users.create(account_id, email, role, now, password=password)


def create_token(store: Store, account_id: int, email: str, now: float) -> str:
    """A new API bearer token for the account's user: returned once, only its hash kept."""
    user = store.users.find(account_id, email)
    return store.users.create_token(user.id, now)


def revoke_tokens(store: Store, account_id: int, email: str, now: float,
                  token: str | None = None) -> int:
    """Revoke one token (`token`) or every token of the account's user: how many were."""
    user = store.users.find(account_id, email)  # NotFound for a user not in the account
    if token is not None:
        return int(store.users.revoke_token(token, now))
    return store.users.revoke_tokens(user.id, now)


# -- the telephone network and the numbers ------------------------------------------------


def provider(store: Store, account_id: int) -> dict[str, Any]:
    """The account's telephony settings without their secrets (only whether each is set)."""
    return public(store.accounts.get(account_id).provider)


def set_provider(store: Store, account_id: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Replace the account's telephony settings (already shaped by their `kind`); a secret
    left out keeps its stored value while the kind stays the same. The new settings, without
    their secrets."""
    stored = store.accounts.get(account_id).provider
    data = merge_secrets(settings, stored)
    if data["kind"] == "twilio" and not data.get("auth_token"):
        # Kept write-only, so optional in the body; but an account cannot dial Twilio without.
        raise InvalidInput("auth_token", "is required for Twilio (it is kept once given)")
    if data["kind"] == "sim":
        try:
            profile_from_settings(data)
        except InvalidInput as exc:
            raise (exc if exc.field == "handle_seconds" else exc.under("network")) from None
    store.accounts.set_provider(account_id, data)
    return public(data)


def twilio_settings(store: Store, account_id: int) -> TwilioProvider | None:
    """The account's Twilio settings, secrets included, when it dials through Twilio and has
    an auth token: what Twilio's signed webhooks are checked with. None otherwise (no such
    account included), so that a webhook for one says nothing about why it was refused."""
    try:
        settings = store.accounts.get(account_id).provider
    except NotFound:
        return None
    if settings.get("kind") != "twilio":
        return None
    try:
        config = TwilioProvider.model_validate(settings)
    except ValidationError:
        return None
    return config if config.auth_token else None


def numbers(store: Store, account_id: int) -> list[str]:
    """The account's caller-ID numbers (E.164), in the order they were added."""
    return store.accounts.numbers(account_id)


def add_numbers(store: Store, account_id: int, given: list[str]) -> list[str]:
    """Add numbers in any format (one bad number refuses them all); the account's numbers."""
    region = store.accounts.get(account_id).region
    store.accounts.add_numbers(account_id, [
        normalize_or_raise(n, region, f"numbers[{i}]") for i, n in enumerate(given)])
    return store.accounts.numbers(account_id)


# -- CRM webhooks ------------------------------------------------------------------------


def webhooks(store: Store, account_id: int) -> list[Any]:
    return store.webhooks.registered(account_id)


def add_webhook(store: Store, account_id: int, url: str, secret: str, now: float) -> int:
    """Register a URL for call results and voice-menu answers, signed with `secret`."""
    return store.webhooks.register(account_id, url, secret, now)


def remove_webhook(store: Store, account_id: int, webhook_id: int) -> None:
    store.webhooks.remove(account_id, webhook_id)
