"""The call policy per purpose (robot.core.policy with robot.core.purposes): an informed call
ends the order's purpose, only the calls about the current purpose count, and the dialer's gate
applies a purpose's retry rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from robot.core.models import CallAttempt, Order, OrderStatus, Outcome
from robot.core.policy import Action, decide
from robot.core.policy_config import PolicyConfig, RetryOutcome
from robot.core.purposes import purpose_policy
from robot.engine.policy_gate import PolicyGate
from robot.testing import make_order

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
POLICY = PolicyConfig.model_validate({"hours": "00:00-24:00", "max_attempts": 2, "min_gap": 0})


def call(order: Order, n: int, outcome: Outcome, purpose: str, ago: timedelta) -> CallAttempt:
    at = NOW - ago
    return CallAttempt(
        call_id=f"c{n}", order_id=order.order_id, attempt=n, phone=order.phone,
        language=order.language, created_at=at, ended_at=at, outcome=outcome, purpose=purpose,
    )  # fmt: skip


def test_informed_is_final() -> None:
    o = make_order("ru", purpose="pickup_ready")
    d = decide(o, [call(o, 1, Outcome.INFORMED, "pickup_ready", timedelta(minutes=1))], NOW,
               False, POLICY)  # fmt: skip
    assert d.action is Action.STOP and d.status is OrderStatus.INFORMED


def test_calls_about_an_earlier_purpose_do_not_count() -> None:
    o = make_order("ru", purpose="pickup_ready")
    earlier = [
        call(o, 1, Outcome.NO_ANSWER, "confirm", timedelta(days=2)),
        call(o, 2, Outcome.CONFIRMED, "confirm", timedelta(days=2) - timedelta(hours=1)),
    ]
    d = decide(o, earlier, NOW, False, POLICY)
    assert d.action is Action.CALL, d.reason  # not "confirmed", not "2 of 2 attempts made"
    assert str(d.reason).endswith("attempt 1 of 2")  # the first of the pickup calls


async def test_the_gate_applies_the_purposes_retry_rules() -> None:
    gate = PolicyGate(POLICY)
    o = make_order("ru", purpose="storage_ending")
    missed = [call(o, 1, Outcome.NO_ANSWER, "storage_ending", timedelta(minutes=1))]
    d = await gate.decide(o, missed, NOW)
    # storage_ending retries no answer after 30 minutes (the installation's default: 10).
    assert d.action is Action.WAIT and d.at == NOW - timedelta(minutes=1) + timedelta(minutes=30)
    confirm = o.model_copy(update={"purpose": "confirm"})
    plain = [c.model_copy(update={"purpose": "confirm"}) for c in missed]
    d = await gate.decide(confirm, plain, NOW)
    assert d.at == NOW - timedelta(minutes=1) + timedelta(minutes=10)


async def test_an_order_about_a_purpose_its_shop_lacks_is_never_dialed() -> None:
    o = make_order("ru", purpose="packed")  # no such purpose, built in or in a shop file
    d = await PolicyGate(POLICY).decide(o, [], NOW)
    assert d.action is Action.STOP and d.status is OrderStatus.EXHAUSTED
    assert str(d.reason) == "no call purpose packed is defined for the order's shop"


def test_purpose_policy_for_explain() -> None:
    storage = make_order("ru", purpose="storage_ending")
    assert purpose_policy(storage, POLICY).retry[RetryOutcome.NO_ANSWER].delays[0] == timedelta(
        minutes=30
    )
    assert purpose_policy(make_order("ru", purpose="packed"), POLICY) is POLICY
