"""Provider settings: one model per kind, secrets write-only, a PUT without a secret keeps it."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from outbound.telephony.settings import ProviderSettings, merge_secrets, public

SETTINGS: TypeAdapter[object] = TypeAdapter(ProviderSettings)
SID = "AC" + "0123456789abcdef" * 2


def parsed(data: dict[str, object]) -> dict[str, object]:
    model = SETTINGS.validate_python(data)
    return model.model_dump(by_alias=True)  # type: ignore[attr-defined]


def test_each_kind_parses_with_its_own_keys() -> None:
    assert parsed({"kind": "sim"})["network"] == {}
    sip = parsed({"kind": "sip", "proxy": "sip:127.0.0.1:5070", "register": True})
    assert sip["register"] is True and sip["transport"] == "udp"
    twilio = parsed({"kind": "twilio", "account_sid": SID, "auth_token": "secret-token",
                     "callback_url": "https://dialer.example.com"})
    assert twilio["calls_per_second"] == 1.0


@pytest.mark.parametrize("data", [
    {"kind": "carrier-pigeon"},
    {"kind": "sip", "proxy": "127.0.0.1:5070"},  # not a SIP URI
    {"kind": "sip", "proxy": "sips:127.0.0.1:5061"},  # TLS: not spoken by the SIP adapter
    {"kind": "sip", "proxy": "sip:acme@127.0.0.1"},  # a user part: the proxy is a host
    {"kind": "sip", "proxy": "sip:h", "transport": "sctp"},
    {"kind": "sim", "proxy": "sip:h"},  # another kind's key
    {"kind": "twilio", "account_sid": "AC123", "callback_url": "https://x"},
    {"kind": "twilio", "account_sid": SID, "callback_url": "https://x", "calls_per_second": 0},
])
def test_bad_settings_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SETTINGS.validate_python(data)


def test_secrets_are_never_shown_only_whether_they_are_set() -> None:
    shown = public({"kind": "sip", "proxy": "sip:h", "username": "u", "password": "pw"})
    assert "pw" not in shown.values() and "password" not in shown
    assert shown["password_set"] is True and shown["username"] == "u"
    assert public({"kind": "sim", "network": {}}) == {"kind": "sim", "network": {}}


def test_a_change_without_the_secret_keeps_the_stored_one_for_the_same_kind() -> None:
    stored = {"kind": "twilio", "account_sid": SID, "auth_token": "old-token"}
    kept = merge_secrets({"kind": "twilio", "auth_token": None}, stored)
    assert kept["auth_token"] == "old-token"
    assert merge_secrets({"kind": "twilio", "auth_token": "new-token"}, stored)[
        "auth_token"] == "new-token"
    assert merge_secrets({"kind": "sip", "password": None}, stored)["password"] is None
