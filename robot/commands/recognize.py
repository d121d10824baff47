"""``robot recognize --lang ru|ko FILE.wav ...``: WAV files through the live recognizer.

Each file is converted to what a call carries (8 kHz, mono, signed 16-bit), fed in 20 ms
frames through the same :class:`VoskStream` a call uses (VAD gate, grammar, the trust rules of
``robot.core.trust``), and the first answer heard is classified with the language pack, as
the dialog would. One JSON line per file on stdout: ``{"file", "text", "intent",
"confidence", "ms"}`` (``ms``: decode wall time, feeding as fast as the decoder goes). Which
model decodes which language goes to stderr once. A language with no installed model exits
with code 2: no other model stands in.

WAV support: PCM 8/16/24/32-bit integer (8-bit is unsigned), 32/64-bit float, any rate, any
channel count (mixed down), plain and WAVE_FORMAT_EXTENSIBLE headers (Python 3.11's ``wave``
reads neither extensible nor float, hence the small reader here). Resampling is
``audioop.ratecv``: linear interpolation without an anti-alias filter, adequate for speech
going into a telephone-band recognizer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import sys
import time
import warnings
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # Deprecated in 3.11-3.12, removed in 3.13 (where the audioop-lts dependency provides it).
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

from robot.core.models import Intent
from robot.core.vad import FRAME_BYTES, SAMPLE_RATE, VadConfig

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE


class WavError(ValueError):
    pass


@dataclass(frozen=True)
class WavAudio:
    rate: int
    channels: int
    width: int  # bytes per sample in the container
    is_float: bool
    data: bytes

    @property
    def duration_s(self) -> float:
        return len(self.data) / (self.rate * self.channels * self.width)


def read_wav(path: Path) -> WavAudio:
    raw = path.read_bytes()
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise WavError("not a RIFF/WAVE file")
    fmt: bytes | None = None
    data: bytes | None = None
    pos = 12
    while pos + 8 <= len(raw) and data is None:
        chunk_id, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], "little")
        body = raw[pos + 8 : pos + 8 + size]  # a streamed file's bogus size reads to the end
        if chunk_id == b"fmt ":
            fmt = body
        elif chunk_id == b"data":
            data = body
        pos += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16 or data is None:
        raise WavError("no fmt or data chunk")
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = int.from_bytes(fmt[24:26], "little")  # first two bytes of the subformat GUID
    if channels < 1 or rate < 1 or block_align < channels:
        raise WavError(f"bad header: {channels} channels, {rate} Hz, block {block_align}")
    width = block_align // channels
    if tag == _PCM and width in (1, 2, 3, 4):
        is_float = False
    elif tag == _FLOAT and width in (4, 8):
        is_float = True
    else:
        raise WavError(f"unsupported sample format (tag {tag:#x}, {bits} bits)")
    data = data[: len(data) - len(data) % block_align]
    return WavAudio(rate, channels, width, is_float, data)


def to_call_audio(audio: WavAudio) -> bytes:
    """8 kHz mono signed 16-bit little-endian, as AudioSocket delivers it."""
    data, width = audio.data, audio.width
    if audio.is_float:
        floats = array("f" if width == 4 else "d")
        floats.frombytes(data)
        if sys.byteorder == "big":
            floats.byteswap()
        ints = array("h", (int(max(-1.0, min(1.0, x)) * 32767) for x in floats))
        if sys.byteorder == "big":
            ints.byteswap()
        data, width = ints.tobytes(), 2
    elif width == 1:
        data = audioop.bias(data, 1, -128)  # 8-bit WAV is unsigned
    if width != 2:
        data = audioop.lin2lin(data, width, 2)
    if audio.channels == 2:
        data = audioop.tomono(data, 2, 0.5, 0.5)
    elif audio.channels > 2:
        samples = array("h", data)
        n = audio.channels
        data = array(
            "h", (sum(samples[i : i + n]) // n for i in range(0, len(samples), n))
        ).tobytes()
    if audio.rate != SAMPLE_RATE:
        data, _ = audioop.ratecv(data, 2, 1, audio.rate, SAMPLE_RATE, None)
    return data


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("recognize", help="WAV files -> text and intent through the live recognizer")
    p.add_argument("--lang", required=True, help="language of the speech (ru, ko)")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE.wav")
    p.add_argument("--models-dir", type=Path, help="instead of the configured models_dir")
    p.add_argument(
        "--free",
        action="store_true",
        help="decode with the model's whole vocabulary instead of the answer grammar",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from robot.adapters.asr_models import ModelError
    from robot.adapters.vosk_asr import VoskRecognizer
    from robot.config import load_settings
    from robot.core.languages import get_pack

    settings = load_settings(**({"models_dir": args.models_dir} if args.models_dir else {}))
    clock = AudioClock()
    try:
        recognizer = VoskRecognizer.from_settings(settings.asr, languages=[args.lang], clock=clock)
        pack = get_pack(args.lang)
    except (ModelError, KeyError, ImportError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"robot recognize: {message}", file=sys.stderr)
        return 2
    info = recognizer.model_info(args.lang)
    started = time.perf_counter()
    recognizer.preload()
    print(
        f"robot recognize: language {args.lang}, model {info.name} ({info.source.value}: "
        f"{info.path}), loaded in {time.perf_counter() - started:.2f} s"
        + (", free dictation (no grammar)" if args.free else ""),
        file=sys.stderr,
    )
    try:
        return asyncio.run(_recognize_files(recognizer, pack, args.files, clock, free=args.free))
    finally:
        recognizer.close()


class AudioClock:
    """Time as the audio fed so far: a file streamed faster than real time still measures
    how long after the end of speech a live call would have its answer."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Recognized:
    text: str
    intent: Intent
    confidence: float
    ms: float  # decode wall time, feeding as fast as the decoder goes
    decision_ms: float | None  # end of speech -> decision, as a live call would see it
    endpoint: str  # what ended the answer: vosk, gate (VAD), finish (end of file), none


