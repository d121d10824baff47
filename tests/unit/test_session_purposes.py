"""The call session picks the dialog of the order's purpose (fake media, prompts, recognizer)."""

from __future__ import annotations

from datetime import date

import pytest

from robot.core.models import Intent, Outcome, parse_order
from robot.core.prompts import Prompt
from robot.core.purposes import UnknownPurpose, build
from robot.engine.session import CallSession, SessionTiming
from robot.testing import LOUD_FRAME, FakeMedia, FakePrompts

PICKUP = parse_order(
    {"order_id": "S-2", "phone": "+79161234567", "amount": 2490, "shop_name": "Ромашка",
     "purpose": "pickup_ready", "pickup_point": "улица Ленина, 5", "storage_until": "2026-12-12"}
)  # fmt: skip


def make(order, prompts, **kw) -> CallSession:
    media = FakeMedia()
    return CallSession(
        call_id=media.call_id, order=order, media=media, prompts=prompts, stream=None,
        classify=lambda text: Intent.UNKNOWN, is_speech=lambda frame: frame == LOUD_FRAME,
        today=date(2026, 12, 1), timing=SessionTiming(listen_timeout_s=0.2, max_call_s=10),
        **kw,
    )  # fmt: skip


async def test_a_pickup_order_gets_the_pickup_dialog() -> None:
    prompts = FakePrompts()
    session = make(PICKUP, prompts)
    assert session.purpose.name == "pickup_ready"
    result = await session.run()
    assert result.finish.outcome is Outcome.INFORMED
    assert prompts.rendered == [Prompt.INTRO, Prompt.GOODBYE_INFORMED]


async def test_a_purpose_given_by_the_caller_wins() -> None:
    mine = build({"name": "pickup_ready", "kind": "confirm", "answers": {}})
    prompts = FakePrompts()
    result = await make(PICKUP, prompts, purpose=mine).run()
    assert result.finish.outcome is Outcome.UNCLEAR  # a question nobody answered
    assert prompts.rendered[0] is Prompt.INTRO and Prompt.GOODBYE_INFORMED not in prompts.rendered


def test_an_unknown_purpose_is_refused_before_the_call_runs() -> None:
    with pytest.raises(UnknownPurpose):
        make(PICKUP.model_copy(update={"purpose": "packed"}), FakePrompts())
