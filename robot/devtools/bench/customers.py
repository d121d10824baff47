"""Simulated customers speaking AudioSocket to the robot, for the protocol-level load test.

Each answered call is one TCP connection to the robot's AudioSocket server (the address the
dialer sent as ``DOZVON_AUDIOSOCKET``, else the default), opened with the call's UUID, as
``app_audiosocket`` does. One pacer writes a 20 ms frame to every connection per tick (silence,
or the customer's answer). The customer behaves like the dialplan's ``dozvon-customer``: waits
for the robot to start talking (200 ms of sound), then for it to stop (900 ms of silence),
answers (a recorded phrase, or a key press), and stays on the line until the robot hangs up.

Timing measured per call (monotonic, seconds): when the answer's last voiced frame went out
and when the robot's next prompt started (its first non-silent frame after that), so
``reply - end_of_speech`` is the end-of-speech-to-reply latency seen on the wire. The robot
sends exact digital silence between prompts, so "silent" is a byte comparison, which keeps
the load generator cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import struct
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from robot.adapters.audiosocket.codec import FRAME_BYTES, SILENCE_FRAME, Kind, encode
from robot.core.vad import frame_dbfs

log = logging.getLogger(__name__)

FRAME_S = 0.02
NOISE_FRAMES = 10  # 200 ms of robot sound: it started talking
SILENCE_FRAMES = 45  # 900 ms of robot silence: it finished its question
WAIT_NOISE_S = 15.0
WAIT_SILENCE_S = 60.0
GAP_S = 0.1
CATCH_UP_S = 1.0
VOICED_DBFS = -45.0  # the answer's frames above this count as speech
_HEADER = struct.Struct(">BH")
_SILENCE_MSG = encode(Kind.AUDIO, SILENCE_FRAME)


class Phase(str, Enum):
    WAIT_NOISE = "wait_noise"  # the robot has not started talking yet
    WAIT_SILENCE = "wait_silence"  # the robot is talking
    ANSWERING = "answering"  # sending the answer
    WAIT_REPLY = "wait_reply"  # answered; waiting for the robot's next prompt
    LINGER = "linger"  # heard the reply; waiting for the robot to hang up
    ENDED = "ended"  # the connection is closed


@dataclass(frozen=True)
class Answer:
    """What every customer says: audio frames, or a key press (``digit``)."""

    frames: tuple[bytes, ...] = ()  # encoded AudioSocket audio messages
    last_voiced: int = -1  # index of the last voiced frame
    digit: str = ""

    @classmethod
    def spoken(cls, wav_path: Path) -> Answer:
        with wave.open(str(wav_path), "rb") as w:
            if (w.getframerate(), w.getsampwidth(), w.getnchannels()) != (8000, 2, 1):
                raise ValueError(f"{wav_path}: need 8 kHz 16-bit mono")
            pcm = w.readframes(w.getnframes())
        raw = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
        raw[-1] = raw[-1].ljust(FRAME_BYTES, b"\x00")
        voiced = [i for i, f in enumerate(raw) if frame_dbfs(f) > VOICED_DBFS]
        return cls(tuple(encode(Kind.AUDIO, f) for f in raw), voiced[-1] if voiced else -1)

    @classmethod
    def key(cls, digit: str) -> Answer:
        return cls(digit=digit)


@dataclass
class CustomerCall:
    call_id: str
    media_key: str = ""  # the AudioSocket UUID the robot expects (DOZVON_MEDIA_ID)
    connected_at: float = 0.0
    robot_started_at: float | None = None
    end_of_speech_at: float | None = None
    reply_at: float | None = None
    ended_at: float | None = None
    robot_hung_up: bool = False
    phase: Phase = Phase.WAIT_NOISE
    error: str = ""
    frames_in: int = 0
    frames_out: int = 0
    _run: int = 0  # consecutive frames of the kind the phase waits for
    _phase_at: float = 0.0
    _next: int = 0  # next answer frame to send
    _buf: bytearray = field(default_factory=bytearray)

    @property
    def reply_latency_s(self) -> float | None:
        if self.end_of_speech_at is None or self.reply_at is None:
            return None
        return self.reply_at - self.end_of_speech_at


class _Leg(asyncio.Protocol):
    """The customer's side of one call's AudioSocket connection."""

    def __init__(self, owner: Customers, call: CustomerCall) -> None:
        self.owner = owner
        self.call = call
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.last_data = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        now = self.loop.time()
        self.call.connected_at = self.call._phase_at = now
        transport.write(
            encode(Kind.UUID, uuid.UUID(self.call.media_key or self.call.call_id).bytes)
        )
        self.owner.legs.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.owner.legs.discard(self)
        self.owner.ended(self)

    def data_received(self, data: bytes) -> None:
        buf = self.call._buf
        buf += data
        pos, n = 0, len(buf)
        now = self.loop.time()
        if self.last_data and now - self.last_data > GAP_S:
            self.owner.frame_gaps += 1
        self.last_data = now
        while n - pos >= 3:
            kind, length = _HEADER.unpack_from(buf, pos)
            if n - pos < 3 + length:
                break
            if kind == Kind.AUDIO:
                self._robot_frame(buf[pos + 3 : pos + 3 + length] == SILENCE_FRAME, now)
            elif kind == Kind.HANGUP:
                self.call.robot_hung_up = True
            pos += 3 + length
        del buf[:pos]

    def _robot_frame(self, silent: bool, now: float) -> None:
        c = self.call
        c.frames_in += 1
        if c.phase is Phase.WAIT_NOISE:
            c._run = 0 if silent else c._run + 1
            if c._run >= NOISE_FRAMES:
                c.robot_started_at = now
                self._enter(Phase.WAIT_SILENCE, now)
            elif now - c._phase_at > WAIT_NOISE_S:
                self._enter(Phase.WAIT_SILENCE, now)
        elif c.phase is Phase.WAIT_SILENCE:
            c._run = c._run + 1 if silent else 0
            if c._run >= SILENCE_FRAMES or now - c._phase_at > WAIT_SILENCE_S:
                self._enter(Phase.ANSWERING, now)
        elif c.phase is Phase.WAIT_REPLY and not silent:
            c.reply_at = now
            self._enter(Phase.LINGER, now)

    def _enter(self, phase: Phase, now: float) -> None:
        self.call.phase, self.call._phase_at, self.call._run = phase, now, 0

    def tick(self, now: float) -> None:
        """Write this 20 ms's frame (the pacer calls every leg once per tick)."""
        t = self.transport
        if t is None or t.is_closing():
            return
        c = self.call
        answer = self.owner.answer
        if c.phase is Phase.ANSWERING:
            if answer.digit:
                t.write(encode(Kind.DTMF, answer.digit.encode()))
                c.end_of_speech_at = now
                self._enter(Phase.WAIT_REPLY, now)
            elif c._next < len(answer.frames):
                t.write(answer.frames[c._next])
                if c._next == answer.last_voiced:
                    c.end_of_speech_at = now + FRAME_S  # the frame ends 20 ms after it starts
                c._next += 1
                c.frames_out += 1
                return
            else:
                self._enter(Phase.WAIT_REPLY, now)
        t.write(_SILENCE_MSG)
        c.frames_out += 1

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Customers:
    """Answers calls after a random ring time (mean ``ring_s``), converses, reports the end of
    each call."""

    def __init__(
        self,
        answer: Answer,
        *,
        ring_s: float = 0.5,
        on_answer: Callable[[str], None] | None = None,
        on_end: Callable[[CustomerCall], None] | None = None,
        max_call_s: float = 120.0,
    ) -> None:
        self.answer = answer
        self.ring_s = ring_s
        self.on_answer = on_answer
        self.on_end = on_end
        self.max_call_s = max_call_s
        self.calls: dict[str, CustomerCall] = {}
        self.legs: set[_Leg] = set()
        self.peak_legs = 0
        self.frame_gaps = 0  # robot audio arriving more than GAP_S after the previous frame
        self.late_ticks = 0  # our own pacer more than GAP_S late (this process was starved)
        self.max_lag_s = 0.0
        self._pacer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        if self._pacer is None:
            self._pacer = asyncio.create_task(self._pace(), name="customers-pacer")

    async def stop(self) -> None:
        for leg in list(self.legs):
            leg.close()
        for t in (*self._tasks, self._pacer):
            if t is not None:
                t.cancel()
        for t in (*self._tasks, self._pacer):
            if t is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        self._pacer = None

    def ring(self, call_id: str, host: str, port: int, media_key: str = "") -> None:
        """A call arrives: pick up after ``ring_s`` and connect to the robot's AudioSocket."""
        task = asyncio.create_task(self._pick_up(call_id, host, port, media_key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pick_up(self, call_id: str, host: str, port: int, media_key: str) -> None:
        # People pick up after a varying number of rings; equal delays would make every call
        # speak in the same instant, a load no real day has.
        await asyncio.sleep(random.uniform(0.0, 2 * self.ring_s))
        call = CustomerCall(call_id, media_key)
        self.calls[call_id] = call
        if self.on_answer is not None:
            self.on_answer(call_id)
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_connection(lambda: _Leg(self, call), host, port)
        except OSError as e:
            call.error = f"connect failed: {e}"
            call.phase, call.ended_at = Phase.ENDED, loop.time()
            if self.on_end is not None:
                self.on_end(call)
            return
        self.peak_legs = max(self.peak_legs, len(self.legs))
        await asyncio.sleep(self.max_call_s)
        if call.phase is not Phase.ENDED:
            call.error = "robot never hung up"
            transport.close()

    def ended(self, leg: _Leg) -> None:
        c = leg.call
        c.phase, c.ended_at = Phase.ENDED, asyncio.get_running_loop().time()
        if self.on_end is not None:
            self.on_end(c)

    async def _pace(self) -> None:
        """One frame per leg per 20 ms. When this process falls behind (a busy machine), the
        missed ticks are made up at once, as a jitter buffer would play them, so the robot
        hears a late burst, never a gap in the customer's speech."""
        loop = asyncio.get_running_loop()
        next_t = loop.time()
        while True:
            now = loop.time()
            lag = now - next_t
            self.max_lag_s = max(self.max_lag_s, lag)
            if lag > GAP_S:
                self.late_ticks += 1
            if lag > CATCH_UP_S:  # too far behind: give up on the missed time
                next_t = now
            while next_t <= now:
                for leg in list(self.legs):
                    leg.tick(next_t)
                next_t += FRAME_S
            await asyncio.sleep(max(0.0, next_t - loop.time()))
