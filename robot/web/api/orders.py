"""Order intake over HTTP: the routes a CRM calls to hand over orders and read them back.

    POST /api/v1/orders        Authorization: Bearer <token>; body: the order JSON
        201 {"order_id", "status", "duplicate": false}   new order, scheduled
        200 {"order_id", "status", "duplicate": true}    id already known, nothing scheduled
        400 {"error": "invalid_json", "message"}         body is not JSON
        401 {"error": "unauthorized", "message"}         missing or wrong token
        403 {"error": "forbidden", "field": "shop_name"} a shop's token, another shop's order
        409 {"error": "order_id_taken", "field": "order_id"}  the id is another shop's order
        422 {"error": "invalid_field", "field", "message"}
    GET  /api/v1/orders/{id}   the stored record with its calls, or 404 (also for another
                               shop's order when the token is a shop's)
    GET  /healthz              no auth; 200 when Redis answers PING, else 503

A shop's token may leave ``shop_name`` out: the order is then its own shop's. Bodies are parsed
by ``robot.core.json_doc`` (depth and number limits), so malformed input of any kind is a 4xx
naming the field; errors are the one JSON shape of ``robot.web.errors``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from robot.core.models import OrderError, parse_order
from robot.core.records import OrderRecord
from robot.logsafe import clean
from robot.policy_settings import webhook_hosts
from robot.ports import DuplicateOrder
from robot.supervision import TASKS_KEY
from robot.web.access import CRM, PUBLIC, Principal, Routes, principal_of
from robot.web.context import SETTINGS_KEY, STORE_KEY
from robot.web.errors import HttpError, invalid_field, not_found, read_json

log = logging.getLogger(__name__)


def _own_shop(principal: Principal, data: dict[str, Any]) -> None:
    """A principal limited to some shops creates orders of those shops only (403 naming
    ``shop_name``); a shop's token may leave the field out."""
    if principal.shops is None:
        return
    if data.get("shop_name") is None and len(principal.shops) == 1:
        data["shop_name"] = next(iter(principal.shops))
    if data.get("shop_name") not in principal.shops:
        raise HttpError(403, "forbidden", "shop_name must be your own shop", field="shop_name")


async def visible_record(request: web.Request, order_id: str) -> OrderRecord:
    """The order if the caller may see it, else 404 as if it did not exist."""
    record = await request.app[STORE_KEY].get_order(order_id)
    if record is None or not principal_of(request).sees(record.order.shop_name):
        raise not_found(f"no order {order_id!r}")
    return record


async def create_order(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS_KEY]
    principal = principal_of(request)
    data = await read_json(request)
    if isinstance(data, dict):  # anything else is parse_order's 422 naming the body
        _own_shop(principal, data)
    try:
        order = parse_order(
            data, default_region=settings.default_region, webhook_hosts=webhook_hosts(settings)
        )
    except OrderError as e:
        log.info("order rejected over HTTP: %s: %s", e.field, clean(e.message))
        raise invalid_field(e.field, e.message) from None
    try:
        record = await request.app[STORE_KEY].add_order(order, datetime.now(UTC))
    except DuplicateOrder as dup:
        if not principal.sees(dup.record.order.shop_name):
            raise HttpError(409, "order_id_taken", "this order id is taken; choose another",
                            field="order_id") from None  # fmt: skip
        return web.json_response(
            {"order_id": order.order_id, "status": dup.record.status.value, "duplicate": True}
        )
    return web.json_response(
        {"order_id": order.order_id, "status": record.status.value, "duplicate": False},
        status=201,
        headers={"Location": f"/api/v1/orders/{order.order_id}"},
    )


async def get_order(request: web.Request) -> web.StreamResponse:
    record = await visible_record(request, request.match_info["order_id"])
    return web.json_response(record.model_dump(mode="json"))


async def healthz(request: web.Request) -> web.StreamResponse:
    """200 when Redis answers and every background task of this process runs; 503
    ``unavailable`` (Redis) or ``degraded`` (a task died and waits for its restart)."""
    tasks = request.app.get(TASKS_KEY)
    doc: dict[str, Any] = {"status": "ok", "redis": "ok"}
    if tasks is not None:
        doc["tasks"] = tasks.report()
    try:
        async with asyncio.timeout(2.0):
            await request.app[STORE_KEY].ping()
    except (RedisError, OSError, TimeoutError) as e:
        doc.update(status="unavailable", redis=clean(e) or type(e).__name__)
        return web.json_response(doc, status=503)
    if tasks is not None and not tasks.healthy():
        doc["status"] = "degraded"
        return web.json_response(doc, status=503)
    return web.json_response(doc)


def add_order_routes(app: web.Application) -> None:
    r = Routes(app)
    r.post("/api/v1/orders", create_order, CRM)
    r.get("/api/v1/orders/{order_id}", get_order, CRM)
    r.get("/healthz", healthz, PUBLIC)
