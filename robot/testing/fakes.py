"""Small fakes of the ports (media, prompts, recognizer streams) and order builders."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from robot.core.langpack import RequestedChange
from robot.core.models import CallAttempt, Order, Outcome
from robot.core.prompts import Prompt
from robot.core.records import OrderRecord
from robot.engine.keys_only import KeysOnlyStream
from robot.ports import MediaEvent, MediaKind, RecognitionResult, RecognizerStream

SILENT_FRAME = b"\x00" * 320
LOUD_FRAME = (b"\x00\x40" + b"\x00\xc0") * 80  # a square wave at about -6 dBFS


def make_order(lang: str = "ru", today: date | None = None, **kw: Any) -> Order:
    """A valid order for tests (delivery tomorrow relative to ``today``); ``kw`` overrides."""
    data: dict[str, Any] = {
        "order_id": "1234",
        "phone": "+79161234567",
        "amount": Decimal("2490"),
        "currency": "KRW" if lang == "ko" else "RUB",
        "shop_name": "Ромашка" if lang == "ru" else "쿠팡",
        "language": lang,
        "delivery_date": (today or date(2024, 11, 20)) + timedelta(days=1),
    }
    return Order(**(data | kw))


def finished_call(record: OrderRecord, outcome: Outcome, at: datetime) -> CallAttempt:
    """A finished call attempt for ``record``'s current attempt, as the dialer records it."""
    o = record.order
    return CallAttempt(
        call_id=f"{o.order_id}-c{record.attempts}",
        order_id=o.order_id,
        attempt=record.attempts,
        phone=o.phone,
        language=o.language,
        created_at=at,
        ended_at=at,
        outcome=outcome,
    )


class FakeMedia:
    """A MediaSession whose prompts finish after ``play_s`` and which records what played."""

    def __init__(
        self, call_id: str = "00000000-0000-0000-0000-000000000001", play_s: float = 0.01
    ) -> None:
        self.call_id = call_id
        self.events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.played: list[bytes] = []
        self.play_s = play_s
        self.stopped = 0
        self.hung_up = False
        self._stop = asyncio.Event()

    async def play(self, pcm: bytes) -> bool:
        self.played.append(pcm)
        self._stop.clear()
        try:
            await asyncio.wait_for(self._stop.wait(), self.play_s)
            return False
        except TimeoutError:
            return not self.closed.is_set()

    def stop_playback(self) -> None:
        self.stopped += 1
        self._stop.set()

    def hangup(self) -> None:
        self.hung_up = True
        self.closed.set()

    def send(self, kind: MediaKind, *, pcm: bytes = b"", digit: str = "") -> None:
        self.events.put_nowait(MediaEvent(kind, asyncio.get_running_loop().time(), pcm, digit))

    async def speak(self, frames: int, frame: bytes = LOUD_FRAME, real_time: bool = True) -> None:
        """Send caller audio, paced like a phone line when ``real_time``."""
        for _ in range(frames):
            self.send(MediaKind.AUDIO, pcm=frame)
            if real_time:
                await asyncio.sleep(0.02)


class FakePrompts:
    """A PromptSource returning a short tone named by the prompt (no audio files needed)."""

    def __init__(self) -> None:
        self.rendered: list[Prompt] = []

    def render_prompt(
        self, prompt: Prompt, order: Order, today: date, change: RequestedChange | None = None
    ) -> bytes:
        self.rendered.append(prompt)
        return LOUD_FRAME * 5

    def prompt_text(
        self, prompt: Prompt, order: Order, today: date, change: RequestedChange | None = None
    ) -> str:
        return prompt.value


class FakeRecognizerStream(KeysOnlyStream):
    """Hears the audio with the real voice gate and end of speech (``core.vad``, as every
    stream does) and, when an answer ends, says ``text`` if it was fed at least
    ``after_bytes`` of audio in that turn (else nothing: speech without words)."""

    def __init__(self, text: str, after_bytes: int = 3200) -> None:
        super().__init__()
        self.text = text
        self.after_bytes = after_bytes
        self.fed = 0
        self.resets = 0
        self.closed = False

    async def feed(self, pcm: bytes) -> RecognitionResult | None:
        self.fed += len(pcm)
        if await super().feed(pcm) is None:
            return None
        return await self.finish()

    async def finish(self) -> RecognitionResult:
        text = self.text if self.fed >= self.after_bytes else ""
        self.fed = 0
        return RecognitionResult(text=text, final=True, confidence=1.0 if text else 0.0)

    def reset(self) -> None:
        super().reset()
        self.resets += 1
        self.fed = 0

    def close(self) -> None:
        self.closed = True


