"""RedisOrderStore against a real redis-server. The tests of the store's rules as the dialer
sees them (fixture ``any_store``, tests/conftest.py) run on robot.testing's in-memory store
too: the fake the dialer tests use must pass the same tests as the real store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from robot.adapters.redis_store import RedisOrderStore
from robot.core.models import OrderStatus, Outcome, parse_order
from robot.core.records import OrderRecord
from robot.devtools.redis_server import RedisServer
from robot.ports import DuplicateOrder
from robot.testing import InMemoryOrderStore, finished_call
from robot.testing.store_views import due_count, lease_owner, leases_held, phone_locked

T0 = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)


def order(oid: str, phone: str = "+79161234567", **extra):
    doc = {"order_id": oid, "phone": phone, "amount": "2490", "shop_name": "Ромашка", **extra}
    return parse_order(doc)


def phone(i: int) -> str:
    return f"+7916123{i:04d}"


finished = finished_call


@pytest.fixture
async def store2(redis_server: RedisServer):
    """A second store on its own connections, like a second worker process."""
    s = RedisOrderStore.from_url(redis_server.url)
    yield s
    await s.aclose()


async def test_add_is_idempotent(any_store: RedisOrderStore | InMemoryOrderStore):
    store = any_store
    rec = await store.add_order(order("A-1"), T0)
    assert rec.status is OrderStatus.QUEUED and rec.attempts == 0 and rec.due_at == T0
    assert rec.order.received_at == T0
    with pytest.raises(DuplicateOrder) as dup:
        await store.add_order(order("A-1", amount="1"), T0 + timedelta(minutes=1))
    assert str(dup.value.record.order.amount) == "2490"
    assert await due_count(store) == 1
    assert (await store.counts())["queued"] == 1


async def test_concurrent_add_of_one_id_schedules_once(store, store2):
    stores = [store, store2] * 10
    results = await asyncio.gather(
        *(s.add_order(order("A-1"), T0) for s in stores), return_exceptions=True
    )
    assert sum(isinstance(r, OrderRecord) for r in results) == 1
    assert sum(isinstance(r, DuplicateOrder) for r in results) == 19
    assert await store.redis.zcard("dozvon:due") == 1
    assert await store.claim_due(T0, "w1", 60) is not None
    assert await store.claim_due(T0, "w1", 60) is None


async def test_do_not_call_is_final_and_reported_without_a_call(any_store):
    store = any_store
    rec = await store.add_order(order("A-1", do_not_call=True), T0)
    assert rec.status is OrderStatus.DNC
    assert await store.claim_due(T0 + timedelta(days=1), "w1", 60) is None
    [(delivery_id, event, attempt)] = await store.claim_deliveries(T0)
    assert event.order_id == "A-1" and event.status is OrderStatus.DNC and event.final
    assert event.call is None and attempt == 1 and delivery_id == event.delivery_id


async def test_claim_takes_earliest_due_first(any_store):
    store = any_store
    for oid, minutes in (("late", 2), ("early", 0), ("middle", 1), ("future", 60)):
        await store.add_order(
            order(oid, phone(len(oid))), T0, due_at=T0 + timedelta(minutes=minutes)
        )
    now = T0 + timedelta(minutes=5)
    claimed = [await store.claim_due(now, "w1", 60) for _ in range(4)]
    assert [r.order.order_id if r else None for r in claimed] == ["early", "middle", "late", None]
    assert claimed[0].status is OrderStatus.CALLING and claimed[0].attempts == 1
    assert await lease_owner(store, "early") == "w1"


async def test_two_workers_never_claim_the_same_order(store, store2):
    ids = [f"O-{i}" for i in range(30)]
    for i, oid in enumerate(ids):
        await store.add_order(order(oid, phone(i)), T0)

    async def worker(s: RedisOrderStore, name: str) -> list[str]:
        got = []
        while (rec := await s.claim_due(T0, name, 60)) is not None:
            got.append(rec.order.order_id)
            await asyncio.sleep(0)
        return got

    a, b = await asyncio.gather(worker(store, "w1"), worker(store2, "w2"))
    assert sorted(a + b) == sorted(ids)
    assert not set(a) & set(b)


async def test_one_call_per_phone_at_a_time(any_store):
    store = any_store
    await store.add_order(order("A-1"), T0)
    await store.add_order(order("A-2"), T0 + timedelta(seconds=1))
    await store.add_order(order("B-1", phone(1)), T0 + timedelta(seconds=2))
    now = T0 + timedelta(minutes=1)
    first = await store.claim_due(now, "w1", 60)
    second = await store.claim_due(now, "w1", 60)
    assert first.order.order_id == "A-1"
    assert second.order.order_id == "B-1"  # A-2 is skipped: same phone already in flight
    assert await store.claim_due(now, "w1", 60) is None
    await store.finish_call(finished(first, Outcome.CONFIRMED, now), OrderStatus.CONFIRMED, now)
    third = await store.claim_due(now, "w1", 60)
    assert third is not None and third.order.order_id == "A-2"


async def test_finish_call_requeues_then_finalizes(any_store):
    store = any_store
    await store.add_order(order("A-1"), T0)
    rec = await store.claim_due(T0, "w1", 60)
    t1 = T0 + timedelta(seconds=40)
    retry_at = T0 + timedelta(minutes=30)
    await store.finish_call(
        finished(rec, Outcome.NO_ANSWER, t1), OrderStatus.QUEUED, t1, reason="no answer",
        due_at=retry_at,
    )  # fmt: skip
    rec = await store.get_order("A-1")
    assert rec.status is OrderStatus.QUEUED and rec.attempts == 1 and rec.due_at == retry_at
    assert rec.last_outcome is Outcome.NO_ANSWER and rec.status_reason == "no answer"
    assert [c.outcome for c in rec.calls] == [Outcome.NO_ANSWER]
    assert await leases_held(store) == 0
    assert await store.claim_due(T0 + timedelta(minutes=29), "w1", 60) is None

    rec = await store.claim_due(retry_at, "w1", 60)
    assert rec.attempts == 2
    await store.finish_call(finished(rec, Outcome.CONFIRMED, retry_at), OrderStatus.CONFIRMED,
                            retry_at, reason="dtmf 1")  # fmt: skip
    rec = await store.get_order("A-1")
    assert rec.status is OrderStatus.CONFIRMED and rec.due_at is None
    assert [c.call_id for c in await store.list_calls("A-1")] == ["A-1-c1", "A-1-c2"]
    assert not await phone_locked(store, "+79161234567")
    assert await store.claim_due(retry_at + timedelta(days=9), "w1", 60) is None
    counts = await store.counts()
    assert counts["confirmed"] == 1 and counts["queued"] == 0 and counts["calling"] == 0

    events = await store.claim_deliveries(retry_at, limit=10)
    assert [(e.event, e.status, e.final, e.attempts) for _, e, _ in events] == [
        ("call.finished", OrderStatus.QUEUED, False, 1),
        ("order.final", OrderStatus.CONFIRMED, True, 2),
    ]


async def test_expired_leases_are_reaped_back_to_the_queue(any_store):
    store = any_store
    await store.add_order(order("A-1"), T0)
    await store.claim_due(T0, "dead-worker", 30)
    assert await store.reap_expired_leases(T0 + timedelta(seconds=10)) == []
    assert await store.reap_expired_leases(T0 + timedelta(seconds=31)) == ["A-1"]
    rec = await store.get_order("A-1")
    assert rec.status is OrderStatus.QUEUED and rec.attempts == 1
    again = await store.claim_due(T0 + timedelta(seconds=31), "w2", 30)
    assert again is not None and again.attempts == 2


async def test_renew_and_release_need_the_lease_holder(any_store):
    store = any_store
    await store.add_order(order("A-1"), T0)
    await store.claim_due(T0, "w1", 30)
    assert not await store.renew_lease("A-1", "w2", 30)
    assert await store.renew_lease("A-1", "w1", 30)
    later = T0 + timedelta(hours=10)
    assert not await store.release_claim("A-1", "w2", T0, later)
    assert await store.release_claim("A-1", "w1", T0, later, reason="outside calling hours")
    rec = await store.get_order("A-1")
    assert rec.status is OrderStatus.QUEUED and rec.attempts == 0 and rec.due_at == later
    assert await store.claim_due(later, "w1", 30) is not None


async def test_outbox_retry_ack_and_visibility_timeout(redis_server: RedisServer):
    store = RedisOrderStore.from_url(redis_server.url, delivery_visibility_s=5)
    try:
        await store.redis.flushdb()
        await store.add_order(order("A-1", do_not_call=True), T0)
        [(did, _, attempt)] = await store.claim_deliveries(T0)
        assert attempt == 1 and await store.claim_deliveries(T0) == []
        # The deliverer crashed: the item comes back once its visibility runs out.
        [(did2, _, attempt)] = await store.claim_deliveries(T0 + timedelta(seconds=6))
        assert did2 == did and attempt == 2
        t = T0 + timedelta(seconds=6)
        assert await store.retry_delivery(did, t + timedelta(seconds=2), "HTTP 500")
        assert await store.claim_deliveries(t + timedelta(seconds=1)) == []
        [(_, _, attempt)] = await store.claim_deliveries(t + timedelta(seconds=2))
        assert attempt == 3
        await store.retry_delivery(did, t, "no URL", attempted=False)
        [(_, _, attempt)] = await store.claim_deliveries(t + timedelta(seconds=2))
        assert attempt == 3
        await store.ack_delivery(did)
        assert await store.outbox_size() == 0
        assert not await store.retry_delivery(did, t, "late retry after ack")
    finally:
        await store.aclose()


async def _subscribed(store: RedisOrderStore) -> None:
    await store.start()  # starts the subscriber
    while (await store.redis.pubsub_numsub(store.wakeup_channel))[0][1] < 1:
        await asyncio.sleep(0.01)


async def test_intake_in_another_process_wakes_the_worker(store, store2):
    await _subscribed(store2)
    waiter = asyncio.create_task(store2.wait_for_work(600))
    await asyncio.sleep(0)
    await store.add_order(order("A-1"), T0)
    await asyncio.wait_for(waiter, 30)  # liveness bound only; the waiter alone would take 600 s


async def test_intake_in_the_same_process_wakes_the_worker(store):
    waiter = asyncio.create_task(store.wait_for_work(600))
    await asyncio.sleep(0)
    await store.add_order(order("A-1"), T0)
    await asyncio.wait_for(waiter, 30)


@pytest.mark.parametrize("crash", [False, True], ids=["clean-restart", "sigkill"])
async def test_restart_loses_nothing_acknowledged(private_redis_server: RedisServer, crash):
    store = RedisOrderStore.from_url(private_redis_server.url)
    try:
        for i in range(5):
            await store.add_order(order(f"O-{i}", phone(i)), T0)
        await store.add_order(order("DNC-1", phone(9), do_not_call=True), T0)
        rec = await store.claim_due(T0, "w1", 60)
        await store.finish_call(finished(rec, Outcome.REJECTED, T0), OrderStatus.REJECTED, T0)
        await store.claim_due(T0, "w1", 60)  # leased, call in flight
        before = {oid: await store.get_order(oid) for oid in [f"O-{i}" for i in range(5)]}
        counts, outbox = await store.counts(), await store.outbox_size()

        private_redis_server.restart(crash=crash)

        after = {oid: await store.get_order(oid) for oid in before}
        assert after == before
        assert await store.counts() == counts and await store.outbox_size() == outbox == 2
        assert await store.reap_expired_leases(T0 + timedelta(seconds=61)) == ["O-1"]
        with pytest.raises(DuplicateOrder):
            await store.add_order(order("O-0"), T0)
    finally:
        await store.aclose()
