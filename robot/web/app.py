"""Puts the dashboard, the metrics and the security middleware on an aiohttp application.

``robot run`` mounts it on the service's application (next to the intake API, one port);
``robot serve`` runs :func:`make_web_app` alone: dashboard and API over HTTP, no dialer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from robot.adapters.dnc_store import DncStore
from robot.adapters.http_api import SETTINGS_KEY, STORE_KEY, add_intake_routes, api_json_errors
from robot.adapters.http_webhooks import add_webhook_routes
from robot.adapters.order_control import OrderControl
from robot.adapters.redis_control import RedisRunControl
from robot.adapters.redis_live import LiveBoardReader
from robot.adapters.redis_store import RedisOrderStore
from robot.config import Settings
from robot.web.auth import Accounts
from robot.web.context import WEB_KEY, WebContext
from robot.web.health import HealthChecks
from robot.web.i18n import translate_middleware
from robot.web.live import LiveHub
from robot.web.queries import DashboardQueries
from robot.web.routes import add_dashboard_routes
from robot.web.security import security_middleware
from robot.web.sessions import SessionStore
from robot.web.throttle import LoginThrottle


def web_context(
    settings: Settings, store: RedisOrderStore, process_info: dict[str, Any] | None = None
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
    queries.orders, queries.dnc = OrderControl(store), DncStore(redis)

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
    )


def mount_dashboard(
    app: web.Application,
    settings: Settings,
    store: RedisOrderStore,
    process_info: dict[str, Any] | None = None,
) -> WebContext:
    """Add the dashboard routes, /metrics and the security middleware (which then guards every
    route of ``app``, the intake API's included). Call before the app starts."""
    ctx = web_context(settings, store, process_info)
    app[WEB_KEY] = ctx
    app.middlewares.append(translate_middleware)  # outside security: its errors get texts too
    app.middlewares.append(security_middleware)
    add_dashboard_routes(app)

    async def close_hub(_app: web.Application) -> None:
        await ctx.hub.close()  # ends the event streams so shutdown does not wait on them

    app.on_shutdown.append(close_hub)
    return ctx


def make_web_app(
    settings: Settings, store: RedisOrderStore, process_info: dict[str, Any] | None = None
) -> web.Application:
    """The whole HTTP side: intake API, dashboard, metrics."""
    app = web.Application(middlewares=[api_json_errors])
    app[STORE_KEY] = store
    app[SETTINGS_KEY] = settings
    add_intake_routes(app)
    _add_policy_routes(app, settings, store)
    add_webhook_routes(app, store.failed)
    mount_dashboard(app, settings, store, process_info)
    return app


def _add_policy_routes(app: web.Application, settings: Settings, store: RedisOrderStore) -> None:
    """The call policy's API (cancel, don't-call list, explain), built as robot.service does."""
    from robot.adapters.dnc_store import DncStore
    from robot.adapters.http_policy import PolicyServices, add_policy_routes
    from robot.adapters.order_control import OrderControl
    from robot.policy_settings import load_policy

    services = PolicyServices(DncStore(store.redis), OrderControl(store), load_policy(settings))
    add_policy_routes(app, services)
