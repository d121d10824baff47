"""HTTP routes of the webhook dead letters (``robot.adapters.webhook_outbox``). They hold every
shop's events, so they need the admin role over all shops (the API token, or an admin session).

    GET    /api/v1/webhooks/failed?offset=0&limit=100   {"total", "offset", "limit", "items"}
    GET    /api/v1/webhooks/failed/{delivery_id}        one FailedDelivery, 404 if not listed
    POST   /api/v1/webhooks/failed/{delivery_id}/retry  back to the outbox, due now, attempts
                                                        counted from 1 -> {"delivery_id",
                                                        "action": "retry", "done": true}; 404
    DELETE /api/v1/webhooks/failed/{delivery_id}        dropped for good -> as retry; 404
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from robot.adapters.webhook_outbox import WebhookOutbox
from robot.web.access import INSTALLATION, Routes
from robot.web.api import models as m
from robot.web.api.policy import MAX_OFFSET, MAX_PAGE
from robot.web.errors import int_param, json_error

OUTBOX_KEY = web.AppKey("webhook_outbox", WebhookOutbox)


def _not_listed(delivery_id: str) -> web.Response:
    return json_error(404, "not_found", f"no failed delivery {delivery_id!r}",
                      field="delivery_id")  # fmt: skip


async def list_failed(request: web.Request) -> web.StreamResponse:
    offset = int_param(request, "offset", 0, 0, MAX_OFFSET)
    limit = int_param(request, "limit", 100, 1, MAX_PAGE)
    total, items = await request.app[OUTBOX_KEY].page(offset, limit)
    doc = {"total": total, "offset": offset, "limit": limit, "items": items}
    return web.json_response(m.dump(m.FailedPage, doc))


async def get_failed(request: web.Request) -> web.StreamResponse:
    did = request.match_info["delivery_id"]
    item = await request.app[OUTBOX_KEY].get(did)
    if item is None:
        return _not_listed(did)
    return web.json_response(m.dump(m.FailedDelivery, item))


async def retry_failed(request: web.Request) -> web.StreamResponse:
    did = request.match_info["delivery_id"]
    if not await request.app[OUTBOX_KEY].retry(did, datetime.now(UTC)):
        return _not_listed(did)
    return web.json_response(m.dump(m.FailedAction, {"delivery_id": did, "action": "retry",
                                                     "done": True}))  # fmt: skip


async def delete_failed(request: web.Request) -> web.StreamResponse:
    did = request.match_info["delivery_id"]
    if not await request.app[OUTBOX_KEY].delete(did):
        return _not_listed(did)
    return web.json_response(m.dump(m.FailedAction, {"delivery_id": did, "action": "delete",
                                                     "done": True}))  # fmt: skip


def add_webhook_routes(app: web.Application) -> None:
    """Mount the routes; the app must hold the outbox under :data:`OUTBOX_KEY`."""
    r = Routes(app)
    r.get("/api/v1/webhooks/failed", list_failed, INSTALLATION)
    r.get("/api/v1/webhooks/failed/{delivery_id}", get_failed, INSTALLATION)
    r.post("/api/v1/webhooks/failed/{delivery_id}/retry", retry_failed, INSTALLATION)
    r.delete("/api/v1/webhooks/failed/{delivery_id}", delete_failed, INSTALLATION)
