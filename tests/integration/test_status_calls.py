"""CRM status events against real calls: real Redis, real Asterisk, the real service.

A status that selects a new purpose hangs up the call about the old one and the order is
called about the new purpose; a status that means stop (``picked_up``) hangs up the call that
is ringing, the cycle's order.final says so, and no further call is made. The same event
through the intake stream does the same as through HTTP; an older event changes nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from robot.config import Settings
from robot.core.models import OrderStatus
from robot.devtools.asterisk.runtime import environment_problem
from robot.devtools.demo import SCENARIOS, phone_for
from robot.engine.calls import LiveCall

from .callstack import TOKEN, CallStack, call_stack, order

pytestmark = [
    pytest.mark.asterisk,
    pytest.mark.timeout(600),
    pytest.mark.asyncio(loop_scope="module"),
]

_problem = environment_problem(Settings().asterisk_root)
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"Asterisk root unusable: {_problem}"))

RINGS = next(s for s in SCENARIOS if s.code == 7)  # rings until hung up (or two minutes)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack():
    # Rings outlast the test: only a hangup ends these calls.
    async with call_stack(ring_timeout_s=100) as s:
        yield s


async def ringing(stack: CallStack, oid: str, not_these: set[str] = frozenset()) -> LiveCall:
    """The order's call once Asterisk reports it ringing (liveness bound only)."""
    async with asyncio.timeout(60):
        while True:
            for live in stack.service.tracker.live():
                if live.call.order_id == oid and live.call.call_id not in not_these:
                    if live.state == "ringing":
                        return live
            await asyncio.sleep(0.05)


async def ended(stack: CallStack, oid: str, call_id: str) -> None:
    """Until the call's result is stored and the call is gone from the tracker."""
    async with asyncio.timeout(60):
        while True:
            rec = await stack.service.store.get_order(oid)
            done = any(c.call_id == call_id and c.outcome is not None for c in rec.calls)
            live = any(c.call.call_id == call_id for c in stack.service.tracker.live())
            if done and not live:
                return
            await asyncio.sleep(0.05)


