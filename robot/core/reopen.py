"""Reopening a final order: a supervisor gives it a stated number of further attempts.

The order's earlier calls stay in its history (the timeline, the CRM's ``history``), but the
call policy judges a reopened order only by the calls made since the reopening, against the
attempts the supervisor granted: the old answer or the exhausted count no longer stops it.
Calling hours, the gap between calls to one phone and the daily cap still count every call
(they are about the phone, not the order), and the do-not-call list still stops it.

Reporting: the CRM got the order's ``order.final`` before; reopening sends ``order.reopened``
(not final) and the next end sends a new ``order.final`` with ``reopened: n`` and delivery id
``<order>:final:r<n>``, so it is never taken for a repeat of the first one (``<order>:final``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from robot.core.models import Order, OrderStatus
from robot.core.policy_config import PolicyConfig

MAX_EXTRA_ATTEMPTS = 10
# Final states a supervisor may reopen, and the ones never: the customer or the shop said so
# (cancelled, do-not-call), or there is nothing to call (no such number), or nothing to ask.
REOPENABLE = frozenset({
    OrderStatus.EXHAUSTED, OrderStatus.REJECTED, OrderStatus.OPERATOR, OrderStatus.CHANGED,
    OrderStatus.WRONG_NUMBER, OrderStatus.NOT_ORDERED,
})  # fmt: skip

C = TypeVar("C")
# On the order (record, hash). ``cycle_after``/``cycle_cap``: where the current cycle starts and
# its attempts (robot.core.lifecycle), written by a reopening and by a status event's purpose.
REOPEN_FIELDS = {"reopened", "reopen_after", "reopen_attempts", "cycle_after", "cycle_cap"}


@dataclass(frozen=True)
class Reopening:
    count: int  # how many times the order was reopened (the n in ``:final:r<n>``)
    after_attempt: int  # calls up to this attempt number belong to earlier cycles
    # Further attempts granted by the last reopening; None: the policy's own (a cycle that a
    # status event started).
    attempts: int | None

    @classmethod
    def from_fields(cls, h: dict[str, Any]) -> Reopening | None:
        n = int(h.get("reopened") or 0)
        if h.get("cycle_after") not in (None, ""):
            cap = h.get("cycle_cap")
            return cls(n, int(h["cycle_after"]), int(cap) if cap not in (None, "") else None)
        if n <= 0:
            return None
        return cls(n, int(h.get("reopen_after") or 0), int(h.get("reopen_attempts") or 1))


def policy_view(
    calls: Sequence[C], config: PolicyConfig, reopening: Reopening | None
) -> tuple[list[C], PolicyConfig]:
    """The calls and the policy a (possibly reopened) order is judged by."""
    if reopening is None:
        return list(calls), config
    since = [c for c in calls if int(_attempt(c)) > reopening.after_attempt]
    if reopening.attempts is None:
        return since, config
    return since, config.model_copy(update={"max_attempts": reopening.attempts})


def _attempt(call: Any) -> int:
    if isinstance(call, dict):
        return int(call.get("attempt", 0))
    return int(getattr(call, "attempt", 0))


class NotReopenable(Exception):
    """Why a final order cannot be called again (a message key and its parameters)."""

    def __init__(self, order_id: str, status: OrderStatus, why: str) -> None:
        super().__init__(f"order {order_id} is {status.value}: {why}")
        self.order_id = order_id
        self.status = status
        self.why = why  # "confirmed", "cancelled", "dnc", "invalid_number", "dnc_listed"


def why_not_reopenable(status: OrderStatus, order: Order, on_dnc: bool) -> str | None:
    """Why this order may not be called again, or None."""
    if not status.is_final:
        return "not_final"
    if order.do_not_call or status is OrderStatus.DNC:
        return "dnc"
    if on_dnc:
        return "dnc_listed"
    if status not in REOPENABLE:
        return str(status.value)  # confirmed, cancelled, invalid_number
    return None
