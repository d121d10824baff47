"""Issue 4 on the real stack: a customer asks for an operator (key 0) and the call is handed
to the operator target through AMI Redirect; the call is recorded; "call me later" keeps
its outcome. Real Redis, Asterisk (the [operators] stand-in context) and the service."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import pytest

from robot.config import Settings
from robot.devtools.asterisk.runtime import environment_problem

from .callstack import call_stack, order

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(300)]

_problem = environment_problem(Settings().asterisk_root)
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"Asterisk root unusable: {_problem}"))

OPERATOR_KEY = "+79165550115"  # scenario 15: presses 0, stays on the line
PRESSES_1 = "+79165550104"  # scenario 04: presses 1


async def _operator_took(stack, call_id: str) -> bool:
    """The [operators] stand-in logs the call it answered (verbose level 3, messages.log)."""
    line = f"Dozvon operator 100 takes call {call_id}"
    async with asyncio.timeout(20):
        while line not in stack.asterisk.messages_log.read_text(errors="replace"):
            await asyncio.sleep(0.2)
    return True


async def test_operator_by_key_is_transferred_and_recorded() -> None:
    async with call_stack(
        operator_target="Local/100@operators", record_calls=True, announce_recording=True
    ) as stack:
        await stack.push(order("op-1", OPERATOR_KEY))
        event = await stack.final("op-1", timeout_s=90)
        call = event["call"]
        assert call["outcome"] == "operator", call
        assert "transferred" in call["reason"], call
        assert await _operator_took(stack, call["call_id"])
        # Recorded: stereo 8 kHz, the robot's side (right) holds the announcement and intro.
        path = Path(call["recording"])
        assert path.is_relative_to(stack.settings.var_dir / "recordings")
        with wave.open(str(path)) as w:
            assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 8000, 2)
            assert w.getnframes() > 8000  # more than a second of call
        assert any("Разговор записывается" in line for line in call["transcript"])


async def test_without_an_operator_target_the_call_just_ends() -> None:
    async with call_stack() as stack:
        await stack.push(order("op-2", OPERATOR_KEY))
        call = (await stack.final("op-2", timeout_s=90))["call"]
        assert call["outcome"] == "operator"
        assert "no operator target" in call["reason"]
        assert call["recording"] is None
        await stack.push(order("op-3", PRESSES_1))
        assert (await stack.final("op-3", timeout_s=90))["call"]["outcome"] == "confirmed"
