"""The dashboard's pages and JSON endpoints (auth and CSRF are the middleware's, see security;
each route's role is declared in :func:`add_dashboard_routes`).

    GET  /login, POST /login, POST /logout       the login form (robot.web.signin)
    GET  /, /orders, /orders/{id}, /audit        pages: one shell, rendered by static/app.js
    GET  /dashboard/api/me                       the supervisor, role, CSRF token, language
    POST /dashboard/api/lang                     {"lang": "ru"|"en"}
    GET  /dashboard/api/overview                 the live overview once
    GET  /dashboard/api/events                   the live overview as server-sent events
    GET  /dashboard/api/health                   alerts and their facts (robot.web.health)
    GET  /dashboard/api/orders?q=&status=&...    the orders list: filters, search, paging
                                                 (orders_list)
    GET  /dashboard/api/reports, export/*.csv    reports and CSV exports (reports)
    GET  /reports, /dnc                          pages; the DNC page's JSON: dnc_page
    GET  /dashboard/api/orders/{id}              an order's timeline
    POST /dashboard/api/orders/{id}/retry        admin: call it now
    POST /dashboard/api/control/pause|resume     admin: stop or restart new dials
    POST /dashboard/api/control/limits           admin: {"max_concurrent_calls", "calls_per_second"}
    GET  /dashboard/api/audit?limit=             the audit log, newest first
    GET  /dashboard/recordings/{id}/{call_id}    a call's recording (Range requests work)
    GET  /dashboard/i18n.js                      server-side words for the browser (see i18n)

Cancel, the don't-call list and explain are the CRM API's (``/api/v1/...``); the dashboard
calls them with the session. An account limited to some shops sees only their orders: another
shop's order answers 404 here as on the CRM API.
"""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any

from aiohttp import web

from robot.adapters.redis_control import InvalidControl
from robot.web.access import (
    ACT,
    AUDIT,
    INSTALLATION,
    METRICS,
    PUBLIC,
    READ,
    READ_ALL,
    Routes,
    principal_of,
)
from robot.web.context import WEB_KEY, WebContext
from robot.web.errors import invalid_field, json_error, not_found, read_json
from robot.web.i18n import LANGS, SERVER_EN, i18n_script
from robot.web.live import sse_frame
from robot.web.sessions import COOKIE
from robot.web.shops import live_scope
from robot.web.signin import LANG_COOKIE

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES = HERE / "templates"
SSE_PING_S = 15.0
PAGES = {"/": "overview", "/orders": "orders", "/audit": "audit", "/reports": "reports",
         "/dnc": "dnc", "/followups": "followups"}  # fmt: skip


def _static_version() -> str:
    import hashlib

    h = hashlib.sha256()
    for f in sorted(STATIC_DIR.glob("*")):
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


STATIC_VERSION = _static_version()


def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _ctx(request: web.Request) -> WebContext:
    return request.app[WEB_KEY]


async def visible_order(request: web.Request, order_id: str) -> None:
    """404 for an order the caller may not see (another shop's), as if it did not exist."""
    principal = principal_of(request)
    if principal.all_shops:
        return
    record = await _ctx(request).store.get_order(order_id)
    if record is None or not principal.sees(record.order.shop_name):
        raise not_found(f"no order {order_id!r}")


# -- pages -------------------------------------------------------------------------------------


async def page(request: web.Request) -> web.StreamResponse:
    principal = principal_of(request)
    if principal.session is None:  # token callers use the JSON endpoints
        return json_error(400, "no_session", "pages are for logged-in supervisors")
    name = PAGES.get(request.path, "order")
    body = _template("shell.html").substitute(
        v=STATIC_VERSION,
        lang=principal.session.lang,
        page=name,
        order_id=html.escape(request.match_info.get("order_id", "")),
        user=html.escape(principal.name),
        role=principal.role.value,
        csrf=principal.session.csrf,
    )
    return web.Response(text=body, content_type="text/html", headers={"Cache-Control": "no-store"})


# -- JSON --------------------------------------------------------------------------------------


async def me(request: web.Request) -> web.StreamResponse:
    p = principal_of(request)
    return web.json_response(
        {
            "name": p.name,
            "role": p.role.value,
            "csrf": p.session.csrf if p.session else None,
            "lang": p.session.lang if p.session else "ru",
            "shops": sorted(p.shops) if p.shops is not None else None,
        }
    )


