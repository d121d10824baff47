"""The session's on_decided hook: awaited after the dialog decides, before the goodbye plays."""

import asyncio
from datetime import date

from robot.core.models import Intent, Outcome, parse_order
from robot.core.prompts import Prompt
from robot.engine.session import CallSession, SessionTiming
from robot.ports import MediaKind
from robot.testing import LOUD_FRAME, FakeMedia, FakePrompts

ORDER = parse_order(
    {"order_id": "S-1", "phone": "+79161234567", "amount": 2490, "shop_name": "Ромашка"}
)


def session(media, prompts, on_decided):
    return CallSession(
        call_id=media.call_id,
        order=ORDER,
        media=media,
        prompts=prompts,
        stream=None,
        classify=lambda text: Intent.UNKNOWN,
        is_speech=lambda frame: frame == LOUD_FRAME,
        today=date(2030, 1, 15),
        timing=SessionTiming(listen_timeout_s=2.0, max_call_s=10),
        on_decided=on_decided,
    )


async def _press_when(s: CallSession, media: FakeMedia, phase: str, digit: str) -> None:
    while s.dialog.phase.value != phase:
        await asyncio.sleep(0.01)
    media.send(MediaKind.DTMF, digit=digit)


async def test_dnc_is_stored_before_the_goodbye_is_played():
    media, prompts = FakeMedia(), FakePrompts()
    log: list[object] = []

    async def on_decided(outcome: Outcome) -> None:
        log.append((outcome, list(prompts.rendered), len(media.played)))
        await asyncio.sleep(0.05)  # a slow durable write: the goodbye waits for it
        log.append("stored")

    s = session(media, prompts, on_decided)
    task = asyncio.create_task(s.run())
    await _press_when(s, media, "listening", "9")
    result = await task
    assert result.finish.outcome is Outcome.DNC
    assert log == [(Outcome.DNC, [Prompt.INTRO], 1), "stored"]
    assert prompts.rendered == [Prompt.INTRO, Prompt.GOODBYE_DNC]


async def test_key_over_the_question_is_decided_once_before_anything_else_plays():
    media, prompts = FakeMedia(play_s=5.0), FakePrompts()
    decided: list[Outcome] = []

    async def on_decided(outcome: Outcome) -> None:
        decided.append(outcome)
        assert Prompt.GOODBYE_DNC not in prompts.rendered

    s = session(media, prompts, on_decided)
    task = asyncio.create_task(s.run())
    await _press_when(s, media, "asking", "9")
    media.send(MediaKind.DTMF, digit="1")  # ignored: already closing
    media.play_s = 0.01
    while Prompt.GOODBYE_DNC not in prompts.rendered:
        await asyncio.sleep(0.01)
    media.send(MediaKind.HANGUP)
    result = await task
    assert result.finish.outcome is Outcome.DNC and decided == [Outcome.DNC]
