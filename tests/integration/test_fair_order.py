"""Order of service across workers: first come first served by due time, except that due
orders with a priority go first; a priority never lets an order jump its own due time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from robot.adapters.redis_store import RedisOrderStore
from robot.core.models import OrderStatus
from robot.testing import make_order

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


async def add(store: RedisOrderStore, oid: str, n: int, due_s: float, priority: int = 0) -> None:
    order = make_order(order_id=oid, phone=f"+791612345{n:02d}", priority=priority)
    await store.add_order(order, T0, due_at=T0 + timedelta(seconds=due_s))


async def claim_all(store: RedisOrderStore, now: datetime) -> list[str]:
    out = []
    while (record := await store.claim_due(now, "w1", 60)) is not None:
        out.append(record.order.order_id)
    return out


async def test_due_priority_orders_first_then_first_come_first_served(
    store: RedisOrderStore,
) -> None:
    await add(store, "n1", 1, 1)
    await add(store, "n2", 2, 2)
    await add(store, "p1", 3, 5, priority=1)
    await add(store, "n3", 4, 3)
    await add(store, "p2", 5, 4, priority=9)
    await add(store, "p-later", 6, 60, priority=5)  # not due yet: waits like anyone
    assert await claim_all(store, T0 + timedelta(seconds=10)) == ["p2", "p1", "n1", "n2", "n3"]
    assert await claim_all(store, T0 + timedelta(seconds=61)) == ["p-later"]


async def test_a_retried_priority_order_keeps_its_place(store: RedisOrderStore) -> None:
    await add(store, "n1", 1, 0)
    await add(store, "p1", 2, 0, priority=1)
    now = T0 + timedelta(seconds=1)
    first = await store.claim_due(now, "w1", 60)
    assert first is not None and first.order.order_id == "p1"
    call = first.calls[0] if first.calls else None
    assert call is None  # nothing recorded yet; requeue as after an unanswered call
    await store.reap_expired_leases(now + timedelta(seconds=120))
    later = T0 + timedelta(seconds=200)
    assert await claim_all(store, later) == ["p1", "n1"]


async def test_final_priority_orders_leave_the_index(store: RedisOrderStore) -> None:
    await add(store, "p1", 1, 0, priority=2)
    record = await store.claim_due(T0, "w1", 60)
    assert record is not None
    await store.redis.hset("dozvon:order:p1", "status", OrderStatus.CONFIRMED.value)
    assert await claim_all(store, T0) == []
    assert await store.redis.zcard("dozvon:due:priority") == 0
