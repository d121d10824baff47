"""Speech recognition in separate processes, behind :class:`robot.ports.Recognizer`.

Why: in-process recognition (``vosk_asr``) decodes in threads, and libvosk releases the GIL, but
the VAD gate, the result JSON and the Python around each decode still run in the worker's
interpreter, next to the event loop that paces every call's audio. With ``asr_processes = N``
that work moves to N recognizer processes; the worker only ships audio and gets results.

How:

- Each recognizer process is a one-process ``ProcessPoolExecutor`` (spawned, never forked: the
  worker has threads and sockets) whose initializer loads every model once. Inside it the
  ordinary :class:`~robot.adapters.vosk_asr.VoskStream` runs unchanged (VAD gate, endpointing,
  ``[unk]`` handling), so both modes decide alike.
- A call's stream is pinned to one process (its decoder state lives there), the one with the
  fewest open streams. A one-process executor runs tasks in submission order, so ``reset``
  (fire and forget) stays ordered with the ``feed`` calls around it.
- The session feeds only while the robot listens (or watches for barge-in), and the gate in the
  recognizer process decodes only speech: silence costs one small message per 100 ms.
- A recognizer process that dies breaks only its streams (they return nothing and the call
  falls back to key presses and timeouts); the next stream opened gets a fresh process.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import multiprocessing
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from robot.adapters.asr_models import ModelInfo
from robot.core.vad import VadConfig
from robot.ports import RecognitionResult

log = logging.getLogger(__name__)

_EMPTY = RecognitionResult(text="", final=True, confidence=0.0)


# -- inside a recognizer process -----------------------------------------------------------------


@dataclass
class _Worker:
    recognizer: Any  # VoskRecognizer
    loop: asyncio.AbstractEventLoop
    streams: dict[int, Any] = field(default_factory=dict)  # stream id -> VoskStream


_worker: _Worker | None = None

Stats = tuple[float, float, float, float | None, str, bool]


def _init(models: dict[str, ModelInfo], vad_config: VadConfig | None, log_level: int) -> None:
    global _worker
    logging.basicConfig(
        level=log_level, format="%(asctime)s %(levelname)s asr-%(process)d: %(message)s"
    )
    from robot.adapters.vosk_asr import VoskRecognizer

    rec = VoskRecognizer(models, max_workers=1, vad_config=vad_config)
    rec.preload()
    _worker = _Worker(rec, asyncio.new_event_loop())


def _stats(stream: Any) -> Stats:
    return (
        stream.audio_s,
        stream.decoded_audio_s,
        stream.decode_s,
        stream.last_speech_end,
        stream.last_endpoint,
        stream.speaking,
    )


def _ready() -> int:
    import os

    return os.getpid()


def _open(sid: int, language: str) -> None:
    assert _worker is not None
    _worker.streams[sid] = _worker.recognizer.open(language)


def _feed(sid: int, pcm: bytes) -> tuple[RecognitionResult | None, Stats]:
    assert _worker is not None
    stream = _worker.streams[sid]
    return _worker.loop.run_until_complete(stream.feed(pcm)), _stats(stream)


def _finish(sid: int) -> tuple[RecognitionResult, Stats]:
    assert _worker is not None
    stream = _worker.streams[sid]
    return _worker.loop.run_until_complete(stream.finish()), _stats(stream)


def _reset(sid: int) -> None:
    assert _worker is not None
    _worker.streams[sid].reset()


def _close(sid: int) -> None:
    assert _worker is not None
    _worker.streams.pop(sid, None)


# -- in the robot worker -------------------------------------------------------------------------


class _Slot:
    def __init__(self, index: int, start: Any) -> None:
        self.index = index
        self.executor: ProcessPoolExecutor = start()
        self.open = 0
        self.broken = False


class PooledStream:
    """Implements ``ports.RecognizerStream``; mirrors VoskStream's counters and timestamps."""

    def __init__(self, owner: ProcessPoolRecognizer, slot: _Slot, sid: int, language: str) -> None:
        self.owner, self.slot, self.sid = owner, slot, sid
        self.language = language
        self._generation = 0
        self._closed = False
        self._failed = False
        self.audio_s = self.decoded_audio_s = self.decode_s = 0.0
        self.last_speech_end: float | None = None
        self.last_endpoint = ""
        self.speaking = False

    def _apply(self, stats: Stats) -> None:
        (
            self.audio_s,
            self.decoded_audio_s,
            self.decode_s,
            self.last_speech_end,
            self.last_endpoint,
            self.speaking,
        ) = stats

    async def _call(self, fn: Any, *args: Any) -> Any:
        if self._failed:
            return None
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self.slot.executor, fn, self.sid, *args
            )
        except Exception as e:
            self._failed = True
            log.error(
                "recognizer process %d failed; this call gets no speech: %r", self.slot.index, e
            )
            self.owner.replace(self.slot)
            return None

    async def feed(self, pcm: bytes) -> RecognitionResult | None:
        generation = self._generation
        out = await self._call(_feed, pcm)
        if out is None:
            return None
        result, stats = out
        self._apply(stats)
        return result if generation == self._generation else None

    async def finish(self) -> RecognitionResult:
        generation = self._generation
        out = await self._call(_finish)
        if out is None:
            return _EMPTY
        result, stats = out
        self._apply(stats)
        return result if generation == self._generation else _EMPTY

    def reset(self) -> None:
        self._generation += 1
        self.last_speech_end = None
        self._submit(_reset)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.slot.open -= 1
            self._submit(_close)

    def _submit(self, fn: Any) -> None:
        if self._failed:
            return
        try:
            fut: Future[None] = self.slot.executor.submit(fn, self.sid)
        except RuntimeError as e:  # broken or shut down
            self._failed = True
            log.warning("recognizer process %d unavailable: %r", self.slot.index, e)
            return
        fut.add_done_callback(_log_failure)

    def __del__(self) -> None:  # a session that never closed its stream
        if not self._closed:
            self.close()


