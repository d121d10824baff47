"""The call loop end to end: HTTP intake -> AMI Originate -> Asterisk -> simulated customer ->
AudioSocket -> dialog + Vosk -> Redis -> signed webhook. Real Redis, Asterisk and Vosk."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from robot.config import Settings
from robot.devtools.asterisk.runtime import environment_problem
from robot.devtools.demo import SCENARIOS, phone_for, purpose_fields, speech_language

from .callstack import call_stack, order

pytestmark = [
    pytest.mark.asterisk,
    pytest.mark.timeout(600),
    pytest.mark.asyncio(loop_scope="module"),
]

_problem = environment_problem(Settings().asterisk_root)
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"Asterisk root unusable: {_problem}"))


SPEECH = speech_language(Settings())[0]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def results():
    """Every scenario called at once through one stack; tests then check one each."""
    async with call_stack() as stack:
        pushed = {}
        now = datetime.now(UTC)
        for i, sc in enumerate(SCENARIOS):
            if not sc.runs_with(SPEECH) or sc.stop_status:
                continue
            lang = SPEECH if sc.speech else "ru"
            oid = f"it-{i:02d}"  # scenarios share phone codes (one line, several purposes)
            fields = {"purpose": sc.purpose, **purpose_fields(sc.purpose, lang, now)}
            await stack.push(order(oid, phone_for(lang, i, sc), lang, **fields))
            pushed[sc.name] = oid
        finals = {}
        for name, oid in pushed.items():
            finals[name] = await stack.final(oid, timeout_s=120)
        yield finals, stack.crm


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name.replace(" ", "-"))
async def test_scenario_outcome(results, scenario):
    finals, _ = results
    if not scenario.runs_with(SPEECH):
        pytest.skip(f"the installed speech model ({SPEECH}) cannot hear this recording")
    if scenario.stop_status:
        pytest.skip("stopped by a status while it rings: test_status_calls.py and robot demo")
    event = finals[scenario.name]
    call = event["call"]
    assert call["outcome"] == scenario.expected, call
    assert event["final"] is True
    if scenario.expected in ("confirmed", "rejected", "unclear"):
        assert call["answered_at"] is not None
        assert any(line.startswith("robot:") for line in call["transcript"])
    assert call["intake_to_originate_ms"] is not None


async def test_webhooks_were_signed_and_once_per_order(results):
    _, crm = results
    assert crm.bad_signatures == 0
    ids = [e["delivery_id"] for e in crm.events]
    assert len(ids) == len(set(ids))


async def test_asterisk_restart_mid_call_gives_definite_outcomes_and_reconnects():
    async with call_stack() as stack:
        silent = next(s for s in SCENARIOS if s.code == 3)
        ringing = next(s for s in SCENARIOS if s.code == 7)
        await stack.push(order("rs-talking", phone_for("ru", 1, silent)))
        async with asyncio.timeout(60):
            while not any(c.state == "listening" for c in stack.service.tracker.live()):
                await asyncio.sleep(0.1)
        await stack.push(order("rs-ringing", phone_for("ru", 2, ringing)))
        async with asyncio.timeout(5):
            while len(stack.service.tracker) < 2:
                await asyncio.sleep(0.05)
        await asyncio.to_thread(stack.asterisk.restart)
        talking = await stack.final("rs-talking")
        ringing_ev = await stack.final("rs-ringing")
        assert talking["call"]["outcome"] == "failed"
        assert ringing_ev["call"]["outcome"] == "failed"
        await stack.service.ami.wait_connected(30)
        assert stack.service.ami.connects >= 2
        dtmf_yes = next(s for s in SCENARIOS if s.code == 4)
        await stack.push(order("rs-after", phone_for("ru", 3, dtmf_yes)))
        assert (await stack.final("rs-after"))["call"]["outcome"] == "confirmed"
