"""The one builder of the HTTP application: CRM API, dashboard and metrics on one port.

``robot run`` (``robot.service``) and ``robot serve`` both call :func:`make_web_app`. Each route
module has one ``add_*_routes(app)`` that registers its routes with the access each needs
(``robot.web.access.Routes``); adding a module is one line in :data:`ROUTE_MODULES`. The
middlewares, outermost first: texts for supervisors (i18n), the one JSON error shape (errors),
the one principal middleware (security).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from redis.asyncio import ConnectionPool, Redis

from robot.adapters.dnc_store import DncStore
from robot.adapters.order_control import OrderControl
from robot.adapters.redis_control import RedisRunControl
from robot.adapters.redis_live import LiveBoardReader
from robot.adapters.redis_store import RedisOrderStore
from robot.adapters.shop_registry import ShopRegistry
from robot.config import Settings, WebSettings
from robot.policy_settings import load_policy
from robot.supervision import TASKS_KEY, TaskBoard
from robot.web.api.openapi import add_openapi_route
from robot.web.api.orders import add_order_routes
from robot.web.api.policy import POLICY_KEY, PolicyServices, add_policy_routes
from robot.web.api.shops import add_shop_routes
from robot.web.api.status import add_status_routes
from robot.web.api.webhooks import OUTBOX_KEY, add_webhook_routes
from robot.web.auth import Accounts
from robot.web.context import SETTINGS_KEY, STORE_KEY, WEB_KEY, WebContext
from robot.web.dnc_page import add_dnc_routes
from robot.web.errors import error_middleware
from robot.web.followups import add_followup_routes
from robot.web.health import HealthChecks
from robot.web.i18n import translate_middleware
from robot.web.live import LiveHub
from robot.web.queries import DashboardQueries
from robot.web.reports import add_report_routes
from robot.web.routes import add_dashboard_routes
from robot.web.security import security_middleware
from robot.web.sessions import SessionStore
from robot.web.shops import add_shop_dashboard_routes, own_registry
from robot.web.signin import add_signin_routes
from robot.web.throttle import LoginThrottle

# Every route module, one line each (the CRM API first; the order does not matter otherwise).
ROUTE_MODULES: tuple[Callable[[web.Application], None], ...] = (
    add_order_routes,
    add_policy_routes,
    add_status_routes,
    add_webhook_routes,
    add_shop_routes,
    add_openapi_route,
    add_signin_routes,
    add_dashboard_routes,
    add_followup_routes,
    add_report_routes,
    add_dnc_routes,
    add_shop_dashboard_routes,
)


def runner_options(settings: WebSettings) -> dict[str, Any]:
    """``web.AppRunner`` options of every server we run: no access log (ours masks phones),
    and a connection that has not sent complete request headers within
    ``http_header_timeout_s`` is closed (aiohttp arms its keep-alive timer when a connection
    opens and closes it if no request has arrived by then; trickled bytes do not extend it)."""
    return {"access_log": None, "keepalive_timeout": settings.http_header_timeout_s}


def web_context(
    settings: Settings,
    store: RedisOrderStore,
    process_info: dict[str, Any] | None = None,
    shops: ShopRegistry | None = None,
) -> WebContext:
    redis = store.redis
    board = LiveBoardReader(redis, timezone=settings.dashboard_timezone, prefix=store.prefix)
    control = RedisRunControl(redis, prefix=store.prefix)
    queries = DashboardQueries(
        store,
        board,
        control,
        timezone=settings.dashboard_timezone,
        recordings_dir=settings.var_dir / "recordings",
        default_region=settings.default_region,
    )
    info = process_info or {}
    throttle = LoginThrottle(redis, prefix=store.prefix)
    queries.health = HealthChecks(store, board, control, throttle)
    queries.dnc = DncStore(redis)

    async def overview(now: Any) -> dict[str, Any]:
        return await queries.overview(now, info)

    hub = LiveHub(
        redis,
        {board.events_channel: "call", control.events_channel: "control"},
        overview,
    )
    return WebContext(
        settings=settings,
        store=store,
        accounts=Accounts.from_settings(settings.supervisors, settings.http_host),
        sessions=SessionStore(
            redis,
            secret=settings.session_secret,
            ttl_s=settings.session_ttl_s,
            prefix=store.prefix,
        ),
        control=control,
        board=board,
        queries=queries,
        hub=hub,
        process_info=info,
        throttle=throttle,
        shops=shops,
    )


def _background_client(app: web.Application, store: RedisOrderStore) -> Redis:
    """A client of its own for the app's background subscription (the shop registry's), so
    it never holds one of the connections requests draw from the store's pool (redis-py
    caps a pool at 100: a hundred parallel requests must not find it one short). A pool of
    another kind (a Sentinel set's) is shared."""
    pool = store.redis.connection_pool
    if type(pool) is not ConnectionPool:
        return store.redis
    own = ConnectionPool(connection_class=pool.connection_class, **pool.connection_kwargs)
    client = Redis.from_pool(own)  # owns the pool: aclose() disconnects it

    async def close(_app: web.Application) -> None:
        await client.aclose()

    app.on_cleanup.append(close)
    return client


def make_web_app(
    settings: Settings,
    store: RedisOrderStore,
    process_info: dict[str, Any] | None = None,
    *,
    policy: PolicyServices | None = None,
    tasks: TaskBoard | None = None,
    shops: ShopRegistry | None = None,
) -> web.Application:
    """The whole HTTP side: CRM API, dashboard, metrics. ``policy`` defaults to the one the
    settings describe; ``tasks`` (a dialing process's background tasks) feeds /healthz and
    /metrics; ``shops`` is the shop registry whose tokens open their shop's orders (the
    caller starts and stops it; without one the app builds its own and runs it while it
    serves, as for ``robot serve``)."""
    app = web.Application(middlewares=[translate_middleware, error_middleware, security_middleware])
    app[STORE_KEY] = store
    app[SETTINGS_KEY] = settings
    if tasks is not None:
        app[TASKS_KEY] = tasks
    if shops is None:  # robot serve: a registry of its own (a bad shops file stops it here)
        shops = own_registry(app, settings, _background_client(app, store))
    app[POLICY_KEY] = policy or PolicyServices(
        DncStore(store.redis), OrderControl(store, shops), load_policy(settings)
    )
    app[OUTBOX_KEY] = store.failed
    ctx = app[WEB_KEY] = web_context(settings, store, process_info, shops)
    for add_routes in ROUTE_MODULES:
        add_routes(app)

    async def close_hub(_app: web.Application) -> None:
        await ctx.hub.close()  # ends the event streams so shutdown does not wait on them

    app.on_shutdown.append(close_hub)
    return app
