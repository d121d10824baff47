"""One answered call: runs the dialog over the media channel, the recognizer and the prompts.

The session is the only place that knows about time and audio; the dialog only sees events.
Caller audio goes to the recognizer stream only while the robot listens. When an answer is
over is the stream's gate's decision (``core.vad.EndOfSpeech``: its final result, empty when
it heard speech but no words); the session consumes those results and keeps only the bounds
of a turn: the listen timeout when nobody speaks and the longest answer. Its own voice
detector marks barge-in over a question, that speech started (for the listen timeout) and when
the last voice arrived, to measure how long a decision takes after the customer stops.

What was said is understood with the order's language pack against ``today``, the customer's
local date (so "в воскресенье" is the coming Sunday where the customer lives); the reply
(intent, and for a change the day, time or address) goes to the dialog as one ``Heard``.
A machine's greeting usually starts as the robot does: it talks over the intro, which barge-in
stops within ``BARGE_IN_FRAMES``, and is listened to like any answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from robot.core.dialog import (
    BargeIn,
    CallerHungUp,
    Command,
    Dialog,
    Event,
    Finish,
    Heard,
    KeyPressed,
    Listen,
    ListenTimeout,
    MediaLost,
    Phase,
    Play,
    PromptDone,
    Started,
    StopPrompt,
)
from robot.core.langpack import Reply
from robot.core.machine_kind import MachineMessage
from robot.core.models import Intent, Order, Outcome
from robot.core.purposes import Purpose, purpose_for
from robot.engine.keys_only import KeysOnlyStream
from robot.ports import CallState, MediaKind, MediaSession, PromptSource, RecognizerStream

log = logging.getLogger(__name__)

FEED_FRAMES = 5  # hand the recognizer 100 ms at a time
HANGUP_CONFIRM_S = 1.0  # how long a closed socket waits for AMI to report Asterisk down
BARGE_IN_FRAMES = 10  # 200 ms of speech over a question counts as the customer answering
PREROLL_FRAMES = 25  # audio kept from before the barge-in decision, so no word onset is lost


@dataclass(kw_only=True)
class SessionTiming:
    # The bounds of a turn and of a call; the end of an answer is the recognizer stream's (its
    # timings, ordered against each other, are in core.vad.VadConfig). The two without a
    # default are settings (DOZVON_LISTEN_TIMEOUT_S, DOZVON_MAX_CALL_S: robot/config.py).
    listen_timeout_s: float
    max_utterance_s: float = 10.0
    max_call_s: float


@dataclass
class SessionResult:
    finish: Finish
    transcript: list[str]
    speech_end_to_decision_ms: float | None


class CallSession:
    def __init__(
        self,
        *,
        call_id: str,
        order: Order,
        media: MediaSession,
        prompts: PromptSource,
        stream: RecognizerStream | None,
        classify: Callable[[str], Intent] | None = None,
        is_speech: Callable[[bytes], bool],
        today: date,
        timing: SessionTiming,
        max_reprompts: int = 2,
        announce_recording: bool = False,
        on_state: Callable[[CallState], None] | None = None,
        remote_hangup: asyncio.Event | None = None,
        asterisk_lost: asyncio.Event | None = None,
        on_decided: Callable[[Outcome], Awaitable[None]] | None = None,
        understand: Callable[[str, date], Reply] | None = None,
        operator_available: bool = False,
        machine_message: MachineMessage = MachineMessage.ASSISTANT,
        purpose: Purpose | None = None,
    ) -> None:
        self.call_id = call_id
        # Awaited once the dialog has decided, before the goodbye plays (e.g. a do-not-call
        # request is stored durably before we say it is).
        self.on_decided = on_decided
        self.order = order
        self.media = media
        self.prompts = prompts
        # No speech model: keys only, but speech still ends the turn (engine/keys_only.py).
        self.stream: RecognizerStream = stream if stream is not None else KeysOnlyStream()
        if understand is None:
            if classify is None:
                raise TypeError("CallSession needs understand (or classify)")
            understand = _intents_only(classify)
        self.understand = understand
        self.is_speech = is_speech
        self.today = today
        self.timing = timing
        # What the call is about (robot.core.purposes): the order's, built-in unless given.
        self.purpose = purpose or purpose_for(order)
        self.dialog = Dialog(
            listen_timeout_s=self.timing.listen_timeout_s,
            max_reprompts=max_reprompts,
            announce_recording=announce_recording,
            operator_available=operator_available,
            machine_message=machine_message,
            delivery_date=self.purpose.day_of(order),
            purpose=self.purpose,
        )
        self.on_state = on_state or (lambda s: None)
        self.transcript: list[str] = []
        self.remote_hangup = remote_hangup
        self.asterisk_lost = asterisk_lost or asyncio.Event()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._listening = False
        self._listen_started = 0.0
        self._speech_started = False
        self._last_voice = 0.0
        self._pcm_batch: list[bytes] = []
        # Audio waiting for the recognizer: decoded by _feed_recognizer, so a busy recognizer
        # delays results but never the pump, which timestamps speech as it arrives.
        self._feeds: asyncio.Queue[bytes] = asyncio.Queue()
        self._preroll: deque[bytes] = deque(maxlen=PREROLL_FRAMES)
        self._voiced_run = 0
        self._barged = False
        self._decision_ms: float | None = None
        self._play_task: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()

    async def run(self) -> SessionResult:
        pump = asyncio.create_task(self._pump_media(), name=f"media-{self.call_id[:8]}")
        clock = asyncio.create_task(self._listen_clock(), name=f"clock-{self.call_id[:8]}")
        feeder = asyncio.create_task(self._feed_recognizer(), name=f"asr-{self.call_id[:8]}")
        self._events.put_nowait(Started())
        finish = Finish(Outcome.FAILED, None, "call exceeded its maximum length")
        try:
            async with asyncio.timeout(self.timing.max_call_s):
                finish = await self._loop_events()
        except TimeoutError:
            log.warning("call %s: exceeded %.0f s", self.call_id, self.timing.max_call_s)
        finally:
            for task in (pump, clock, feeder, self._play_task):
                if task is not None:
                    task.cancel()
            for task in (pump, clock, feeder, self._play_task):
                if task is not None:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
        return SessionResult(finish, self.transcript, self._decision_ms)

    async def _loop_events(self) -> Finish:
        while True:
            event = await self._events.get()
            decided_before = self.dialog.decided is not None
            for cmd in self.dialog.handle(event):
                if isinstance(cmd, Finish):
                    log.info("call %s: %s (%s)", self.call_id, cmd.outcome.value, cmd.reason)
                    return cmd
                if not decided_before and self.dialog.decided and self.on_decided is not None:
                    decided_before = True
                    await self.on_decided(self.dialog.decided[0])
                await self._execute(cmd)

    async def _execute(self, cmd: Command) -> None:
        if isinstance(cmd, Play):
            self._listening = False
            self._preroll = deque(maxlen=PREROLL_FRAMES)
            self._voiced_run = 0
            self._barged = False
            self.on_state(CallState.SPEAKING)
            text = self.prompts.prompt_text(cmd.prompt, self.order, self.today, cmd.change)
            self.transcript.append(f"robot: {text}")
            pcm = await asyncio.to_thread(
                self.prompts.render_prompt, cmd.prompt, self.order, self.today, cmd.change
            )
            if self._play_task is not None:
                self._play_task.cancel()
            self._play_task = asyncio.create_task(self._play(pcm))
        elif isinstance(cmd, StopPrompt):
            self.media.stop_playback()
            self.transcript.append("robot: [stopped]")
        elif isinstance(cmd, Listen):
            await self._start_listening(cmd.barge_in)
        else:  # Hangup, Transfer: the media handler hangs up when the session returns
            self.on_state(CallState.CLOSING)

    async def _play(self, pcm: bytes) -> None:
        if await self.media.play(pcm):
            self._events.put_nowait(PromptDone())

    async def _start_listening(self, barge_in: bool) -> None:
        self.on_state(CallState.LISTENING)
        self._listen_started = self._loop.time()
        self._pcm_batch.clear()
        self._speech_started = barge_in
        while not self._feeds.empty():  # audio of an earlier question
            self._feeds.get_nowait()
            self._feeds.task_done()
        self.stream.reset()
        if barge_in and self._preroll:
            # The customer is mid-word: hand over what was said before we noticed.
            self._feeds.put_nowait(b"".join(self._preroll))
        self._preroll = deque(maxlen=PREROLL_FRAMES)
        self._listening = True

    async def _pump_media(self) -> None:
        while True:
            ev = await self.media.events.get()
            if ev.kind is MediaKind.AUDIO:
                if self._listening:
                    await self._on_audio(ev.pcm, ev.at)
                elif self.dialog.phase is Phase.ASKING:
                    self._watch_for_barge_in(ev.pcm, ev.at)
                elif self.dialog.phase is Phase.LISTENING:
                    # Decided to listen, not listening yet (a barge-in being handled): keep
                    # the audio for the recognizer and the time of the last voice, or a busy
                    # loop would end the answer before it was heard.
                    self._keep_preroll(ev.pcm, ev.at)
            elif ev.kind is MediaKind.DTMF:
                self.transcript.append(f"customer: [key {ev.digit}]")
                self._listening = False
                self._events.put_nowait(KeyPressed(ev.digit))
            elif ev.kind is MediaKind.HANGUP:
                self._events.put_nowait(CallerHungUp())
                return
            elif ev.kind in (MediaKind.CLOSED, MediaKind.ERROR):
                self._listening = False
                self._events.put_nowait(
                    CallerHungUp() if await self._hung_up_by_caller() else MediaLost()
                )
                return

    async def _hung_up_by_caller(self) -> bool:
        """The socket closed: a caller's hangup if Asterisk reported the channel ended and did
        not go down itself (a stopping Asterisk also hangs its channels up first)."""
        if self.remote_hangup is None:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.asterisk_lost.wait(), HANGUP_CONFIRM_S)
        return self.remote_hangup.is_set() and not self.asterisk_lost.is_set()

    def _keep_preroll(self, pcm: bytes, at: float) -> bool:
        self._preroll.append(pcm)
        if self.is_speech(pcm):
            self._last_voice = at
            return True
        return False

    def _watch_for_barge_in(self, pcm: bytes, at: float) -> None:
        if self._keep_preroll(pcm, at):
            self._voiced_run += 1
        else:
            self._voiced_run = 0
        if self._voiced_run >= BARGE_IN_FRAMES and not self._barged:
            self._barged = True
            # From here on every frame is the answer: keep all of it until listening starts
            # (the dialog may be busy, e.g. rendering the prompt, or the pump catching up on
            # a backlog), not just the pre-roll ring's last PREROLL_FRAMES.
            self._preroll = deque(self._preroll)
            log.info("call %s: customer talks over the question (barge-in)", self.call_id)
            self.transcript.append("customer: [interrupts]")
            self._events.put_nowait(BargeIn())

    async def _on_audio(self, pcm: bytes, at: float) -> None:
        if self.is_speech(pcm):
            self._speech_started = True
            self._last_voice = at
        # Everything heard while listening goes to the stream; its own gate skips silence but
        # keeps a pre-roll, because word onsets are soft and our detector catches them late.
        self._pcm_batch.append(pcm)
        if len(self._pcm_batch) < FEED_FRAMES:
            return
        chunk = b"".join(self._pcm_batch)
        self._pcm_batch.clear()
        self._feeds.put_nowait(chunk)

    async def _feed_recognizer(self) -> None:
        while True:
            chunk = await self._feeds.get()
            try:
                result = await self.stream.feed(chunk)
                # The stream's verdict ends the answer: words, or speech with none (only once
                # we heard speech too: a click the gate took for speech is still silence).
                if result is not None and self._listening:
                    if result.text.strip() or self._speech_started:
                        self._heard(result.text)
            finally:
                self._feeds.task_done()

    async def _listen_clock(self) -> None:
        """Ends listening when nobody speaks, or when an answer runs too long."""
        while True:
            await asyncio.sleep(0.05)
            if not self._listening:
                continue
            now = self._loop.time()
            if not self._speech_started:
                if now - self._listen_started >= self.timing.listen_timeout_s:
                    self._listening = False
                    self.transcript.append("customer: [silence]")
                    self._events.put_nowait(ListenTimeout())
                continue
            too_long = (
                now - self._listen_started
                >= self.timing.max_utterance_s + self.timing.listen_timeout_s
            )
            if too_long:
                if self._pcm_batch:
                    self._feeds.put_nowait(b"".join(self._pcm_batch))
                    self._pcm_batch.clear()
                await self._feeds.join()
                text = (await self.stream.finish()).text
                if self._listening:
                    self._heard(text)

    def _heard(self, text: str) -> None:
        self._listening = False
        if self._speech_started:
            self._decision_ms = max(0.0, (self._loop.time() - self._last_voice) * 1000)
        reply = self.understand(text, self.today) if text.strip() else Reply(Intent.UNKNOWN)
        said = f"customer: {text or '[unintelligible]'} -> {reply.intent.value}"
        if reply.change is not None:
            said += " " + json.dumps(reply.change.as_json(), ensure_ascii=False)
        self.transcript.append(said)
        log.info("call %s: heard %r -> %s", self.call_id, text, reply.intent.value)
        self._events.put_nowait(Heard(reply.intent, text, reply.change))


def _intents_only(classify: Callable[[str], Intent]) -> Callable[[str, date], Reply]:
    def understand(text: str, today: date) -> Reply:
        return Reply(classify(text))

    return understand
