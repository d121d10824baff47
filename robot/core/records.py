"""What the store keeps about an order beyond what the CRM sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from robot.core.models import CallAttempt, Order, OrderStatus, Outcome


class OrderRecord(BaseModel):
    """An order with its current status and call history, as stored in Redis."""

    model_config = ConfigDict(extra="ignore")

    order: Order
    status: OrderStatus = OrderStatus.QUEUED
    attempts: int = 0
    due_at: datetime | None = None  # next call time while QUEUED
    last_outcome: Outcome | None = None
    status_reason: str = ""
    created_at: datetime
    updated_at: datetime
    calls: list[CallAttempt] = Field(default_factory=list)
    # A supervisor reopened the final order (robot.core.reopen): how often, the attempt number
    # it was reopened after, and the attempts granted.
    reopened: int = 0
    reopen_after: int = 0
    reopen_attempts: int = 0
    # The current cycle (robot.core.lifecycle): its number (0: the first), the attempt number
    # it started after and the attempts it may use (None: the policy's); None: never set.
    cycle: int = 0
    cycle_after: int | None = None
    cycle_cap: int | None = None


class ResultEvent(BaseModel):
    """What the CRM receives (webhook body): one per finished call, with the order's state."""

    model_config = ConfigDict(extra="ignore")

    event: str = "call.finished"  # call.finished | order.final (one per cycle) | order.reopened
    # Idempotency key: the CRM may see a delivery twice, never act twice. ``<order>:final``
    # for order.final, ``<order>:<call id>`` for call.finished (all: robot.core.lifecycle).
    delivery_id: str
    order_id: str
    status: OrderStatus
    final: bool
    call: CallAttempt | None = None
    attempts: int = 0
    # order.final only: every call of the order, oldest first (the whole attempt history).
    history: list[CallAttempt] = Field(default_factory=list)
    callback_url: str | None = None
    # The order's shop: its webhook URL and secret (robot.core.shops) sign and route this.
    shop_name: str | None = None
    occurred_at: datetime
    # The purpose the call was about (robot.core.purposes) and the CRM status that selected it
    # (None for a new order's "confirm" call before any status event).
    purpose: str = "confirm"
    crm_status: str | None = None
    # order.final with status "changed": what the customer asked for (date, after, before,
    # address, text: their words); "not_ordered": the order may be fake.
    requested_change: dict[str, Any] | None = None
    suspected_fake: bool = False
    # How often a supervisor reopened the order before this event (robot.core.reopen); an
    # order.final of a reopened order has delivery id ``<order>:final:r<n>``.
    reopened: int = 0
