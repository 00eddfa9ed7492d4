"""Prompts for voice menus and apologies: espeak-ng's voice where installed, else tones."""

from __future__ import annotations

import stat
import sys
import wave
from pathlib import Path

import pytest

from outbound.telephony.prompts import APOLOGY, prompt_wav, wav_seconds


def test_without_espeak_a_prompt_is_a_short_tone_sequence_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    first = prompt_wav(APOLOGY, tmp_path / "prompts")
    again = prompt_wav(APOLOGY, tmp_path / "prompts")

    assert first == again and "tones" in first.name
    assert 0.5 < wav_seconds(first) <= 4
    with wave.open(str(first)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
    assert list((tmp_path / "prompts").iterdir()) == [first]  # no scratch file left


def test_with_espeak_ng_on_the_path_the_prompt_is_its_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A stand-in espeak-ng that writes a one-second WAV where `-w` says, and notes the text.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "espeak-ng"
    fake.write_text(f"""#!{sys.executable}
import sys, wave
args = sys.argv[1:]
out = args[args.index("-w") + 1]
open({str(tmp_path / "said.txt")!r}, "w").write(args[-1])
with wave.open(out, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(22050); w.writeframes(bytes(44100))
""")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir))

    path = prompt_wav("Press 1 to confirm, 2 to cancel.", tmp_path / "prompts")

    assert "voice" in path.name
    assert wav_seconds(path) == pytest.approx(1.0)
    assert (tmp_path / "said.txt").read_text() == "Press 1 to confirm, 2 to cancel."
