"""The call policy: for an order and its call history at a given moment, call now, wait until
when, or stop for good, and why. Pure: the clock and every fact from Redis are passed in.

One function, :func:`decide`, answers for the dialer (before every dial and after every call)
and for supervisors (``GET /api/v1/orders/{id}/explain``, ``robot explain``). The rules, in
the order they are checked:

1. an order already final (confirmed, rejected, dnc, cancelled, exhausted, operator) stops;
   one with a call in flight waits for it;
2. a conclusive answer in the history (yes, no, do-not-call, operator) stops with it;
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
    describe_local,
    local_moment,
    next_calling_time,
)
from robot.core.carrier_outcomes import counts_as_attempt
from robot.core.models import CallAttempt, Order, OrderStatus, Outcome
from robot.core.policy_config import PolicyConfig, format_duration
from robot.core.records import OrderRecord

FINAL_BY_OUTCOME = {
    Outcome.CONFIRMED: OrderStatus.CONFIRMED,
    Outcome.REJECTED: OrderStatus.REJECTED,
    Outcome.DNC: OrderStatus.DNC,
    Outcome.OPERATOR: OrderStatus.OPERATOR,
    Outcome.INVALID_NUMBER: OrderStatus.INVALID_NUMBER,
}
_ANSWER_TEXT = {
    Outcome.CONFIRMED: "the customer confirmed",
    Outcome.REJECTED: "the customer declined",
    Outcome.DNC: "the customer asked not to be called again",
    Outcome.OPERATOR: "the customer was handed to an operator",
    Outcome.INVALID_NUMBER: "the carrier said the number does not exist",
}
_RETRY_TEXT = {
    Outcome.NO_ANSWER: "no answer",
    Outcome.BUSY: "line busy",
    Outcome.FAILED: "call failed",
    Outcome.UNCLEAR: "no clear answer",
    Outcome.MACHINE: "answering machine",
    Outcome.LATER: "the customer asked to be called back later",
    Outcome.UNREACHABLE: "phone switched off or out of coverage",
    Outcome.CALL_REJECTED: "the customer declined the call",
    Outcome.TRUNK_LIMIT: "the trunk was at its limit",
}


class Action(str, Enum):
    """What to do with an order now."""

    CALL = "call"  # dial it now
    WAIT = "wait"  # not yet: ask again at ``at`` (None: when the call in flight ends)
    STOP = "stop"  # never again: the order is final with ``status``


@dataclass(frozen=True)
class Decision:
    action: Action
    at: datetime | None  # CALL: now; WAIT: the earliest moment to call; STOP: None
    reason: str
    status: OrderStatus | None = None  # STOP: the order's final status

    def to_json(self) -> dict[str, Any]:
        """The explain format: ``{"action", "at" (ISO 8601 or null), "reason"}``."""
        return {
            "action": self.action.value,
            "at": self.at.isoformat() if self.at else None,
            "reason": self.reason,
        }


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
    calls = sorted((as_past_call(a) for a in attempts), key=lambda c: c.at)
    if isinstance(subject, OrderRecord):
        if subject.status.is_final:
            why = f" ({subject.status_reason})" if subject.status_reason else ""
            return _stop(subject.status, f"the order is already {subject.status.value}{why}")
        if subject.status is OrderStatus.CALLING:
            return Decision(
                Action.WAIT, None, f"a call is in flight now (attempt {subject.attempts})"
            )

    zone, zone_source = customer_zone(order, config.default_timezone)
    answered = [c for c in calls if c.outcome in FINAL_BY_OUTCOME]
    if answered:
        last = answered[-1]
        assert last.outcome is not None
        return _stop(
            FINAL_BY_OUTCOME[last.outcome],
            f"{_ANSWER_TEXT[last.outcome]} on {describe_local(last.end, zone)}",
        )
    if order.do_not_call:
        return _stop(OrderStatus.DNC, "the order says do_not_call")
    if phone_on_dnc:
        return _stop(OrderStatus.DNC, "the phone is on the do-not-call list")

    # A call the trunk refused for capacity never reached the customer: no attempt used.
    made = sum(1 for c in calls if counts_as_attempt(c.effective_outcome))
    if made >= config.max_attempts:
        last_text = ""
        if calls:
            last_text = f", the last: {_RETRY_TEXT[calls[-1].effective_outcome]}"
        return _stop(
            OrderStatus.EXHAUSTED,
            f"attempts exhausted: {made} of {config.max_attempts} calls made{last_text}",
        )

    t, steps = now, []
    if calls:
        last = calls[-1]
        key, rule = config.rule_for(last.effective_outcome)
        same = sum(1 for c in calls if config.rule_for(c.effective_outcome)[0] is key)
        if rule.max_attempts is not None and same >= rule.max_attempts:
            return _stop(
                OrderStatus.EXHAUSTED,
                f"attempts exhausted: {same} calls ended as {key.value}, "
                f"the most allowed is {rule.max_attempts}",
            )
        delay = rule.delays[min(same, len(rule.delays)) - 1]
        retry_at = last.end + delay
        if retry_at > t:
            t = retry_at
            what = "callback" if last.effective_outcome is Outcome.LATER else "retry"
            steps.append(
                f"{_RETRY_TEXT[last.effective_outcome]} at {describe_local(last.end, zone)}: "
                f"{what} after {format_duration(delay)}"
            )

    placed = (
        sorted(_aware(c) for c in phone_calls) if phone_calls is not None else [c.at for c in calls]
    )
    if placed and placed[-1] + config.min_gap > t:
        t = placed[-1] + config.min_gap
        steps.append(
            f"the last call to this phone was at {describe_local(placed[-1], zone)}: "
            f"{format_duration(config.min_gap)} between calls to one phone"
        )

    try:
        t, window_steps = _fit_window_and_cap(t, zone, placed, config)
    except NoCallingWindow as e:
        return Decision(Action.WAIT, now + timedelta(days=1), str(e))
    steps += window_steps

    where = f"{zone.key} ({zone_source})"
    attempt = f"attempt {made + 1} of {config.max_attempts}"
    if t <= now:
        local = now.astimezone(zone)
        hours = config.hours_on(local.date())
        return Decision(
            Action.CALL,
            now,
            f"may call now: it is {local:%H:%M} in {where}, within calling hours {hours}; "
            f"{attempt}",
        )
    return Decision(
        Action.WAIT,
        t.astimezone(UTC),
        f"wait until {describe_local(t, zone)}, customer's zone {where}: "
        + "; ".join(steps)
        + f"; {attempt}",
    )


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
        steps.append(
            f"{count} calls to this phone on {day.isoformat()} already, at most {cap} a day"
        )
        t = local_moment(day + timedelta(days=1), 0, zone)
    raise NoCallingWindow("no day with room under the daily cap in the next year")
