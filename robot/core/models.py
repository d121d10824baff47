"""Domain types: orders, call attempts, outcomes.

Pure: no I/O, no clock. Validation of what a CRM sends lives here so that the HTTP API and the
Redis stream reject the same things with the same field names.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from robot.core.callback_url import OPEN_POLICY, CallbackUrlError, WebhookHostPolicy
from robot.core.phones import PhoneError, normalize_phone

SUPPORTED_LANGUAGES = ("ru", "ko")
# A call purpose's name (robot.core.purposes) and a CRM status name: lower-case identifiers.
PURPOSE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
STATUS_NAME = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
_ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
# IANA zone names: "Europe/Moscow", "America/Argentina/Buenos_Aires", "Etc/GMT+3", "UTC".
_ZONE_NAME = re.compile(r"^[A-Za-z][\w+\-]{0,29}(/[A-Za-z0-9][\w+\-]{0,29}){0,2}$", re.ASCII)
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_zone(name: str) -> str:
    """``name`` if it is an IANA time zone, else ValueError. ``ZoneInfo`` alone is not enough:
    a tzdata directory ("Europe") or an overlong name raises OSError, not a lookup error."""
    if not isinstance(name, str) or not _ZONE_NAME.match(name):
        raise ValueError("unknown IANA time zone, e.g. Europe/Moscow")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("unknown IANA time zone, e.g. Europe/Moscow") from None
    return name


class Outcome(str, Enum):
    """How one call attempt ended."""

    CONFIRMED = "confirmed"  # the customer said yes or pressed 1
    REJECTED = "rejected"  # the customer said no or pressed 2
    NO_ANSWER = "no_answer"  # rang out, nobody picked up
    BUSY = "busy"  # the line was busy
    FAILED = "failed"  # congestion, trunk or Asterisk failure, lost connection
    UNCLEAR = "unclear"  # answered, but no usable answer after the reprompts
    DNC = "dnc"  # the customer asked never to be called again
    LATER = "later"  # the customer asked to be called back later
    OPERATOR = "operator"  # the customer asked for a human; the call was handed over
    MACHINE = "machine"  # an answering machine or assistant picked up; retried like no answer
    CHANGED = "changed"  # the customer asked for another delivery day, time or address
    WRONG_NUMBER = "wrong_number"  # the person answering is not the customer (CRM must fix it)
    NOT_ORDERED = "not_ordered"  # the customer says they ordered nothing: a suspected fake
    UNREACHABLE = "unreachable"  # carrier: switched off / out of coverage (480, Q.850 18/20)
    INVALID_NUMBER = "invalid_number"  # carrier: no such number (404, Q.850 1): never retried
    CALL_REJECTED = "call_rejected"  # the customer rejected the call (603, Q.850 21)
    TRUNK_LIMIT = "trunk_limit"  # the trunk refused for capacity (503/403): not the order's fault
    # Informing purposes (pickup_ready, storage_ending, ...; robot.core.purposes): the customer
    # heard the message to its end, or pressed the key that confirms it.
    INFORMED = "informed"


class OrderStatus(str, Enum):
    """Where an order is in its life."""

    QUEUED = "queued"  # accepted, waiting in the schedule for its call
    CALLING = "calling"  # a worker holds its lease and a call is in flight
    CONFIRMED = "confirmed"  # final: the customer confirmed
    REJECTED = "rejected"  # final: the customer declined
    EXHAUSTED = "exhausted"  # final: no conclusive answer within the allowed attempts
    CANCELLED = "cancelled"  # final: the shop cancelled it
    DNC = "dnc"  # final: do-not-call (flag on the order, or the customer asked)
    OPERATOR = "operator"  # final: handed to a human operator
    CHANGED = "changed"  # final: the customer asked to change delivery (see requested_change)
    WRONG_NUMBER = "wrong_number"  # final: the number does not belong to the customer
    NOT_ORDERED = "not_ordered"  # final: the customer says they did not order (suspected fake)
    INVALID_NUMBER = "invalid_number"  # final: the carrier says the number does not exist
    INFORMED = "informed"  # final: an informing purpose's message was heard to its end
    # final: a CRM status ended the need for the call (picked up, delivered, returned; see
    # robot.core.shops.STOP); status_reason names that status.
    STOPPED = "stopped"

    @property
    def is_final(self) -> bool:
        return self not in (OrderStatus.QUEUED, OrderStatus.CALLING)


class Intent(str, Enum):
    """What a customer's answer means."""

    YES = "yes"  # confirms the order
    NO = "no"  # declines the order
    DNC = "dnc"  # asks never to be called again
    OPERATOR = "operator"  # wants a human
    REPEAT = "repeat"  # asks to hear the order again
    LATER = "later"  # cannot talk now, call back
    CHANGE = "change"  # wants another delivery day, time or address (with or without a yes)
    QUESTION = "question"  # asks something about the order or the delivery
    WRONG_NUMBER = "wrong_number"  # "вы не туда попали", "я не Иван"
    NOT_ORDERED = "not_ordered"  # "я ничего не заказывал": possibly a fake order
    MACHINE = "machine"  # a voicemail greeting or an answering assistant
    UNKNOWN = "unknown"  # anything else, including silence