async def post_status(stack: CallStack, oid: str, body: Any) -> tuple[int, dict[str, Any]]:
    async with stack.http.post(
        f"{stack.api}/api/v1/orders/{oid}/status", json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as r:  # fmt: skip
        return r.status, await r.json()


async def stream_status(stack: CallStack, doc: dict[str, Any]) -> None:
    """XADD a status entry and wait until the consumer has taken it (acknowledged)."""
    redis = stack.service.store.redis
    entry = await redis.xadd("dozvon:intake", {"order": json.dumps({"action": "status", **doc})})
    async with asyncio.timeout(30):
        while True:
            pending = await redis.xpending_range("dozvon:intake", "dozvon", "-", "+", 100)
            read = await redis.xrange("dozvon:intake", entry, entry)
            groups = await redis.xinfo_groups("dozvon:intake")
            last = groups[0]["last-delivered-id"] if groups else "0-0"
            if read and last >= entry and all(p["message_id"] != entry for p in pending):
                return
            await asyncio.sleep(0.05)


async def test_status_events_steer_and_stop_real_calls(stack):
    oid, store = "st-http", stack.service.store
    await stack.push(order(oid, phone_for("ru", 1, RINGS)))
    first = await ringing(stack, oid)
    # The CRM says the order is ready for pickup: the confirm call is moot and hung up, and
    # the order is called about the pickup instead.
    code, body = await post_status(stack, oid, {"status": "ready_for_pickup",
                                                "pickup_point": "Тверская, 1"})  # fmt: skip
    assert code == 200, body
    assert (body["result"], body["action"], body["purpose"]) == (
        "applied", "pickup_ready", "pickup_ready")  # fmt: skip
    assert body["hung_up"] == [first.call.call_id]
    await ended(stack, oid, first.call.call_id)
    second = await ringing(stack, oid, {first.call.call_id})
    rec = await store.get_order(oid)
    assert rec.order.purpose == "pickup_ready" and rec.order.pickup_point == "Тверская, 1"
    # Picked up while the pickup call rings: hung up, the order stops.
    code, body = await post_status(stack, oid, {"status": "picked_up"})
    assert code == 200, body
    assert (body["action"], body["status"], body["hung_up"]) == (
        "stop", "stopped", [second.call.call_id])  # fmt: skip
    await ended(stack, oid, second.call.call_id)
    final = await stack.final(oid)
    assert (final["delivery_id"], final["status"], final["purpose"], final["crm_status"]) == (
        f"{oid}:final:c1", "stopped", "pickup_ready", "picked_up")  # fmt: skip
    rec = await store.get_order(oid)
    assert rec.status is OrderStatus.STOPPED and rec.status_reason == "picked_up"
    assert [c.call_id for c in rec.calls] == [first.call.call_id, second.call.call_id]
    assert all("hung up" in c.reason for c in rec.calls)
    assert await store.redis.zscore(store.keys.due, oid) is None
    # No further call: nothing of this order is live, scheduled or claimable.
    assert not any(c.call.order_id == oid for c in stack.service.tracker.live())
    assert await store.claim_due(datetime.now(UTC) + timedelta(days=1), "probe", 5) is None
    # An older event arriving now changes nothing.
    before = await store.redis.hgetall(store.keys.order(oid))
    old = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    code, body = await post_status(stack, oid, {"status": "ready_for_pickup", "occurred_at": old})
    assert code == 200 and body["result"] == "stale" and body["status"] == "stopped"
    assert await store.redis.hgetall(store.keys.order(oid)) == before


async def test_the_stream_does_what_http_does(stack):
    oid, store = "st-stream", stack.service.store
    await stack.push(order(oid, phone_for("ru", 2, RINGS)))
    first = await ringing(stack, oid)
    await stream_status(stack, {"order_id": oid, "status": "picked_up"})
    await ended(stack, oid, first.call.call_id)
    final = await stack.final(oid)
    assert (final["delivery_id"], final["status"], final["purpose"], final["crm_status"]) == (
        f"{oid}:final", "stopped", "confirm", "picked_up")  # fmt: skip
    rec = await store.get_order(oid)
    assert rec.status is OrderStatus.STOPPED and len(rec.calls) == 1
    assert "hung up" in rec.calls[0].reason
    before = await store.redis.hgetall(store.keys.order(oid))
    old = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    await stream_status(stack, {"order_id": oid, "status": "ready_for_pickup", "occurred_at": old})
    assert await store.redis.hgetall(store.keys.order(oid)) == before
    # Bad entries are rejected naming the field, as HTTP answers 400 naming it.
    await stream_status(stack, {"order_id": oid, "status": "Picked Up!"})
    await stream_status(stack, {"order_id": oid, "status": "picked_up", "colour": "red"})
    rejected = await store.redis.xrange("dozvon:intake:rejected")
    assert [r[1]["field"] for r in rejected[-2:]] == ["status", "colour"]
    for bad, field in (({"status": "Picked Up!"}, "status"), ({"status": "picked_up",
                       "colour": "red"}, "colour"), ({}, "status"),
                       ({"status": "picked_up", "occurred_at": "2030-01-01T10:00:00"},
                        "occurred_at")):  # fmt: skip
        code, body = await post_status(stack, oid, bad)
        assert code == 400 and body["field"] == field, (bad, body)
    code, body = await post_status(stack, oid, [1])
    assert code == 400 and body["field"] == "body"
    code, body = await post_status(stack, "no-such-order", {"status": "picked_up"})
    assert code == 404, body
    assert await store.redis.hgetall(store.keys.order(oid)) == before
    # The entry after the rejected ones still goes through: a newer status is recorded.
    now = datetime.now(UTC).isoformat()
    await stream_status(stack, {"order_id": oid, "status": "packed", "occurred_at": now})
    assert (await store.get_order(oid)).order.crm_status == "packed"