class ScriptedRecognizer:
    """A ``ports.Recognizer`` over a real one, for calls whose synthetic speech the installed
    model cannot hear (Russian audio, Korean model): the real stream hears the call's audio
    (voice gate, endpointing, timing), and what it reports for each listening turn is replaced
    by the next line of that call's script. The text enters at the recognizer port, so the
    language pack, the dialog, the session's timing and everything after them are the real
    ones. ``script_for()`` is asked once per opened stream (one per answered call). A language
    in ``languages`` that the real recognizer has no model for is heard with one it has (the
    voice gate and endpointer need no words)."""

    def __init__(self, inner: Any, script_for: Any, languages: tuple[str, ...] = ()) -> None:
        self.inner = inner
        self.script_for = script_for  # () -> list[str]: the lines of the call being opened
        self.extra_languages = languages
        self.model_name = f"scripted over {getattr(inner, 'model_name', '?')}"

    def languages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.inner.languages(), *self.extra_languages)))

    def open(self, language: str) -> ScriptedStream:
        have = tuple(self.inner.languages())
        stream = self.inner.open(language if language in have else have[0])
        return ScriptedStream(stream, list(self.script_for()))

    def __getattr__(self, name: str) -> Any:  # describe, preload, close, ...
        return getattr(self.inner, name)


class ScriptedStream:
    """One call's scripted stream: at most one line per listening turn (the session resets the
    stream each time it starts to listen), given when the real stream ends an utterance."""

    def __init__(self, inner: RecognizerStream, lines: list[str]) -> None:
        self.inner = inner
        self.lines = lines
        self.said: list[str] = []  # the lines given out, in order
        self._given = False  # this turn's line is out
        self._audio_s = 0.0

    async def feed(self, pcm: bytes) -> RecognitionResult | None:
        result = await self.inner.feed(pcm)
        if result is None:
            return None
        # The real stream ended the answer: with words, or with speech it found none in.
        if result.text or self.inner.decoded_audio_s > self._audio_s:
            return self._line()
        return result

    async def finish(self) -> RecognitionResult:
        result = await self.inner.finish()
        heard = getattr(self.inner, "decoded_audio_s", 0.0) > self._audio_s
        if result.text or heard:
            return self._line()
        return result

    def reset(self) -> None:
        self.inner.reset()
        self._given = False
        self._audio_s = getattr(self.inner, "decoded_audio_s", 0.0)

    def _line(self) -> RecognitionResult:
        if self._given or not self.lines:
            return RecognitionResult(text="", final=True, confidence=0.0)
        self._given = True
        text = self.lines.pop(0)
        self.said.append(text)
        words = tuple((w, 1.0) for w in text.split())
        return RecognitionResult(text=text, final=True, confidence=1.0, words=words)

    def __getattr__(self, name: str) -> Any:  # decoded_audio_s, decode_s, close, ...
        return getattr(self.inner, name)


async def audiosocket_peer(
    port: int, presented: str, *, source: str | None = None, audio_frames: int = 0,
    read_s: float = 3.0,
) -> bytes:  # fmt: skip
    """Connect to an AudioSocket server as Asterisk would (from ``source``), present the UUID
    ``presented``, press 1, send some silence; return what came back before the server closed
    the connection (or ``read_s`` passed). For tests of who may open a call's media."""
    import contextlib
    import uuid

    from robot.adapters.audiosocket.codec import SILENCE_FRAME, Kind, encode

    local = (source, 0) if source else None
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=local)
    data = encode(Kind.UUID, uuid.UUID(presented).bytes) + encode(Kind.DTMF, b"1")
    data += encode(Kind.AUDIO, SILENCE_FRAME) * audio_frames
    with contextlib.suppress(ConnectionError):
        writer.write(data)
        await writer.drain()
    received = b""
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(read_s):
            while chunk := await reader.read(4096):
                received += chunk
    writer.close()
    return received
