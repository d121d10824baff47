"""Recognition in separate processes: the same answers as in-process decoding, streams pinned
and balanced over the processes, and a dead recognizer process costing only its own streams."""

from __future__ import annotations

import os
import signal
import wave

import pytest

from robot.adapters.asr_models import ModelNotInstalled, resolve
from robot.adapters.asr_pool import ProcessPoolRecognizer
from robot.adapters.vosk_asr import VoskRecognizer
from robot.config import REPO_ROOT, Settings

pytestmark = [pytest.mark.vosk, pytest.mark.timeout(300)]

try:
    resolve("ko", Settings().models_dir)
    HAVE_KO = True
except ModelNotInstalled:
    HAVE_KO = False
pytestmark.append(pytest.mark.skipif(not HAVE_KO, reason="no Korean speech model installed"))

SILENCE_100MS = b"\x00" * 1600


def answer_pcm() -> bytes:
    with wave.open(str(REPO_ROOT / "audio" / "customer" / "ko" / "yes.wav"), "rb") as w:
        pcm = w.readframes(w.getnframes())
    return SILENCE_100MS * 3 + pcm + SILENCE_100MS * 15


async def hear(stream, pcm: bytes) -> str:
    stream.reset()
    for i in range(0, len(pcm), 1600):
        result = await stream.feed(pcm[i : i + 1600])
        if result is not None:
            return result.text
    return (await stream.finish()).text


@pytest.fixture(scope="module")
def pool():
    rec = ProcessPoolRecognizer.from_settings(Settings(), processes=2, languages=["ko"])
    rec.preload()
    try:
        yield rec
    finally:
        rec.close()


async def test_processes_hear_what_threads_hear(pool: ProcessPoolRecognizer) -> None:
    local = VoskRecognizer.from_settings(Settings(), ["ko"])
    try:
        expected = await hear(local.open("ko"), answer_pcm())
    finally:
        local.close()
    stream = pool.open("ko")
    try:
        assert await hear(stream, answer_pcm()) == expected
        assert stream.decoded_audio_s > 0 and stream.decode_s > 0  # mirrored from the process
        assert stream.audio_s > stream.decoded_audio_s  # the gate skipped silence
    finally:
        stream.close()
    assert pool.languages() == ("ko",)


async def test_streams_spread_over_processes_and_reset_drops_audio(
    pool: ProcessPoolRecognizer,
) -> None:
    streams = [pool.open("ko") for _ in range(4)]
    try:
        assert sorted(s.slot.index for s in streams) == [0, 0, 1, 1]
        first = streams[0]
        await first.feed(answer_pcm()[:8000])  # half an answer...
        first.reset()  # ...dropped: the next answer is heard on its own
        assert await hear(first, answer_pcm()) == await hear(streams[1], answer_pcm())
    finally:
        for s in streams:
            s.close()


async def test_a_dead_process_fails_only_its_streams(pool: ProcessPoolRecognizer) -> None:
    victim = pool.open("ko")
    pid = victim.slot.executor.submit(os.getpid).result()
    os.kill(pid, signal.SIGKILL)
    assert await victim.feed(answer_pcm()[:1600]) is None  # no exception into the call
    assert (await victim.finish()).text == ""
    victim.close()
    fresh = [pool.open("ko") for _ in range(2)]  # the dead slot was replaced
    try:
        for s in fresh:
            assert await hear(s, answer_pcm())
    finally:
        for s in fresh:
            s.close()