def _log_failure(fut: Future[None]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.warning("recognizer task failed: %r", fut.exception())


class ProcessPoolRecognizer:
    """Implements ``ports.Recognizer`` with ``processes`` recognizer processes."""

    def __init__(
        self,
        models: Mapping[str, ModelInfo],
        *,
        processes: int,
        vad_config: VadConfig | None = None,
    ) -> None:
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self._models = dict(models)
        self._processes = processes
        self._vad_config = vad_config
        self._slots: list[_Slot] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.model_name = ", ".join(f"{lang}={i.name}" for lang, i in self._models.items())

    @classmethod
    def from_settings(
        cls, settings: Any, *, processes: int, languages: Iterable[str] | None = None
    ) -> ProcessPoolRecognizer:
        from robot.adapters.vosk_asr import VoskRecognizer

        local = VoskRecognizer.from_settings(settings, languages)  # resolves, loads nothing
        models = {lang: local.model_info(lang) for lang in local.languages()}
        return cls(models, processes=processes)

    def languages(self) -> tuple[str, ...]:
        return tuple(self._models)

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                **info.describe(),
                "engine": "vosk",
                "processes": self._processes,
                "loaded": bool(self._slots),
            }
            for info in self._models.values()
        ]

    def _start_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init,
            initargs=(self._models, self._vad_config, logging.getLogger().level),
        )

    def preload(self) -> None:
        """Start the processes and wait until each has loaded the models (blocking)."""
        with self._lock:
            while len(self._slots) < self._processes:
                self._slots.append(_Slot(len(self._slots), self._start_executor))
            slots = list(self._slots)
        pids = [s.executor.submit(_ready).result() for s in slots]
        log.info("%d recognizer processes ready: pids %s", len(pids), pids)

    def replace(self, slot: _Slot) -> None:
        """A process died: streams opened from now on get a new one in its place."""
        with self._lock:
            if slot.broken:
                return
            slot.broken = True
            self._slots[slot.index] = _Slot(slot.index, self._start_executor)
        slot.executor.shutdown(wait=False, cancel_futures=True)

    def open(self, language: str) -> PooledStream:
        if language not in self._models:
            from robot.adapters.asr_models import ModelNotInstalled

            raise ModelNotInstalled(f"no speech model loaded for {language!r}")
        with self._lock:
            if not self._slots:
                self._slots = [_Slot(i, self._start_executor) for i in range(self._processes)]
            slot = min(self._slots, key=lambda s: s.open)
            slot.open += 1
        sid = next(self._ids)
        stream = PooledStream(self, slot, sid, language)
        stream._submit(functools.partial(_open, language=language))
        return stream

    def close(self) -> None:
        with self._lock:
            slots, self._slots = self._slots, []
        for s in slots:
            s.executor.shutdown(wait=True, cancel_futures=True)
