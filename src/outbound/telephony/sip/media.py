"""A call's audio in pjsua2's conference bridge: its recorder, the prompts played to it, and
the connections that join two legs, all made on the phone's thread.

A bridged call's two legs hear each other through the bridge, which also feeds the
customer's recording; the agent leg of a bridge records into its customer's recorder.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import pjsua2 as pj

from outbound.telephony.sip.native import describe

# One logger name for the whole SIP adapter, as when it was one module.
log = logging.getLogger("outbound.telephony.sip")


class Media:
    """One leg's audio: its port in the bridge, its recorder and the players playing to it."""

    def __init__(self, recording: Path | None = None) -> None:
        self.audio: Any = None  # the call's port in the conference bridge, once media is up
        self.recording = recording  # where the call is recorded, if it is
        self.recorder: Any = None
        self.players: list[Any] = []

    def take_audio(self, sip: Any) -> bool:
        """Take the call's active audio from pjsua2 (its media state changed); True if any."""
        info = sip.getInfo()
        for media in info.media:
            if (media.type == pj.PJMEDIA_TYPE_AUDIO
                    and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE):
                self.audio = sip.getAudioMedia(media.index)
                return True
        return False

    def start_recording(self, call_id: str) -> None:
        """Open the recording's file, if the call is recorded (at the answer)."""
        if self.recording is None:
            return
        try:
            self.recording.parent.mkdir(parents=True, exist_ok=True)
            self.recorder = pj.AudioMediaRecorder()
            self.recorder.createRecorder(str(self.recording))
        except (pj.Error, OSError) as exc:
            log.warning("call %s is not recorded: %s", call_id, describe(exc))
            self.recorder = None

    def stop_recording(self) -> Path | None:
        """Stop recording; the recording's path if there was one."""
        if self.recorder is None:
            return None
        self.recorder = None  # pjsua2 closes the file (asynchronously) once unreferenced
        return self.recording

    def add_player(self, path: Path, call_id: str) -> bool:
        """Play the WAV at `path` once (wired by the caller); False if it cannot be played."""
        player = pj.AudioMediaPlayer()
        try:
            player.createPlayer(str(path), pj.PJMEDIA_FILE_NO_LOOP)
        except pj.Error as exc:
            log.warning("call %s: cannot play %s: %s", call_id, path.name, describe(exc))
            return False
        self.players.append(player)
        return True

    def silence_players(self) -> None:
        for player in self.players:
            if self.audio is not None:
                with contextlib.suppress(pj.Error):
                    player.stopTransmit(self.audio)

    def drop(self) -> None:
        self.players.clear()
        self.recorder = None
        self.audio = None


def wire(media: Media, partner: Media | None, *, joined: bool, quiet: bool) -> None:
    """Make every audio connection a leg should have (connecting twice is harmless): to its
    partner when the two are joined, into the recorder (its own, or a quiet leg's
    customer's), and from its players."""
    if media.audio is None:
        return
    if joined and partner is not None and partner.audio is not None:
        _connect(media.audio, partner.audio)
        _connect(partner.audio, media.audio)
    recorder = media.recorder if not quiet else (partner.recorder if partner else None)
    if recorder is not None:
        _connect(media.audio, recorder)
        if joined and partner is not None and partner.audio is not None:
            _connect(partner.audio, recorder)
    for player in media.players:
        _connect(player, media.audio)
        if recorder is not None:
            _connect(player, recorder)


def wav_complete(path: Path) -> bool:
    """Whether the recording at `path` is a complete WAV file (its header written)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as wav:
            head = wav.read(8)
    except OSError:
        return False
    return size >= 44 and head[:4] == b"RIFF" and int.from_bytes(head[4:8], "little") == size - 8


def _connect(source: Any, sink: Any) -> None:
    try:
        source.startTransmit(sink)
    except pj.Error as exc:
        log.warning("audio connection failed: %s", describe(exc))