async def set_lang(request: web.Request) -> web.StreamResponse:
    p = principal_of(request)
    lang = str((await _json_body(request)).get("lang", ""))
    if lang not in LANGS:
        raise invalid_field("lang", f"lang must be one of {', '.join(LANGS)}")
    if p.session is not None:
        await _ctx(request).sessions.set_lang(p.session, lang)
    resp = web.json_response({"lang": lang})
    resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax", path="/")
    return resp


class LiveScope:
    """The live board as a principal limited to some shops may see it: only their calls (each
    order's shop looked up once per connection), and today's numbers of those shops; the queue
    and the status counts stay the installation's."""

    def __init__(self, ctx: WebContext, shops: frozenset[str] | None) -> None:
        self.ctx, self.shops = ctx, shops
        self._shop: dict[str, str | None] = {}

    async def _visible(self, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.shops is None:
            return calls
        for c in calls:  # the board names the shop when the worker wrote it; else look it up
            if c.get("shop_name"):
                self._shop[str(c.get("order_id"))] = str(c["shop_name"])
        unknown = [str(c.get("order_id")) for c in calls if c.get("order_id") not in self._shop]
        self._shop.update(await self.ctx.queries.shops_of(unknown))
        return [c for c in calls if self._shop.get(str(c.get("order_id"))) in self.shops]

    async def summary(self, doc: dict[str, Any]) -> dict[str, Any]:
        if self.shops is None:
            return doc
        # today's numbers of these shops only (robot.adapters.redis_live keeps them per shop)
        today = await self.ctx.queries.today(datetime.now(UTC), self.shops)
        live = await self._visible(list(doc.get("live_calls") or []))
        return {**doc, "live_calls": live, "today": today}

    async def event(self, name: str, data: Any) -> Any | None:
        """The event as this principal sees it, or None to skip it."""
        if name == "summary" and isinstance(data, dict):
            return await self.summary(data)
        if name == "call" and isinstance(data, dict) and self.shops is not None:
            return data if await self._visible([data]) else None
        return data


async def overview(request: web.Request) -> web.StreamResponse:
    ctx = _ctx(request)
    doc = await ctx.queries.overview(datetime.now(UTC), ctx.process_info)
    return web.json_response(await LiveScope(ctx, live_scope(request)).summary(doc))


async def health(request: web.Request) -> web.StreamResponse:
    ctx = _ctx(request)
    return web.json_response(await ctx.queries.health.check(datetime.now(UTC)))


async def events(request: web.Request) -> web.StreamResponse:
    ctx = _ctx(request)
    p = principal_of(request)
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await resp.prepare(request)
    await resp.write(b"retry: 2000\n\n")
    queue = ctx.hub.subscribe()
    scope = LiveScope(ctx, live_scope(request))  # ?shop= within the caller's shops
    try:
        snap = await ctx.queries.overview(datetime.now(UTC), ctx.process_info)
        await resp.write(sse_frame("summary", await scope.summary(snap)))
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), SSE_PING_S)
            except TimeoutError:
                if (
                    p.session is not None
                    and await ctx.sessions.load(request.cookies.get(COOKIE)) is None
                ):
                    break  # logged out elsewhere
                await resp.write(b": ping\n\n")
                continue
            if item is None:
                break
            data = await scope.event(*item)
            if data is not None:
                await resp.write(sse_frame(item[0], data))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        ctx.hub.unsubscribe(queue)
    return resp


async def order_timeline(request: web.Request) -> web.StreamResponse:
    ctx = _ctx(request)
    oid = request.match_info["order_id"]
    await visible_order(request, oid)
    doc = await ctx.queries.timeline(oid, full_phone=principal_of(request).is_admin)
    if doc is None:
        raise not_found(f"no order {oid!r}")
    return web.json_response(doc)


async def retry_now(request: web.Request) -> web.StreamResponse:
    from robot.core.reopen import MAX_EXTRA_ATTEMPTS, NotReopenable
    from robot.web.queries import NotRetryable

    ctx = _ctx(request)
    p = principal_of(request)
    oid = request.match_info["order_id"]
    body = await _json_body(request)
    raw = body.get("attempts", 1)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_EXTRA_ATTEMPTS:
        msg = f"attempts must be a whole number from 1 to {MAX_EXTRA_ATTEMPTS}"
        raise invalid_field("attempts", msg)
    await visible_order(request, oid)
    request[AUDIT] = {"action": "retry_now", "order_id": oid}
    try:
        done = await ctx.queries.retry_now(oid, datetime.now(UTC), by=p.name, attempts=raw)
    except NotReopenable as e:
        why = SERVER_EN.get(f"reopen.{e.why}", e.why)
        request[AUDIT].update(refused=e.why)
        return json_error(
            409,
            "not_reopenable",
            f"order is {e.status.value} and cannot be called again: {why}",
            order_status=e.status.value,
            why=e.why,
        )
    except KeyError:
        raise not_found(f"no order {oid!r}") from None
    except NotRetryable as e:
        return json_error(
            409, "not_retryable", f"a call of order {oid} is in flight", order_status=e.status
        )
    before = done["was"]
    request[AUDIT]["was"] = before
    if done["reopened"]:
        request[AUDIT].update(reopened=done["reopened"], attempts=done["attempts"])
    ctx.hub.poke()
    return web.json_response({"order_id": oid, "status": "queued", **done})


