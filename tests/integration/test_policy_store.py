"""Do-not-call list, per-phone call log, cancel / update / finalize against a real Redis."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from robot.adapters.dnc_store import DncStore, parse_dnc_csv
from robot.adapters.intake_stream import IntakeStreamConsumer
from robot.adapters.order_control import OrderControl, OrderFinal
from robot.adapters.redis_store import RedisOrderStore, UnknownOrder
from robot.core.models import OrderError, OrderStatus, Outcome, parse_order
from robot.testing import finished_call

T0 = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)
PHONE = "+79161234567"


def order(oid: str, phone: str = PHONE, **extra):
    return parse_order(
        {"order_id": oid, "phone": phone, "amount": "2490", "shop_name": "Ромашка", **extra}
    )


finished = finished_call


@pytest.fixture
def dnc(store: RedisOrderStore) -> DncStore:
    return DncStore(store.redis)


@pytest.fixture
def control(store: RedisOrderStore) -> OrderControl:
    return OrderControl(store)


async def finals(store: RedisOrderStore):
    return [e for _, e, _ in await store.claim_deliveries(T0 + timedelta(days=9), 100) if e.final]


async def test_dnc_add_remove_list(dnc: DncStore):
    assert await dnc.add(PHONE, T0, source="api", reason="asked by email")
    assert not await dnc.add(PHONE, T0 + timedelta(hours=1), source="import")
    entry = await dnc.get(PHONE)
    assert (entry.source, entry.reason, entry.added_at) == ("api", "asked by email", T0)
    for i in range(5):
        await dnc.add(f"+7916000000{i}", T0 + timedelta(minutes=i + 1))
    total, page = await dnc.entries(offset=1, limit=2)
    assert total == 6 and [e.phone for e in page] == ["+79160000003", "+79160000002"]
    assert await dnc.contains(PHONE) and await dnc.remove(PHONE)
    assert not await dnc.contains(PHONE) and not await dnc.remove(PHONE)
    assert await dnc.get(PHONE) is None and await dnc.count() == 5


def test_csv_parsing_reports_each_bad_row():
    text = "phone,reason\n+7 916 123-45-67,spam complaint\n\n# comment\n8 (916) 123-45-67\n" \
           "not a phone\n12,too short\n+79161234568\n"  # fmt: skip
    ok, bad = parse_dnc_csv(text)
    assert [(line, p) for line, p, _ in ok] == [(2, PHONE), (8, "+79161234568")]
    assert ok[0][2] == "spam complaint"
    assert [b["line"] for b in bad] == [6, 7] and bad[0]["value"] == "not a phone"


async def test_csv_import(dnc: DncStore):
    await dnc.add("+79161234568", T0)
    report = await dnc.import_csv("+79161234567\n+79161234568\nbogus\n", T0)
    assert report.to_json()["accepted"] == 2 and (report.added, report.already) == (1, 1)
    assert report.rejected[0]["line"] == 3
    assert (await dnc.get(PHONE)).source == "import"


async def test_phone_log_window(dnc: DncStore):
    for i, minutes in enumerate((0, 30, 60 * 24 * 3)):  # the last is three days later
        await dnc.note_call(PHONE, f"c{i}", T0 + timedelta(minutes=minutes))
    later = T0 + timedelta(days=3)
    assert await dnc.phone_calls(PHONE, later - timedelta(days=2)) == [later]
    assert await dnc.redis.zcard(f"dozvon:phonecalls:{PHONE}") == 1  # old entries trimmed
    assert 0 < await dnc.redis.ttl(f"dozvon:phonecalls:{PHONE}") <= 2 * 86400


async def test_intake_of_a_listed_phone_is_final_dnc_without_a_call(store, dnc):
    await dnc.add(PHONE, T0)
    rec = await store.add_order(order("A-1"), T0)
    assert rec.status is OrderStatus.DNC and rec.status_reason == "phone on the do-not-call list"
    assert await store.claim_due(T0 + timedelta(days=1), "w1", 60) is None
    [event] = await finals(store)
    assert (event.delivery_id, event.status, event.history) == ("A-1:final", OrderStatus.DNC, [])


async def test_final_event_carries_the_whole_history(store):
    await store.add_order(order("A-1"), T0)
    rec = await store.claim_due(T0, "w1", 60)
    await store.finish_call(finished(rec, Outcome.NO_ANSWER, T0), OrderStatus.QUEUED, T0)
    rec = await store.claim_due(T0, "w1", 60)
    await store.finish_call(finished(rec, Outcome.CONFIRMED, T0), OrderStatus.CONFIRMED, T0)
    [event] = await finals(store)
    assert event.delivery_id == "A-1:final" and event.status is OrderStatus.CONFIRMED
    assert [c.outcome for c in event.history] == [Outcome.NO_ANSWER, Outcome.CONFIRMED]


async def test_cancel_queued(store, control):
    await store.add_order(order("A-1"), T0)
    result = await control.cancel("A-1", T0, "customer called the shop")
    assert result.changed and not result.hangup_requested
    assert (result.previous, result.status) == (OrderStatus.QUEUED, OrderStatus.CANCELLED)
    rec = await store.get_order("A-1")
    assert rec.status is OrderStatus.CANCELLED and rec.status_reason == "customer called the shop"
    assert await store.claim_due(T0 + timedelta(days=1), "w1", 60) is None
    again = await control.cancel("A-1", T0)
    assert not again.changed and again.status is OrderStatus.CANCELLED
    [event] = await finals(store)
    assert event.delivery_id == "A-1:final" and event.status is OrderStatus.CANCELLED
    assert (await store.counts())["cancelled"] == 1


async def test_cancel_errors(store, control):
    with pytest.raises(UnknownOrder):
        await control.cancel("nope", T0)
    await store.add_order(order("A-1"), T0)
    rec = await store.claim_due(T0, "w1", 60)
    await store.finish_call(finished(rec, Outcome.CONFIRMED, T0), OrderStatus.CONFIRMED, T0)
    with pytest.raises(OrderFinal) as e:
        await control.cancel("A-1", T0)
    assert e.value.status is OrderStatus.CONFIRMED


async def test_cancel_during_a_call_reports_once_and_asks_for_a_hangup(store, control):
    await store.add_order(order("A-1"), T0)
    rec = await store.claim_due(T0, "w1", 60)
    pubsub = store.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(control.hangup_channel)
    try:
        result = await control.cancel("A-1", T0, "cancelled by the shop")
        assert result.hangup_requested and result.previous is OrderStatus.CALLING
        msg = None
        while msg is None:  # the first read may be the subscribe confirmation
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
        assert json.loads(msg["data"]) == {"order_id": "A-1", "reason": "cancelled by the shop"}
    finally:
        await pubsub.aclose()
    # The lease still belongs to the worker until its call ends.
    assert await store.redis.hget("dozvon:lease:owner", "A-1") == "w1"
    await store.finish_call(finished(rec, Outcome.NO_ANSWER, T0), OrderStatus.QUEUED, T0,
                            reason="no answer", due_at=T0)  # fmt: skip
    rec = await store.get_order("A-1")
    assert rec.status is OrderStatus.CANCELLED and rec.status_reason == "cancelled by the shop"
    assert not await store.redis.exists(f"dozvon:phone:{PHONE}", "dozvon:lease:owner")
    events = [e for _, e, _ in await store.claim_deliveries(T0 + timedelta(days=1), 100)]
    assert sorted((e.event, e.final, e.status) for e in events) == [
        ("call.finished", False, OrderStatus.CANCELLED),
        ("order.final", True, OrderStatus.CANCELLED),
    ]


async def test_finalize_claimed_gives_back_the_attempt_and_the_locks(store, control):
    await store.add_order(order("A-1"), T0)
    await store.claim_due(T0, "w1", 60)
    assert not await control.finalize_claimed("A-1", "w2", OrderStatus.DNC, T0, "x")
    assert await control.finalize_claimed("A-1", "w1", OrderStatus.DNC, T0, "on the list")
    rec = await store.get_order("A-1")
    assert (rec.status, rec.attempts, rec.status_reason) == (OrderStatus.DNC, 0, "on the list")
    assert not await store.redis.exists(f"dozvon:phone:{PHONE}")
    assert await store.redis.zcard("dozvon:lease") == 0
    [event] = await finals(store)
    assert event.status is OrderStatus.DNC and event.attempts == 0


async def test_update_changes_the_order_for_the_next_call(store, control):
    await store.add_order(order("A-1"), T0, due_at=T0 + timedelta(hours=3))
    result = await control.update("A-1", {"amount": "990", "phone": "+79161234599"}, T0)
    assert result.changed and result.status is OrderStatus.QUEUED
    rec = await store.get_order("A-1")
    assert str(rec.order.amount) == "990" and rec.order.phone == "+79161234599"
    assert rec.due_at == T0 and rec.order.received_at == T0
    claimed = await store.claim_due(T0, "w1", 60)
    assert await store.redis.get("dozvon:phone:+79161234599") == "A-1" and claimed
    assert not (await control.update("A-1", {"amount": "990"}, T0)).changed


async def test_update_errors_and_dnc(store, control):
    await store.add_order(order("A-1"), T0)
    with pytest.raises(OrderError) as e:
        await control.update("A-1", {"phone": "123"}, T0)
    assert e.value.field == "phone"
    with pytest.raises(OrderError):
        await control.update("A-1", {"order_id": "B-2"}, T0)
    with pytest.raises(UnknownOrder):
        await control.update("nope", {"amount": "1"}, T0)
    result = await control.update("A-1", {"do_not_call": True}, T0)
    assert result.status is OrderStatus.DNC
    with pytest.raises(OrderFinal):
        await control.update("A-1", {"amount": "1"}, T0)
    cancelled = await store.add_order(order("A-2", "+79161230000"), T0)
    assert cancelled.status is OrderStatus.QUEUED
    result = await control.update("A-2", {"status": "cancelled"}, T0)
    assert result.status is OrderStatus.CANCELLED


async def test_update_during_a_call_moves_the_phone_lock(store, control):
    await store.add_order(order("A-1"), T0)
    rec = await store.claim_due(T0, "w1", 60)
    result = await control.update("A-1", {"phone": "+79161234599"}, T0)
    assert result.hangup_requested and result.status is OrderStatus.CALLING
    assert not await store.redis.exists(f"dozvon:phone:{PHONE}")
    assert await store.redis.get("dozvon:phone:+79161234599") == "A-1"
    await store.finish_call(finished(rec, Outcome.FAILED, T0), OrderStatus.QUEUED, T0, due_at=T0)
    assert not await store.redis.exists("dozvon:phone:+79161234599")


async def test_stream_actions_cancel_and_update(store, control):
    consumer = IntakeStreamConsumer(store.redis, store, consumer="t", control=control)
    await consumer.ensure_group()
    await store.add_order(order("A-1"), T0)
    await store.add_order(order("A-2", "+79161230000"), T0)
    await store.redis.xadd("dozvon:intake", {"action": "cancel", "order_id": "A-1"})
    doc = {"action": "update", "order_id": "A-2", "amount": "100"}
    await store.redis.xadd("dozvon:intake", {"order": json.dumps(doc)})
    await store.redis.xadd("dozvon:intake", {"action": "cancel", "order_id": "nope"})
    await store.redis.xadd("dozvon:intake", {"action": "explode", "order_id": "A-2"})
    assert await consumer.poll_once(block=False) == 4
    assert (await store.get_order("A-1")).status is OrderStatus.CANCELLED
    assert str((await store.get_order("A-2")).order.amount) == "100"
    rejected = await store.redis.xrange("dozvon:intake:rejected")
    assert [(r["field"], r["message"]) for _, r in rejected] == [
        ("order_id", "no order 'nope'"),
        ("action", "must be create, update, cancel or status"),
    ]
    assert (await store.redis.xpending("dozvon:intake", "dozvon"))["pending"] == 0
