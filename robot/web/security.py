"""The one middleware in front of every route: who is calling, and may they.

It establishes the :class:`~robot.web.access.Principal` once, from one of:

- ``Authorization: Bearer <token>``: the installation's ``api_token`` (role admin, all
  shops), a shop's ``api_token`` from the shop registry (role shop, that shop only), or on
  ``/metrics`` the ``metrics_token`` (role metrics). No cookies, so no CSRF check. Tokens are
  compared in constant time and never logged;
- the session cookie of a supervisor who logged in on ``/login`` (the account's role, and its
  ``shops`` when the account is limited to some). Every state-changing request must carry the
  session's CSRF token in ``X-CSRF-Token`` (``csrf`` form field for the logout form), and its
  ``Origin``, when the browser sends one, must be this server.

Then it checks the access the route declared (``robot.web.access.Routes``): a public route
needs nobody; anything else without a principal is 401 JSON (API, metrics) or a redirect to the
login page (HTML pages), a principal without the route's role 403. The principal is on the
request for the handlers (``principal_of(request)``), which scope what they read by its shops.
Every state-changing request by a supervisor (and every dashboard action by token) lands in the
audit log with the supervisor's name and the response status.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web

from robot.core.json_doc import InvalidJson
from robot.core.phones import mask_phone
from robot.web.access import AUDIT, PRINCIPAL, Principal, Role, access_of, declared
from robot.web.context import WEB_KEY, WebContext
from robot.web.errors import BEARER_CHALLENGE, Handler, HttpError, json_error
from robot.web.sessions import COOKIE, Session, csrf_matches

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOT_AUDITED = frozenset({"/logout", "/dashboard/api/lang"})


def _wants_json(request: web.Request) -> bool:
    p = request.path
    return (
        p.startswith(("/api/", "/dashboard/api/", "/metrics", "/dashboard/recordings/"))
        or request.method not in SAFE_METHODS
        or "text/html" not in request.headers.get("Accept", "text/html")
    )


def bearer_token(request: web.Request) -> str | None:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" and given.strip() else None


def token_equals(given: str, token: str | None) -> bool:
    """Constant-time; an unset token matches nothing."""
    return bool(token) and hmac.compare_digest(given.encode(), str(token).encode())


async def authenticate(request: web.Request, ctx: WebContext) -> Principal | None:
    token = bearer_token(request)
    if token is not None:
        if token_equals(token, ctx.settings.api_token):
            return Principal(Role.ADMIN, "api")
        if request.path == "/metrics" and token_equals(token, ctx.settings.metrics_token):
            return Principal(Role.METRICS, "metrics")
        shop = ctx.shops.by_token(token) if ctx.shops is not None else None
        if shop is not None:
            return Principal(Role.SHOP, f"shop:{shop.name}", frozenset({shop.name}))
        return None
    session = await ctx.sessions.load(request.cookies.get(COOKIE))
    if session is None:
        return None
    account = ctx.accounts.get(session.user)
    if account is None:  # the account was removed since login
        await ctx.sessions.delete(session)
        return None
    return Principal(account.role, account.name, account.shops, "session", session)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


async def _csrf_ok(request: web.Request, session: Session) -> bool:
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type == "application/x-www-form-urlencoded":
        given = str((await request.post()).get("csrf", ""))
    return csrf_matches(session.csrf, given)


def _route_detail(request: web.Request) -> dict[str, Any]:
    """An audit entry for a route that did not describe itself: its pattern and ids."""
    info = request.match_info
    resource = info.route.resource if info.route is not None else None
    pattern = resource.canonical if resource is not None else request.path
    detail: dict[str, Any] = {"action": f"{request.method} {pattern}"}
    if "order_id" in info:
        detail["order_id"] = info["order_id"]
    if "phone" in info:
        detail["phone"] = mask_phone(info["phone"])
    return detail


def _unauthorized(request: web.Request) -> web.StreamResponse:
    if _wants_json(request):
        resp = json_error(401, "unauthorized", "log in, or send Authorization: Bearer <api token>")
        resp.headers["WWW-Authenticate"] = BEARER_CHALLENGE
        return resp
    raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='/?=&')}")


@web.middleware
async def security_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    access = access_of(request)
    if access is not None and access.public:
        return await handler(request)
    ctx = request.app[WEB_KEY]
    principal = await authenticate(request, ctx)
    if principal is None:
        return _unauthorized(request)
    if access is None and declared(request):  # a route registered without its access
        log.error("%s %s: the route declares no access; refused", request.method, request.path)
        return json_error(403, "forbidden", "this route is not open to anyone")
    unsafe = request.method not in SAFE_METHODS
    if unsafe and principal.session is not None:
        if not _same_origin(request) or not await _csrf_ok(request, principal.session):
            log.warning(
                "%s %s by %s: CSRF check failed", request.method, request.path, principal.name
            )
            return json_error(403, "csrf", "missing or wrong CSRF token; reload the page")
    refusal = access.refusal(principal) if access is not None else None
    if refusal is not None:
        return json_error(403, "forbidden", refusal)
    request[PRINCIPAL] = principal
    if not unsafe or request.path in NOT_AUDITED:
        return await handler(request)
    if principal.via == "token" and not request.path.startswith("/dashboard/"):
        return await handler(request)  # CRM traffic (intake) is not a supervisor action
    status = 500
    try:
        result = await handler(request)
        status = result.status
        return result
    except (web.HTTPException, HttpError) as e:
        status = e.status
        raise
    except InvalidJson:
        status = 400
        raise
    finally:
        detail = request.get(AUDIT) or _route_detail(request)
        try:
            await ctx.control.audit(
                principal.name, status=status, role=principal.role.value, **detail
            )
        except Exception as e:  # the action happened; a lost audit line must not undo it
            log.warning("audit write failed for %s %s: %r", principal.name, detail, e)
