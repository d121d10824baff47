"""Call policy on real calls: cancelling a ringing and a talking call hangs it up through AMI;
key 9 puts the phone on the do-not-call list before the goodbye. Real Redis and Asterisk."""

from __future__ import annotations

import asyncio

import pytest

from robot.config import Settings
from robot.devtools.asterisk.runtime import environment_problem
from robot.devtools.demo import SCENARIOS, phone_for

from .callstack import TOKEN, CallStack, call_stack, order

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(300)]

_problem = environment_problem(Settings().asterisk_root)
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"Asterisk root unusable: {_problem}"))

AUTH = {"Authorization": f"Bearer {TOKEN}"}
RINGS = next(s for s in SCENARIOS if s.code == 7)  # rings for two minutes
SILENT = next(s for s in SCENARIOS if s.code == 3)  # answers, says nothing for a minute
PRESSES_9 = "+791655501" + "11"  # dialplan scenario 11: presses 9 after the question


async def _live_state(stack: CallStack, state: str, timeout_s: float = 60.0) -> str:
    """The call id of a live call once it is in ``state``."""
    async with asyncio.timeout(timeout_s):
        while True:
            for live in stack.service.tracker.live():
                if live.state == state:
                    return live.call.call_id
            await asyncio.sleep(0.05)


async def _events(stack: CallStack, order_id: str, n: int) -> list[dict]:
    async with asyncio.timeout(60):
        while len(got := [e for e in stack.crm.events if e["order_id"] == order_id]) < n:
            stack.crm.changed.clear()
            await asyncio.wait({asyncio.ensure_future(stack.crm.changed.wait())}, timeout=0.5)
    return got


async def _channel_gone(stack: CallStack, call_id: str) -> bool:
    originator = stack.service.pool.first.originator
    return await originator.find_channel(call_id) is None


@pytest.mark.parametrize(
    ("scenario", "state"), [(RINGS, "ringing"), (SILENT, "listening")], ids=["ringing", "talking"]
)
async def test_cancel_hangs_up_the_call_and_reports_cancelled_once(scenario, state):
    # A ring timeout far beyond the test: only our hangup can end the ringing call.
    async with call_stack(ring_timeout_s=120, listen_timeout_s=30) as stack:
        await stack.push(order("cx-1", phone_for("ru", 1, scenario)))
        call_id = await _live_state(stack, state)
        async with stack.http.post(f"{stack.api}/api/v1/orders/cx-1/cancel", headers=AUTH,
                                   json={"reason": "the shop cancelled"}) as r:  # fmt: skip
            body = await r.json()
            assert r.status == 200 and body["hangup_requested"] is True, body
        final = await stack.final("cx-1")
        assert final["status"] == "cancelled" and final["delivery_id"] == "cx-1:final"
        [_, late] = await _events(stack, "cx-1", 2)
        assert late["event"] == "call.finished" and late["final"] is False
        assert late["call"]["call_id"] == call_id
        assert "hung up: the shop cancelled" in late["call"]["reason"]
        assert await _channel_gone(stack, call_id)
        assert len(stack.service.tracker) == 0
        finals = [e for e in stack.crm.events if e["order_id"] == "cx-1" and e["final"]]
        assert len(finals) == 1


async def test_key_9_lists_the_phone_before_the_goodbye_and_ends_as_dnc():
    async with call_stack() as stack:
        await stack.push(order("dnc-1", PRESSES_9))
        final = await stack.final("dnc-1")
        assert final["status"] == "dnc" and final["call"]["outcome"] == "dnc"
        assert final["call"]["reason"] == "dtmf 9"
        async with stack.http.get(f"{stack.api}/api/v1/dnc/{PRESSES_9}", headers=AUTH) as r:
            entry = await r.json()
            assert r.status == 200 and entry["source"] == "call", entry
        # Listed while the call was still up (the goodbye plays after the hook returns).
        assert entry["added_at"] < final["call"]["ended_at"]
        assert any("robot:" in line for line in final["call"]["transcript"][-1:])
        # The next order for this phone is final at intake: no call.
        body = await stack.push(order("dnc-2", PRESSES_9))
        assert body["status"] == "dnc"
        second = await stack.final("dnc-2")
        assert second["history"] == [] and second["call"] is None


MACHINE = "+791655501" + "13"  # dialplan scenario 13: an answering machine's long greeting


async def test_amd_machine_is_an_outcome_and_humans_get_through():
    presses_1 = "+791655502" + "14"  # scenario 14: says hello on answering, then presses 1
    async with call_stack(amd=True) as stack:
        await stack.push(order("amd-1", MACHINE))
        await stack.push(order("amd-2", presses_1))
        machine = await stack.final("amd-1")
        assert machine["call"]["outcome"] == "machine", machine["call"]["reason"]
        assert "answering machine" in machine["call"]["reason"]
        human = await stack.final("amd-2")
        assert human["call"]["outcome"] == "confirmed", human["call"]["reason"]
