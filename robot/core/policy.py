"""The call policy: for an order and its call history at a given moment, call now, wait until
when, or stop for good, and why. Pure: the clock and every fact from Redis are passed in.

One function, :func:`decide`, answers for the dialer (before every dial and after every call)
and for supervisors (``GET /api/v1/orders/{id}/explain``, ``robot explain``). The rules, in
the order they are checked:

1. an order already final (confirmed, rejected, dnc, cancelled, exhausted, operator) stops;
   one with a call in flight waits for it;
2. a conclusive answer in the history (yes, no, do-not-call, operator, a requested change, a
   wrong number, "I did not order") stops with it;
3. the order's ``do_not_call`` flag or the phone on the do-not-call list stops as ``dnc``;
4. ``max_attempts`` calls made, or the last outcome's own limit reached, stops as
   ``exhausted``;
5. otherwise the earliest moment that satisfies all of: the retry delay after the last
   outcome (a "call me later" is a callback after its delay), the minimum gap since the last
   call to this phone (any order), the daily cap of calls to this phone, and the calling
   window in the customer's time zone (order, else phone number, else shop default; per
   weekday hours; holidays). That moment is now: call; later: wait until it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from robot.core.calling_hours import (
    NoCallingWindow,
    calls_on_local_day,
    customer_zone,
    local_moment,
    next_calling_time,
)
from robot.core.carrier_outcomes import counts_as_attempt
from robot.core.messages import EN, Moment, Text
from robot.core.models import CallAttempt, Order, OrderStatus, Outcome
from robot.core.policy_config import PolicyConfig
from robot.core.records import OrderRecord

FINAL_BY_OUTCOME = {
    Outcome.CONFIRMED: OrderStatus.CONFIRMED,
    Outcome.REJECTED: OrderStatus.REJECTED,
    Outcome.DNC: OrderStatus.DNC,
    Outcome.OPERATOR: OrderStatus.OPERATOR,
    Outcome.CHANGED: OrderStatus.CHANGED,
    Outcome.WRONG_NUMBER: OrderStatus.WRONG_NUMBER,
    Outcome.NOT_ORDERED: OrderStatus.NOT_ORDERED,
    Outcome.INVALID_NUMBER: OrderStatus.INVALID_NUMBER,
    Outcome.INFORMED: OrderStatus.INFORMED,
}


def _answer_text(outcome: Outcome) -> Text:
    """A conclusive answer ("the customer confirmed"): ``answer.<outcome>`` if it has its own
    words, else what the outcome is called for retries."""
    key = f"answer.{outcome.value}"
    return Text(key if key in EN else f"retry.{outcome.value}")


def _retry_text(outcome: Outcome) -> Text:
    """What a call ended as ("no answer"): ``retry.<outcome>`` (one for every Outcome)."""
    return Text(f"retry.{outcome.value}")


class Action(str, Enum):
    """What to do with an order now."""

    CALL = "call"  # dial it now
    WAIT = "wait"  # not yet: ask again at ``at`` (None: when the call in flight ends)
    STOP = "stop"  # never again: the order is final with ``status``


@dataclass(frozen=True)
class Decision:
    action: Action
    at: datetime | None  # CALL: now; WAIT: the earliest moment to call; STOP: None
    reason: str  # English; a messages.Text, so it also has a stable key and parameters
    status: OrderStatus | None = None  # STOP: the order's final status

    def to_json(self, *, codes: bool = False) -> dict[str, Any]:
        """The explain format: ``{"action", "at" (ISO 8601 or null), "reason"}``; with
        ``codes`` also the reason as ``reason_code`` and ``reason_params`` (robot.core.messages)."""
        doc: dict[str, Any] = {
            "action": self.action.value,
            "at": self.at.isoformat() if self.at else None,
            "reason": str(self.reason),
        }
        if codes and isinstance(self.reason, Text):
            msg = self.reason.to_json()
            doc["reason_code"], doc["reason_params"] = msg["key"], msg["params"]
        return doc


@dataclass(frozen=True)
class PastCall:
    """One earlier call, as the policy sees it."""

    at: datetime  # when it was placed
    outcome: Outcome | None  # None: lost with its worker, counted as failed
    ended_at: datetime | None = None

    @property
    def end(self) -> datetime:
        return self.ended_at or self.at

    @property
    def effective_outcome(self) -> Outcome:
        return self.outcome or Outcome.FAILED


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def as_past_call(item: CallAttempt | PastCall | Mapping[str, Any]) -> PastCall:
    """A CallAttempt from the store, a PastCall, or ``{"at": ISO, "outcome": ...}``."""
    if isinstance(item, PastCall):
        return PastCall(_aware(item.at), item.outcome, item.ended_at and _aware(item.ended_at))
    if isinstance(item, CallAttempt):
        start = item.originated_at or item.created_at
        return PastCall(_aware(start), item.outcome, item.ended_at and _aware(item.ended_at))
    at = item["at"]
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    outcome = item.get("outcome")
    return PastCall(_aware(at), Outcome(outcome) if outcome else None)


def _stop(status: OrderStatus, reason: str) -> Decision:
    return Decision(Action.STOP, None, reason, status)


def decide(
    subject: OrderRecord | Order,
    attempts: Sequence[CallAttempt | PastCall | Mapping[str, Any]],
    now: datetime,
    phone_on_dnc: bool,
    config: PolicyConfig,
    *,
    phone_calls: Sequence[datetime] | None = None,
) -> Decision:
    """Call now, wait, or stop, and why (see the module docstring for the rules).

    ``subject``: a stored record (its status counts) or a bare order (the dialer, holding the
    order's lease). ``attempts``: the order's earlier calls. ``phone_calls``: when calls to
    this phone were placed, for any order (default: this order's calls).
    """
    now = _aware(now)
    order = subject.order if isinstance(subject, OrderRecord) else subject
    # Only the calls about the order's current purpose: an order confirmed last week and ready
    # for pickup today gets its pickup calls (the phone's gap and daily cap still count all).
    attempts = [a for a in attempts if not isinstance(a, CallAttempt) or a.purpose == order.purpose]
    calls = sorted((as_past_call(a) for a in attempts), key=lambda c: c.at)
    if isinstance(subject, OrderRecord):
        if subject.status.is_final:
            st = subject.status.value
            if subject.status_reason:
                why = Text("policy.final_why", status=st, why=subject.status_reason)
            else:
                why = Text("policy.final", status=st)
            return _stop(subject.status, why)
        if subject.status is OrderStatus.CALLING:
            return Decision(Action.WAIT, None, Text("policy.in_flight", n=subject.attempts))

    zone, zone_source = customer_zone(order, config.default_timezone)
    answered = [c for c in calls if c.outcome in FINAL_BY_OUTCOME]
    if answered:
        last = answered[-1]
        assert last.outcome is not None
        return _stop(
            FINAL_BY_OUTCOME[last.outcome],
            Text("policy.answered", answer=_answer_text(last.outcome), at=Moment(last.end, zone)),
        )
    if order.do_not_call:
        return _stop(OrderStatus.DNC, Text("policy.dnc_flag"))
    if phone_on_dnc:
        return _stop(OrderStatus.DNC, Text("policy.dnc_listed"))

    # A call the trunk refused for capacity never reached the customer: no attempt used.
    made = sum(1 for c in calls if counts_as_attempt(c.effective_outcome))
    if made >= config.max_attempts:
        if calls:
            why = Text("policy.exhausted_last", made=made, max=config.max_attempts,
                       last=_retry_text(calls[-1].effective_outcome))  # fmt: skip
        else:
            why = Text("policy.exhausted", made=made, max=config.max_attempts)
        return _stop(OrderStatus.EXHAUSTED, why)

    t, steps = now, list[str]()
    if calls:
        last = calls[-1]
        key, rule = config.rule_for(last.effective_outcome)
        same = sum(1 for c in calls if config.rule_for(c.effective_outcome)[0] is key)
        if rule.max_attempts is not None and same >= rule.max_attempts:
            return _stop(
                OrderStatus.EXHAUSTED,
                Text("policy.exhausted_outcome", same=same, outcome=key.value,
                     max=rule.max_attempts),
            )  # fmt: skip
        delay = rule.delays[min(same, len(rule.delays)) - 1]
        retry_at = last.end + delay
        if retry_at > t:
            t = retry_at
            what = "callback" if last.effective_outcome is Outcome.LATER else "retry"
            steps.append(
                Text(f"policy.{what}_step", what=_retry_text(last.effective_outcome),
                     at=Moment(last.end, zone), delay=delay)
            )  # fmt: skip

    placed = (
        sorted(_aware(c) for c in phone_calls) if phone_calls is not None else [c.at for c in calls]
    )
    if placed and placed[-1] + config.min_gap > t:
        t = placed[-1] + config.min_gap
        steps.append(Text("policy.gap_step", at=Moment(placed[-1], zone), gap=config.min_gap))

    try:
        t, window_steps = _fit_window_and_cap(t, zone, placed, config)
    except NoCallingWindow as e:
        return Decision(Action.WAIT, now + timedelta(days=1), e.args[0])
    steps += window_steps

    attempt = Text("policy.attempt", n=made + 1, max=config.max_attempts)
    if t <= now:
        local = now.astimezone(zone)
        hours = config.hours_on(local.date())
        return Decision(
            Action.CALL,
            now,
            Text("policy.call_now", time=f"{local:%H:%M}", zone=zone.key, source=zone_source,
                 hours=str(hours), attempt=attempt),
        )  # fmt: skip
    return Decision(
        Action.WAIT,
        t.astimezone(UTC),
        Text("policy.wait", at=Moment(t, zone), zone=zone.key, source=zone_source, steps=steps,
             attempt=attempt),
    )  # fmt: skip


def _fit_window_and_cap(
    t: datetime, zone: Any, placed: list[datetime], config: PolicyConfig
) -> tuple[datetime, list[str]]:
    """Move ``t`` into a calling window on a day with room under the per-phone daily cap."""
    steps: list[str] = []
    cap = config.max_calls_per_phone_per_day
    for _ in range(400):
        opening, why = next_calling_time(t, zone, config)
        if opening != t:
            steps.append(why)
            t = opening
        day = t.astimezone(zone).date()
        count = calls_on_local_day(placed, day, zone)
        if count < cap:
            return t, steps
        steps.append(Text("policy.daily_cap", count=count, day=day, cap=cap))
        t = local_moment(day + timedelta(days=1), 0, zone)
    raise NoCallingWindow(Text("hours.cap_none"))
