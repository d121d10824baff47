"""The dialer asking the call policy before every dial and after every call: a fake originator
(no Asterisk), a clock the test moves, and each test on both stores: the in-memory one
(``robot.testing``: the dialer's logic, no Redis needed; ``-k memory``) and real Redis. The
hangup of a cancelled call goes through Redis pub/sub, so that test runs on Redis only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

import robot.engine.dialer as dialer_module
from robot.adapters.dnc_store import DncStore
from robot.adapters.order_control import HangupListener, OrderControl
from robot.adapters.redis_store import RedisOrderStore
from robot.config import Settings
from robot.core.models import OrderStatus, Outcome, parse_order
from robot.core.policy_config import PolicyConfig
from robot.engine.calls import CallTracker
from robot.engine.dialer import Dialer
from robot.engine.policy_gate import PolicyGate
from robot.service import dialer_config
from robot.testing import FakeOriginator, FakePrompts, InMemoryDnc, InMemoryOrderStore, wait_until
from robot.testing.store_views import leases_held

NIGHT = datetime(2030, 1, 15, 20, 0, tzinfo=UTC)  # 23:00 in Moscow
NOON = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
PHONE = "+79161234567"


class Clock:
    def __init__(self, t: datetime | None) -> None:
        self.t = t  # None: the real clock

    def __call__(self) -> datetime:
        return self.t or datetime.now(UTC)


def order(oid: str, phone: str = PHONE, **extra):
    return parse_order(
        {"order_id": oid, "phone": phone, "amount": "100", "shop_name": "Ромашка", **extra}
    )


@pytest.fixture(params=["memory", "redis"])
def store(request):
    """The order store the dialer runs on (the Redis one is tests/conftest.py's ``store``)."""
    if request.param == "memory":
        return InMemoryOrderStore(dnc=InMemoryDnc())
    return request.getfixturevalue("store")


def dnc_of(store):
    return store.dnc if isinstance(store, InMemoryOrderStore) else DncStore(store.redis)


def make_dialer(
    store, clock, config: PolicyConfig, outcome: Outcome | None = Outcome.BUSY, *,
    lease_s: float = 60.0, admission=None,
):  # fmt: skip
    tracker = CallTracker()
    originator = FakeOriginator(tracker, outcome)
    dnc = dnc_of(store)
    control = store if isinstance(store, InMemoryOrderStore) else OrderControl(store)
    gate = PolicyGate(config, dnc=dnc, phone_log=dnc, finalizer=control)
    dialer = Dialer(
        store=store, originator=originator, tracker=tracker, prompts=FakePrompts(),
        recognizer=None, is_speech_factory=lambda: (lambda frame: False),
        config=dialer_config(Settings(worker_id="w1", ring_timeout_s=30, lease_s=lease_s).dialer,
                             {}), clock=clock,
        gate=gate, admission=admission,
    )  # fmt: skip
    return dialer, originator, dnc, control


@pytest.fixture
async def running():
    """Start dialers with ``start(dialer)``; they are drained and stopped at the end."""
    tasks: list[tuple[Dialer, asyncio.Task[None]]] = []

    def start(dialer: Dialer) -> None:
        tasks.append((dialer, asyncio.create_task(dialer.run())))

    yield start
    for dialer, task in tasks:
        await dialer.drain(5)
        await asyncio.wait_for(task, 10)


async def test_outside_hours_the_claim_is_released_without_an_attempt(store, running):
    dialer, originator, _, _ = make_dialer(store, Clock(NIGHT), PolicyConfig())
    await store.add_order(order("A-1"), NIGHT)
    running(dialer)

    async def released():
        rec = await store.get_order("A-1")
        return rec.status is OrderStatus.QUEUED and rec.due_at != NIGHT

    await wait_until(released)
    rec = await store.get_order("A-1")
    assert rec.due_at == datetime(2030, 1, 16, 6, 0, tzinfo=UTC) and rec.attempts == 0
    assert "after calling hours" in rec.status_reason and "Europe/Moscow" in rec.status_reason
    assert originator.requests == [] and rec.calls == []
    assert await leases_held(store) == 0


async def test_a_phone_listed_after_intake_is_checked_before_the_dial(store, running):
    dialer, originator, dnc, _ = make_dialer(store, Clock(NOON), PolicyConfig())
    await store.add_order(order("A-1"), NOON)
    await dnc.add(PHONE, NOON)
    running(dialer)
    await wait_until(lambda: _status_is(store, "A-1", OrderStatus.DNC))
    assert originator.requests == []
    rec = await store.get_order("A-1")
    assert rec.attempts == 0 and rec.status_reason == "the phone is on the do-not-call list"
    [(_, event, _)] = await store.claim_deliveries(NOON)
    assert event.final and event.status is OrderStatus.DNC


async def _status_is(
    store: RedisOrderStore | InMemoryOrderStore, oid: str, status: OrderStatus
) -> bool:
    rec = await store.get_order(oid)
    return rec is not None and rec.status is status


async def test_retries_by_the_rules_then_exhausted_and_reported(store, running):
    clock = Clock(NOON)
    config = PolicyConfig(max_attempts=3, min_gap=0, retry={"busy": {"delays": ["5m", "15m"]}})
    dialer, originator, _, _ = make_dialer(store, clock, config, Outcome.BUSY)
    await store.add_order(order("A-1"), NOON)
    running(dialer)
    expected_due = [NOON + timedelta(minutes=5), NOON + timedelta(minutes=20)]
    for n, due in enumerate(expected_due, 1):
        await wait_until(lambda n=n: _calls_done(store, "A-1", n))
        rec = await store.get_order("A-1")
        assert rec.status is OrderStatus.QUEUED and rec.due_at == due, rec.status_reason
        assert "line busy" in rec.status_reason
        clock.t = due
        await store._notify()
    await wait_until(lambda: _status_is(store, "A-1", OrderStatus.EXHAUSTED))
    assert len(originator.requests) == 3
    finals = [e for _, e, _ in await store.claim_deliveries(clock.t, 100) if e.final]
    [final] = finals
    assert final.status is OrderStatus.EXHAUSTED and final.delivery_id == "A-1:final"
    assert [c.outcome for c in final.history] == [Outcome.BUSY] * 3
    assert len(await dnc_of(store).phone_calls(PHONE, NOON)) == 3


async def _calls_done(store, oid, n) -> bool:
    rec = await store.get_order(oid)
    return rec.status is not OrderStatus.CALLING and sum(c.outcome is not None
                                                         for c in rec.calls) >= n  # fmt: skip


async def test_intake_wakes_an_idle_dialer(store, running, monkeypatch):
    # The dialer would otherwise sleep 10 minutes: only the intake's wakeup can start the call.
    monkeypatch.setattr(dialer_module, "IDLE_MAX_S", 600.0)
    dialer, originator, _, _ = make_dialer(store, Clock(None), _any_time())
    running(dialer)
    await _idle(store, dialer)
    await store.add_order(order("A-1"), datetime.now(UTC))
    await wait_until(lambda: _requests(originator, 1))


async def test_a_waiting_order_is_dialed_at_its_due_time(store, running, monkeypatch):
    monkeypatch.setattr(dialer_module, "IDLE_MAX_S", 600.0)
    dialer, originator, _, _ = make_dialer(store, Clock(None), _any_time())
    running(dialer)
    await _idle(store, dialer)
    now = datetime.now(UTC)
    await store.add_order(order("A-1"), now, due_at=now + timedelta(seconds=0.5))
    await wait_until(lambda: _requests(originator, 1))
    assert originator.requests[0].order_id == "A-1"


def _any_time() -> PolicyConfig:
    return PolicyConfig(hours="00:00-24:00", min_gap=0)


async def _idle(store: RedisOrderStore | InMemoryOrderStore, dialer: Dialer) -> None:
    if isinstance(store, InMemoryOrderStore):
        await wait_until(lambda: store.waiters >= 1)  # the dialer is in its wait
        return

    async def subscribed():
        return (await store.redis.pubsub_numsub(store.wakeup_channel))[0][1] >= 1

    await store.start()  # the wakeup subscriber, as the service's component list starts it
    await wait_until(subscribed)
    await asyncio.sleep(0.1)  # let the loop reach its wait


async def _requests(originator: FakeOriginator, n: int) -> bool:
    return len(originator.requests) >= n


@pytest.mark.parametrize("store", ["redis"], indirect=True)
@pytest.mark.parametrize("path", ["pubsub", "periodic-check"])
async def test_cancel_hangs_up_a_ringing_call(store, running, path):
    dialer, originator, _, control = make_dialer(store, Clock(None), _any_time(), outcome=None)
    listener = HangupListener(control, dialer.hang_up_order)
    if path == "pubsub":
        listener.start()
    running(dialer)
    try:
        await store.add_order(order("A-1"), datetime.now(UTC))
        await asyncio.wait_for(originator.ringing.wait(), 30)
        result = await control.cancel("A-1", datetime.now(UTC), "shop cancelled")
        assert result.hangup_requested
        if path == "periodic-check":
            await dialer.check_live_orders()
        await wait_until(lambda: _calls_done(store, "A-1", 1))
    finally:
        await listener.stop()
    assert originator.hangups == [originator.requests[0].call_id]
    rec = await store.get_order("A-1")
    assert rec.status is OrderStatus.CANCELLED and rec.status_reason == "shop cancelled"
    assert "hung up:" in rec.calls[0].reason and "shop cancelled" in rec.calls[0].reason
    events = [e for _, e, _ in await store.claim_deliveries(datetime.now(UTC), 100)]
    assert sorted((e.event, e.final) for e in events) == [("call.finished", False),
                                                          ("order.final", True)]  # fmt: skip
    assert len(originator.requests) == 1


async def _take_lease(store, oid: str, worker_id: str) -> None:
    """Another worker holds the order now (its reaper took the lease while we were stalled)."""
    if isinstance(store, InMemoryOrderStore):
        store.leases[oid] = (worker_id, store.leases[oid][1])
    else:
        await store.redis.hset("dozvon:lease:owner", oid, worker_id)


async def _lease_owner(store, oid: str) -> str | None:
    if isinstance(store, InMemoryOrderStore):
        return store.leases[oid][0] if oid in store.leases else None
    return await store.redis.hget("dozvon:lease:owner", oid)


async def test_a_lost_lease_ends_the_call_and_leaves_the_order_to_its_new_holder(store, running):
    # Renewals every second; the lease itself is long enough never to run out on its own.
    dialer, originator, _, _ = make_dialer(store, Clock(None), _any_time(), None, lease_s=3)
    running(dialer)
    await store.add_order(order("A-1"), datetime.now(UTC))
    await asyncio.wait_for(originator.ringing.wait(), 30)
    await _take_lease(store, "A-1", "w2")

    async def call_ended() -> bool:
        rec = await store.get_order("A-1")
        return any(c.outcome is not None for c in rec.calls)

    await wait_until(call_ended)
    assert originator.hangups == [originator.requests[0].call_id]
    rec = await store.get_order("A-1")
    [call] = rec.calls
    assert call.outcome is Outcome.NO_ANSWER and "hung up: lease lost" in call.reason
    # Nothing of w1's result overwrote the new holder's claim: still calling, still w2's,
    # not requeued, and no result queued for the CRM.
    assert rec.status is OrderStatus.CALLING and rec.attempts == 1
    assert await _lease_owner(store, "A-1") == "w2"
    assert await store.claim_deliveries(datetime.now(UTC), 100) == []
    assert dialer.tracker.live() == [] and len(originator.requests) == 1


@pytest.mark.parametrize("store", ["redis"], indirect=True)  # the gate is a Redis script
async def test_a_paused_shop_holds_back_only_its_own_orders(store, running):
    from robot.adapters.redis_keys import shop_limits
    from robot.adapters.redis_limits import RedisCallLimits
    from robot.engine.routing import CallRouter
    from robot.ports import Trunk

    class OneServer:
        def available(self) -> list[Trunk]:
            return [Trunk("default")]

    limits = RedisCallLimits(store.redis)
    dialer, originator, _, _ = make_dialer(
        store, Clock(None), _any_time(), admission=CallRouter(limits, OneServer())
    )
    await store.redis.hset(shop_limits("Ромашка"), mapping={"paused": "1"})
    now = datetime.now(UTC)
    await store.add_order(order("A-1"), now)  # Ромашка, paused
    await store.add_order(order("B-1", phone="+79161234568", shop_name="Лютик"), now)
    running(dialer)
    await wait_until(lambda: _calls_done(store, "B-1", 1))
    assert [r.order_id for r in originator.requests] == ["B-1"]
    rec = await store.get_order("A-1")
    assert rec.status is OrderStatus.QUEUED and rec.attempts == 0 and rec.calls == []
    assert "shop Ромашка: shop_paused" in rec.status_reason and rec.due_at > now
    await store.redis.hset(shop_limits("Ромашка"), "paused", "0")  # resumed: called in turn

    async def a1_dialed() -> bool:
        return any(r.order_id == "A-1" for r in originator.requests)

    await wait_until(a1_dialed)
