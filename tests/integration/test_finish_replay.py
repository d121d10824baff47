"""Writing a call's result is safe to replay (issue 12 item 4): ``finish_call`` applies a call
id once, and is accepted after the lease ran out and the order was requeued (an answer beats
a retry). The dialer keeps results the store refuses and writes them before it claims again.
Real Redis; a fake originator. Every test runs on the in-memory store too (no Redis)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from robot.adapters.finish_journal import FileFinishJournal
from robot.adapters.redis_store import RedisOrderStore
from robot.config import Settings
from robot.core.models import OrderStatus, Outcome, parse_order
from robot.engine.calls import CallTracker
from robot.engine.dialer import Dialer
from robot.ports import PendingFinish
from robot.service import dialer_config
from robot.testing import FakePrompts, InMemoryOrderStore, finished_call
from robot.testing.store_views import delivery_attempts, is_due, waiting_deliveries

T0 = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)


def order(oid: str, phone: str = "+79161234567"):
    return parse_order({"order_id": oid, "phone": phone, "amount": "100", "shop_name": "Ромашка"})


async def test_finish_call_twice_applies_once(
    any_store: RedisOrderStore | InMemoryOrderStore,
) -> None:
    store = any_store
    await store.add_order(order("F-1"), T0)
    rec = await store.claim_due(T0, "w1", 60)
    assert rec is not None
    call = finished_call(rec, Outcome.CONFIRMED, T0 + timedelta(seconds=30))
    await store.finish_call(call, OrderStatus.CONFIRMED, T0 + timedelta(seconds=30))
    first = await store.get_order("F-1")
    await store.finish_call(call, OrderStatus.CONFIRMED, T0 + timedelta(seconds=90))
    again = await store.get_order("F-1")
    assert first == again and again is not None and again.status is OrderStatus.CONFIRMED
    assert await waiting_deliveries(store) == ["F-1:final"]
    assert await delivery_attempts(store, "F-1:final") == 0


async def test_an_answer_is_accepted_after_the_lease_was_reaped(
    any_store: RedisOrderStore | InMemoryOrderStore,
) -> None:
    store = any_store
    await store.add_order(order("F-2"), T0)
    rec = await store.claim_due(T0, "w1", 3)
    assert rec is not None
    assert await store.reap_expired_leases(T0 + timedelta(seconds=40)) == ["F-2"]
    assert (await store.get_order("F-2")).status is OrderStatus.QUEUED  # type: ignore[union-attr]
    call = finished_call(rec, Outcome.CONFIRMED, T0 + timedelta(seconds=20))
    await store.finish_call(call, OrderStatus.CONFIRMED, T0 + timedelta(seconds=45))
    after = await store.get_order("F-2")
    assert after is not None and after.status is OrderStatus.CONFIRMED and after.attempts == 1
    assert not await is_due(store, "F-2")  # never dialed again
    assert await waiting_deliveries(store) == ["F-2:final"]


async def test_an_answered_call_that_lost_its_lease_waits_for_a_kept_answer(
    any_store: RedisOrderStore | InMemoryOrderStore,
) -> None:
    store = any_store
    store.answered_reap_grace_s = 45
    for oid, phone in (("G-1", "+79161234567"), ("G-2", "+79161234568")):
        await store.add_order(order(oid, phone), T0)
        rec = await store.claim_due(T0, "w1", 3)
        assert rec is not None
        call = finished_call(rec, Outcome.CONFIRMED, T0)
        update = {"outcome": None, "ended_at": None}
        if oid == "G-1":
            update["answered_at"] = T0  # the customer was talking when the lease was lost
        await store.save_call(call.model_copy(update=update))
    reaped_at = T0 + timedelta(seconds=10)
    assert sorted(await store.reap_expired_leases(reaped_at)) == ["G-1", "G-2"]
    g1, g2 = await store.get_order("G-1"), await store.get_order("G-2")
    assert g1 is not None and g2 is not None
    assert g1.due_at == reaped_at + timedelta(seconds=45) and "answered" in g1.status_reason
    assert g2.due_at == reaped_at  # nobody had answered: due at once, as before
    assert await store.claim_due(reaped_at + timedelta(seconds=1), "w2", 60) is not None  # G-2
    assert await store.claim_due(reaped_at + timedelta(seconds=1), "w2", 60) is None


class FlakyStore:
    """The real store, with finish_call failing while ``down`` (Redis unreachable)."""

    def __init__(self, store: RedisOrderStore | InMemoryOrderStore) -> None:
        self.store = store
        self.down = True
        self.refused = 0

    async def finish_call(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
        if self.down:
            self.refused += 1
            raise ConnectionError("Redis unreachable")
        await self.store.finish_call(*a, **kw)

    async def claim_due(self, *a, **kw):  # type: ignore[no-untyped-def]
        if self.down:
            raise ConnectionError("Redis unreachable")
        return await self.store.claim_due(*a, **kw)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.store, name)


def dialer_on(store: object, journal: FileFinishJournal) -> Dialer:
    tracker = CallTracker()
    return Dialer(
        store=store,  # type: ignore[arg-type]
        originator=None,  # type: ignore[arg-type]  # nothing is dialed in these tests
        tracker=tracker, prompts=FakePrompts(), recognizer=None,
        is_speech_factory=lambda: (lambda frame: False),
        config=dialer_config(Settings(worker_id="w1", lease_s=60).dialer, {}), journal=journal,
    )  # fmt: skip


async def test_kept_results_survive_a_restart_and_are_written_once(
    any_store: RedisOrderStore | InMemoryOrderStore, tmp_path: Path
) -> None:
    store = any_store
    await store.add_order(order("F-3"), T0)
    rec = await store.claim_due(T0, "w1", 60)
    assert rec is not None
    flaky = FlakyStore(store)
    journal = FileFinishJournal(tmp_path, "w1")
    dialer = dialer_on(flaky, journal)
    call = finished_call(rec, Outcome.CONFIRMED, T0)
    await dialer.results.finish(PendingFinish(call, OrderStatus.CONFIRMED, T0, "answered"))
    assert dialer.unsaved_results == 1 and flaky.refused == 1
    assert not await dialer.settle_before_reap()  # the reaper must wait
    # The worker dies (its lock goes with it); a new one starts while Redis is still away.
    assert journal._fd is not None
    os.close(journal._fd)  # what kill -9 does to its lock
    again = dialer_on(flaky, FileFinishJournal(tmp_path, "w2"))
    assert await again.restore_finishes() == 1 and again.unsaved_results == 1
    run = asyncio.create_task(again.run())
    await asyncio.sleep(0.3)
    assert (await store.get_order("F-3")).status is OrderStatus.CALLING  # type: ignore[union-attr]
    flaky.down = False  # Redis is back: the dialer writes before it claims anything
    async with asyncio.timeout(10):
        while again.unsaved_results:
            await asyncio.sleep(0.05)
    await again.drain(5)
    await asyncio.wait_for(run, 10)
    after = await store.get_order("F-3")
    assert after is not None and after.status is OrderStatus.CONFIRMED
    assert await waiting_deliveries(store) == ["F-3:final"]
    # A replay of the same result (say, a journal line written twice) changes nothing.
    await again.flush_finishes()
    await store.finish_call(call, OrderStatus.CONFIRMED, T0)
    assert await store.get_order("F-3") == after
    assert os.listdir(tmp_path) == ["w2.jsonl"]  # w1's was adopted
    assert os.stat(tmp_path / "w2.jsonl").st_size == 0  # nothing pending
