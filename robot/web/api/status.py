"""CRM status events over HTTP (the stream's ``{"action": "status", ...}`` does the same).

    POST /api/v1/orders/{id}/status   body {"status", "occurred_at"?, "pickup_point"?,
                                      "storage_until"?, "slot_from"?, "slot_to"?}
        200 {"result", "action", "order_id", "status", "purpose", "crm_status", "hung_up"}
            result: applied | stale (older than the stored status: nothing changed) |
            unchanged (the status the order already has)
        400 {"error": "invalid_field", "field", "message"}   a bad or unknown field
        400 {"error": "invalid_json", "field": "body"}        not a JSON object
        404 {"error": "not_found"}                            no such order (or another shop's)

The order's shop maps the status to a purpose to call about, "stop" or nothing
(``robot.core.shops``); ``OrderControl.apply_status`` applies it in one transaction.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web

from robot.core.models import OrderError, parse_status_event
from robot.logsafe import clean
from robot.web.access import CRM, Routes
from robot.web.api import models as m
from robot.web.api.orders import visible_record
from robot.web.api.policy import POLICY_KEY
from robot.web.errors import HttpError, json_object, not_found

log = logging.getLogger(__name__)


async def post_status(request: web.Request) -> web.StreamResponse:
    order_id = request.match_info["order_id"]
    body = await json_object(request)
    try:
        event = parse_status_event(body, order_id=order_id)
    except OrderError as e:
        log.info("status event rejected over HTTP: %s: %s", e.field, clean(e.message))
        raise HttpError(400, "invalid_field", e.message, field=e.field) from None
    await visible_record(request, order_id)
    applied = await request.app[POLICY_KEY].control.apply_status(event, datetime.now(UTC))
    if applied.order is None:
        raise not_found(f"no order {order_id!r}")
    return web.json_response(m.dump(m.StatusResult, applied.to_json()))


def add_status_routes(app: web.Application) -> None:
    Routes(app).post("/api/v1/orders/{order_id}/status", post_status, CRM)
