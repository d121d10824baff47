"""Prompt audio: plans (``robot.core.prompts``) rendered to 8 kHz telephone PCM.

Facts this module relies on:

- Output is what AudioSocket carries: signed 16-bit little-endian mono PCM at 8000 Hz.
- Clips live at ``<audio_dir>/<key>.wav`` (``audio/ru/num/2.wav`` for ``ru/num/2``), made by
  ``scripts/build_audio.py`` in that format. A shop may override any clip with
  ``<clips_dir>/<key>.wav`` (its ``ShopConfig.clips_dir``) or
  ``<audio_dir>/shops/<shop-slug>/<key>.wav``, in any WAV format sox reads; those are converted,
  trimmed and normalized when first used. The same goes for a purpose's own words that have no
  built-in clip (a ``tts`` piece with a ``key``, ``robot.core.purpose_prompts``): the shop's
  recording of that key plays instead of the synthesized text.
- Runtime speech (``tts`` pieces: shop and customer names) comes from festival's
  ``text2wave`` with the ``voice_msu_ru_nsh_clunits`` voice for Russian, fed a UTF-8 file
  (festival reads Cyrillic correctly from a file, not from a ``-eval`` string), and from
  ``espeak-ng -v ko`` for Korean; ``sox`` converts. Results are cached on disk by a hash of the
  engine and the text.
- Text to speak comes from orders (customer and shop names): it never goes on a command line.
  espeak-ng takes words from its last arguments and parses options anywhere before them
  (``-f FILE`` speaks a file, ``--path=DIR`` changes its data directory), so a name like
  ``-f/etc/passwd`` would be an option. Both engines read the text from a UTF-8 file we write
  (espeak-ng ``-b 1 -f FILE``, festival's ``text2wave FILE``); every path and option on the
  argv is ours. (``--`` would also end espeak-ng's getopt options, but a file leaves nothing to
  parse.) sox only gets our own paths.
- The simulated customer (and people) take ~900 ms of silence as "the robot has finished":
  pieces are joined with ~120 ms pauses, and no quiet stretch (below ``QUIET_DBFS``) longer
  than ``MAX_SILENCE_MS`` is left anywhere, including inside clips.

No ``audioop``: it is deprecated in 3.11 and removed in 3.13; the little DSP needed here is
done on ``array('h')``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from robot.core.langpack import RequestedChange
from robot.core.models import Order
from robot.core.prompts import Piece, Prompt, plan_prompt, prompt_text
from robot.core.purposes import Purpose

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
FRAME = 160  # samples in 20 ms, the unit of silence decisions
PAUSE_MS = 120  # between pieces
MAX_SILENCE_MS = 300  # longest quiet stretch kept inside a clip
# A 20 ms frame quieter than this counts as silence: stricter than the robot's VAD (-50 dBFS)
# and the simulated customer's (RMS 300, about -41 dBFS), so what we keep short is short to both.
QUIET_DBFS = -38.0
TARGET_DBFS = -18.0  # RMS level of the voiced frames after normalization
PEAK_DBFS = -1.0  # normalization never pushes a peak above this
RU_VOICE = "voice_msu_ru_nsh_clunits"


class PromptAudioError(RuntimeError):
    """A prompt could not be rendered."""


class MissingClip(PromptAudioError, LookupError):
    """A clip named by a plan has no audio file."""


class SynthesisError(PromptAudioError):
    """The speech synthesizer failed."""


# --- PCM helpers (pure) ---------------------------------------------------------------------


def _samples(pcm: bytes) -> array[int]:
    a = array("h")
    a.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        a.byteswap()
    return a


def _bytes(a: array[int]) -> bytes:
    if sys.byteorder == "big":
        a = array("h", a)
        a.byteswap()
    return a.tobytes()


def _dbfs(a: Sequence[int]) -> float:
    if not a:
        return -120.0
    ms = math.hypot(*a) ** 2 / len(a)  # the norm in C: much faster than a Python sum
    return 10 * math.log10(ms / 32768.0**2) if ms > 0 else -120.0


def frame_levels(pcm: bytes) -> list[float]:
    """dBFS of each 20 ms frame."""
    a = _samples(pcm)
    return [_dbfs(a[i : i + FRAME]) for i in range(0, len(a), FRAME)]


def longest_silence_ms(pcm: bytes, quiet_dbfs: float = QUIET_DBFS) -> int:
    """The longest run of quiet 20 ms frames, in ms."""
    longest = run = 0
    for level in frame_levels(pcm):
        run = run + 1 if level < quiet_dbfs else 0
        longest = max(longest, run)
    return longest * FRAME * 1000 // SAMPLE_RATE


def silence(ms: int) -> bytes:
    return b"\x00\x00" * (SAMPLE_RATE * ms // 1000)


def trim(pcm: bytes, quiet_dbfs: float = QUIET_DBFS - 5) -> bytes:
    """Cut quiet frames at both ends."""
    levels = frame_levels(pcm)
    loud = [i for i, level in enumerate(levels) if level >= quiet_dbfs]
    if not loud:
        return b""
    return pcm[loud[0] * FRAME * 2 : (loud[-1] + 1) * FRAME * 2]


def clamp_silences(pcm: bytes, max_ms: int = MAX_SILENCE_MS) -> bytes:
    """Shorten every quiet stretch longer than ``max_ms`` to ``max_ms`` (keeping its ends)."""
    keep = max_ms * SAMPLE_RATE // 1000 // FRAME
    levels = frame_levels(pcm)
    out: list[bytes] = []
    i = 0
    while i < len(levels):
        j = i
        while j < len(levels) and levels[j] < QUIET_DBFS:
            j += 1
        if j - i > keep:
            head, tail = keep // 2, keep - keep // 2
            out.append(pcm[i * FRAME * 2 : (i + head) * FRAME * 2])
            out.append(pcm[(j - tail) * FRAME * 2 : j * FRAME * 2])
        else:
            out.append(pcm[i * FRAME * 2 : j * FRAME * 2])
        k = j
        while k < len(levels) and levels[k] >= QUIET_DBFS:
            k += 1
        out.append(pcm[j * FRAME * 2 : k * FRAME * 2])
        i = k
    return b"".join(out)


def normalize(pcm: bytes, target_dbfs: float = TARGET_DBFS, peak_dbfs: float = PEAK_DBFS) -> bytes:
    """Scale so that the voiced frames have ``target_dbfs`` RMS, peaks capped."""
    a = _samples(pcm)
    voiced = [a[i : i + FRAME] for i in range(0, len(a), FRAME) if _dbfs(a[i : i + FRAME]) >= -45]
    if not voiced:
        return pcm
    level = _dbfs([s for f in voiced for s in f])
    peak = max(abs(s) for s in a) or 1
    gain = min(10 ** ((target_dbfs - level) / 20), 32767 * 10 ** (peak_dbfs / 20) / peak)
    return _bytes(array("h", (max(-32768, min(32767, round(s * gain))) for s in a)))


def clean(pcm: bytes) -> bytes:
    """Trim, clamp inner silences, normalize: what every clip goes through."""
    return normalize(clamp_silences(trim(pcm)))


def _clean_file(path: Path) -> bytes:
    return clean(read_wav(path))


def write_wav(path: Path, pcm: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A private temporary name, renamed into place: readers and concurrent writers of the
    # same cache entry never see half a file.
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm)
    tmp.replace(path)


def read_wav(path: Path) -> bytes:
    """PCM of a WAV file: read directly when already 8 kHz mono 16-bit, else via sox."""
    try:
        with wave.open(str(path), "rb") as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE):
                return w.readframes(w.getnframes())
    except (wave.Error, EOFError):
        pass  # not plain PCM WAV (float, A-law, extensible): sox copes
    return _sox_to_pcm(path)


def _sox_to_pcm(path: Path, tempo: float = 1.0) -> bytes:
    cmd = ["sox", str(path), "-t", "raw", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16"]
    cmd += ["-e", "signed-integer", "-L", "-"]
    if tempo != 1.0:
        cmd += ["tempo", "-s", str(tempo)]
    try:
        done = subprocess.run(cmd, capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        raise PromptAudioError(f"cannot convert {path} with sox: {e}") from e
    return done.stdout


# --- speech synthesis -----------------------------------------------------------------------


# The festival Russian voice speaks slowly (a 20 s intro at its own pace); 1.25x keeps it
# natural and clear on a phone line while keeping the call short.
FESTIVAL_TEMPO = 1.25


def synthesize(
    text: str,
    lang: str,
    *,
    engine: str | None = None,
    espeak_speed: int | None = None,
    espeak_pitch: int | None = None,
) -> tuple[bytes, str]:
    """Speak ``text``: (cleaned 8 kHz PCM, engine used). Russian: festival, espeak-ng if
    festival fails; Korean: espeak-ng. ``engine`` forces one ("festival", "espeak-ng");
    the espeak options are its words per minute and pitch (0-99)."""
    engines = [engine] if engine else (["festival", "espeak-ng"] if lang == "ru" else ["espeak-ng"])
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dozvon-tts-") as tmp:
        out = Path(tmp) / "out.wav"
        for name in engines:
            try:
                _run_engine(name, text, lang, Path(tmp), out, espeak_speed, espeak_pitch)
                pcm = clean(_sox_to_pcm(out, FESTIVAL_TEMPO if name == "festival" else 1.0))
            except (OSError, subprocess.SubprocessError, PromptAudioError) as e:
                errors.append(f"{name}: {e}")
                continue
            if pcm:
                return pcm, name
            errors.append(f"{name}: produced no audible speech")
    raise SynthesisError(f"cannot synthesize {text!r} ({lang}): {'; '.join(errors)}")


def _run_engine(
    name: str, text: str, lang: str, tmp: Path, out: Path, speed: int | None, pitch: int | None
) -> None:
    # The text goes in a file, never on the command line (see the module notes).
    src = tmp / "text.txt"
    src.write_text(" ".join(text.split()) + "\n", encoding="utf-8")
    if name == "festival":
        cmd = ["text2wave", "-eval", f"({RU_VOICE})", str(src), "-o", str(out)]
    elif name == "espeak-ng":
        speed = speed or (150 if lang == "ko" else 160)
        cmd = ["espeak-ng", "-v", lang, "-s", str(speed), "-p", str(pitch or 50), "-w", str(out)]
        cmd += ["-b", "1", "-f", str(src)]
    else:
        raise PromptAudioError(f"unknown speech engine {name!r}")
    if shutil.which(cmd[0]) is None:
        raise PromptAudioError(f"{cmd[0]} is not installed")
    subprocess.run(cmd, capture_output=True, check=True, timeout=120)
    if not out.exists() or out.stat().st_size <= 44:
        raise PromptAudioError("no audio written")


# --- the library ----------------------------------------------------------------------------


def shop_slug(shop_name: str) -> str:
    """The override directory name of a shop: lower case, runs of other characters -> "-"."""
    return re.sub(r"[^\w]+", "-", shop_name.lower()).strip("-_") or "shop"


class PromptLibrary:
    """Renders prompt plans from clips on disk (shop overrides first) and cached TTS."""

    def __init__(
        self,
        audio_dir: Path,
        cache_dir: Path,
        *,
        pause_ms: int = PAUSE_MS,
        lru_size: int = 1024,
        purposes: Callable[[Order], Purpose] | None = None,
        clips_dirs: Callable[[str], Path | None] | None = None,
    ) -> None:
        """``purposes``: the purpose of an order's call (default: the built-in one it names);
        ``clips_dirs``: a shop's own recordings directory by shop name (``ShopConfig``)."""
        self.purposes = purposes
        self.clips_dirs = clips_dirs
        self.audio_dir = Path(audio_dir)
        self.cache_dir = Path(cache_dir)
        self.pause = silence(pause_ms)
        self._lru: OrderedDict[tuple[str, str | None], bytes] = OrderedDict()
        self._lru_size = lru_size
        self._lock = threading.Lock()

    def render(
        self,
        pieces: Sequence[Piece],
        lang: str,
        shop_slug: str | None = None,
        clips_dir: Path | None = None,
    ) -> bytes:
        """Signed 16-bit LE 8 kHz mono PCM of the pieces, with short pauses between them."""
        parts = [self._piece(p, lang, shop_slug, clips_dir) for p in pieces]
        # Clip edges quieter than the threshold add to the pauses; clamp the whole once more.
        return clamp_silences(self.pause.join(p for p in parts if p))

    def render_prompt(
        self, prompt: Prompt, order: Order, today: date, change: RequestedChange | None = None
    ) -> bytes:
        pieces = plan_prompt(prompt, order, today, change, self._purpose(order))
        clips_dir = self.clips_dirs(order.shop_name) if self.clips_dirs is not None else None
        return self.render(pieces, order.language, shop_slug(order.shop_name), clips_dir)

    def prompt_text(
        self, prompt: Prompt, order: Order, today: date, change: RequestedChange | None = None
    ) -> str:
        return prompt_text(prompt, order, today, change, self._purpose(order))

    def _purpose(self, order: Order) -> Purpose | None:
        return self.purposes(order) if self.purposes is not None else None

    def _shop_recording(
        self, key: str, shop_slug: str | None, clips_dir: Path | None
    ) -> bytes | None:
        """The shop's own recording of ``key``: its clips directory first, then the shop's
        directory under ``audio/shops/``."""
        candidates = [(clips_dir / f"{key}.wav", f"dir:{clips_dir}")] if clips_dir else []
        if shop_slug:
            candidates.append((self.audio_dir / "shops" / shop_slug / f"{key}.wav", shop_slug))
        for path, owner in candidates:
            if path.is_file():
                return self._cached((key, owner), functools.partial(_clean_file, path))
        return None

    def clip(self, key: str, shop_slug: str | None = None, clips_dir: Path | None = None) -> bytes:
        """PCM of one clip, the shop's own recording when there is one."""
        own = self._shop_recording(key, shop_slug, clips_dir)
        if own is not None:
            return own
        path = self.audio_dir / f"{key}.wav"
        if not path.is_file():
            raise MissingClip(
                f"missing prompt clip {key!r}: no {path} (run scripts/build_audio.py)"
            )
        return self._cached((key, None), lambda: read_wav(path))

    def tts(self, text: str, lang: str) -> bytes:
        """Synthesized speech, cached on disk by engine, language and text."""
        return self._cached((f"tts:{lang}:{text}", None), lambda: self._tts_disk(text, lang))

    def _tts_disk(self, text: str, lang: str) -> bytes:
        digest = hashlib.sha256(f"{lang}\n{RU_VOICE}\n{text}".encode()).hexdigest()[:32]
        path = self.cache_dir / "tts" / lang / f"{digest}.wav"
        if path.is_file():
            return read_wav(path)
        pcm, engine = synthesize(text, lang)
        log.info("synthesized %d ms of %s speech with %s", len(pcm) // 16, lang, engine)
        write_wav(path, pcm)
        return pcm

    def _piece(
        self, piece: Piece, lang: str, shop_slug: str | None, clips_dir: Path | None
    ) -> bytes:
        if piece.kind == "clip":
            return self.clip(piece.value, shop_slug, clips_dir)
        if piece.kind == "tts":
            if piece.key is not None:  # a purpose's own words: the shop may have recorded them
                own = self._shop_recording(piece.key, shop_slug, clips_dir)
                if own is not None:
                    return own
            return self.tts(piece.value, lang)
        raise PromptAudioError(f"unknown piece kind {piece.kind!r}")

    def _cached(self, key: tuple[str, str | None], load: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._lru:
                self._lru.move_to_end(key)
                return self._lru[key]
        pcm = load()  # outside the lock: synthesis and sox take a while
        with self._lock:
            self._lru[key] = pcm
            while len(self._lru) > self._lru_size:
                self._lru.popitem(last=False)
        return pcm
