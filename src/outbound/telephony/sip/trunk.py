"""A SIP trunk's settings as the phone dials through it, and the addresses it dials.

Plain data and rules, no pjsua2: importable and testable where the SIP library is not
installed.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from outbound.domain.errors import InvalidInput, ProviderError
from outbound.telephony.settings import SipProvider

_PROXY = re.compile(r"^sip:(?P<host>\[[0-9a-fA-F:.]+\]|[^:;\[\]]+)(?::(?P<port>\d{1,5}))?$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SIP_URI = re.compile(r"^sips?:[^\s<>\"]+$")


@dataclass(frozen=True, slots=True)
class Trunk:
    """A trunk as the phone dials through it."""

    host: str
    port: int
    transport: str  # "udp" | "tcp"
    username: str | None
    password: str | None = field(repr=False)  # never in a log line
    register: bool
    domain: str | None
    p_asserted_identity: bool
    local_ip: str  # our address on the route to the proxy: where RTP and Contact point

    @classmethod
    def from_settings(cls, settings: SipProvider) -> Trunk:
        match = _PROXY.match(settings.proxy)
        if match is None:
            raise InvalidInput("proxy", "must be sip:HOST or sip:HOST:PORT (sips: is not "
                                        f"supported: no TLS here) (got {settings.proxy!r})")
        port = int(match["port"] or 5060)
        if not 0 < port < 65536:
            raise InvalidInput("proxy", f"port must be 1-65535 (got {port})")
        host = match["host"]
        return cls(host, port, settings.transport, settings.username, settings.password,
                   settings.registration, settings.domain, settings.p_asserted_identity,
                   _local_ip(host.strip("[]"), port))

    def uri(self, user: str) -> str:
        """`sip:user@proxy`, the way to reach `user` through the trunk."""
        tail = ";transport=tcp" if self.transport == "tcp" else ""
        return f"sip:{user}@{self.host}:{self.port}{tail}"

    def identity(self, user: str) -> str:
        """Our identity as `user` (the caller ID) in From and P-Asserted-Identity."""
        return f"<sip:{user}@{self.domain or self.host}>"

    @property
    def registrar(self) -> str:
        """Where REGISTER goes: the proxy (the address of record is user@domain)."""
        tail = ";transport=tcp" if self.transport == "tcp" else ""
        return f"sip:{self.host}:{self.port}{tail}"

    def customer_uri(self, number: str) -> str:
        """Where a customer is dialed: their E.164 number at the proxy."""
        if not _E164.match(number):
            raise ProviderError(f"cannot dial {number!r}: not an E.164 number")
        return self.uri(number)

    def agent_uri(self, address: str) -> str:
        """Where an agent is dialed: their own SIP URI, or their number through the trunk."""
        if _SIP_URI.match(address):
            return address
        if _E164.match(address):
            return self.uri(address)
        raise ProviderError(f"cannot dial the agent at {address!r}: give the agent a sip_uri "
                            "or an E.164 phone number")


def _local_ip(host: str, port: int) -> str:
    """The local address the system routes `host` through (no packet is sent)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((host, port))
            return str(probe.getsockname()[0])
    except OSError as exc:
        raise ProviderError(f"cannot reach the SIP proxy {host}:{port}: {exc}") from exc


def parse_settings(config: dict[str, Any]) -> SipProvider:
    """The account's stored provider settings as SIP settings; InvalidInput names the field."""
    try:
        return SipProvider.model_validate(config)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "provider"
        raise InvalidInput(where, error["msg"]) from None
