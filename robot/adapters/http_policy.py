"""HTTP routes of the call policy: the do-not-call list, cancelling and updating orders, and
"why is (or isn't) this order being called". Bearer auth and JSON errors as the intake routes.

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
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from robot.adapters import api_models as m
from robot.adapters.dnc_store import DncStore
from robot.adapters.http_api import (
    SETTINGS_KEY,
    STORE_KEY,
    _guarded,
    invalid_json,
    json_error,
    read_json,
    webhook_hosts,
)
from robot.adapters.order_control import OrderControl, OrderFinal
from robot.adapters.redis_store import UnknownOrder
from robot.core.json_doc import InvalidJson
from robot.core.models import OrderError
from robot.core.phones import PhoneError, normalize_phone
from robot.core.policy import decide
from robot.core.policy_config import PolicyConfig
from robot.core.reopen import REOPEN_FIELDS, Reopening, policy_view

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


def _authorized(request: web.Request) -> bool:
    token = request.app[SETTINGS_KEY].api_token
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), token.encode())
    )


class _Reject(Exception):
    """Bad input found deep in a handler: answer with this JSON error."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _auth(handler):
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            resp = json_error(401, "unauthorized", "send Authorization: Bearer <api token>")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="dozvon"'
            return resp
        try:
            return await handler(request)
        except _Reject as r:
            return r.response

    return _guarded(wrapper)


async def _json_body(request: web.Request, *, optional: bool) -> dict[str, Any]:
    try:
        doc = await read_json(request, optional=optional)
    except InvalidJson as e:
        raise _Reject(invalid_json(e)) from None
    if not isinstance(doc, dict):
        raise _Reject(json_error(400, "invalid_json", "body must be a JSON object", field="body"))
    return doc


async def _reason(request: web.Request, default: str) -> str:
    """The optional ``{"reason"}`` body (``ReasonBody``), 422 naming the field if wrong."""
    try:
        body = m.ReasonBody.model_validate(await _json_body(request, optional=True))
    except ValidationError as e:
        err = e.errors()[0]
        field = str(err["loc"][0]) if err.get("loc") else ""
        field = field or "body"
        raise _Reject(json_error(422, "invalid_field", err["msg"], field=field)) from None
    return body.reason or default


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise _Reject(json_error(422, "invalid_field", f"{name} must be an integer from {low} "
                                 f"to {high}", field=name))  # fmt: skip
    return value


def _phone(request: web.Request) -> str:
    raw = request.match_info["phone"]
    try:
        return normalize_phone(raw, request.app[SETTINGS_KEY].default_region)
    except PhoneError as e:
        raise _Reject(json_error(422, "invalid_field", str(e), field="phone")) from None


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
    offset = _int_param(request, "offset", 0, 0, MAX_OFFSET)
    limit = _int_param(request, "limit", 100, 1, MAX_PAGE)
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


def _control_errors(order_id: str, e: Exception) -> web.Response:
    if isinstance(e, UnknownOrder):
        return json_error(404, "not_found", f"no order {order_id!r}")
    if isinstance(e, OrderFinal):
        return web.json_response(
            {"error": "order_final", "message": str(e), "status": e.status.value}, status=409
        )
    if isinstance(e, OrderError):
        return json_error(422, "invalid_field", e.message, field=e.field)
    raise e


async def cancel_order(request: web.Request) -> web.StreamResponse:
    order_id = request.match_info["order_id"]
    reason = await _reason(request, "cancelled by the shop")
    try:
        result = await _services(request).control.cancel(order_id, _now(), reason)
    except (UnknownOrder, OrderFinal) as e:
        return _control_errors(order_id, e)
    return web.json_response(m.dump(m.ControlResult, result.to_json()))


async def patch_order(request: web.Request) -> web.StreamResponse:
    order_id = request.match_info["order_id"]
    body = await _json_body(request, optional=False)
    settings = request.app[SETTINGS_KEY]
    try:
        result = await _services(request).control.update(
            order_id, body, _now(), default_region=settings.default_region,
            webhook_hosts=webhook_hosts(settings),
        )  # fmt: skip
    except (UnknownOrder, OrderFinal, OrderError) as e:
        return _control_errors(order_id, e)
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
            return json_error(422, "invalid_field", "now must be an ISO 8601 time", field="now")
    record = await request.app[STORE_KEY].get_order(order_id)
    if record is None:
        return json_error(404, "not_found", f"no order {order_id!r}")
    services = _services(request)
    phone = record.order.phone
    on_dnc = await services.dnc.contains(phone)
    placed = await services.dnc.phone_calls(phone, now - PHONE_HISTORY)
    reopening = Reopening.from_fields(record.model_dump(include=REOPEN_FIELDS))
    calls, config = policy_view(record.calls, services.config, reopening)
    decision = decide(record, calls, now, on_dnc, config, phone_calls=placed)
    doc = {**decision.to_json(codes=True), "order_id": order_id, "status": record.status.value}
    return web.json_response(m.dump(m.Explain, doc))


def add_policy_routes(app: web.Application, services: PolicyServices) -> None:
    """Mount the routes; the app must hold the store and settings (see http_api)."""
    app[POLICY_KEY] = services
    r = app.router
    r.add_get("/api/v1/dnc", _auth(list_dnc))
    r.add_post("/api/v1/dnc/import", _auth(import_dnc))
    r.add_put("/api/v1/dnc/{phone}", _auth(put_dnc))
    r.add_get("/api/v1/dnc/{phone}", _auth(get_dnc))
    r.add_delete("/api/v1/dnc/{phone}", _auth(delete_dnc))
    r.add_post("/api/v1/orders/{order_id}/cancel", _auth(cancel_order))
    r.add_patch("/api/v1/orders/{order_id}", _auth(patch_order))
    r.add_get("/api/v1/orders/{order_id}/explain", _auth(explain_order))
