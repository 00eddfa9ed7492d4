"""Which adapter serves an account, from the provider settings the account stores.

Each kind names a module with a `build(context, config) -> Provider` function. Modules are
imported on first use, so a vendor library that is missing (pjsua2, say) matters only to the
accounts that use it, and its absence is reported as bad settings, not as a crash.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outbound.clock import Clock
from outbound.domain.errors import InvalidInput
from outbound.telephony.port import EventSink, Provider

ADAPTERS = {
    "sim": "outbound.telephony.sim",
    "sip": "outbound.telephony.sip.adapter",
    "twilio": "outbound.telephony.twilio",
}


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What every adapter is built with, besides its own settings."""

    account_id: int
    clock: Clock
    sink: EventSink  # where call events go; safe to call from the engine's loop only
    recordings_dir: Path
    seed: int = 0


def build_provider(context: ProviderContext, config: dict[str, Any]) -> Provider:
    kind = config.get("kind", "sim")
    module_name = ADAPTERS.get(kind)
    if module_name is None:
        raise InvalidInput("provider.kind",
                           f"must be one of {', '.join(ADAPTERS)} (got {kind!r})")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput("provider.kind",
                           f"the {kind} adapter is not available here: {exc}") from None
    provider: Provider = module.build(context, config)
    return provider
