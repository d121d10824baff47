"""The call session with fake media, prompts and recognizer: real timing, no Asterisk."""

import asyncio
import time
from datetime import date

from robot.core.models import Intent, Outcome, parse_order
from robot.core.prompts import Prompt
from robot.engine.session import CallSession, SessionTiming
from robot.ports import MediaKind
from robot.testing import LOUD_FRAME, SILENT_FRAME, FakeMedia, FakePrompts, FakeRecognizerStream

ORDER = parse_order(
    {"order_id": "S-1", "phone": "+79161234567", "amount": 2490, "shop_name": "Ромашка"}
)


def classify(text: str) -> Intent:
    return {"да": Intent.YES, "нет": Intent.NO}.get(text, Intent.UNKNOWN)


def is_speech(frame: bytes) -> bool:
    return frame == LOUD_FRAME


def make(media, prompts, stream, **timing):
    return CallSession(
        call_id=media.call_id,
        order=ORDER,
        media=media,
        prompts=prompts,
        stream=stream,
        classify=classify,
        is_speech=is_speech,
        today=date(2026, 11, 22),
        timing=SessionTiming(listen_timeout_s=timing.get("listen", 0.3), max_call_s=10),
    )


async def answer_when_listening(session, media, frames=10):
    while session.dialog.phase.value != "listening":
        await asyncio.sleep(0.01)
    await media.speak(frames)
    await after_speech(session, media)


async def after_speech(session, media):
    """The line goes on after the customer stops, as a phone line does, until the answer is
    taken: the stream's gate hears the silence that ends it (core.vad.EndOfSpeech)."""
    heard = len(session.transcript)
    for _ in range(250):  # at most 5 s
        if len(session.transcript) > heard or session.dialog.phase.value != "listening":
            return
        await media.speak(1, SILENT_FRAME)


async def test_spoken_yes_confirms_and_measures_decision_latency():
    media, prompts = FakeMedia(), FakePrompts()
    s = make(media, prompts, FakeRecognizerStream("да"))
    task = asyncio.create_task(s.run())
    await answer_when_listening(s, media)
    result = await task
    assert result.finish.outcome is Outcome.CONFIRMED
    assert prompts.rendered == [Prompt.INTRO, Prompt.GOODBYE_CONFIRMED]
    assert result.speech_end_to_decision_ms is not None
    assert any("да -> yes" in line for line in result.transcript)


async def test_silence_reprompts_then_unclear():
    media, prompts = FakeMedia(), FakePrompts()
    result = await make(media, prompts, FakeRecognizerStream("да")).run()
    assert result.finish.outcome is Outcome.UNCLEAR
    # Asked at most twice more, in other words each time (max_reprompts defaults to 2).
    assert prompts.rendered == [
        Prompt.INTRO,
        Prompt.REPROMPT,
        Prompt.REPROMPT_2,
        Prompt.GOODBYE_UNCLEAR,
    ]


async def test_key_press_over_the_intro_stops_it():
    media, prompts = FakeMedia(play_s=5), FakePrompts()
    s = make(media, prompts, None)
    task = asyncio.create_task(s.run())
    while not media.played:
        await asyncio.sleep(0.01)
    media.send(MediaKind.DTMF, digit="2")
    media.play_s = 0.01
    result = await task
    assert result.finish.outcome is Outcome.REJECTED
    assert media.stopped >= 1


async def test_no_model_means_keys_only_and_speech_gets_a_reprompt():
    media, prompts = FakeMedia(), FakePrompts()
    s = make(media, prompts, None)
    task = asyncio.create_task(s.run())
    await answer_when_listening(s, media)
    while prompts.rendered[-1] is not Prompt.REPROMPT:
        await asyncio.sleep(0.01)
    while s.dialog.phase.value != "listening":
        await asyncio.sleep(0.01)
    media.send(MediaKind.DTMF, digit="1")
    assert (await task).finish.outcome is Outcome.CONFIRMED


async def test_socket_closed_mid_call_is_failed():
    media, prompts = FakeMedia(), FakePrompts()
    s = make(media, prompts, FakeRecognizerStream("да"))
    task = asyncio.create_task(s.run())
    await asyncio.sleep(0.05)
    media.send(MediaKind.CLOSED)
    assert (await task).finish.outcome is Outcome.FAILED


async def test_caller_hangup_after_yes_keeps_the_yes():
    media, prompts = FakeMedia(), FakePrompts()
    s = make(media, prompts, FakeRecognizerStream("да"))
    task = asyncio.create_task(s.run())
    await answer_when_listening(s, media)
    while s.dialog.decided is None:
        await asyncio.sleep(0.01)
    media.send(MediaKind.HANGUP)
    assert (await task).finish.outcome is Outcome.CONFIRMED


async def test_barge_in_stops_the_intro_and_understands_the_answer():
    media, prompts = FakeMedia(play_s=5), FakePrompts()
    stream = FakeRecognizerStream("да")
    s = make(media, prompts, stream)
    task = asyncio.create_task(s.run())
    while not media.played:
        await asyncio.sleep(0.01)
    await media.speak(20)
    media.play_s = 0.01
    await after_speech(s, media)
    result = await task
    assert result.finish.outcome is Outcome.CONFIRMED
    assert media.stopped >= 1
    assert prompts.rendered == [Prompt.INTRO, Prompt.GOODBYE_CONFIRMED]
    assert "customer: [interrupts]" in result.transcript


class SlowIntro(FakePrompts):
    """A busy machine: the intro takes a second to render, and the customer (a voicemail's
    greeting, test_call_replies) talks from the first moment."""

    def render_prompt(self, prompt, order, today, change=None):
        if prompt is Prompt.INTRO:
            time.sleep(1.0)  # in the session's worker thread, as rendering is
        return super().render_prompt(prompt, order, today, change)


class CountingStream(FakeRecognizerStream):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.loud_frames = 0

    async def feed(self, pcm):
        self.loud_frames += sum(pcm[i : i + 320] == LOUD_FRAME for i in range(0, len(pcm), 320))
        return await super().feed(pcm)


async def test_an_answer_over_a_busy_intro_reaches_the_recognizer_whole():
    """Barge-in is decided after 200 ms, but listening starts only when the dialog gets to
    it (here after the render): every frame after the decision is kept, not only the last
    PREROLL_FRAMES (before: the ring's last 25, the start of the greeting lost)."""
    media, prompts = FakeMedia(play_s=5), SlowIntro()
    stream = CountingStream("да")
    s = make(media, prompts, stream)
    task = asyncio.create_task(s.run())
    await media.speak(40)  # 0.8 s of speech, over before the intro is even rendered
    media.play_s = 0.01
    while s.dialog.phase.value != "listening":  # the line goes on, silent
        await media.speak(1, SILENT_FRAME)
    await after_speech(s, media)
    result = await task
    assert "customer: [interrupts]" in result.transcript
    assert stream.loud_frames == 40
    assert result.finish.outcome is Outcome.CONFIRMED


async def test_short_noise_over_the_intro_is_not_a_barge_in():
    media, prompts = FakeMedia(play_s=0.5), FakePrompts()
    s = make(media, prompts, FakeRecognizerStream("да"))
    task = asyncio.create_task(s.run())
    while not media.played:
        await asyncio.sleep(0.01)
    await media.speak(3)
    result = await task
    assert "customer: [interrupts]" not in result.transcript
    assert result.finish.outcome is Outcome.UNCLEAR
