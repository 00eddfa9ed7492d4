"""Call recordings through any door: an attempt's recording as a value the door serves, a
file this server wrote or a stream fetched from the carrier that keeps it; and the carrier's
word that a recording is ready (Twilio's webhook door)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from outbound.domain.errors import NotFound
from outbound.store import Store

MAX_RECORDING_BYTES = 200 * 1024 * 1024  # a recording fetched from the carrier, at most


@dataclass(frozen=True, slots=True)
class Recording:
    """An attempt's recorded audio: exactly one of `path` and `chunks` is set."""

    file_name: str  # what a browser saving it calls it
    media_type: str
    path: str | None = None  # a file this server wrote
    chunks: Iterator[bytes] | None = None  # the audio as the carrier sends it, once


def recording(store: Store, account_id: int, attempt_id: int) -> Recording:
    """An attempt's recording, if the attempt is this account's and was recorded: a file this
    server wrote, or one Twilio keeps, fetched with the account's credentials (which the
    client never sees)."""
    row = store.attempts.recording(attempt_id)
    if row is None or not row.recording or (
            store.campaigns.get(row.campaign_id).account_id != account_id):
        raise NotFound(f"no recording {attempt_id}")
    name = f"recording-{attempt_id}.wav"
    if not row.recording.startswith(("https://", "http://")):
        return Recording(name, "audio/wav", path=row.recording)
    provider = store.accounts.get(account_id).provider
    if provider.get("kind") != "twilio":
        raise NotFound(f"recording {attempt_id} is kept by a provider the account no longer "
                       "uses")
    # The REST client is imported by the first request that needs it, not by every CLI start.
    from outbound.telephony.twilio import fetch_recording  # noqa: PLC0415

    return Recording(name, "audio/wav",
                     chunks=fetch_recording(provider, row.recording, MAX_RECORDING_BYTES))


def is_attempt_of(store: Store, account_id: int, attempt_id: int) -> bool:
    """Whether the call attempt is one of the account's campaigns'."""
    return store.attempts.belongs_to(account_id, attempt_id)


def attach_recording(store: Store, account_id: int, attempt_id: int, url: str) -> None:
    """Keep the URL of a recording the carrier holds on the account's attempt, once: a
    replayed callback, or one for an attempt that has its recording already, changes nothing.
    The caller has checked that the URL is under the account's own recordings: `recording`
    fetches it with the account's credentials."""
    store.attempts.attach_recording(account_id, attempt_id, url)
