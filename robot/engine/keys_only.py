"""The recognizer stream of a call with no speech model for its language: the same voice gate
and end of speech as every stream (``core.vad``), and no words.

The customer can still answer with keys; speech only has to end the listening turn (as speech
the recognizer could not make out does), so the dialog asks again in other words instead of
waiting out its listen timeout while someone talks.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from robot.core.vad import FRAME_BYTES, FRAME_MS, EndOfSpeech, SpeechGate, VadConfig
from robot.ports import RecognitionResult

_NOTHING = RecognitionResult(text="", final=True, confidence=0.0)


class KeysOnlyStream:
    """Implements ``ports.RecognizerStream`` without a decoder."""

    def __init__(
        self, vad_config: VadConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._gate = SpeechGate(vad_config)
        self._end = EndOfSpeech(self._gate.vad.config)
        self._clock = clock
        self._buf = bytearray()
        self.decoded_audio_s = 0.0  # nothing is decoded
        self.decode_s = 0.0

    async def feed(self, pcm: bytes) -> RecognitionResult | None:
        self._buf += pcm
        count = len(self._buf) // FRAME_BYTES
        now = self._clock()
        for i in range(count):
            step = self._gate.push(bytes(self._buf[i * FRAME_BYTES : (i + 1) * FRAME_BYTES]))
            self._end.step(step, self._gate.speaking, now - (count - 1 - i) * FRAME_MS / 1000)
        del self._buf[: count * FRAME_BYTES]
        return _NOTHING if self._end.nothing_heard(now, self._gate.decoding) else None

    async def finish(self) -> RecognitionResult:
        return _NOTHING

    def reset(self) -> None:
        self._gate.reset()
        self._end.reset()
        self._buf.clear()

    def close(self) -> None:
        pass
