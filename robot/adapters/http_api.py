"""Order intake over HTTP (aiohttp): the routes a CRM calls, mountable on any Application.

    POST /api/v1/orders        Authorization: Bearer <api_token>; body: the order JSON
        201 {"order_id", "status", "duplicate": false}   new order, scheduled
        200 {"order_id", "status", "duplicate": true}    id already known, nothing scheduled
        400 {"error": "invalid_json", "message"}         body is not JSON
        401 {"error": "unauthorized", "message"}         missing or wrong token
        422 {"error": "invalid_field", "field", "message"}
    GET  /api/v1/orders/{id}   Authorization as above; the stored record with its calls, or 404
    GET  /healthz              no auth; 200 when Redis answers PING, else 503

Errors are always JSON; Redis being unreachable is 503 ``store_unavailable`` so the CRM retries.

Wiring::

    app = web.Application(middlewares=[api_json_errors])
    app[STORE_KEY] = store          # anything with add_order / get_order / ping
    app[SETTINGS_KEY] = settings
    add_intake_routes(app)
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from redis.exceptions import RedisError

from robot.config import Settings
from robot.core.models import Order, OrderError, parse_order
from robot.core.records import OrderRecord
from robot.ports import DuplicateOrder

log = logging.getLogger(__name__)


class IntakeStore(Protocol):
    async def add_order(self, order: Order, now: datetime) -> OrderRecord: ...

    async def get_order(self, order_id: str) -> OrderRecord | None: ...

    async def ping(self) -> bool: ...


STORE_KEY = web.AppKey[IntakeStore]("store")
SETTINGS_KEY = web.AppKey("settings", Settings)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, error: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": error, "message": message, **extra}, status=status)


@web.middleware
async def api_json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own 404/405 pages are HTML; under /api/ the CRM gets JSON instead."""
    try:
        return await handler(request)
    except web.HTTPException as e:
        if not request.path.startswith("/api/") or e.status < 400:
            raise
        return json_error(e.status, e.reason.lower().replace(" ", "_"), e.reason)


def _guarded(handler: Handler) -> Handler:
    """Store outages become 503 and bugs 500, both as JSON, never an HTML traceback."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except (RedisError, OSError, TimeoutError) as e:
            log.warning("%s %s: store unavailable: %s", request.method, request.path, e)
            return json_error(503, "store_unavailable", "order store is unreachable, retry later")
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return json_error(500, "internal", "internal error")

    return wrapper


class _IntakeRoutes:
    def __init__(
        self, store_key: web.AppKey[IntakeStore], settings_key: web.AppKey[Settings]
    ) -> None:
        self.store_key = store_key
        self.settings_key = settings_key

    def _authorized(self, request: web.Request) -> bool:
        token = request.app[self.settings_key].api_token
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        return (
            bool(token)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), token.encode())
        )

    @staticmethod
    def _unauthorized() -> web.Response:
        resp = json_error(401, "unauthorized", "send Authorization: Bearer <api token>")
        resp.headers["WWW-Authenticate"] = 'Bearer realm="dozvon"'
        return resp

    async def create_order(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return self._unauthorized()
        settings = request.app[self.settings_key]
        try:
            data = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError) as e:
            return json_error(400, "invalid_json", f"body is not valid JSON: {e}")
        try:
            order = parse_order(data, default_region=settings.default_region)
        except OrderError as e:
            log.info("order rejected over HTTP: %s: %s", e.field, e.message)
            return json_error(422, "invalid_field", e.message, field=e.field)
        store = request.app[self.store_key]
        try:
            record = await store.add_order(order, datetime.now(UTC))
        except DuplicateOrder as dup:
            return web.json_response(
                {"order_id": order.order_id, "status": dup.record.status.value,
                 "duplicate": True},
            )  # fmt: skip
        return web.json_response(
            {"order_id": order.order_id, "status": record.status.value, "duplicate": False},
            status=201,
            headers={"Location": f"/api/v1/orders/{order.order_id}"},
        )

    async def get_order(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return self._unauthorized()
        order_id = request.match_info["order_id"]
        record = await request.app[self.store_key].get_order(order_id)
        if record is None:
            return json_error(404, "not_found", f"no order {order_id!r}")
        return web.json_response(record.model_dump(mode="json"))

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        try:
            async with asyncio.timeout(2.0):
                await request.app[self.store_key].ping()
        except (RedisError, OSError, TimeoutError) as e:
            return web.json_response({"status": "unavailable", "redis": str(e)}, status=503)
        return web.json_response({"status": "ok", "redis": "ok"})


def add_intake_routes(
    app: web.Application,
    *,
    store_key: web.AppKey[IntakeStore] = STORE_KEY,
    settings_key: web.AppKey[Settings] = SETTINGS_KEY,
) -> None:
    """Mount the intake routes; the app must hold the store and settings under these keys."""
    routes = _IntakeRoutes(store_key, settings_key)
    app.router.add_post("/api/v1/orders", _guarded(routes.create_order))
    app.router.add_get("/api/v1/orders/{order_id}", _guarded(routes.get_order))
    app.router.add_get("/healthz", _guarded(routes.healthz))


def make_intake_app(store: IntakeStore, settings: Settings) -> web.Application:
    """A stand-alone Application with only the intake routes (tests, small deployments)."""
    app = web.Application(middlewares=[api_json_errors])
    app[STORE_KEY] = store
    app[SETTINGS_KEY] = settings
    add_intake_routes(app)
    return app
