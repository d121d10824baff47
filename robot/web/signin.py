"""Signing in and out: the login form, throttled attempts, the redirect after sign-in, and the
admins' view of throttled names and addresses.

    GET  /login, POST /login, POST /logout            the form (works without JavaScript)
    GET  /dashboard/api/signin/throttled              names and addresses waiting out a backoff
    POST /dashboard/api/signin/unlock                 admin: {"name"} and/or {"address"}

Audit entries (``dozvon:audit``): ``login``, ``logout``, ``login_failed`` (every wrong
password or unknown name, with the address), ``login_throttled`` (a backoff window opened:
which bucket, for how long), ``login_unlock`` (who unlocked what). Refused attempts during a
window are logged, not audited one by one (a flood must not flush the audit log).

The redirect after sign-in (``next``) is only ever a path on this server: see
:func:`safe_next`.
"""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
import time
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from aiohttp import web

from robot.web.access import AUDIT, INSTALLATION, PUBLIC, READ, READ_ALL, Routes, principal_of
from robot.web.context import WEB_KEY, WebContext
from robot.web.errors import invalid_field, read_json
from robot.web.i18n import login_text, pick_lang
from robot.web.sessions import COOKIE, LOGIN_CSRF_COOKIE, csrf_matches
from robot.web.throttle import KNOWN_COOKIE, is_known_device, known_device_value

log = logging.getLogger(__name__)

