"""The order's legal moves, the delivery ids and the one builder of result events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from robot.core import lifecycle
from robot.core.lifecycle import IllegalMove, Move, check_move, is_legal
from robot.core.models import CallAttempt, Order, OrderStatus
from robot.core.reopen import REOPENABLE

S = OrderStatus
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FINALS = [s for s in S if s.is_final]


def order(**kw) -> Order:
    return Order(order_id="A-1", phone="+79161234567", amount="10", shop_name="Ромашка", **kw)


def call(n: int = 1, **kw) -> CallAttempt:
    return CallAttempt(call_id=f"c{n}", order_id="A-1", attempt=n, phone="+79161234567",
                       language="ru", created_at=NOW, **kw)  # fmt: skip


def test_the_dialer_moves():
    assert is_legal(Move.INTAKE, None, S.QUEUED) and is_legal(Move.INTAKE, None, S.DNC)
    assert not is_legal(Move.INTAKE, None, S.CALLING)
    assert is_legal(Move.CLAIM, S.QUEUED, S.CALLING)
    for s in [S.CALLING, *FINALS]:
        assert not is_legal(Move.CLAIM, s, S.CALLING), s
    assert is_legal(Move.RELEASE, S.CALLING, S.QUEUED) and is_legal(Move.REAP, S.CALLING, S.QUEUED)
    assert not is_legal(Move.RELEASE, S.QUEUED, S.QUEUED)


def test_a_finishing_call_never_overrides_a_final_status():
    for final in FINALS:
        assert is_legal(Move.FINISH, final, final), final  # kept (cancelled during the call)
        for other in S:
            if other is not final:
                assert not is_legal(Move.FINISH, final, other), (final, other)
    # A call ends a cycle in its outcome's status, never as cancelled or stopped.
    assert is_legal(Move.FINISH, S.CALLING, S.CONFIRMED)
    assert is_legal(Move.FINISH, S.CALLING, S.INFORMED)
    assert not is_legal(Move.FINISH, S.CALLING, S.CANCELLED)
    assert not is_legal(Move.FINISH, S.CALLING, S.STOPPED)


def test_cancel_update_and_retry_now_only_touch_active_orders():
    for final in FINALS:
        assert not is_legal(Move.CANCEL, final, S.CANCELLED)
        assert not is_legal(Move.UPDATE, final, final)
        assert not is_legal(Move.RETRY_NOW, final, S.QUEUED)
    assert is_legal(Move.CANCEL, S.QUEUED, S.CANCELLED)
    assert is_legal(Move.CANCEL, S.CALLING, S.CANCELLED)
    assert is_legal(Move.UPDATE, S.CALLING, S.DNC)
    assert not is_legal(Move.RETRY_NOW, S.CALLING, S.QUEUED)


def test_reopening_follows_the_reopenable_set():
    for final in FINALS:
        assert is_legal(Move.REOPEN, final, S.QUEUED) is (final in REOPENABLE), final


def test_status_events():
    assert is_legal(Move.STATUS, S.QUEUED, S.STOPPED)
    assert is_legal(Move.STATUS, S.CALLING, S.STOPPED)
    for final in FINALS:
        assert not is_legal(Move.STATUS, final, S.STOPPED) or final is S.STOPPED
        assert is_legal(Move.STATUS, final, final)  # recorded only
    # A new purpose after an earlier final, except where calls are barred for good.
    assert is_legal(Move.STATUS, S.INFORMED, S.QUEUED)
    assert is_legal(Move.STATUS, S.CONFIRMED, S.QUEUED)
    assert not is_legal(Move.STATUS, S.DNC, S.QUEUED)
    assert not is_legal(Move.STATUS, S.INVALID_NUMBER, S.QUEUED)
    assert lifecycle.may_requeue_for_purpose(S.STOPPED)
    assert not lifecycle.may_requeue_for_purpose(S.DNC)


def test_check_move_raises_naming_the_move():
    check_move(Move.CLAIM, S.QUEUED, S.CALLING)
    with pytest.raises(IllegalMove, match="cancel: confirmed -> cancelled"):
        check_move(Move.CANCEL, S.CONFIRMED, S.CANCELLED)
    with pytest.raises(IllegalMove, match=r"intake: \(new\) -> calling"):
        check_move(Move.INTAKE, None, S.CALLING)


def test_every_transition_says_why():
    assert all(t.why for t in lifecycle.TRANSITIONS)
    assert {t.move for t in lifecycle.TRANSITIONS} == set(Move)


def test_delivery_ids_differ_per_cycle_and_a_cycle_sends_one_final():
    assert lifecycle.final_delivery_id("A") == "A:final"
    assert lifecycle.final_delivery_id("A", reopened=2) == "A:final:r2"
    assert lifecycle.final_delivery_id("A", cycle=1) == "A:final:c1"
    assert lifecycle.final_delivery_id("A", reopened=1, cycle=3) == "A:final:c3:r1"
    assert lifecycle.may_send_final(None, "A:final")
    assert lifecycle.may_send_final("A:final", "A:final:r1")
    assert not lifecycle.may_send_final("A:final:r1", "A:final:r1")


def test_calls_of_earlier_cycles():
    assert lifecycle.of_earlier_cycle(call(2), cycle_after=2)
    assert not lifecycle.of_earlier_cycle(call(3), cycle_after=2)
    assert not lifecycle.of_earlier_cycle(call(1), cycle_after=0)


def test_events_carry_the_purpose_and_crm_status_of_the_order():
    o = order(purpose="pickup_ready", crm_status="ready_for_pickup", callback_url="https://x.ru/h")
    c = call(1)
    done = lifecycle.call_finished(o, c, S.QUEUED, attempts=1, now=NOW)
    assert (done.event, done.delivery_id, done.final) == ("call.finished", "A-1:c1", False)
    assert (done.purpose, done.crm_status, done.callback_url) == (
        "pickup_ready", "ready_for_pickup", "https://x.ru/h")  # fmt: skip
    final = lifecycle.order_final(o, S.INFORMED, attempts=1, history=[c], now=NOW, cycle=2)
    assert (final.event, final.delivery_id, final.final) == ("order.final", "A-1:final:c2", True)
    assert final.purpose == "pickup_ready" and final.crm_status == "ready_for_pickup"
    assert final.history == [c]
    again = lifecycle.order_reopened(order(), attempts=3, now=NOW, reopened=1)
    assert (again.event, again.delivery_id, again.status) == (
        "order.reopened", "A-1:reopened:1", S.QUEUED)  # fmt: skip
    assert again.purpose == "confirm" and again.crm_status is None


def test_reply_based_endings_add_their_details():
    change = {"date": "2026-12-03", "text": "в среду"}
    c = call(1, requested_change=change)
    changed = lifecycle.order_final(order(), S.CHANGED, attempts=1, history=[c], now=NOW, call=c)
    assert changed.requested_change == change
    fake = lifecycle.order_final(order(), S.NOT_ORDERED, attempts=1, history=[c], now=NOW)
    assert fake.suspected_fake is True
    plain = lifecycle.order_final(order(), S.CANCELLED, attempts=0, history=[], now=NOW)
    assert plain.requested_change is None and plain.suspected_fake is False
