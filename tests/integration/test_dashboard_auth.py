"""Dashboard security on real Redis: login, sessions, CSRF, roles, tokens, the API bridge."""

from __future__ import annotations

import json
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from robot.config import Settings
from robot.devtools.sandbox import supervisors_json
from robot.web.app import make_web_app
from robot.web.sessions import COOKIE
from robot.web.throttle import BUCKETS

TOKEN = "crm-token"
METRICS_TOKEN = "prom-token"
USERS = {"anna": ("admin", "anna-pass-1"), "boris": ("viewer", "boris-pass-1")}
ORDER = {"order_id": "A-1", "phone": "+79161234567", "amount": "990", "shop_name": "Ромашка"}


def settings_for(tmp_path, **extra) -> Settings:
    return Settings(
        api_token=TOKEN,
        metrics_token=METRICS_TOKEN,
        supervisors=supervisors_json(USERS),
        var_dir=tmp_path,
        **extra,
    )


@pytest.fixture
async def client(store, tmp_path):
    app = make_web_app(settings_for(tmp_path), store)
    async with TestClient(TestServer(app)) as c:
        yield c


async def login(client: TestClient, name: str, password: str, *, status: int = 302):
    page = await client.get("/login")
    assert page.status == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
    resp = await client.post(
        "/login",
        data={"username": name, "password": password, "csrf": csrf, "next": "/orders"},
        allow_redirects=False,
    )
    assert resp.status == status, await resp.text()
    return resp


async def me(client: TestClient) -> dict:
    resp = await client.get("/dashboard/api/me")
    assert resp.status == 200
    return await resp.json()