LANG_COOKIE = "dozvon_lang"
TEMPLATES = Path(__file__).parent / "templates"
KNOWN_DEVICE_MAX_AGE_S = 180 * 86400


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this server, else ``/``.

    Browsers drop tabs and newlines from URLs and read ``\\`` as ``/``, so ``/\\t/host``,
    ``/\\host`` and ``//host`` all leave the site; a percent-encoded slash may be decoded by a
    proxy on the way. Only a path starting with exactly one ``/`` and made of printable,
    non-space ASCII without a backslash passes, judged both as given and percent-decoded.
    """
    if not target or len(target) > 2000:
        return "/"
    for form in {target, unquote(target), unquote(unquote(target))}:
        if any(ch <= " " or ch == "\x7f" or ch == "\\" or not ch.isascii() for ch in form):
            return "/"
        if not form.startswith("/") or form.startswith("//"):
            return "/"
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return "/"
    return target


def _ctx(request: web.Request) -> WebContext:
    return request.app[WEB_KEY]


def _cookie_args(ctx: WebContext) -> dict[str, Any]:
    return {"httponly": True, "samesite": "Lax", "secure": ctx.settings.cookie_secure, "path": "/"}


def _wait_words(lang: str, seconds: float) -> str:
    s = max(1, int(seconds + 0.999))
    if s < 120:
        return f"{s} с" if lang == "ru" else f"{s} s"
    m = (s + 59) // 60
    return f"{m} мин" if lang == "ru" else f"{m} min"


def login_page(
    request: web.Request,
    *,
    error: str = "",
    status: int = 200,
    user: str = "",
    wait_s: float = 0.0,
) -> web.Response:
    ctx = _ctx(request)
    lang = pick_lang(request.query.get("lang"), request.cookies.get(LANG_COOKIE))
    t = login_text(lang)
    token = secrets.token_urlsafe(24)
    message = t[error].replace("{wait}", _wait_words(lang, wait_s)) if error else ""
    nxt = safe_next(request.query.get("next"))
    body = Template((TEMPLATES / "login.html").read_text(encoding="utf-8")).substitute(
        lang=lang,
        title=t["title"],
        heading=t["heading"],
        user_label=t["user"],
        password_label=t["password"],
        submit=t["submit"],
        error=f'<p class="error" role="alert">{html.escape(message)}</p>' if error else "",
        hint=html.escape(t["no_accounts"]) if len(ctx.accounts) == 0 else "",
        csrf=token,
        user=html.escape(user),
        next=html.escape(nxt),
        next_q=html.escape(quote(nxt, safe="")),
        other_lang="en" if lang == "ru" else "ru",
        other_lang_label="English" if lang == "ru" else "Русский",
    )
    resp = web.Response(text=body, content_type="text/html", status=status)
    if status == 429 and wait_s:
        resp.headers["Retry-After"] = str(max(1, int(wait_s + 0.999)))
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, **_cookie_args(ctx))
    return resp


async def login_form(request: web.Request) -> web.StreamResponse:
    ctx = _ctx(request)
    if await ctx.sessions.load(request.cookies.get(COOKIE)) is not None:
        raise web.HTTPFound(safe_next(request.query.get("next")))
    return login_page(request)


async def login_submit(request: web.Request) -> web.StreamResponse:
    ctx = _ctx(request)
    form = await request.post()
    user = str(form.get("username", "")).strip()[:100]
    password = str(form.get("password", ""))
    addr = request.remote or "unknown"
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get("csrf", ""))):
        return login_page(request, error="expired", status=403, user=user)
    key = await ctx.sessions.signing_key()
    known = is_known_device(key, user, request.cookies.get(KNOWN_COOKIE))
    assert ctx.throttle is not None
    verdict = await ctx.throttle.attempt(user, addr, int(time.time() * 1000), known_device=known)
    if not verdict.allowed:
        log.warning(
            "sign-in as %r from %s refused: %s backoff, %.0f s left",
            user, addr, verdict.bucket, verdict.retry_after_s,
        )  # fmt: skip
        return login_page(
            request, error="locked", status=429, user=user, wait_s=verdict.retry_after_s
        )
    account = await asyncio.to_thread(ctx.accounts.check, user, password)
    if account is None:
        log.warning("sign-in failed for %r from %s", user, addr)
        await ctx.control.audit(user or "?", "login_failed", address=addr, status=401)
        for kind in verdict.started:
            await ctx.control.audit(
                user or "?", "login_throttled", address=addr, bucket=kind, status=429
            )
        return login_page(request, error="bad", status=401, user=user)
    await ctx.throttle.succeeded(user, addr)
    lang = pick_lang(str(form.get("lang", "")), request.cookies.get(LANG_COOKIE))
    session = await ctx.sessions.create(account.name, lang)
    await ctx.control.audit(
        account.name, "login", role=account.role.value, address=addr, status=302
    )
    target = str(form.get("next") or request.query.get("next") or "/")
    resp = web.HTTPFound(safe_next(target))
    resp.set_cookie(COOKIE, await ctx.sessions.cookie_for(session), **_cookie_args(ctx))
    resp.set_cookie(
        KNOWN_COOKIE,
        known_device_value(key, account.name),
        max_age=KNOWN_DEVICE_MAX_AGE_S,
        **_cookie_args(ctx),
    )
    resp.del_cookie(LOGIN_CSRF_COOKIE, path="/")
    raise resp


async def logout(request: web.Request) -> web.StreamResponse:
    principal = principal_of(request)
    ctx = _ctx(request)
    if principal.session is not None:
        await ctx.sessions.delete(principal.session)
        await ctx.control.audit(principal.name, "logout", role=principal.role.value, status=302)
    resp = web.HTTPFound("/login")
    resp.del_cookie(COOKIE, path="/")
    raise resp


async def throttled(request: web.Request) -> web.StreamResponse:
    ctx = _ctx(request)
    assert ctx.throttle is not None
    rows = await ctx.throttle.blocked(int(time.time() * 1000))
    if not principal_of(request).is_admin:
        for r in rows:  # viewers see that something waits, not from where
            r["address"] = "***" if r["address"] else None
    return web.json_response({"throttled": rows})


async def unlock(request: web.Request) -> web.StreamResponse:
    ctx = _ctx(request)
    body = await read_json(request) if request.can_read_body else {}
    body = body if isinstance(body, dict) else {}
    name = body.get("name")
    address = body.get("address")
    if (
        not isinstance(name, str | None)
        or not isinstance(address, str | None)
        or (not name and not address)
    ):
        raise invalid_field("name", "give a name or an address")
    assert ctx.throttle is not None
    cleared = await ctx.throttle.unlock(name=name or None, address=address or None)
    request[AUDIT] = {"action": "login_unlock", "name": name, "address": address,
                      "cleared": cleared}  # fmt: skip
    return web.json_response({"cleared": cleared})


def add_signin_routes(app: web.Application) -> None:
    r = Routes(app)
    r.get("/login", login_form, PUBLIC)
    r.post("/login", login_submit, PUBLIC)
    r.post("/logout", logout, READ)
    r.get("/dashboard/api/signin/throttled", throttled, READ_ALL)
    r.post("/dashboard/api/signin/unlock", unlock, INSTALLATION)
