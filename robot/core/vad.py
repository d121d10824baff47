"""Energy-based voice-activity detection for 8 kHz slin16 telephone audio.

Pure: bytes in, decisions out, no clock. The recognizer stream timestamps the decisions.

Two layers:

- :class:`EnergyVad` decides per 20 ms frame whether someone is speaking: the frame's level
  (dBFS) must stand ``margin_db`` above an adaptive noise floor (the quietest recent frame)
  and above an absolute minimum. A short onset (several voiced frames in a row) keeps clicks
  out; a hangover keeps the decision "speech" through the short pauses inside an answer.
- :class:`SpeechGate` uses that decision to choose which frames are worth decoding: a
  pre-roll of quiet frames before the onset (word beginnings are soft), everything during
  speech, and a short tail after it; then it tells the decoder to finalize (``flush``), which
  ends an answer sooner than the decoder's own endpointer would. Long silence between
  answers is never decoded.
- :class:`EndOfSpeech` is the one place that decides when a customer's answer is over, from
  the gate's steps and the times of their frames (passed in): a yes is held a little longer
  (``yes_hold_s``: is a "but..." coming?), and speech the decoder found no words in ends the
  turn only after ``end_of_speech_s`` of silence (a cough before the answer is not the
  answer). Every recognizer stream (``adapters/vosk_asr``, the keys-only stream of a call
  without a speech model, the test fakes) applies it; the call session only consumes the
  streams' results.

Why energy and not a trained VAD: the recognizer runs with a small grammar and its own
endpointer; the gate only has to skip silence and mark where speech stopped. An energy gate
with an adaptive floor does that on phone lines, costs microseconds per frame and needs no
extra model.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections import deque
from dataclasses import dataclass

SAMPLE_RATE = 8000  # Hz, what AudioSocket carries (slin16, mono)
SAMPLE_WIDTH = 2  # bytes, signed 16-bit little-endian
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * SAMPLE_WIDTH  # 320
SILENCE_DBFS = -120.0  # level reported for digital silence (log of zero)
_FULL_SCALE = 32768.0


def frame_dbfs(frame: bytes) -> float:
    """RMS level of a slin16 little-endian frame in dB relative to full scale."""
    samples = array("h")
    samples.frombytes(frame[: len(frame) - len(frame) % 2])
    if not samples:
        return SILENCE_DBFS
    if sys.byteorder == "big":
        samples.byteswap()
    # hypot(*x) is the Euclidean norm computed in C: 2-3x faster than summing squares in
    # Python, and this runs for every 20 ms frame of every call the robot listens to.
    mean_square = math.hypot(*samples) ** 2 / len(samples)
    if mean_square <= 0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 10.0 * math.log10(mean_square / (_FULL_SCALE * _FULL_SCALE)))


@dataclass(frozen=True)
class VadConfig:
    margin_db: float = 12.0  # a voiced frame is this far above the noise floor...
    min_speech_dbfs: float = -50.0  # ...and at least this loud (quiet lines, digital silence)
    # The noise floor is the quietest frame of the last 1.5 s (minimum statistics): speech
    # has gaps between syllables, so the minimum stays on the noise while someone talks, and
    # a change in line noise is followed within 1.5 s. The window starts filled with
    # ``initial_floor_dbfs`` so that audio starting in mid-speech is still heard as speech
    # (the cost: a line noisier than initial floor + margin reads as speech for 1.5 s).
    floor_window_frames: int = 75
    initial_floor_dbfs: float = -60.0
    floor_range_dbfs: tuple[float, float] = (-85.0, -25.0)
    onset_frames: int = 2  # voiced frames in a row that start speech (40 ms)
    # Unvoiced frames that end speech (400 ms): long enough for the pauses inside "네, 맞아요",
    # short enough to answer promptly. Vosk's own endpointer needs 0.8-1 s here.
    hangover_frames: int = 20
    preroll_frames: int = 10  # quiet frames decoded before the onset (200 ms)
    # Frames decoded after the hangover before the decoder is told to finalize (100 ms of
    # right context for the last phone). End of speech to final result: hangover + tail.
    tail_frames: int = 5
    # The timings of the end of an answer belong together and are ordered:
    #   gate flush (hangover + tail = 0.5 s) < yes hold (0.8 s) < nothing heard (0.9 s).
    # A final result with words comes back at the flush (or Vosk's own endpoint, 0.85-1 s on
    # the Korean model), except a yes, held until ``yes_hold_s`` of silence after the last
    # voiced frame: "네? 뭐라고요?" and "да... нет, подождите" are one answer with a pause in
    # it. Speech the decoder heard no words in ends the turn ``end_of_speech_s`` after the
    # last voiced frame of speech, longer than the yes hold, so nothing ever cuts a held yes.
    yes_hold_s: float = 0.8
    end_of_speech_s: float = 0.9


class EnergyVad:
    """Per-frame speech decision with an adaptive noise floor, onset and hangover."""

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        window = max(1, self.config.floor_window_frames)
        self._levels = deque([self.config.initial_floor_dbfs] * window, maxlen=window)
        self.speaking = False  # the smoothed decision (onset and hangover applied)
        self.voiced = False  # the last frame on its own
        self.last_dbfs = SILENCE_DBFS
        self._run = 0  # voiced frames in a row while not speaking
        self._quiet = 0  # unvoiced frames in a row while speaking

    @property
    def noise_floor_dbfs(self) -> float:
        low, high = self.config.floor_range_dbfs
        return min(high, max(low, min(self._levels)))

    def is_speech(self, frame: bytes) -> bool:
        """Take the next frame; return whether we are inside speech after it."""
        cfg = self.config
        level = frame_dbfs(frame)
        self.last_dbfs = level
        self._levels.append(level)
        threshold = max(self.noise_floor_dbfs + cfg.margin_db, cfg.min_speech_dbfs)
        self.voiced = level > threshold
        if self.speaking:
            self._quiet = 0 if self.voiced else self._quiet + 1
            if self._quiet >= cfg.hangover_frames:
                self.speaking = False
                self._run = 0
        else:
            self._run = self._run + 1 if self.voiced else 0
            if self._run >= cfg.onset_frames:
                self.speaking = True
                self._quiet = 0
        return self.speaking

    @property
    def frames_since_voiced(self) -> int:
        """While speaking, unvoiced frames since the last voiced one (0 on a voiced frame)."""
        return self._quiet

    def reset(self) -> None:
        """Forget speech state but keep the noise floor (same line, same noise)."""
        self.speaking = False
        self.voiced = False
        self._run = 0
        self._quiet = 0


@dataclass(frozen=True)
class GateStep:
    """What to do with the audio after one frame went through the gate."""

    decode: tuple[bytes, ...]  # frames to hand to the decoder now, in order
    voiced: bool  # this frame on its own was voiced
    speech_started: bool  # the onset happened on this frame
    speech_ended: bool  # the hangover ran out on this frame
    ended_frames_ago: int  # with speech_ended: frames since the last voiced one
    flush: bool  # the tail ran out: finalize whatever the decoder holds


class SpeechGate:
    """Decide which frames are decoded: pre-roll + speech + tail, never long silence."""

    def __init__(self, config: VadConfig | None = None) -> None:
        self.vad = EnergyVad(config)
        cfg = self.vad.config
        self._preroll: deque[bytes] = deque(maxlen=max(cfg.preroll_frames, cfg.onset_frames))
        self._tail_left = 0  # > 0: speech ended, still decoding the tail

    @property
    def speaking(self) -> bool:
        return self.vad.speaking

    @property
    def decoding(self) -> bool:
        """Frames are currently going to the decoder (speech or its tail)."""
        return self.vad.speaking or self._tail_left > 0

    def push(self, frame: bytes) -> GateStep:
        was_speaking = self.vad.speaking
        quiet_before = self.vad.frames_since_voiced
        speaking = self.vad.is_speech(frame)
        started = speaking and not was_speaking
        ended = was_speaking and not speaking
        flush = False
        if started:
            decode = (*self._preroll, frame)
            self._preroll.clear()
            self._tail_left = 0
        elif speaking:
            decode = (frame,)
        elif ended:
            decode = (frame,)
            self._tail_left = self.vad.config.tail_frames
            if self._tail_left == 0:
                flush = True
        elif self._tail_left > 0:
            decode = (frame,)
            self._tail_left -= 1
            flush = self._tail_left == 0
        else:
            decode = ()
            self._preroll.append(frame)
        return GateStep(
            decode=decode,
            voiced=self.vad.voiced,
            speech_started=started,
            speech_ended=ended,
            ended_frames_ago=quiet_before + 1 if ended else 0,
            flush=flush,
        )

    def reset(self) -> None:
        """Drop speech state and buffered frames (e.g. the robot's own prompt echo)."""
        self.vad.reset()
        self._preroll.clear()
        self._tail_left = 0


class EndOfSpeech:
    """When a listening turn's answer is over: the gate's verdict in time (see the module
    notes). Pure: feed it each frame's gate step with the time the frame ended."""

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        self.reset()

    def reset(self) -> None:
        """A new listening turn."""
        self.open = False  # speech began and no verdict was given on it yet
        self.answered = False  # a result with words was given since the reset
        self.last_voiced_at: float | None = None  # the last voiced frame (yes hold, latency)
        self._last_speech_at: float | None = None  # the last voiced frame inside speech

    def step(self, step: GateStep, speaking: bool, at: float) -> None:
        if step.speech_started:
            self.open = True
        if step.voiced:
            self.last_voiced_at = at
            if speaking:
                self._last_speech_at = at

    def holds_yes(self, now: float, speaking: bool) -> bool:
        """A recognized yes is kept back: still speaking, or not ``yes_hold_s`` quiet yet."""
        if speaking or self.last_voiced_at is None:
            return True
        return now - self.last_voiced_at < self.config.yes_hold_s

    def gave_answer(self) -> None:
        """A result with words went out: this turn's answer is over."""
        self.answered = True
        self.open = False

    def nothing_heard(self, now: float, decoding: bool) -> bool:
        """True once per stretch of speech with no words: it ended (the gate is no longer
        decoding it) ``end_of_speech_s`` ago, and no answer was given in this turn."""
        if not self.open or self.answered or decoding or self._last_speech_at is None:
            return False
        if now - self._last_speech_at < self.config.end_of_speech_s:
            return False
        self.open = False
        return True
