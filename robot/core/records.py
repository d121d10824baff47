"""What the store keeps about an order beyond what the CRM sent."""

from __future__ import annotations

from datetime import datetime

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


class ResultEvent(BaseModel):
    """What the CRM receives (webhook body): one per finished call, with the order's state."""

    model_config = ConfigDict(extra="ignore")

    event: str = "call.finished"  # call.finished | order.final
    delivery_id: str  # idempotency key: the CRM may see a delivery twice, never act twice
    order_id: str
    status: OrderStatus
    final: bool
    call: CallAttempt | None = None
    attempts: int = 0
    callback_url: str | None = None
    occurred_at: datetime
