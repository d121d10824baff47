"""Stream intake (dozvon:intake) on a real Redis."""

from __future__ import annotations

import json

import pytest

from robot.adapters.intake_stream import GROUP, REJECTED_STREAM, STREAM, IntakeStreamConsumer
from robot.adapters.redis_store import RedisOrderStore
from robot.core.models import OrderStatus
from robot.testing import wait_until

ORDER = {"order_id": "S-1", "phone": "+79161234567", "amount": "990", "shop_name": "Ромашка"}


def consumer(store: RedisOrderStore, name: str = "w1", **kw) -> IntakeStreamConsumer:
    return IntakeStreamConsumer(store.redis, store, consumer=name, block_ms=50, **kw)


async def pending(store: RedisOrderStore) -> int:
    info = await store.redis.xpending(STREAM, GROUP)
    return int(info["pending"])


async def test_json_entry_is_stored_and_acked(store):
    c = consumer(store)
    await c.ensure_group()
    await store.redis.xadd(STREAM, {"order": json.dumps(ORDER)})
    assert await c.poll_once() == 1
    rec = await store.get_order("S-1")
    assert rec is not None and rec.status is OrderStatus.QUEUED
    assert await pending(store) == 0


async def test_flat_entry_and_duplicates_are_accepted(store):
    c = consumer(store)
    await c.ensure_group()
    flat = {**ORDER, "phone": "8 916 123 45 67", "do_not_call": "true"}
    await store.redis.xadd(STREAM, flat)
    await store.redis.xadd(STREAM, flat)
    assert await c.poll_once() == 2
    rec = await store.get_order("S-1")
    assert rec.order.phone == "+79161234567" and rec.status is OrderStatus.DNC
    assert await pending(store) == 0


async def test_entries_added_before_the_group_existed_are_read(store):
    await store.redis.xadd(STREAM, {"order": json.dumps(ORDER)})
    c = consumer(store)
    await c.recover()
    assert await c.poll_once() == 1
    assert await store.get_order("S-1") is not None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"order": json.dumps({**ORDER, "phone": "123"})}, "phone"),
        ({"order": "{broken"}, "order"),
        ({k: v for k, v in ORDER.items() if k != "amount"}, "amount"),
    ],
)
async def test_invalid_entry_is_rejected_and_acked(store, fields, field):
    c = consumer(store)
    await c.ensure_group()
    entry_id = await store.redis.xadd(STREAM, fields)
    await store.redis.xadd(STREAM, {"order": json.dumps({**ORDER, "order_id": "S-2"})})
    assert await c.poll_once() == 2
    [(_, rejected)] = await store.redis.xrange(REJECTED_STREAM)
    assert rejected["entry_id"] == entry_id and rejected["field"] == field
    assert rejected["message"] and json.loads(rejected["original"]) == fields
    assert await pending(store) == 0
    assert await store.get_order("S-2") is not None  # the bad entry did not block the next


async def test_crash_between_read_and_ack_is_recovered_by_the_same_consumer(store):
    await consumer(store).ensure_group()
    await store.redis.xadd(STREAM, {"order": json.dumps(ORDER)})
    # The worker read the entry and died before add_order/XACK.
    await store.redis.xreadgroup(GROUP, "w1", {STREAM: ">"}, count=10)
    assert await pending(store) == 1 and await store.get_order("S-1") is None
    assert await consumer(store, "w1", claim_idle_ms=3_600_000).recover() == 1
    assert await store.get_order("S-1") is not None and await pending(store) == 0


async def test_dead_consumers_entries_are_taken_over(store):
    await consumer(store).ensure_group()
    for i in range(3):
        await store.redis.xadd(STREAM, {"order": json.dumps({**ORDER, "order_id": f"S-{i}"})})
    await store.redis.xreadgroup(GROUP, "dead-worker", {STREAM: ">"}, count=10)
    live = consumer(store, "w2", claim_idle_ms=0)
    assert await live.recover() == 3
    assert all([await store.get_order(f"S-{i}") for i in range(3)])
    assert await pending(store) == 0


async def test_run_loop_consumes_and_stops_cleanly(store):
    c = consumer(store)
    task = c.start()
    await store.redis.xadd(STREAM, {"order": json.dumps(ORDER)})
    await until_stored(store, "S-1")
    await c.stop()
    assert task.done()


async def test_keeps_consuming_across_a_redis_restart(private_redis_server):
    store = RedisOrderStore.from_url(private_redis_server.url)
    c = consumer(store)
    c.start()
    try:
        await store.redis.xadd(STREAM, {"order": json.dumps(ORDER)})
        await until_stored(store, "S-1")
        private_redis_server.restart(crash=True)
        await store.redis.xadd(STREAM, {"order": json.dumps({**ORDER, "order_id": "S-2"})})
        await until_stored(store, "S-2")
        # The consumer stores, then acks (at least once: a crash between the two redoes the
        # entry as a duplicate); the ack lands just after the store, so wait for it.
        await until_acked(store)
        assert await pending(store) == 0
    finally:
        await c.stop()
        await store.aclose()


async def until_acked(store: RedisOrderStore) -> None:
    async def acked() -> bool:
        return await pending(store) == 0

    await wait_until(acked, 30)


async def until_stored(store: RedisOrderStore, order_id: str) -> None:
    async def stored() -> bool:
        return await store.get_order(order_id) is not None

    await wait_until(stored, 30)
