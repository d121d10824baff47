"""HTTP routes of the call policy: the do-not-call list, cancelling and updating orders, and
"why is (or isn't) this order being called". Access and errors as every route (``robot.web``):
the don't-call list covers every shop (admin role, all shops); the order routes are shop-scoped
(another shop's order is 404), and viewers may use ``explain``.

    PUT    /api/v1/dnc/{phone}          body optional {"reason"}; 201 added, 200 already listed
    GET    /api/v1/dnc/{phone}          200 the entry, 404 not listed
    DELETE /api/v1/dnc/{phone}          200 removed, 404 not listed
    GET    /api/v1/dnc?offset=0&limit=100   {"total", "offset", "limit", "items": [...]}
    POST   /api/v1/dnc/import           body: CSV, one ``phone[,reason]`` per row (header row
                                        optional) -> {"accepted", "added", "already",
                                        "rejected": [{"line", "value", "error"}]}
    POST   /api/v1/orders/{id}/cancel   body optional {"reason"} -> 200 {"order_id", "status":
                                        "cancelled", "previous", "changed", "hangup_requested"};
                                        404 unknown; 409 ``order_final`` (another final status)
    PATCH  /api/v1/orders/{id}          body: changed order fields (API format); {"status":
                                        "cancelled"} cancels; ``do_not_call: true`` ends it as dnc
                                        -> 200 as cancel; 404; 409; 422 ``invalid_field``
    GET    /api/v1/orders/{id}/explain?now=ISO   {"action", "at", "reason", "reason_code",
                                        "reason_params", "order_id", "status"}

Phones in paths are E.164 (``+79161234567``, URL-encode the plus as %2B if your client turns
``+`` into a space) or national numbers read in ``settings.default_region``.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from pydantic import ValidationError

from robot.adapters.dnc_store import DncStore
from robot.adapters.order_control import OrderControl, OrderFinal
from robot.adapters.redis_store import UnknownOrder
from robot.core.models import OrderError
from robot.core.phones import PhoneError, normalize_phone
from robot.core.policy import decide
from robot.core.policy_config import PolicyConfig
from robot.core.purposes import purpose_policy
from robot.core.reopen import REOPEN_FIELDS, Reopening, policy_view
from robot.core.shops import shop_policy
from robot.policy_settings import webhook_hosts
from robot.web.access import CRM, CRM_READ, INSTALLATION, Routes
from robot.web.api import models as m
from robot.web.api.orders import visible_record
from robot.web.context import SETTINGS_KEY, WEB_KEY
from robot.web.errors import HttpError, int_param, invalid_field, json_error, json_object

log = logging.getLogger(__name__)

MAX_PAGE = 1000
MAX_OFFSET = 10**9  # beyond any list we keep; Redis refuses offsets past 2**63
PHONE_HISTORY = timedelta(days=2)


@dataclass
class PolicyServices:
    dnc: DncStore
    control: OrderControl
    config: PolicyConfig


POLICY_KEY = web.AppKey("policy", PolicyServices)


async def _reason(request: web.Request, default: str) -> str:
    """The optional ``{"reason"}`` body (``ReasonBody``), 422 naming the field if wrong."""
    try:
        body = m.ReasonBody.model_validate(await json_object(request, optional=True))
    except ValidationError as e:
        err = e.errors()[0]
        field = str(err["loc"][0]) if err.get("loc") else ""
        raise invalid_field(field or "body", err["msg"]) from None
    return body.reason or default


def _phone(request: web.Request) -> str:
    raw = request.match_info["phone"]
    try:
        return normalize_phone(raw, request.app[SETTINGS_KEY].default_region)
    except PhoneError as e:
        raise invalid_field("phone", str(e)) from None


def _services(request: web.Request) -> PolicyServices:
    return request.app[POLICY_KEY]


def _now() -> datetime:
    return datetime.now(UTC)


# -- do-not-call -------------------------------------------------------------------------------


async def put_dnc(request: web.Request) -> web.StreamResponse:
    phone = _phone(request)
    reason = await _reason(request, "")
    dnc = _services(request).dnc
    added = await dnc.add(phone, _now(), source="api", reason=reason)
    entry = await dnc.get(phone)
    doc = {**(entry.to_json() if entry else {"phone": phone}), "added": added}
    return web.json_response(m.dump(m.DncPut, doc), status=201 if added else 200)


async def get_dnc(request: web.Request) -> web.StreamResponse:
    phone = _phone(request)
    entry = await _services(request).dnc.get(phone)
    if entry is None:
        return json_error(404, "not_found", f"{phone} is not on the do-not-call list")
    return web.json_response(m.dump(m.DncEntry, entry.to_json()))


async def delete_dnc(request: web.Request) -> web.StreamResponse:
    phone = _phone(request)
    if not await _services(request).dnc.remove(phone):
        return json_error(404, "not_found", f"{phone} is not on the do-not-call list")
    return web.json_response({"phone": phone, "removed": True})


async def list_dnc(request: web.Request) -> web.StreamResponse:
    offset = int_param(request, "offset", 0, 0, MAX_OFFSET)
    limit = int_param(request, "limit", 100, 1, MAX_PAGE)
    total, items = await _services(request).dnc.entries(offset, limit)
    doc = {"total": total, "offset": offset, "limit": limit, "items": [e.to_json() for e in items]}
    return web.json_response(m.dump(m.DncPage, doc))


async def import_dnc(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return json_error(400, "invalid_csv", "the CSV must be UTF-8", field="body")
    if "\x00" in text:
        return json_error(400, "invalid_csv", "the CSV contains NUL characters", field="body")
    try:
        report = await _services(request).dnc.import_csv(
            text, _now(), default_region=request.app[SETTINGS_KEY].default_region
        )
    except csv.Error as e:  # e.g. a field over the csv module's 128 KiB limit
        return json_error(400, "invalid_csv", f"not readable as CSV: {e}", field="body")
    return web.json_response(m.dump(m.ImportReport, report.to_json()))


# -- orders ------------------------------------------------------------------------------------


def _control_errors(order_id: str, e: Exception) -> HttpError:
    if isinstance(e, UnknownOrder):
        return HttpError(404, "not_found", f"no order {order_id!r}")
    if isinstance(e, OrderFinal):
        return HttpError(409, "order_final", str(e), status=e.status.value)
    if isinstance(e, OrderError):
        return invalid_field(e.field, e.message)
    raise e


async def cancel_order(request: web.Request) -> web.StreamResponse:
    order_id = request.match_info["order_id"]
    reason = await _reason(request, "cancelled by the shop")
    await visible_record(request, order_id)
    try:
        result = await _services(request).control.cancel(order_id, _now(), reason)
    except (UnknownOrder, OrderFinal) as e:
        raise _control_errors(order_id, e) from None
    return web.json_response(m.dump(m.ControlResult, result.to_json()))


async def patch_order(request: web.Request) -> web.StreamResponse:
    order_id = request.match_info["order_id"]
    body = await json_object(request)
    await visible_record(request, order_id)
    settings = request.app[SETTINGS_KEY]
    try:
        result = await _services(request).control.update(
            order_id, body, _now(), default_region=settings.default_region,
            webhook_hosts=webhook_hosts(settings),
        )  # fmt: skip
    except (UnknownOrder, OrderFinal, OrderError) as e:
        raise _control_errors(order_id, e) from None
    return web.json_response(m.dump(m.ControlResult, result.to_json()))


async def explain_order(request: web.Request) -> web.StreamResponse:
    order_id = request.match_info["order_id"]
    now = _now()
    if "now" in request.query:
        try:
            now = datetime.fromisoformat(request.query["now"])
            now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
            now.astimezone(UTC)
        except (ValueError, OverflowError):
            raise invalid_field("now", "now must be an ISO 8601 time") from None
    record = await visible_record(request, order_id)
    services = _services(request)
    phone = record.order.phone
    on_dnc = await services.dnc.contains(phone)
    placed = await services.dnc.phone_calls(phone, now - PHONE_HISTORY)
    reopening = Reopening.from_fields(record.model_dump(include=REOPEN_FIELDS))
    # The shop's hours over the installation's, the purpose's rules over both, as the dialer
    # applies them (robot.engine.policy_gate, robot.core.shops, robot.core.purposes).
    shops = request.app[WEB_KEY].shops
    shop = shops.get(record.order.shop_name) if shops is not None else None
    config = purpose_policy(record.order, shop_policy(services.config, shop))
    calls, config = policy_view(record.calls, config, reopening)
    decision = decide(record, calls, now, on_dnc, config, phone_calls=placed)
    doc = {**decision.to_json(codes=True), "order_id": order_id, "status": record.status.value}
    return web.json_response(m.dump(m.Explain, doc))


def add_policy_routes(app: web.Application) -> None:
    """Mount the routes; the app must hold the store, the settings and :data:`POLICY_KEY`."""
    r = Routes(app)
    r.get("/api/v1/dnc", list_dnc, INSTALLATION)
    r.post("/api/v1/dnc/import", import_dnc, INSTALLATION)
    r.put("/api/v1/dnc/{phone}", put_dnc, INSTALLATION)
    r.get("/api/v1/dnc/{phone}", get_dnc, INSTALLATION)
    r.delete("/api/v1/dnc/{phone}", delete_dnc, INSTALLATION)
    r.post("/api/v1/orders/{order_id}/cancel", cancel_order, CRM)
    r.patch("/api/v1/orders/{order_id}", patch_order, CRM)
    r.get("/api/v1/orders/{order_id}/explain", explain_order, CRM_READ)
