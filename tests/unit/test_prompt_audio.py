"""Prompt rendering (robot.adapters.prompt_audio) from the repo's clips, shop overrides and
runtime speech synthesis."""

from __future__ import annotations

import math
import shutil
import subprocess
from array import array
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from robot.adapters import prompt_audio
from robot.adapters.prompt_audio import (
    MissingClip,
    PromptLibrary,
    clamp_silences,
    longest_silence_ms,
    normalize,
    read_wav,
    shop_slug,
    silence,
    trim,
    write_wav,
)
from robot.core.models import Order
from robot.core.prompts import Piece, Prompt
from robot.testing import make_order

REPO = Path(__file__).resolve().parents[2]
AUDIO = REPO / "audio"
TODAY = date(2024, 11, 20)
HAVE_SOX = shutil.which("sox") is not None


def tone(ms: int, dbfs: float = -20.0, hz: float = 300.0) -> bytes:
    amplitude = 32768 * 10 ** (dbfs / 20) * math.sqrt(2)
    n = 8000 * ms // 1000
    return array(
        "h", (round(amplitude * math.sin(2 * math.pi * hz * i / 8000)) for i in range(n))
    ).tobytes()


def order(lang: str = "ru", **kw: Any) -> Order:
    return make_order(lang, TODAY, **kw)


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PromptLibrary:
    """The repo's clips; runtime synthesis replaced by a tone (see test_tts_* for the real one)."""
    monkeypatch.setattr(
        prompt_audio, "synthesize", lambda text, lang, **kw: (tone(80 * len(text)), "fake")
    )
    return PromptLibrary(AUDIO, tmp_path / "cache")


# --- PCM helpers ----------------------------------------------------------------------------


def test_trim_and_clamp() -> None:
    pcm = silence(500) + tone(200) + silence(900) + tone(200) + silence(500)
    trimmed = trim(pcm)
    assert len(trimmed) // 16 == pytest.approx(1300, abs=20)
    clamped = clamp_silences(trimmed, 300)
    assert longest_silence_ms(clamped) <= 300
    assert len(clamped) // 16 == pytest.approx(700, abs=20)
    assert clamp_silences(tone(100) + silence(200) + tone(100), 300) == (
        tone(100) + silence(200) + tone(100)
    )
    assert trim(silence(300)) == b""


def test_normalize_sets_level_and_caps_peaks() -> None:
    quiet = tone(500, dbfs=-40)
    louder = normalize(quiet, target_dbfs=-18)
    assert prompt_audio.frame_levels(louder)[5] == pytest.approx(-18, abs=0.5)
    capped = normalize(tone(500, dbfs=-40), target_dbfs=0, peak_dbfs=-6)
    assert max(abs(s) for s in array("h", capped)) <= 32767 * 10 ** (-6 / 20) + 1
    assert normalize(silence(100)) == silence(100)


def test_shop_slug() -> None:
    assert shop_slug("Ромашка") == "ромашка"
    assert shop_slug("Best Shop!") == "best-shop"
    assert shop_slug("  ") == "shop"


# --- rendering ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ru", "ko"])
@pytest.mark.parametrize("prompt", list(Prompt))
def test_render_prompt(library: PromptLibrary, lang: str, prompt: Prompt) -> None:
    o = order(lang, customer_name="Анна")
    pcm = library.render_prompt(prompt, o, TODAY)
    seconds = len(pcm) / 16000
    words = len(library.prompt_text(prompt, o, TODAY).split())
    assert len(pcm) % 2 == 0
    assert 0.15 * words < seconds < 1.2 * words + 1, (seconds, words)
    assert longest_silence_ms(pcm) <= 400


def test_render_joins_with_short_pauses(library: PromptLibrary) -> None:
    one = library.clip("ru/num/2")
    two = library.render([Piece("clip", "ru/num/2"), Piece("clip", "ru/num/2")], "ru")
    gap_ms = (len(two) - 2 * len(one)) / 16
    assert 80 <= gap_ms <= 160
    assert longest_silence_ms(two) <= 400


def test_missing_clip_is_named(library: PromptLibrary) -> None:
    with pytest.raises(MissingClip, match="ru/num/nope"):
        library.render([Piece("clip", "ru/num/nope")], "ru")


def test_clips_are_cached(library: PromptLibrary, monkeypatch: pytest.MonkeyPatch) -> None:
    first = library.clip("ru/phrase/hello")
    monkeypatch.setattr(prompt_audio, "read_wav", lambda path: pytest.fail("read again"))
    assert library.clip("ru/phrase/hello") is first


def test_tts_pieces_are_synthesized(library: PromptLibrary) -> None:
    pcm = library.render([Piece("tts", "Ромашка")], "ru")
    assert len(pcm) // 16 == pytest.approx(80 * len("Ромашка"), abs=30)


@pytest.mark.skipif(not HAVE_SOX, reason="sox is not installed")
def test_shop_override_wins(tmp_path: Path) -> None:
    audio = tmp_path / "audio"
    (audio / "ru" / "phrase").mkdir(parents=True)
    shutil.copy(AUDIO / "ru" / "phrase" / "hello.wav", audio / "ru" / "phrase" / "hello.wav")
    own = audio / "shops" / "ромашка" / "ru" / "phrase" / "hello.wav"
    own.parent.mkdir(parents=True)
    raw = tmp_path / "own.wav"
    write_wav(raw, silence(600) + tone(700, hz=500) + silence(600))
    # A shop records at 44.1 kHz stereo: converted on first use, and trimmed.
    subprocess.run(["sox", str(raw), "-r", "44100", "-c", "2", str(own)], check=True)
    library = PromptLibrary(audio, tmp_path / "cache")
    mine = library.render([Piece("clip", "ru/phrase/hello")], "ru", shop_slug="ромашка")
    assert len(mine) // 16 == pytest.approx(700, abs=40)
    default = library.render([Piece("clip", "ru/phrase/hello")], "ru", shop_slug="other")
    assert default == read_wav(AUDIO / "ru" / "phrase" / "hello.wav")


@pytest.mark.parametrize(("lang", "tool"), [("ru", "text2wave"), ("ko", "espeak-ng")])
def test_tts_real_and_cached_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str, tool: str
) -> None:
    if not (shutil.which(tool) and HAVE_SOX):
        pytest.skip(f"{tool} or sox is not installed")
    text = "Ромашка" if lang == "ru" else "쿠팡"
    pcm = PromptLibrary(AUDIO, tmp_path).tts(text, lang)
    assert 0.2 < len(pcm) / 16000 < 3
    assert list((tmp_path / "tts" / lang).glob("*.wav"))
    # A new library (a restart) reads the disk cache instead of synthesizing again.
    monkeypatch.setattr(prompt_audio, "synthesize", lambda *a, **kw: pytest.fail("again"))
    assert PromptLibrary(AUDIO, tmp_path).tts(text, lang) == pcm
