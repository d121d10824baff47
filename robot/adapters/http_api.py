"""Order intake over HTTP (aiohttp): the routes a CRM calls, mountable on any Application.

    POST /api/v1/orders        Authorization: Bearer <api_token>; body: the order JSON
        201 {"order_id", "status", "duplicate": false}   new order, scheduled
        200 {"order_id", "status", "duplicate": true}    id already known, nothing scheduled
        400 {"error": "invalid_json", "message"}         body is not JSON
        401 {"error": "unauthorized", "message"}         missing or wrong token
        422 {"error": "invalid_field", "field", "message"}
    GET  /api/v1/orders/{id}   Authorization as above; the stored record with its calls, or 404
    GET  /healthz              no auth; 200 when Redis answers PING, else 503

Errors are always JSON (``{"error", "message"[, "field"]}``); Redis being unreachable is 503
``store_unavailable`` so the CRM retries (``not_replicated`` when a Sentinel set's replica did
not confirm the order in time: stored, and the retry is answered as a duplicate). Bodies are
parsed by ``robot.core.json_doc`` (depth and number limits), so malformed input of any kind is
a 4xx naming the field.

Slow clients: the server closes a connection whose request headers are not complete within
``http_header_timeout_s`` (aiohttp's keep-alive timer, armed when the connection opens; see
:func:`runner_options`), and :func:`api_json_errors` closes one whose body is not complete
within ``http_body_timeout_s``.

Wiring::

    app = web.Application(middlewares=[api_json_errors])
    app[STORE_KEY] = store          # anything with add_order / get_order / ping
    app[SETTINGS_KEY] = settings
    add_intake_routes(app)
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from redis.exceptions import RedisError

from robot.adapters.redis_replication import NotReplicated
from robot.config import Settings, WebhookSettings, WebSettings
from robot.core.callback_url import WebhookHostPolicy
from robot.core.json_doc import InvalidJson, loads
from robot.core.models import Order, OrderError, parse_order
from robot.core.records import OrderRecord
from robot.logsafe import clean, safe_path
from robot.ports import DuplicateOrder
from robot.supervision import TASKS_KEY

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


def runner_options(settings: WebSettings) -> dict[str, Any]:
    """``web.AppRunner`` options of every server we run: no access log (ours masks phones),
    and a connection that has not sent complete request headers within
    ``http_header_timeout_s`` is closed (aiohttp arms its keep-alive timer when a connection
    opens and closes it if no request has arrived by then; trickled bytes do not extend it)."""
    return {"access_log": None, "keepalive_timeout": settings.http_header_timeout_s}


def _json_wanted(request: web.Request) -> bool:
    return not (request.method in ("GET", "HEAD") and "text/html" in request.headers.get(
        "Accept", ""))  # fmt: skip


def _guard_body(request: web.Request, timeout_s: float) -> asyncio.TimerHandle | None:
    """Close the connection if the request body has not fully arrived in ``timeout_s``: a
    half-sent body would otherwise hold a handler (and a socket) as long as the peer likes."""
    if not request.can_read_body or timeout_s <= 0:
        return None

    def check() -> None:
        if not request.content.is_eof() and request.transport is not None:
            log.warning("%s %s: body not received within %.0f s; closing", request.method,
                        safe_path(request.path), timeout_s)  # fmt: skip
            request.transport.close()

    return asyncio.get_running_loop().call_later(timeout_s, check)


@web.middleware
async def api_json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost middleware of every app: aiohttp's own 404/405/413 pages are HTML, so
    under /api/ the CRM gets JSON instead; an exception no handler expected is logged and
    answered as JSON 500 (never a plain-text traceback page); a body that trickles in is cut
    off (see :func:`_guard_body`)."""
    settings = request.app.get(SETTINGS_KEY)
    guard = _guard_body(request, settings.http_body_timeout_s if settings else 30.0)
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status < 400 or not (request.path.startswith("/api/") or _json_wanted(request)):
            raise
        if e.content_type == "application/json":
            raise
        return json_error(e.status, e.reason.lower().replace(" ", "_"), e.reason)
    except (asyncio.CancelledError, ConnectionError):
        raise
    except (RedisError, OSError, TimeoutError) as e:
        log.warning("%s %s: store unavailable: %s", request.method, safe_path(request.path),
                    clean(e))  # fmt: skip
        return json_error(503, "store_unavailable", "store is unreachable, retry later")
    except Exception as e:
        log.error("%s %s failed: %s", request.method, safe_path(request.path), clean(repr(e)),
                  exc_info=True)  # fmt: skip
        return json_error(500, "internal", "internal error")
    finally:
        if guard is not None:
            guard.cancel()


