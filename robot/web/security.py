"""Who may do what over HTTP: one middleware in front of every route of the application.

How the two kinds of caller coexist:

- **CRMs and scripts** send ``Authorization: Bearer <api_token>``. That is the ``api`` principal
  with the admin role, on the CRM API (``/api/v1/...``) and the dashboard's JSON endpoints
  alike; no cookies, so no CSRF check. ``/metrics`` also takes ``metrics_token`` (that token
  opens nothing else).
- **Supervisors** log in on ``/login`` and carry the session cookie. Viewers may read
  everything (GET), admins may also change things. Every state-changing request must carry the
  session's CSRF token in ``X-CSRF-Token`` (``csrf`` form field for the logout form), and its
  ``Origin``, when the browser sends one, must be this server. A supervisor may call the CRM API
  from the dashboard too: the middleware hands such a request on with the API token, after the
  role and CSRF checks, so routes written for CRMs (cancel, don't-call list, explain) serve the
  dashboard unchanged. Viewers reach only ``explain`` there: the CRM API shows phones in full.

Only ``/login``, ``/healthz`` and ``/static/`` are open. Anything else without a principal is
401 JSON (API, metrics) or a redirect to the login page (HTML pages). Every state-changing
request by a supervisor (and every dashboard action by token) lands in the audit log with the
supervisor's name and the response status.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web

from robot.core.phones import mask_phone
from robot.web.auth import Role
from robot.web.context import WEB_KEY, WebContext
from robot.web.sessions import COOKIE, Session, csrf_matches

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PATHS = frozenset({"/login", "/healthz", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
VIEWER_MAY_POST = frozenset({"/logout", "/dashboard/api/lang"})
VIEWER_API = re.compile(r"/api/v1/orders/[^/]+/explain")  # the CRM API a viewer may read
NOT_AUDITED = frozenset({"/logout", "/dashboard/api/lang"})


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    via: str  # "session" | "token"
    session: Session | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


# aiohttp >= 3.13 wants typed request keys; older ones take strings.
_RequestKey: Any = getattr(web, "RequestKey", None)
PRINCIPAL: Any = _RequestKey("dozvon.principal", Principal) if _RequestKey else "dozvon.principal"
# Handlers put {"action": ..., ...} here to describe what they did, for the audit log.
AUDIT: Any = _RequestKey("dozvon.audit", dict) if _RequestKey else "dozvon.audit"


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def _json(status: int, error: str, message: str) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status)


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _wants_json(request: web.Request) -> bool:
    p = request.path
    return (
        p.startswith(("/api/", "/dashboard/api/", "/metrics", "/dashboard/recordings/"))
        or request.method not in SAFE_METHODS
        or "text/html" not in request.headers.get("Accept", "text/html")
    )


def _bearer(request: web.Request) -> str | None:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" and given.strip() else None


def _token_equals(given: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(given.encode(), str(token).encode())


async def authenticate(request: web.Request, ctx: WebContext) -> Principal | None:
    token = _bearer(request)
    if token is not None:
        if _token_equals(token, ctx.settings.api_token):
            return Principal("api", Role.ADMIN, "token")
        if request.path == "/metrics" and _token_equals(token, ctx.settings.metrics_token):
            return Principal("metrics", Role.VIEWER, "token")
        return None
    session = await ctx.sessions.load(request.cookies.get(COOKIE))
    if session is None:
        return None
    account = ctx.accounts.get(session.user)
    if account is None:  # the account was removed since login
        await ctx.sessions.delete(session)
        return None
    return Principal(account.name, account.role, "session", session)


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


@web.middleware
async def security_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _is_public(request.path):
        return await handler(request)
    ctx = request.app[WEB_KEY]
    principal = await authenticate(request, ctx)
    if principal is None:
        if _wants_json(request):
            resp = _json(401, "unauthorized", "log in, or send Authorization: Bearer <api token>")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="dozvon"'
            return resp
        raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='/?=&')}")
    unsafe = request.method not in SAFE_METHODS
    if unsafe and principal.via == "session":
        assert principal.session is not None
        if not _same_origin(request) or not await _csrf_ok(request, principal.session):
            log.warning(
                "%s %s by %s: CSRF check failed", request.method, request.path, principal.name
            )
            return _json(403, "csrf", "missing or wrong CSRF token; reload the page")
        if not principal.is_admin and request.path not in VIEWER_MAY_POST:
            return _json(403, "forbidden", "this needs the admin role")
    if principal.via == "session" and request.path.startswith("/api/"):
        if not principal.is_admin and not VIEWER_API.fullmatch(request.path):
            # The CRM API returns phones in full; viewers see them masked on the dashboard.
            return _json(403, "forbidden", "this needs the admin role")
        headers: dict[str, Any] = dict(request.headers)
        headers["Authorization"] = f"Bearer {ctx.settings.api_token}"
        request = request.clone(headers=headers)
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
    except web.HTTPException as e:
        status = e.status
        raise
    finally:
        detail = request.get(AUDIT) or _route_detail(request)
        try:
            await ctx.control.audit(
                principal.name, status=status, role=principal.role.value, **detail
            )
        except Exception as e:  # the action happened; a lost audit line must not undo it
            log.warning("audit write failed for %s %s: %r", principal.name, detail, e)
