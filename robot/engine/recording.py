"""Call recordings: both sides of an answered call in one stereo WAV, and their retention.

:class:`RecordingMedia` wraps a call's :class:`~robot.ports.MediaSession`: caller audio is
taken as the session reads it (``events``), the robot's as it asks to play it (``play``,
cut where ``stop_playback`` stops it, as on a barge-in). Both are placed on one timeline by
event-loop time, so the file sounds like the call did: left channel the customer, right
channel the robot, 8 kHz 16-bit. Nothing touches the disk during the call; ``save`` writes
``<root>/<YYYY-MM-DD>/<call_id>.wav`` in a worker thread when it is over.

Retention: ``purge_recordings`` deletes the day directories older than N days (the date in
the directory name is the call's UTC date), for a housekeeping job to call.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import wave
from array import array
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from robot.ports import MediaEvent, MediaKind, MediaSession

log = logging.getLogger(__name__)

RATE = 8000
BYTES_PER_S = RATE * 2
MAX_SECONDS = 3600  # a runaway call is not recorded past an hour


class _TappedQueue:
    """The session's view of the media events: the wrapped queue, with audio copied out."""

    def __init__(self, inner: asyncio.Queue[MediaEvent], on_audio: Callable[[MediaEvent], None]):
        self._inner = inner
        self._on_audio = on_audio

    async def get(self) -> MediaEvent:
        ev = await self._inner.get()
        if ev.kind is MediaKind.AUDIO:
            self._on_audio(ev)
        return ev

    def get_nowait(self) -> MediaEvent:
        ev = self._inner.get_nowait()
        if ev.kind is MediaKind.AUDIO:
            self._on_audio(ev)
        return ev

    def empty(self) -> bool:
        return self._inner.empty()

    def put_nowait(self, ev: MediaEvent) -> None:
        self._inner.put_nowait(ev)

    def qsize(self) -> int:
        return self._inner.qsize()


class RecordingMedia:
    """Implements ``ports.MediaSession`` around another one, keeping both sides' audio."""

    def __init__(self, inner: MediaSession, clock: Callable[[], float] | None = None) -> None:
        self.inner = inner
        self.call_id = inner.call_id
        self.closed = inner.closed
        self._clock = clock or asyncio.get_running_loop().time
        self._t0 = self._clock()
        self.caller: list[tuple[float, bytes]] = []  # (seconds since start, pcm)
        self.robot: list[tuple[float, bytes]] = []
        self._playing: int | None = None  # index in ``robot`` of the prompt now playing
        # Duck-typed: the session only gets, checks empty and puts back.
        self.events: asyncio.Queue[MediaEvent] = _TappedQueue(  # type: ignore[assignment]
            inner.events, self._heard
        )

    def _now(self) -> float:
        return self._clock() - self._t0

    def _heard(self, ev: MediaEvent) -> None:
        # A frame is timestamped when it arrived, which is when its last sample was said.
        self.caller.append((max(0.0, ev.at - self._t0 - len(ev.pcm) / BYTES_PER_S), ev.pcm))

    async def play(self, pcm: bytes) -> bool:
        self.robot.append((self._now(), pcm))
        self._playing = len(self.robot) - 1
        done = await self.inner.play(pcm)
        self._playing = None
        return done

    def stop_playback(self) -> None:
        if self._playing is not None:
            start, pcm = self.robot[self._playing]
            played = int((self._now() - start) * RATE) * 2
            self.robot[self._playing] = (start, pcm[: max(0, played)])
            self._playing = None
        self.inner.stop_playback()

    def hangup(self) -> None:
        self.inner.hangup()

    def __getattr__(self, name: str) -> object:  # anything else the wrapped session has
        return getattr(self.inner, name)

    def stereo_pcm(self) -> bytes:
        """Interleaved 16-bit stereo: left the caller, right the robot."""
        tracks = [_track(self.caller), _track(self.robot)]
        n = max(len(t) for t in tracks)
        out = array("h", bytes(4 * n))
        for ch, t in enumerate(tracks):
            out[ch : 2 * len(t) : 2] = t
        if sys.byteorder == "big":
            out.byteswap()
        return out.tobytes()

    async def save(self, root: Path, when: datetime) -> Path | None:
        """Write the recording (in a thread); its path, or None if nothing was heard or said."""
        if not self.caller and not self.robot:
            return None
        path = root / when.strftime("%Y-%m-%d") / f"{self.call_id}.wav"
        try:
            await asyncio.to_thread(_write, path, self.stereo_pcm())
        except OSError as e:
            log.error("call %s: recording not saved to %s: %r", self.call_id, path, e)
            return None
        return path


def _track(pieces: list[tuple[float, bytes]]) -> array[int]:
    """Mono samples with each piece at its start time (later pieces overwrite overlaps)."""
    end = max((int(t * RATE) + len(p) // 2 for t, p in pieces), default=0)
    track = array("h", bytes(2 * min(end, MAX_SECONDS * RATE)))
    for t, pcm in pieces:
        samples = array("h")
        samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
        if sys.byteorder == "big":
            samples.byteswap()
        start = int(t * RATE)
        stop = min(start + len(samples), len(track))
        if stop > start:
            track[start:stop] = samples[: stop - start]
    return track


def _write(path: Path, stereo: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(stereo)
    tmp.replace(path)


def purge_recordings(root: Path, keep_days: int, today: date) -> list[Path]:
    """Delete the day directories under ``root`` older than ``keep_days`` days; 0 keeps all.
    Returns what was deleted. Names that are not dates are left alone."""
    if keep_days <= 0 or not root.is_dir():
        return []
    cutoff = today - timedelta(days=keep_days)
    removed = []
    for day_dir in sorted(root.iterdir()):
        try:
            day = date.fromisoformat(day_dir.name)
        except ValueError:
            continue
        if day_dir.is_dir() and day < cutoff:
            shutil.rmtree(day_dir, ignore_errors=True)
            removed.append(day_dir)
    if removed:
        log.info("recordings: deleted %d day(s) older than %d days", len(removed), keep_days)
    return removed
