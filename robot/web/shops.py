"""The dashboard's shops: which ones a supervisor may pick, each one's pause, and the scope of
the live view.

    GET  /dashboard/api/shops                     {"shops": [{"name", "paused", "source"}]}:
                                                  the registry's shops the caller may see
                                                  (an account limited to some sees those)
    POST /dashboard/api/shops/{name}/pause        admin: no new calls for this shop (every
    POST /dashboard/api/shops/{name}/resume       worker; robot.adapters.shop_registry);
                                                  404 for a shop the caller may not see

The live view (``/dashboard/api/overview`` and the event stream) takes ``?shop=``; both it and
the caller's shops (``Principal.shops``) narrow the live calls shown (:func:`live_scope`, used
by ``robot.web.routes.LiveScope``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

from robot.adapters.shop_registry import ShopRegistry
from robot.config import Settings
from robot.web.access import ACT, AUDIT, READ, Principal, Routes, principal_of
from robot.web.context import WEB_KEY
from robot.web.errors import HttpError, not_found

MAX_SHOP_PARAM = 100


def own_registry(app: web.Application, settings: Settings, redis: Redis) -> ShopRegistry:
    """A registry for a process that has none (``robot serve``), refreshed while the app runs."""
    registry = ShopRegistry.from_settings(settings, redis)

    async def running(_app: web.Application) -> AsyncIterator[None]:
        await registry.start()
        yield
        await registry.stop()

    app.cleanup_ctx.append(running)
    return registry


def registry_of(request: web.Request) -> ShopRegistry | None:
    shops = request.app[WEB_KEY].shops
    return shops if isinstance(shops, ShopRegistry) else None


def writable_registry(request: web.Request) -> ShopRegistry:
    """The registry, for a change: 503 when this process has none on Redis."""
    registry = registry_of(request)
    if registry is None or registry.redis is None:
        raise HttpError(503, "shops_unavailable", "this process has no shops registry on Redis")
    return registry


def visible_shops(principal: Principal, registry: ShopRegistry | None) -> list[str]:
    """The shop names a caller may pick: the registry's, narrowed to the caller's shops (an
    account's listed shops count even before any configuration names them)."""
    if principal.shops is not None:
        return sorted(principal.shops)
    return registry.names() if registry is not None else []


def live_scope(request: web.Request) -> frozenset[str] | None:
    """The shops the live view shows: ``?shop=`` (exact name) within the caller's shops."""
    wanted = request.query.get("shop", "").strip()[:MAX_SHOP_PARAM]
    return principal_of(request).visible([wanted] if wanted else None)


async def list_shops(request: web.Request) -> web.StreamResponse:
    registry = registry_of(request)
    principal = principal_of(request)
    rows = []
    for name in visible_shops(principal, registry):
        shop = registry.get(name) if registry is not None else None
        rows.append({"name": name, "paused": bool(shop and shop.paused),
                     "source": registry.source(name) if registry is not None else None,
                     "configured": shop is not None})  # fmt: skip
    return web.json_response({"shops": rows})


async def _set_paused(request: web.Request, paused: bool) -> web.StreamResponse:
    name = request.match_info["name"]
    principal = principal_of(request)
    request[AUDIT] = {"action": "shop_pause" if paused else "shop_resume", "shop": name}
    registry = writable_registry(request)
    if not principal.sees(name) or registry.get(name) is None:
        raise not_found(f"no shop {name!r}", field="name")
    shop = await registry.set_paused(name, paused)
    return web.json_response({"name": name, "paused": shop.paused})


async def pause_shop(request: web.Request) -> web.StreamResponse:
    return await _set_paused(request, True)


async def resume_shop(request: web.Request) -> web.StreamResponse:
    return await _set_paused(request, False)


def add_shop_dashboard_routes(app: web.Application) -> None:
    r = Routes(app)
    r.get("/dashboard/api/shops", list_shops, READ)
    r.post("/dashboard/api/shops/{name}/pause", pause_shop, ACT)
    r.post("/dashboard/api/shops/{name}/resume", resume_shop, ACT)