async def read_json(request: web.Request, *, optional: bool = False) -> Any:
    """The body as JSON (``{}`` when ``optional`` and empty); raises :class:`InvalidJson`."""
    raw = await request.read()
    if optional and not raw.strip():
        return {}
    return loads(raw)


def invalid_json(e: InvalidJson) -> web.Response:
    return json_error(400, "invalid_json", e.message, field=e.field)


def _guarded(handler: Handler) -> Handler:
    """Store outages become 503 and bugs 500, both as JSON, never an HTML traceback."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except InvalidJson as e:
            return invalid_json(e)
        except NotReplicated as e:  # stored on the master, not yet safe from a failover
            log.warning("%s %s: %s", request.method, safe_path(request.path), clean(e))
            msg = "stored but not yet on a replica; retry (a retry is idempotent)"
            return json_error(503, "not_replicated", msg)
        except (RedisError, OSError, TimeoutError) as e:
            log.warning("%s %s: store unavailable: %s", request.method, safe_path(request.path),
                        clean(e))  # fmt: skip
            return json_error(503, "store_unavailable", "order store is unreachable, retry later")
        except Exception as e:
            log.error("%s %s failed: %s", request.method, safe_path(request.path),
                      clean(repr(e)), exc_info=True)  # fmt: skip
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
        data = await read_json(request)
        try:
            order = parse_order(
                data, default_region=settings.default_region, webhook_hosts=webhook_hosts(settings)
            )
        except OrderError as e:
            log.info("order rejected over HTTP: %s: %s", e.field, clean(e.message))
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
        """200 when Redis answers and every background task of this process runs; 503
        ``unavailable`` (Redis) or ``degraded`` (a task died and waits for its restart)."""
        tasks = request.app.get(TASKS_KEY)
        doc: dict[str, Any] = {"status": "ok", "redis": "ok"}
        if tasks is not None:
            doc["tasks"] = tasks.report()
        try:
            async with asyncio.timeout(2.0):
                await request.app[self.store_key].ping()
        except (RedisError, OSError, TimeoutError) as e:
            doc.update(status="unavailable", redis=clean(e) or type(e).__name__)
            return web.json_response(doc, status=503)
        if tasks is not None and not tasks.healthy():
            doc["status"] = "degraded"
            return web.json_response(doc, status=503)
        return web.json_response(doc)


def webhook_hosts(settings: WebhookSettings) -> WebhookHostPolicy:
    """Where ``callback_url`` may point, from ``webhook_allowed_hosts`` (see callback_url)."""
    return _host_policy(tuple(settings.webhook_allowed_hosts), settings.webhook_url)


@functools.lru_cache(maxsize=16)
def _host_policy(allowed: tuple[str, ...], webhook_url: str | None) -> WebhookHostPolicy:
    return WebhookHostPolicy.from_settings(list(allowed), webhook_url)


def add_intake_routes(
    app: web.Application,
    *,
    store_key: web.AppKey[IntakeStore] = STORE_KEY,
    settings_key: web.AppKey[Settings] = SETTINGS_KEY,
) -> None:
    """Mount the intake routes; the app must hold the store and settings under these keys."""
    from robot.adapters.openapi import add_openapi_route

    routes = _IntakeRoutes(store_key, settings_key)
    add_openapi_route(app)
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
