"""HTTP routes of the webhook dead letters (``robot.adapters.webhook_outbox``). Bearer auth and
JSON errors as the other CRM routes; the dashboard reaches them with an admin session.

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

from robot.adapters import api_models as m
from robot.adapters.http_api import json_error
from robot.adapters.http_policy import MAX_OFFSET, MAX_PAGE, _auth, _int_param
from robot.adapters.webhook_outbox import WebhookOutbox

OUTBOX_KEY = web.AppKey("webhook_outbox", WebhookOutbox)


def _not_listed(delivery_id: str) -> web.Response:
    return json_error(404, "not_found", f"no failed delivery {delivery_id!r}",
                      field="delivery_id")  # fmt: skip


async def list_failed(request: web.Request) -> web.StreamResponse:
    offset = _int_param(request, "offset", 0, 0, MAX_OFFSET)
    limit = _int_param(request, "limit", 100, 1, MAX_PAGE)
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


def add_webhook_routes(app: web.Application, outbox: WebhookOutbox) -> None:
    """Mount the routes; the app must hold the settings (see http_api)."""
    app[OUTBOX_KEY] = outbox
    r = app.router
    r.add_get("/api/v1/webhooks/failed", _auth(list_failed))
    r.add_get("/api/v1/webhooks/failed/{delivery_id}", _auth(get_failed))
    r.add_post("/api/v1/webhooks/failed/{delivery_id}/retry", _auth(retry_failed))
    r.add_delete("/api/v1/webhooks/failed/{delivery_id}", _auth(delete_failed))
