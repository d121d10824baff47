"""The order's lifecycle on real Redis: one order.final per cycle, CRM status events (stale,
repeated, recorded, stop, new purpose), and the claim's purpose check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from robot.adapters.order_control import OrderControl
from robot.adapters.redis_store import RedisOrderStore
from robot.core.models import OrderStatus, Outcome, parse_order, parse_status_event
from robot.core.shops import ShopConfig
from robot.testing import finished_call

T0 = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)
S = OrderStatus


def order(oid: str, phone: str = "+79161234567", **extra):
    return parse_order(
        {"order_id": oid, "phone": phone, "amount": "2490", "shop_name": "Ромашка", **extra}
    )


def status(oid: str, name: str, at: datetime, **fields):
    return parse_status_event({"status": name, "occurred_at": at.isoformat(), **fields},
                              order_id=oid)  # fmt: skip


async def outbox(store: RedisOrderStore) -> dict[str, dict]:
    """Every event waiting for the CRM, by delivery id (nothing delivers them here)."""
    events = {}
    for d, e, _ in await store.claim_deliveries(T0 + timedelta(days=9), 1000):
        events[d] = e
    return events


class Shops:
    """Stands in for the shops registry: ``get(name)``."""

    def __init__(self, *shops: ShopConfig) -> None:
        self.by_name = {s.name: s for s in shops}

    def get(self, name: str) -> ShopConfig | None:
        return self.by_name.get(name)


@pytest.fixture
def control(store: RedisOrderStore) -> OrderControl:
    return OrderControl(store)


async def test_call_now_on_an_exhausted_order_sends_one_new_final_not_two(store):
    """A call of the earlier cycle (its worker was lost, then came back) ends after "call
    now" reopened the exhausted order: it is reported as call.finished and neither ends the
    new cycle nor frees the new call's lease; the new call's result is the one new final."""
    await store.add_order(order("X-1"), T0)
    lost = await store.claim_due(T0, "w1", 30)  # attempt 1: worker w1 vanishes
    assert await store.reap_expired_leases(T0 + timedelta(minutes=1)) == ["X-1"]
    rec = await store.claim_due(T0 + timedelta(minutes=2), "w2", 30)  # attempt 2
    await store.finish_call(finished_call(rec, Outcome.NO_ANSWER, T0 + timedelta(minutes=3)),
                            S.EXHAUSTED, T0 + timedelta(minutes=3))  # fmt: skip
    # Call now, as the dashboard does it: not queued, so reopened with one attempt.
    t = T0 + timedelta(minutes=10)
    assert await store.retry_now("X-1", t, "retry now by anna") == "exhausted"
    await store.reopen("X-1", t, attempts=1, by="anna")
    now = await store.claim_due(t, "w3", 30)  # attempt 3, the reopened cycle's call
    assert now.attempts == 3
    # w1 comes back with its call's result (attempt 1), decided as exhausted by its policy.
    late = finished_call(lost, Outcome.NO_ANSWER, t + timedelta(seconds=5))
    await store.finish_call(late, S.EXHAUSTED, t + timedelta(seconds=5))
    rec = await store.get_order("X-1")
    assert rec.status is S.CALLING  # still the new call's
    assert await store.redis.hget(store.keys.lease_owner, "X-1") == "w3"
    await store.finish_call(finished_call(now, Outcome.CONFIRMED, t + timedelta(minutes=1)),
                            S.CONFIRMED, t + timedelta(minutes=1))  # fmt: skip
    events = await outbox(store)
    finals = {d: e for d, e in events.items() if e.event == "order.final"}
    assert set(finals) == {"X-1:final", "X-1:final:r1"}
    assert finals["X-1:final"].status is S.EXHAUSTED
    assert finals["X-1:final:r1"].status is S.CONFIRMED
    assert events["X-1:X-1-c1"].event == "call.finished" and not events["X-1:X-1-c1"].final
    assert (await store.get_order("X-1")).status is S.CONFIRMED


async def test_the_final_marker_refuses_a_second_final_of_one_cycle(store):
    """Whatever path asks for it, a cycle whose order.final was written gets no second one:
    an order left active after its cycle's final (as no path of ours leaves it) ends with a
    call.finished, and the final the CRM has stays the only one."""
    await store.add_order(order("X-2"), T0)
    rec = await store.claim_due(T0, "w", 30)
    await store.redis.hset(store.keys.order("X-2"), "final_sent", "X-2:final")
    await store.finish_call(finished_call(rec, Outcome.CONFIRMED, T0), S.CONFIRMED, T0)
    events = await outbox(store)
    assert [e.event for e in events.values()] == ["call.finished"]
    assert (await store.get_order("X-2")).status is S.CONFIRMED


async def test_a_stale_status_event_changes_nothing(store, control):
    await store.add_order(order("S-1"), T0)
    applied = await control.apply_status(
        status("S-1", "ready_for_pickup", T0, pickup_point="ПВЗ 1"), T0
    )
    assert applied.result == "applied" and applied.action == "pickup_ready"
    before = await store.redis.hgetall(store.keys.order("S-1"))
    due = await store.redis.zscore(store.keys.due, "S-1")
    old = await control.apply_status(status("S-1", "picked_up", T0 - timedelta(minutes=1)), T0)
    assert old.result == "stale" and old.order.status is S.QUEUED
    assert await store.redis.hgetall(store.keys.order("S-1")) == before
    assert await store.redis.zscore(store.keys.due, "S-1") == due
    assert await outbox(store) == {}


async def test_a_purpose_status_queues_the_order_with_its_fields(store, control):
    await store.add_order(order("P-1"), T0, due_at=T0 + timedelta(hours=3))
    t = T0 + timedelta(minutes=5)
    ev = status("P-1", "ready_for_pickup", t, pickup_point="Тверская, 1",
                storage_until="2030-01-20")  # fmt: skip
    applied = await control.apply_status(ev, t)
    o = applied.order
    assert applied.to_json() == {
        "result": "applied", "action": "pickup_ready", "order_id": "P-1", "status": "queued",
        "purpose": "pickup_ready", "crm_status": "ready_for_pickup", "hung_up": [],
    }  # fmt: skip
    assert o.order.pickup_point == "Тверская, 1" and str(o.order.storage_until) == "2030-01-20"
    assert o.order.crm_status_at == t and o.due_at == t  # due now, not in three hours
    # The same status again (a redelivered event) starts nothing new.
    again = await control.apply_status(ev, t + timedelta(seconds=1))
    assert again.result == "unchanged" and again.order.cycle == o.cycle == 1
    # A status the shop does not act on is recorded only.
    noted = await control.apply_status(status("P-1", "packed", t + timedelta(minutes=1)), t)
    assert noted.result == "applied" and noted.action is None
    assert noted.order.order.crm_status == "packed" and noted.order.order.purpose == "pickup_ready"
    assert noted.order.status is S.QUEUED
    # ... and the claim still dials it: the purpose matches the last status that acted.
    claimed = await store.claim_due(t + timedelta(minutes=2), "w", 30)
    assert claimed.order.order_id == "P-1" and claimed.order.purpose == "pickup_ready"


async def test_a_new_purpose_after_a_final_is_a_new_cycle_with_its_own_final(store, control):
    await store.add_order(order("C-1"), T0)
    rec = await store.claim_due(T0, "w", 30)
    await store.finish_call(finished_call(rec, Outcome.CONFIRMED, T0), S.CONFIRMED, T0)
    t = T0 + timedelta(days=1)
    applied = await control.apply_status(status("C-1", "ready_for_pickup", t), t)
    assert applied.order.status is S.QUEUED and applied.order.cycle == 1
    assert applied.order.cycle_after == 1  # calls up to attempt 1 were the confirm cycle's
    assert await control.reopening("C-1") is not None
    rec = await store.claim_due(t, "w", 30)
    assert rec.order.purpose == "pickup_ready" and rec.attempts == 2
    await store.finish_call(finished_call(rec, Outcome.INFORMED, t), S.INFORMED, t)
    finals = {d: e for d, e in (await outbox(store)).items() if e.event == "order.final"}
    assert set(finals) == {"C-1:final", "C-1:final:c1"}
    assert (finals["C-1:final"].purpose, finals["C-1:final"].crm_status) == ("confirm", None)
    new = finals["C-1:final:c1"]
    assert (new.status, new.purpose, new.crm_status) == (S.INFORMED, "pickup_ready",
                                                         "ready_for_pickup")  # fmt: skip


async def test_stop_ends_a_queued_order_once_with_the_status_named(store, control):
    await store.add_order(order("T-1"), T0)
    t = T0 + timedelta(minutes=1)
    applied = await control.apply_status(status("T-1", "picked_up", t), t)
    assert applied.action == "stop" and applied.order.status is S.STOPPED
    assert applied.order.status_reason == "picked_up"
    assert await store.redis.zscore(store.keys.due, "T-1") is None
    assert await store.claim_due(t + timedelta(minutes=1), "w", 30) is None
    again = await control.apply_status(status("T-1", "delivered", t + timedelta(minutes=1)), t)
    assert again.result == "applied" and again.order.status is S.STOPPED
    finals = [e for e in (await outbox(store)).values() if e.final]
    assert [(e.delivery_id, e.status, e.crm_status) for e in finals] == [
        ("T-1:final", S.STOPPED, "picked_up")
    ]


async def test_a_do_not_call_order_is_never_requeued_by_a_status(store, control):
    await store.add_order(order("D-1", do_not_call=True), T0)
    applied = await control.apply_status(status("D-1", "ready_for_pickup", T0), T0)
    assert applied.result == "applied" and applied.order.status is S.DNC
    assert await store.claim_due(T0, "w", 30) is None


async def test_the_shops_own_status_map_decides(store):
    shop = ShopConfig(name="Ромашка", statuses={"ready_for_pickup": "stop", "zabran": "stop"})
    control = OrderControl(store, Shops(shop))
    await store.add_order(order("M-1"), T0)
    applied = await control.apply_status(status("M-1", "zabran", T0), T0)
    assert applied.action == "stop" and applied.order.status is S.STOPPED
    unknown = await control.apply_status(status("nope", "picked_up", T0), T0)
    assert unknown.result == "unknown_order" and unknown.order is None


async def test_the_claim_never_dials_a_purpose_its_status_no_longer_selects(store):
    await store.add_order(order("Q-1"), T0)
    # As if a status had acted after the one that chose the purpose (no path leaves it so:
    # the status transaction writes both): the claim script refuses and unschedules it.
    fields = {"purpose_status": "ready_for_pickup", "acting_status": "picked_up"}
    await store.redis.hset(store.keys.order("Q-1"), mapping=fields)
    assert await store.claim_due(T0, "w", 30) is None
    assert await store.redis.zscore(store.keys.due, "Q-1") is None
    rec = await store.get_order("Q-1")
    assert rec.status is S.QUEUED and "picked_up" in rec.status_reason


async def test_purpose_then_stop_during_one_call(store, control):
    """A new purpose, then a stop, while the first call still runs: the stop ends the new
    cycle (its one order.final), and the call, ending last, is recorded and frees its lease."""
    await store.add_order(order("Z-1"), T0)
    rec = await store.claim_due(T0, "w", 30)
    t = T0 + timedelta(minutes=1)
    moved = await control.apply_status(status("Z-1", "ready_for_pickup", t), t)
    assert moved.order.status is S.CALLING and moved.order.order.purpose == "pickup_ready"
    stopped = await control.apply_status(status("Z-1", "picked_up", t + timedelta(seconds=1)), t)
    assert stopped.order.status is S.STOPPED
    await store.finish_call(finished_call(rec, Outcome.NO_ANSWER, t), S.EXHAUSTED, t)
    rec = await store.get_order("Z-1")
    assert rec.status is S.STOPPED and rec.calls[0].outcome is Outcome.NO_ANSWER
    assert await store.redis.hget(store.keys.lease_owner, "Z-1") is None
    assert await store.redis.get(store.keys.phone(rec.order.phone)) is None
    events = await outbox(store)
    finals = [(d, e.status, e.purpose, e.crm_status) for d, e in events.items() if e.final]
    assert finals == [("Z-1:final:c1", S.STOPPED, "pickup_ready", "picked_up")]
    assert events["Z-1:Z-1-c1"].event == "call.finished"


async def test_a_new_purpose_during_a_call_requeues_the_order_when_it_ends(store, control):
    await store.add_order(order("Z-2"), T0)
    rec = await store.claim_due(T0, "w", 30)
    t = T0 + timedelta(minutes=1)
    applied = await control.apply_status(status("Z-2", "courier_assigned", t), t)
    assert applied.action == "courier_slot" and applied.order.status is S.CALLING
    # The confirm call's answer comes in after the order moved on: reported, not final.
    await store.finish_call(finished_call(rec, Outcome.CONFIRMED, t), S.CONFIRMED, t)
    rec = await store.get_order("Z-2")
    assert rec.status is S.QUEUED and rec.due_at == t and rec.order.purpose == "courier_slot"
    assert await store.redis.hget(store.keys.lease_owner, "Z-2") is None
    assert [e.event for e in (await outbox(store)).values()] == ["call.finished"]
    again = await store.claim_due(t, "w", 30)
    assert again.order.purpose == "courier_slot" and again.attempts == 2


async def test_an_update_keeps_the_crm_status_to_status_events(store, control):
    await store.add_order(order("U-1"), T0)
    await control.apply_status(status("U-1", "ready_for_pickup", T0), T0)
    await control.update("U-1", {"crm_status": "picked_up", "customer_name": "Пётр"}, T0)
    rec = await store.get_order("U-1")
    assert rec.order.customer_name == "Пётр" and rec.order.crm_status == "ready_for_pickup"
    assert rec.order.purpose == "pickup_ready" and rec.status is S.QUEUED