async def recognize_pcm(
    recognizer: Any, pack: Any, pcm: bytes, clock: AudioClock, *, free: bool = False
) -> Recognized:
    """One answer, exactly as a call hears it: 20 ms frames into a fresh stream, the first
    final result is the answer (the dialog stops listening there), else what the stream holds
    when the audio ends (the stream's end of speech, ``VadConfig.end_of_speech_s``, would end
    the turn there)."""

    stream = recognizer.open(pack.code, grammar=() if free else None)
    clock.now = 0.0
    spent = 0.0
    answer = None
    decision_ms = None
    for i in range(0, len(pcm), FRAME_BYTES):
        clock.now = (i + FRAME_BYTES) / (SAMPLE_RATE * 2)
        started = time.perf_counter()
        result = await stream.feed(pcm[i : i + FRAME_BYTES])
        step = time.perf_counter() - started
        spent += step
        if result is not None and result.text:
            answer = result
            if stream.last_speech_end is not None:
                decision_ms = (clock.now - stream.last_speech_end + step) * 1000
            break
    endpoint = stream.last_endpoint if answer is not None else "none"
    if answer is None:
        started = time.perf_counter()
        answer = await stream.finish()
        step = time.perf_counter() - started
        spent += step
        if answer.text:
            endpoint = "finish"
            decision_ms = (VadConfig().end_of_speech_s + step) * 1000
    close = getattr(stream, "close", None)
    if close is not None:
        close()
    return Recognized(
        text=answer.text,
        intent=pack.classify(answer.text) if answer.text else Intent.UNKNOWN,
        confidence=answer.confidence,
        ms=spent * 1000,
        decision_ms=decision_ms,
        endpoint=endpoint,
    )


async def _recognize_files(
    recognizer: Any, pack: Any, files: list[Path], clock: AudioClock, *, free: bool
) -> int:
    rc = 0
    for path in files:
        try:
            pcm = to_call_audio(read_wav(path))
        except (OSError, WavError, audioop.error) as e:
            print(f"robot recognize: {path}: {e}", file=sys.stderr)
            rc = 1
            continue
        heard = await recognize_pcm(recognizer, pack, pcm, clock, free=free)
        line = {
            "file": str(path),
            "text": heard.text,
            "intent": heard.intent.value,
            "confidence": round(heard.confidence, 3),
            "ms": round(heard.ms, 1),
        }
        print(json.dumps(line, ensure_ascii=False), flush=True)
    return rc
