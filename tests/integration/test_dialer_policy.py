"""The dialer asking the call policy before every dial and after every call: real Redis, a
fake originator (no Asterisk), a clock the test moves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

import robot.engine.dialer as dialer_module
from robot.adapters.dnc_store import DncStore
from robot.adapters.order_control import HangupListener, OrderControl
from robot.adapters.redis_store import RedisOrderStore
from robot.core.models import OrderStatus, Outcome, parse_order
from robot.core.policy_config import PolicyConfig
from robot.engine.calls import CallTracker
from robot.engine.dialer import Dialer, DialerConfig
from robot.engine.policy_gate import PolicyGate
from robot.ports import OriginateOutcome, OriginateRequest
from robot.testing import FakePrompts

NIGHT = datetime(2030, 1, 15, 20, 0, tzinfo=UTC)  # 23:00 in Moscow
NOON = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
PHONE = "+79161234567"


class FakeOriginator:
    """Answers every Originate with ``outcome`` at once, or (``ring=True``) rings until hung
    up, then reports no answer."""

    def __init__(self, tracker: CallTracker, outcome: Outcome = Outcome.BUSY, ring=False) -> None:
        self.tracker = tracker
        self.outcome = outcome
        self.ring = ring
        self.requests: list[OriginateRequest] = []
        self.hangups: list[str] = []
        self.ringing = asyncio.Event()

    async def originate(self, req: OriginateRequest) -> None:
        self.requests.append(req)
        if self.ring:
            self.ringing.set()
            return
        asyncio.get_running_loop().call_soon(
            self.tracker.originate_result, req.call_id,
            OriginateOutcome(False, self.outcome, self.outcome.value),
        )  # fmt: skip

    def forget(self, call_id: str) -> None:
        pass

    async def hangup(self, call_id: str, server: str = "default") -> bool:
        self.hangups.append(call_id)
        self.tracker.originate_result(
            call_id, OriginateOutcome(False, Outcome.NO_ANSWER, "declined before answer")
        )
        return True


class Clock:
    def __init__(self, t: datetime | None) -> None:
        self.t = t  # None: the real clock

    def __call__(self) -> datetime:
        return self.t or datetime.now(UTC)


def order(oid: str, phone: str = PHONE, **extra):
    return parse_order(
        {"order_id": oid, "phone": phone, "amount": "100", "shop_name": "Ромашка", **extra}
    )


def make_dialer(store, clock, config: PolicyConfig, *, lease_s=60.0, admission=None, **fake):
    tracker = CallTracker()
    originator = FakeOriginator(tracker, **fake)
    dnc, control = DncStore(store.redis), OrderControl(store)
    gate = PolicyGate(config, dnc=dnc, phone_log=dnc, finalizer=control)
    dialer = Dialer(
        store=store, originator=originator, tracker=tracker, prompts=FakePrompts(),
        recognizer=None, is_speech_factory=lambda: (lambda frame: False),
        config=DialerConfig(worker_id="w1", ring_timeout_s=30, lease_s=lease_s), clock=clock,
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


async def until(predicate, timeout_s: float = 30.0) -> None:
    """Liveness bound only: the condition is expected long before the timeout."""
    async with asyncio.timeout(timeout_s):
        while not await predicate():
            await asyncio.sleep(0.02)


async def test_outside_hours_the_claim_is_released_without_an_attempt(store, running):
    dialer, originator, _, _ = make_dialer(store, Clock(NIGHT), PolicyConfig())
    await store.add_order(order("A-1"), NIGHT)
    running(dialer)

    async def released():
        rec = await store.get_order("A-1")
        return rec.status is OrderStatus.QUEUED and rec.due_at != NIGHT

    await until(released)
    rec = await store.get_order("A-1")
    assert rec.due_at == datetime(2030, 1, 16, 6, 0, tzinfo=UTC) and rec.attempts == 0
    assert "after calling hours" in rec.status_reason and "Europe/Moscow" in rec.status_reason
    assert originator.requests == [] and rec.calls == []
    assert await store.redis.zcard("dozvon:lease") == 0


async def test_a_phone_listed_after_intake_is_checked_before_the_dial(store, running):
    dialer, originator, dnc, _ = make_dialer(store, Clock(NOON), PolicyConfig())
    await store.add_order(order("A-1"), NOON)
    await dnc.add(PHONE, NOON)
    running(dialer)
    await until(lambda: _status_is(store, "A-1", OrderStatus.DNC))
    assert originator.requests == []
    rec = await store.get_order("A-1")
    assert rec.attempts == 0 and rec.status_reason == "the phone is on the do-not-call list"
    [(_, event, _)] = await store.claim_deliveries(NOON)
    assert event.final and event.status is OrderStatus.DNC


async def _status_is(store: RedisOrderStore, oid: str, status: OrderStatus) -> bool:
    rec = await store.get_order(oid)
    return rec is not None and rec.status is status


async def test_retries_by_the_rules_then_exhausted_and_reported(store, running):
    clock = Clock(NOON)
    config = PolicyConfig(max_attempts=3, min_gap=0, retry={"busy": {"delays": ["5m", "15m"]}})
    dialer, originator, _, _ = make_dialer(store, clock, config, outcome=Outcome.BUSY)
    await store.add_order(order("A-1"), NOON)
    running(dialer)
    expected_due = [NOON + timedelta(minutes=5), NOON + timedelta(minutes=20)]
    for n, due in enumerate(expected_due, 1):
        await until(lambda n=n: _calls_done(store, "A-1", n))
        rec = await store.get_order("A-1")
        assert rec.status is OrderStatus.QUEUED and rec.due_at == due, rec.status_reason
        assert "line busy" in rec.status_reason
        clock.t = due
        await store._notify()
    await until(lambda: _status_is(store, "A-1", OrderStatus.EXHAUSTED))
    assert len(originator.requests) == 3
    finals = [e for _, e, _ in await store.claim_deliveries(clock.t, 100) if e.final]
    [final] = finals
    assert final.status is OrderStatus.EXHAUSTED and final.delivery_id == "A-1:final"
    assert [c.outcome for c in final.history] == [Outcome.BUSY] * 3
    assert len(await DncStore(store.redis).phone_calls(PHONE, NOON)) == 3


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
    await until(lambda: _requests(originator, 1))


async def test_a_waiting_order_is_dialed_at_its_due_time(store, running, monkeypatch):
    monkeypatch.setattr(dialer_module, "IDLE_MAX_S", 600.0)
    dialer, originator, _, _ = make_dialer(store, Clock(None), _any_time())
    running(dialer)
    await _idle(store, dialer)
    now = datetime.now(UTC)
    await store.add_order(order("A-1"), now, due_at=now + timedelta(seconds=0.5))
    await until(lambda: _requests(originator, 1))
    assert originator.requests[0].order_id == "A-1"


def _any_time() -> PolicyConfig:
    return PolicyConfig(hours="00:00-24:00", min_gap=0)


async def _idle(store: RedisOrderStore, dialer: Dialer) -> None:
    async def subscribed():
        return (await store.redis.pubsub_numsub(store.wakeup_channel))[0][1] >= 1

    await until(subscribed)
    await asyncio.sleep(0.1)  # let the loop reach its wait


async def _requests(originator: FakeOriginator, n: int) -> bool:
    return len(originator.requests) >= n


@pytest.mark.parametrize("path", ["pubsub", "periodic-check"])
async def test_cancel_hangs_up_a_ringing_call(store, running, path):
    dialer, originator, _, control = make_dialer(store, Clock(None), _any_time(), ring=True)
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
        await until(lambda: _calls_done(store, "A-1", 1))
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


async def test_a_lost_lease_ends_the_call_and_leaves_the_order_to_its_new_holder(store, running):
    # Renewals every second; the lease itself is long enough never to run out on its own.
    dialer, originator, _, _ = make_dialer(store, Clock(None), _any_time(), ring=True, lease_s=3)
    running(dialer)
    await store.add_order(order("A-1"), datetime.now(UTC))
    await asyncio.wait_for(originator.ringing.wait(), 30)
    # Another worker holds the order now (its reaper took the lease while we were stalled).
    await store.redis.hset("dozvon:lease:owner", "A-1", "w2")
    await until(lambda: _calls_done_any(store, "A-1"))
    assert originator.hangups == [originator.requests[0].call_id]
    rec = await store.get_order("A-1")
    [call] = rec.calls
    assert call.outcome is Outcome.NO_ANSWER and "hung up: lease lost" in call.reason
    # Nothing of w1's result overwrote the new holder's claim: still calling, still w2's,
    # the attempt not requeued, and no result queued for the CRM.
    assert rec.status is OrderStatus.CALLING and rec.attempts == 1
    assert await store.redis.hget("dozvon:lease:owner", "A-1") == "w2"
    assert await store.claim_deliveries(datetime.now(UTC), 100) == []
    assert dialer.tracker.live() == [] and len(originator.requests) == 1


async def _calls_done_any(store, oid) -> bool:
    rec = await store.get_order(oid)
    return any(c.outcome is not None for c in rec.calls)


async def test_a_paused_shop_holds_back_only_its_own_orders(store, running):
    from robot.adapters.redis_limits import RedisCallLimits, shop_limits
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
    await until(lambda: _calls_done(store, "B-1", 1))
    assert [r.order_id for r in originator.requests] == ["B-1"]
    rec = await store.get_order("A-1")
    assert rec.status is OrderStatus.QUEUED and rec.attempts == 0 and rec.calls == []
    assert "shop Ромашка: shop_paused" in rec.status_reason and rec.due_at > now
    await store.redis.hset(shop_limits("Ромашка"), "paused", "0")  # resumed: called in turn

    async def a1_dialed() -> bool:
        return any(r.order_id == "A-1" for r in originator.requests)

    await until(a1_dialed)
