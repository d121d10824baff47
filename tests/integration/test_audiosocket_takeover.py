"""A call cannot be taken over through AudioSocket (issue 12 item 5).

The call id is public (``GET /api/v1/orders/{id}``, the live board, webhooks). A TCP peer that
knows it connects to the robot's AudioSocket while the customer's phone is still ringing,
presents the call id as the UUID and presses 1: it is refused and the order is not confirmed.
Real Redis, real Asterisk, the real service.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from robot.adapters.audiosocket.codec import Kind
from robot.config import Settings
from robot.devtools.asterisk.runtime import environment_problem
from robot.devtools.demo import SCENARIOS, phone_for
from robot.testing import audiosocket_peer

from .callstack import TOKEN, call_stack, order

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(300)]

_problem = environment_problem(Settings().asterisk_root)
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"Asterisk root unusable: {_problem}"))


async def attack(port: int, presented: str) -> bytes:
    """Connect as Asterisk would, present ``presented`` as the call's UUID, press 1 and send
    some audio; return what the robot sent back before it closed the connection."""
    return await audiosocket_peer(port, presented, audio_frames=25, read_s=10)


async def test_a_peer_knowing_the_call_id_cannot_answer_a_ringing_call() -> None:
    ringing = next(s for s in SCENARIOS if s.code == 7)  # rings, never answers
    async with call_stack(ring_timeout_s=8) as stack:
        await stack.push(order("take-1", phone_for("ru", 1, ringing)))
        call_id = None
        async with asyncio.timeout(30):
            while call_id is None:
                async with stack.http.get(
                    f"{stack.api}/api/v1/orders/take-1",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                ) as r:
                    calls = (await r.json()).get("calls") or []
                if calls and calls[-1].get("originated_at"):
                    call_id = calls[-1]["call_id"]
                else:
                    await asyncio.sleep(0.1)
        live = stack.service.tracker.live()
        assert [lc.call.call_id for lc in live] == [call_id]
        assert live[0].state == "ringing"

        received = await attack(stack.service.media.port, call_id)
        # Refused before any prompt: no audio frame ever went to the attacker.
        assert bytes([Kind.AUDIO]) + b"\x01\x40" not in received
        assert stack.service.media.refused == 1
        # A made-up UUID fares no better.
        await attack(stack.service.media.port, str(uuid.uuid4()))
        assert stack.service.media.refused == 2

        final = await stack.final("take-1", timeout_s=60)
        assert final["call"]["outcome"] == "no_answer"
        assert final["status"] != "confirmed"
        assert final["call"]["answered_at"] is None


async def test_the_real_customer_still_gets_through() -> None:
    presses_1 = next(s for s in SCENARIOS if s.code == 4)
    async with call_stack() as stack:
        await stack.push(order("take-2", phone_for("ru", 2, presses_1)))
        final = await stack.final("take-2", timeout_s=90)
        assert final["call"]["outcome"] == "confirmed"
        assert stack.service.media.refused == 0
