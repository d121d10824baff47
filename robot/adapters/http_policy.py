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

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from robot.adapters.dnc_store import DncStore
from robot.adapters.http_api import SETTINGS_KEY, STORE_KEY, _guarded, json_error
from robot.adapters.order_control import OrderControl, OrderFinal
from robot.adapters.redis_store import UnknownOrder
from robot.core.models import OrderError
from robot.core.phones import PhoneError, normalize_phone
from robot.core.policy import decide
from robot.core.policy_config import PolicyConfig
from robot.core.reopen import REOPEN_FIELDS, Reopening, policy_view

log = logging.getLogger(__name__)

MAX_PAGE = 1000
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
    raw = await request.read()
    if not raw.strip() and optional:
        return {}
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise _Reject(json_error(400, "invalid_json", f"body is not valid JSON: {e}")) from None
    if not isinstance(doc, dict):
        raise _Reject(json_error(400, "invalid_json", "body must be a JSON object"))
    return doc


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
    body = await _json_body(request, optional=True)
    reason = str(body.get("reason") or "")[:500]
    dnc = _services(request).dnc
    added = await dnc.add(phone, _now(), source="api", reason=reason)
    entry = await dnc.get(phone)
    doc = {**(entry.to_json() if entry else {"phone": phone}), "added": added}
    return web.json_response(doc, status=201 if added else 200)


async def get_dnc(request: web.Request) -> web.StreamResponse:
    phone = _phone(request)
    entry = await _services(request).dnc.get(phone)
    if entry is None:
        return json_error(404, "not_found", f"{phone} is not on the do-not-call list")
    return web.json_response(entry.to_json())


async def delete_dnc(request: web.Request) -> web.StreamResponse:
    phone = _phone(request)
    if not await _services(request).dnc.remove(phone):
        return json_error(404, "not_found", f"{phone} is not on the do-not-call list")
    return web.json_response({"phone": phone, "removed": True})


async def list_dnc(request: web.Request) -> web.StreamResponse:
    try:
        offset = max(0, int(request.query.get("offset", "0")))
        limit = min(MAX_PAGE, max(1, int(request.query.get("limit", "100"))))
    except ValueError:
        return json_error(422, "invalid_field", "offset and limit must be integers",
                          field="offset")  # fmt: skip
    total, items = await _services(request).dnc.entries(offset, limit)
    return web.json_response({"total": total, "offset": offset, "limit": limit,
                              "items": [e.to_json() for e in items]})  # fmt: skip


async def import_dnc(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return json_error(400, "invalid_csv", "the CSV must be UTF-8")
    report = await _services(request).dnc.import_csv(
        text, _now(), default_region=request.app[SETTINGS_KEY].default_region
    )
    return web.json_response(report.to_json())


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
    body = await _json_body(request, optional=True)
    reason = str(body.get("reason") or "cancelled by the shop")[:500]
    try:
        result = await _services(request).control.cancel(order_id, _now(), reason)
    except (UnknownOrder, OrderFinal) as e:
        return _control_errors(order_id, e)
    return web.json_response(result.to_json())


async def patch_order(request: web.Request) -> web.StreamResponse:
    order_id = request.match_info["order_id"]
    body = await _json_body(request, optional=False)
    try:
        result = await _services(request).control.update(
            order_id, body, _now(), default_region=request.app[SETTINGS_KEY].default_region
        )
    except (UnknownOrder, OrderFinal, OrderError) as e:
        return _control_errors(order_id, e)
    return web.json_response(result.to_json())


async def explain_order(request: web.Request) -> web.StreamResponse:
    order_id = request.match_info["order_id"]
    now = _now()
    if "now" in request.query:
        try:
            now = datetime.fromisoformat(request.query["now"])
        except ValueError:
            return json_error(422, "invalid_field", "now must be an ISO 8601 time", field="now")
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
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
    return web.json_response(
        {**decision.to_json(codes=True), "order_id": order_id, "status": record.status.value}
    )


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