async def test_everything_but_login_and_health_needs_auth(client):
    for path in ("/dashboard/api/overview", "/dashboard/api/orders", "/metrics",
                 "/dashboard/api/events", "/api/v1/orders/A-1", "/no/such/route"):  # fmt: skip
        resp = await client.get(path, headers={"Accept": "application/json"})
        assert resp.status == 401, path
        assert (await resp.json())["error"] == "unauthorized"
    resp = await client.get("/orders?q=1", headers={"Accept": "text/html"}, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/login?next=/orders?q=1"
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/login")).status == 200
    assert (await client.get("/static/app.js")).status == 200


async def test_login_logout_round_trip(client, store):
    resp = await login(client, "anna", "anna-pass-1")
    assert resp.headers["Location"] == "/orders"
    cookie = resp.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    who = await me(client)
    assert who["name"] == "anna" and who["role"] == "admin" and len(who["csrf"]) > 20
    page = await client.get("/")
    assert page.status == 200 and who["csrf"] in await page.text()
    resp = await client.post("/logout", data={"csrf": who["csrf"]}, allow_redirects=False)
    assert resp.status == 302
    assert (await client.get("/dashboard/api/me")).status == 401
    actions = [
        e["action"]
        for e in json.loads(f"[{','.join(await store.redis.lrange('dozvon:audit', 0, -1))}]")
    ]
    assert actions[:2] == ["logout", "login"]


async def test_wrong_password_and_lockout(client):
    await login(client, "anna", "nope", status=401)
    await login(client, "nobody", "anna-pass-1", status=401)
    for _ in range(BUCKETS["pair"].free):
        await login(client, "boris", "wrong", status=401)
    # Backing off, even with the right password (tests/integration/test_signin_throttle.py).
    await login(client, "boris", "boris-pass-1", status=429)


async def test_login_form_needs_its_csrf_cookie(client):
    await client.get("/login")
    resp = await client.post(
        "/login", data={"username": "anna", "password": "anna-pass-1", "csrf": "forged"},
        allow_redirects=False,
    )  # fmt: skip
    assert resp.status == 403


async def test_open_redirect_is_refused(client):
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
    resp = await client.post(
        "/login",
        data={"username": "anna", "password": "anna-pass-1", "csrf": csrf,
              "next": "//evil.example/"},
        allow_redirects=False,
    )  # fmt: skip
    assert resp.headers["Location"] == "/"


async def test_tampered_cookie_is_no_session(client):
    await login(client, "anna", "anna-pass-1")
    sid = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value
    client.session.cookie_jar.update_cookies({COOKIE: sid[:-2] + "xx"}, client.make_url("/"))
    assert (await client.get("/dashboard/api/me")).status == 401


async def test_csrf_on_every_change(client):
    await login(client, "anna", "anna-pass-1")
    csrf = (await me(client))["csrf"]
    url = "/dashboard/api/control/pause"
    assert (await client.post(url)).status == 403
    assert (await client.post(url, headers={"X-CSRF-Token": "wrong"})).status == 403
    foreign = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
    assert (await client.post(url, headers=foreign)).status == 403
    resp = await client.post(url, headers={"X-CSRF-Token": csrf})
    assert resp.status == 200 and (await resp.json())["paused"] is True
    # The CRM API reached with the session is guarded the same way.
    assert (await client.post("/api/v1/orders", json=ORDER)).status == 403
    resp = await client.post("/api/v1/orders", json=ORDER, headers={"X-CSRF-Token": csrf})
    assert resp.status == 201


async def test_viewer_reads_but_cannot_act(client, store):
    await login(client, "boris", "boris-pass-1")
    csrf = (await me(client))["csrf"]
    h = {"X-CSRF-Token": csrf}
    assert (await client.get("/dashboard/api/overview")).status == 200
    for url in ("/dashboard/api/control/pause", "/dashboard/api/control/limits",
                "/dashboard/api/orders/A-1/retry", "/api/v1/orders"):  # fmt: skip
        resp = await client.post(url, json={}, headers=h)
        assert resp.status == 403 and (await resp.json())["error"] == "forbidden", url
    resp = await client.post("/dashboard/api/lang", json={"lang": "en"}, headers=h)
    assert resp.status == 200 and (await me(client))["lang"] == "en"
    assert await store.redis.hget("dozvon:control", "paused") is None


async def test_viewer_sees_masked_phone_admin_full(client):
    await client.post("/api/v1/orders", json=ORDER, headers={"Authorization": f"Bearer {TOKEN}"})
    await login(client, "boris", "boris-pass-1")
    doc = await (await client.get("/dashboard/api/orders/A-1")).json()
    assert doc["phone"] == "+7916***4567" and doc["order"]["phone"] == "+7916***4567"
    crm_view = await client.get("/api/v1/orders/A-1")  # full phones: not for viewers
    assert crm_view.status == 403
    client.session.cookie_jar.clear()
    await login(client, "anna", "anna-pass-1")
    doc = await (await client.get("/dashboard/api/orders/A-1")).json()
    assert doc["phone"] == "+79161234567"


async def test_tokens(client):
    crm = {"Authorization": f"Bearer {TOKEN}"}
    prom = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert (await client.get("/dashboard/api/overview", headers=crm)).status == 200
    resp = await client.post("/dashboard/api/control/pause", headers=crm)  # no cookie, no CSRF
    assert resp.status == 200
    assert (await client.get("/metrics", headers=prom)).status == 200
    assert (await client.get("/metrics", headers=crm)).status == 200
    assert (await client.get("/dashboard/api/overview", headers=prom)).status == 401
    bad = {"Authorization": "Bearer nope"}
    assert (await client.get("/dashboard/api/overview", headers=bad)).status == 401


async def test_removed_account_ends_its_sessions(store, tmp_path):
    app = make_web_app(settings_for(tmp_path), store)
    async with TestClient(TestServer(app)) as c:
        await login(c, "boris", "boris-pass-1")
        cookie = c.session.cookie_jar.filter_cookies(c.make_url("/"))[COOKIE].value
    only_anna = Settings(api_token=TOKEN, supervisors=supervisors_json({"anna": USERS["anna"]}))
    async with TestClient(TestServer(make_web_app(only_anna, store))) as c:
        c.session.cookie_jar.update_cookies({COOKIE: cookie}, c.make_url("/"))
        assert (await c.get("/dashboard/api/me")).status == 401
