"""An account's provider settings: what `PUT …/provider` accepts and what the account stores.

One model per kind, told apart by `kind`. Secrets (`password`, `auth_token`) are write-only:
`public()` drops them, and a PUT that leaves one out keeps the stored value when the kind is
unchanged, so a settings page can save other fields without asking for the secret again.
Nothing here imports a vendor library; the adapters read these settings when they are built.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SECRET_KEYS = ("password", "auth_token")

CarrierRate = Annotated[float, Field(gt=0, le=1000)]  # calls per second, all campaigns together


class SimProvider(BaseModel):
    """The simulated network: the scenario file's [network] keys and per-department handle
    times."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["sim"]
    network: dict[str, Any] = Field(default_factory=dict)
    handle_seconds: dict[str, list[float]] = Field(default_factory=dict)
    calls_per_second: CarrierRate | None = None


class SipProvider(BaseModel):
    """A SIP trunk: INVITEs go to `proxy`; digest credentials and registration are optional."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    kind: Literal["sip"]
    # sip:HOST or sip:HOST:PORT (no sips: the adapter speaks UDP or TCP, not TLS)
    proxy: Annotated[str, Field(pattern=r"^sip:(\[[0-9a-fA-F:.]+\]|[^\s@:;\[\]]+)(:\d{1,5})?$",
                                max_length=300)]
    transport: Literal["udp", "tcp"] = "udp"
    username: Annotated[str | None, Field(max_length=200)] = None
    password: Annotated[str | None, Field(max_length=200)] = None
    registration: bool = Field(False, alias="register")  # REGISTER with the trunk first
    domain: Annotated[str | None, Field(max_length=300)] = None
    p_asserted_identity: bool = False
    calls_per_second: CarrierRate | None = None


class TwilioProvider(BaseModel):
    """Twilio's REST API; `callback_url` is where Twilio reaches this server's webhooks."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["twilio"]
    account_sid: Annotated[str, Field(pattern=r"^AC[0-9a-fA-F]{32}$")]
    auth_token: Annotated[str | None, Field(min_length=8, max_length=200)] = None
    callback_url: Annotated[str, Field(pattern=r"^https?://\S+$", max_length=500)]
    api_url: Annotated[str | None, Field(pattern=r"^https?://\S+$", max_length=500)] = None
    machine_detection: bool = False
    calls_per_second: CarrierRate = 1.0


ProviderSettings = Annotated[SimProvider | SipProvider | TwilioProvider,
                             Field(discriminator="kind")]


def merge_secrets(new: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """`new` with the stored secrets it leaves out, when it keeps the stored kind."""
    if new.get("kind") != stored.get("kind"):
        return new
    merged = dict(new)
    for key in SECRET_KEYS:
        if merged.get(key) is None and stored.get(key) is not None:
            merged[key] = stored[key]
    return merged


def public(config: dict[str, Any]) -> dict[str, Any]:
    """The settings as anyone who may read them sees them: secrets left out, their presence
    shown."""
    out = {k: v for k, v in config.items() if k not in SECRET_KEYS}
    for key in SECRET_KEYS:
        if key in config:
            out[f"{key}_set"] = config[key] is not None
    return out
