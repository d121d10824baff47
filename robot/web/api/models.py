"""The CRM API's request and response bodies as pydantic models.

One source for two things: the handlers validate request bodies and build responses with
these models, and ``robot.web.api.openapi`` generates ``/api/v1/openapi.json`` from the very
same classes, so the description cannot drift from what the server does. The order itself is
``robot.core.models.Order`` (intake) and ``robot.core.records.OrderRecord`` (read back).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from robot.core.models import Order, OrderStatus, StatusEvent
from robot.core.records import ResultEvent


class ApiError(BaseModel):
    """Every error: what went wrong, in a word and in a sentence; ``field`` names the bad
    input (a JSON field, ``body``, a path or query parameter) when there is one."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(examples=["invalid_field"])
    message: str
    field: str | None = None


class OrderAccepted(BaseModel):
    order_id: str
    status: OrderStatus
    duplicate: bool  # true: the id was known; nothing new was scheduled


class ReasonBody(BaseModel):
    """Optional body of cancel and of putting a phone on the do-not-call list (other keys
    are ignored, as they always were)."""

    model_config = ConfigDict(extra="ignore")

    reason: str | None = Field(default=None, max_length=500)


def _patch_model() -> type[BaseModel]:
    """Order fields, all optional (what PATCH may change), plus the cancel switches."""
    fields: dict[str, Any] = {}
    for name, info in Order.model_fields.items():
        if name in ("order_id", "received_at"):
            continue
        fields[name] = (
            info.annotation | None,  # type: ignore[operator]
            Field(default=None, description=info.description),
        )
    fields["status"] = (Literal["cancelled"] | None, None)
    fields["cancelled"] = (bool | None, None)
    fields["reason"] = (str | None, Field(default=None, max_length=500))
    return create_model("OrderPatch", __config__=ConfigDict(extra="ignore"), **fields)


OrderPatch = _patch_model()


def _status_model() -> type[BaseModel]:
    """The body of ``POST /api/v1/orders/{id}/status``: a ``StatusEvent`` without the id (it
    is in the path); unknown keys are errors."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in StatusEvent.model_fields.items()
        if name != "order_id"
    }  # fmt: skip
    return create_model("StatusBody", __config__=ConfigDict(extra="forbid"), **fields)


StatusBody = _status_model()


class StatusResult(BaseModel):
    """What a status event did: ``applied``, ``stale`` (older than the stored status: nothing
    changed), ``unchanged`` (the status the order has); ``action``: the purpose it selected,
    ``stop``, or null (recorded only); ``hung_up``: live calls told to hang up."""

    result: Literal["applied", "stale", "unchanged"]
    action: str | None
    order_id: str
    status: OrderStatus
    purpose: str
    crm_status: str | None
    hung_up: list[str]


class ControlResult(BaseModel):
    order_id: str
    status: OrderStatus
    previous: OrderStatus
    changed: bool
    hangup_requested: bool


class DncEntry(BaseModel):
    phone: str  # E.164
    added_at: datetime
    source: str
    reason: str = ""


class DncPut(DncEntry):
    added: bool  # false: it was already listed


class DncRemoved(BaseModel):
    phone: str
    removed: bool


class DncPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[DncEntry]


class ImportRejectedRow(BaseModel):
    model_config = ConfigDict(extra="allow")

    line: int
    value: str
    error: str


class ImportReport(BaseModel):
    accepted: int
    added: int
    already: int
    rejected: list[ImportRejectedRow]


class Explain(BaseModel):
    action: Literal["call", "wait", "stop"]
    at: datetime | None
    reason: str
    reason_code: str | None = None  # the reason as a message key (robot.core.messages)
    reason_params: dict[str, Any] | None = None
    order_id: str
    status: OrderStatus


class OrderFinalError(ApiError):
    status: OrderStatus


class FailedDelivery(BaseModel):
    """A webhook that could not be delivered: a dead letter, kept until retried or deleted."""

    delivery_id: str
    order_id: str
    url: str | None  # where it was being sent
    error: str  # the last error
    attempts: int
    failed_at: datetime
    event: ResultEvent | None  # the body; None if it was unreadable


class FailedPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[FailedDelivery]


class FailedAction(BaseModel):
    delivery_id: str
    action: Literal["retry", "delete"]
    done: bool


class TaskHealth(BaseModel):
    state: Literal["running", "restarting", "stopped"]
    restarts: int
    last_error: str
    last_failure_at: datetime | None


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    redis: str
    tasks: dict[str, TaskHealth] | None = None


def dump(model: type[BaseModel], doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (already JSON-ready) after checking it against ``model``: a response that does
    not match its description fails here, in our tests, not at the CRM."""
    model.model_validate(doc)
    return doc