async def pause(request: web.Request) -> web.StreamResponse:
    return await _set_paused(request, True)


async def resume(request: web.Request) -> web.StreamResponse:
    return await _set_paused(request, False)


async def _set_paused(request: web.Request, paused: bool) -> web.StreamResponse:
    ctx = _ctx(request)
    request[AUDIT] = {"action": "pause" if paused else "resume"}
    await ctx.control.set_paused(paused, by=principal_of(request).name, now=datetime.now(UTC))
    ctx.hub.poke()
    return web.json_response(await ctx.control.details())


async def set_limits(request: web.Request) -> web.StreamResponse:
    ctx = _ctx(request)
    body = await _json_body(request)
    request[AUDIT] = {
        "action": "set_limits",
        **{k: body.get(k) for k in ("max_concurrent_calls", "calls_per_second")},
    }
    values: dict[str, Any] = {}
    for name, kind in (("max_concurrent_calls", int), ("calls_per_second", float)):
        raw = body.get(name)
        try:
            values[name] = None if raw in (None, "") else kind(raw)
            if isinstance(raw, bool):
                raise TypeError(name)
        except (TypeError, ValueError, OverflowError):
            raise invalid_field(name, f"{name} must be a number or null") from None
    request[AUDIT] = {"action": "set_limits", **values}
    try:
        await ctx.control.set_limits(**values, by=principal_of(request).name, now=datetime.now(UTC))
    except InvalidControl as e:
        raise invalid_field(e.field, e.message) from None
    ctx.hub.poke()
    return web.json_response(await ctx.control.details())


async def audit(request: web.Request) -> web.StreamResponse:
    try:
        limit = max(1, min(1000, int(request.query.get("limit", "200"))))
    except ValueError:
        raise invalid_field("limit", "limit must be a number") from None
    return web.json_response({"entries": await _ctx(request).control.audit_log(limit)})


async def recording(request: web.Request) -> web.StreamResponse:
    ctx = _ctx(request)
    await visible_order(request, request.match_info["order_id"])
    path = await ctx.queries.recording_path(
        request.match_info["order_id"], request.match_info["call_id"]
    )
    if path is None:
        raise not_found("no recording for this call")
    return web.FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})


async def _json_body(request: web.Request) -> dict[str, Any]:
    """The body if it is a JSON object, ``{}`` for none or another JSON value (400 if not JSON)."""
    if not request.can_read_body:
        return {}
    data = await read_json(request)
    return data if isinstance(data, dict) else {}


def add_dashboard_routes(app: web.Application) -> None:
    from robot.web.metrics import metrics
    from robot.web.orders_list import orders_handler

    r = Routes(app)
    for path in PAGES:
        r.get(path, page, READ)
    r.get("/orders/{order_id}", page, READ)
    r.get("/dashboard/api/me", me, READ)
    r.post("/dashboard/api/lang", set_lang, READ)
    r.get("/dashboard/api/overview", overview, READ)
    r.get("/dashboard/api/events", events, READ)
    r.get("/dashboard/api/health", health, READ)
    r.get("/dashboard/api/orders", orders_handler, READ)
    r.get("/dashboard/api/orders/{order_id}", order_timeline, READ)
    r.post("/dashboard/api/orders/{order_id}/retry", retry_now, ACT)
    r.post("/dashboard/api/control/pause", pause, INSTALLATION)
    r.post("/dashboard/api/control/resume", resume, INSTALLATION)
    r.post("/dashboard/api/control/limits", set_limits, INSTALLATION)
    r.get("/dashboard/api/audit", audit, READ_ALL)
    r.get("/dashboard/recordings/{order_id}/{call_id}", recording, READ)
    r.get("/metrics", metrics, METRICS)
    r.get("/dashboard/i18n.js", i18n_script, READ)
    r.static("/static/", STATIC_DIR)
    r.get("/favicon.ico", _no_favicon, PUBLIC)


async def _no_favicon(request: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound()