class OrderError(ValueError):
    """An order failed validation; ``field`` names the offending JSON field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _described(**schema: Any) -> Any:
    """The field's JSON Schema (``/api/v1/openapi.json``) as written here: what the
    validators below accept, which the bare Python type does not say."""

    def replace(s: dict[str, Any]) -> None:
        kept = {k: s[k] for k in ("title", "default") if k in s}
        s.clear()
        s.update(schema, **kept)

    return replace


def _storable_text(v: Any) -> Any:
    """Text must be storable and sayable: no lone UTF-16 surrogates (JSON allows them)."""
    if isinstance(v, str) and _SURROGATE.search(v):
        raise ValueError("contains an invalid character (a lone surrogate)")
    return v


def _order_id_text(v: Any) -> str:
    """An order id as the CRM may send it (a string or a whole number), stripped."""
    if isinstance(v, int) and not isinstance(v, bool):
        v = str(v)
    if not isinstance(v, str) or not _ORDER_ID.match(v.strip()):
        raise ValueError("must be 1-64 characters: letters, digits, _ . : -")
    return v.strip()


def _first_error(e: Any) -> OrderError:
    """The first error of a pydantic ValidationError as an :class:`OrderError` naming the JSON
    field (the ``id`` alias is reported as ``order_id``)."""
    err = e.errors()[0]
    loc = err.get("loc") or ("body",)
    field = "order_id" if str(loc[0]) == "id" else str(loc[0])
    msg = err.get("msg", "invalid").removeprefix("Value error, ")
    if err.get("type") == "missing":
        msg = "is required"
    return OrderError(field, msg)


class Order(BaseModel):
    """An order as the CRM sends it, validated and normalized (phone in E.164)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    order_id: str = Field(
        validation_alias=AliasChoices("order_id", "id"),
        json_schema_extra=_described(anyOf=[
            {"type": "string", "pattern": _ORDER_ID.pattern},
            {"type": "integer", "minimum": 0, "maximum": 10**18}]),
    )  # fmt: skip
    phone: str = Field(
        json_schema_extra=_described(
            type="string", minLength=5, maxLength=32, examples=["+79161234567", "8 916 123-45-67"],
            description="any format phonenumbers reads; stored as E.164",
        )
    )  # fmt: skip
    amount: Decimal = Field(
        ge=0, max_digits=14, decimal_places=2,
        json_schema_extra=_described(anyOf=[
            {"type": "number", "minimum": 0, "maximum": 999_999_999_999},
            {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$"}]),
    )  # fmt: skip
    currency: str = Field(
        default="RUB", json_schema_extra=_described(type="string", pattern="^[A-Za-z]{3}$")
    )
    shop_name: str = Field(min_length=1, max_length=100)
    language: str = Field(
        default="ru",
        json_schema_extra=_described(type="string", enum=list(SUPPORTED_LANGUAGES)),
    )
    customer_name: str | None = Field(default=None, max_length=100)
    items_summary: str | None = Field(default=None, max_length=500)
    delivery_date: date | None = None
    timezone: str | None = Field(
        default=None, validation_alias=AliasChoices("timezone", "time_zone", "tz")
    )
    do_not_call: bool = False
    # 0 normal; above 0 (up to 9): called before normal orders that are due at the same time
    # (express delivery, a VIP shop). Among themselves, first come first served.
    priority: int = Field(default=0, ge=0, le=9)
    callback_url: str | None = None
    # What the pending call is about (robot.core.purposes): "confirm" for a new order, or the
    # purpose a CRM status event selected (pickup_ready, courier_slot, storage_ending, ...).
    purpose: str = Field(
        default="confirm", json_schema_extra=_described(type="string", pattern=PURPOSE_NAME.pattern)
    )
    # The order's status in the CRM as last reported (``POST /api/v1/orders/{id}/status``, the
    # stream's "status" action) and when it happened there (``occurred_at``): an older event
    # arriving after a newer one changes nothing. None until the CRM sends a status.
    crm_status: str | None = Field(default=None, max_length=64)
    crm_status_at: datetime | None = None
    # Fields a status event may carry, which purposes' prompts say.
    pickup_point: str | None = Field(default=None, max_length=300)
    storage_until: date | None = None
    slot_from: datetime | None = None
    slot_to: datetime | None = None
    # Stamped by intake, not by the CRM.
    received_at: datetime | None = None

    _storable_text = field_validator("*", mode="before")(_storable_text)
    _order_id = field_validator("order_id", mode="before")(_order_id_text)

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, v: Any, info: ValidationInfo) -> str:
        if not isinstance(v, str | int) or isinstance(v, bool):
            raise ValueError("must be a phone number string")
        region = (info.context or {}).get("default_region", "RU")
        try:
            return normalize_phone(str(v), region)
        except PhoneError as e:
            raise ValueError(str(e)) from None

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        v = v.upper()
        if not re.fullmatch(r"[A-Z]{3}", v):
            raise ValueError("must be an ISO 4217 code such as RUB")
        return v

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        v = v.lower().split("-")[0].split("_")[0]
        if v not in SUPPORTED_LANGUAGES:
            raise ValueError(f"unsupported language, use one of {', '.join(SUPPORTED_LANGUAGES)}")
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        return check_zone(v)

    @field_validator("purpose")
    @classmethod
    def _purpose(cls, v: str) -> str:
        if not PURPOSE_NAME.match(v):
            raise ValueError("must be a purpose name: a-z, 0-9, _ (e.g. confirm, pickup_ready)")
        return v

    @field_validator("callback_url")
    @classmethod
    def _callback_url(cls, v: str | None, info: ValidationInfo) -> str | None:
        """At intake (``parse_order`` passes a context) the URL must parse as a deliverable
        http(s) URL and its host must pass the webhook host policy; stored orders are read back
        as they are (one stored before this check is refused by the deliverer instead)."""
        if v is None or v == "":
            return None
        if info.context is None:
            return v
        policy = info.context.get("webhook_hosts") or OPEN_POLICY
        try:
            policy.check_url(v)
        except CallbackUrlError as e:
            raise ValueError(str(e)) from None
        return v


def parse_order(
    data: Any, *, default_region: str = "RU", webhook_hosts: WebhookHostPolicy | None = None
) -> Order:
    """Validate a CRM payload; raise :class:`OrderError` naming the first bad field.
    ``webhook_hosts``: where ``callback_url`` may point (default: public hosts only)."""
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise OrderError("body", "must be a JSON object")
    context = {"default_region": default_region, "webhook_hosts": webhook_hosts}
    try:
        return Order.model_validate(data, context=context)
    except ValidationError as e:
        raise _first_error(e) from None


class StatusEvent(BaseModel):
    """The CRM says an order's status changed (``POST /api/v1/orders/{id}/status`` or a stream
    entry ``{"action": "status", ...}``). Each shop maps statuses to a purpose to call about or
    to "stop" (robot.core.shops); the fields ride along into the order for the prompts."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    order_id: str = Field(validation_alias=AliasChoices("order_id", "id"))
    status: str = Field(json_schema_extra=_described(type="string", pattern=STATUS_NAME.pattern))
    # When it happened in the CRM; missing: when it reached us (stamped by intake).
    occurred_at: datetime | None = None
    pickup_point: str | None = Field(default=None, max_length=300)
    storage_until: date | None = None
    slot_from: datetime | None = None
    slot_to: datetime | None = None

    _storable_text = field_validator("*", mode="before")(_storable_text)
    _order_id = field_validator("order_id", mode="before")(_order_id_text)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: Any) -> str:
        if not isinstance(v, str) or not STATUS_NAME.match(v.strip().lower()):
            raise ValueError("must be a status name: a-z, 0-9, _ . - (e.g. ready_for_pickup)")
        return v.strip().lower()

    @field_validator("occurred_at", "slot_from", "slot_to")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("must carry a UTC offset, e.g. 2026-12-01T10:00:00+03:00")
        return v

    def order_fields(self) -> dict[str, Any]:
        """The fields this event sets on the order (those it carries)."""
        return {
            k: getattr(self, k)
            for k in ("pickup_point", "storage_until", "slot_from", "slot_to")
            if getattr(self, k) is not None
        }


# Keys a status event may carry besides its fields: the id's alias, and the stream's "action".
STATUS_EVENT_KEYS = frozenset(StatusEvent.model_fields) | {"id"}


def parse_status_event(
    data: Any, *, order_id: str | None = None, also: frozenset[str] = frozenset()
) -> StatusEvent:
    """Validate a status event; raise :class:`OrderError` naming the first bad field. An
    unknown key is an error too (a typo must not silently do nothing). ``order_id``: from the
    URL (it wins over one in the body); ``also``: further keys the caller allows."""
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise OrderError("body", "must be a JSON object")
    unknown = sorted(str(k) for k in data if k not in STATUS_EVENT_KEYS | also)
    if unknown:
        raise OrderError(unknown[0], "unknown field")
    if order_id is not None:
        data = {**data, "order_id": order_id}
    try:
        return StatusEvent.model_validate(data)
    except ValidationError as e:
        raise _first_error(e) from None


class CallAttempt(BaseModel):
    """One call placed for an order, and what came of it."""

    model_config = ConfigDict(extra="ignore")

    call_id: str
    order_id: str
    attempt: int = 1
    phone: str
    language: str
    asterisk: str = "default"
    shop_name: str = ""  # the order's shop: analytics per shop (robot.core.analytics)
    created_at: datetime
    originated_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: Outcome | None = None
    reason: str = ""  # a short why: "busy", "dtmf 1", "said: да", "asterisk connection lost"
    intent: Intent | None = None
    transcript: list[str] = Field(default_factory=list)
    # Measured latencies, for the closing numbers and the dashboard.
    intake_to_originate_ms: float | None = None
    speech_end_to_decision_ms: float | None = None
    asr_audio_s: float | None = None  # audio the recognizer decoded (the VAD gate passed)
    asr_decode_s: float | None = None  # time spent decoding it (real-time factor: the ratio)
    # "Call me later": when, as the customer said it ("+60m", "evening", "tomorrow"; see
    # robot.core.callback_hint), for the retry policy; None if no time was said.
    callback_hint: str | None = None
    recording: str | None = None  # path of the call's audio (stereo WAV), if recorded
    # Outcome "changed": RequestedChange.as_json() (date, after, before, address, text).
    requested_change: dict[str, Any] | None = None
    # What the call was about (Order.purpose when it was placed, robot.core.purposes): the
    # policy counts an order's calls per purpose, so a status that starts a new purpose starts
    # its attempts afresh. Calls stored before purposes existed were "confirm" calls.
    purpose: str = "confirm"
