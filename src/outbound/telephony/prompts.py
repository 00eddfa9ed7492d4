"""Spoken prompts as WAV files: voice menus and the apology an abandoned call hears.

espeak-ng speaks the text where it is installed; elsewhere a short tone sequence stands in
(a rising chime, longer for longer text), so a call always hears something. Files are cached
by text under the directory given, and written atomically, so two calls asking for the same
prompt at once never read half a file.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

from outbound.domain.errors import ProviderError

APOLOGY = "We are sorry, all of our agents are busy. We will call you back. Goodbye."

_RATE = 8000
_TONES = (523.25, 659.25, 783.99)  # C5, E5, G5


def prompt_wav(text: str, directory: Path) -> Path:
    """The WAV saying `text` (made on first use)."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    espeak = shutil.which("espeak-ng")
    path = directory / f"prompt-{digest}-{'voice' if espeak else 'tones'}.wav"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(suffix=".wav", dir=directory)
    os.close(fd)
    try:
        if espeak:
            try:
                subprocess.run([espeak, "-s", "150", "-w", scratch, text], check=True,
                               capture_output=True, timeout=60)
            except (OSError, subprocess.SubprocessError) as exc:
                raise ProviderError(f"espeak-ng could not speak the prompt: {exc}") from exc
        else:
            _write_tones(Path(scratch), text)
        os.replace(scratch, path)
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)
    return path


def wav_seconds(path: Path) -> float:
    """How long a WAV file plays."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / float(wav.getframerate())


def _write_tones(path: Path, text: str) -> None:
    """A chime (three 0.25 s tones, 0.1 s apart) per dozen words, at most three."""
    chimes = min(3, 1 + len(text.split()) // 12)
    samples: list[int] = []
    for _ in range(chimes):
        for frequency in _TONES:
            for i in range(_RATE // 4):
                fade = min(1.0, i / 80, (_RATE // 4 - i) / 80)  # no clicks
                samples.append(int(9000 * fade * math.sin(2 * math.pi * frequency * i / _RATE)))
            samples.extend([0] * (_RATE // 10))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(_RATE)
        wav.writeframes(struct.pack(f"<{len(samples)}h", *samples))
