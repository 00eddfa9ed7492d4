"""Outbound's error tree: every failure a user can see is one of these.

    OutboundError
    ├── InvalidInput            bad input; names the field and what is allowed
    ├── InvalidTransition       a lifecycle action not allowed from the current status
    ├── NotFound                a named thing does not exist (in this account)
    ├── CannotStart             a campaign lacks what it needs to dial (says what)
    ├── ProviderError           the telephone network refused or failed a request
    ├── Unauthorized            no valid credentials: no bearer token, or an unknown one
    ├── Forbidden               the caller's role may look but not change this
    └── TooLarge                an upload is over the size limit
"""

from __future__ import annotations


class OutboundError(Exception):
    """Root of every error Outbound raises on purpose."""


class InvalidInput(OutboundError):
    """A value is outside what is allowed. `field` names it, `message` says what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

    def under(self, prefix: str) -> InvalidInput:
        """The same error with its field placed under `prefix` (e.g. `campaign.pacing`)."""
        return InvalidInput(f"{prefix}.{self.field}" if self.field else prefix, self.message)


class InvalidTransition(OutboundError):
    """The campaign's status does not allow the action asked for."""


class NotFound(OutboundError):
    """The thing asked for does not exist, or not in this account."""


class CannotStart(OutboundError):
    """The campaign misses something it needs to dial; the message says what."""


class ProviderError(OutboundError):
    """The telephone network refused or failed a request."""


class Unauthorized(OutboundError):
    """No valid bearer token."""


class Forbidden(OutboundError):
    """The caller's role does not allow this."""


class TooLarge(OutboundError):
    """The upload is over the limit."""
