"""What an order's status becomes after a call. Pure.

For now every order gets one call: a conclusive answer ends it with that answer, anything else
ends it as ``exhausted``. Retry rules, calling hours and do-not-call lists build on this
(issue 3) without changing its callers.
"""

from __future__ import annotations

from datetime import datetime

from robot.core.models import OrderStatus, Outcome

_FINAL_BY_OUTCOME = {
    Outcome.CONFIRMED: OrderStatus.CONFIRMED,
    Outcome.REJECTED: OrderStatus.REJECTED,
    Outcome.DNC: OrderStatus.DNC,
    Outcome.OPERATOR: OrderStatus.OPERATOR,
}


def status_after_call(
    outcome: Outcome, attempts: int, now: datetime, *, max_attempts: int = 1
) -> tuple[OrderStatus, datetime | None]:
    """Return the order's new status and, if it is to be called again, when."""
    if outcome in _FINAL_BY_OUTCOME:
        return _FINAL_BY_OUTCOME[outcome], None
    if attempts < max_attempts:
        return OrderStatus.QUEUED, now
    return OrderStatus.EXHAUSTED, None
