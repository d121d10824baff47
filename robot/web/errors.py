"""The one JSON error shape of every HTTP route, and the middleware that guarantees it.

Every 4xx/5xx answer of the CRM API and of the dashboard's JSON endpoints is
``{"error": <word>, "message": <sentence>[, "field": <the bad input>], ...}`` (``ApiError`` in
the OpenAPI document). Handlers ``raise HttpError(...)`` (or return :func:`json_error`) and never
build an error body by hand; the middleware turns the rest into the same shape:

- aiohttp's own 404/405/413 pages (HTML) -> JSON under ``/api/`` and for JSON clients;
- ``InvalidJson`` from :func:`read_json` -> 400 ``invalid_json`` naming the field;
- Redis unreachable -> 503 ``store_unavailable`` so the CRM retries (``not_replicated`` when a
  Sentinel set's replica did not confirm the write in time: stored, and the retry is answered
  as a duplicate);
- anything unexpected -> logged, 500 ``internal`` (never a plain-text traceback page).

Slow clients: a connection whose body is not complete within ``http_body_timeout_s`` is closed
(see :func:`_guard_body`); the header timeout is the runner's (``robot.web.app.runner_options``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from robot.adapters.redis_replication import NotReplicated
from robot.core.json_doc import InvalidJson, loads
from robot.logsafe import clean, safe_path
from robot.web.context import SETTINGS_KEY

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BEARER_CHALLENGE = 'Bearer realm="dozvon"'


def json_error(status: int, error: str, message: str, /, **extra: Any) -> web.Response:
    """The error body every route answers with (``field`` and any extra keys after)."""
    return web.json_response({"error": error, "message": message, **extra}, status=status)


class HttpError(Exception):
    """Raised anywhere below a handler: answered as :func:`json_error` by the middleware."""

    def __init__(self, status: int, error: str, message: str, /, **extra: Any) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status, self.error, self.message, self.extra = status, error, message, extra

    def response(self) -> web.Response:
        resp = json_error(self.status, self.error, self.message, **self.extra)
        if self.status == 401:
            resp.headers["WWW-Authenticate"] = BEARER_CHALLENGE
        return resp


def invalid_field(field: str, message: str) -> HttpError:
    return HttpError(422, "invalid_field", message, field=field)


def not_found(message: str, **extra: Any) -> HttpError:
    return HttpError(404, "not_found", message, **extra)


async def read_json(request: web.Request, *, optional: bool = False) -> Any:
    """The body as JSON (``{}`` when ``optional`` and empty); raises :class:`InvalidJson`."""
    raw = await request.read()
    if optional and not raw.strip():
        return {}
    return loads(raw)


async def json_object(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object, else 400 ``invalid_json`` naming ``body``."""
    doc = await read_json(request, optional=optional)
    if not isinstance(doc, dict):
        raise HttpError(400, "invalid_json", "body must be a JSON object", field="body")
    return doc


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter in ``[low, high]``, else 422 naming it."""
    raw = request.query.get(name, str(default))
    try:
        value: int | None = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise invalid_field(name, f"{name} must be an integer from {low} to {high}")
    return value


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
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure below it becomes the one JSON error shape (see the module docstring)."""
    settings = request.app.get(SETTINGS_KEY)
    guard = _guard_body(request, settings.http_body_timeout_s if settings else 30.0)
    try:
        return await handler(request)
    except HttpError as e:
        return e.response()
    except InvalidJson as e:
        return json_error(400, "invalid_json", e.message, field=e.field)
    except web.HTTPException as e:
        if e.status < 400 or not (request.path.startswith("/api/") or _json_wanted(request)):
            raise
        if e.content_type == "application/json":
            raise
        return json_error(e.status, e.reason.lower().replace(" ", "_"), e.reason)
    except (asyncio.CancelledError, ConnectionError):
        raise
    except NotReplicated as e:  # stored on the master, not yet safe from a failover
        log.warning("%s %s: %s", request.method, safe_path(request.path), clean(e))
        msg = "stored but not yet on a replica; retry (a retry is idempotent)"
        return json_error(503, "not_replicated", msg)
    except (RedisError, OSError, TimeoutError) as e:
        log.warning("%s %s: store unavailable: %s", request.method, safe_path(request.path),
                    clean(e))  # fmt: skip
        return json_error(503, "store_unavailable", "order store is unreachable, retry later")
    except Exception as e:
        log.error("%s %s failed: %s", request.method, safe_path(request.path), clean(repr(e)),
                  exc_info=True)  # fmt: skip
        return json_error(500, "internal", "internal error")
    finally:
        if guard is not None:
            guard.cancel()
