"""Sign-in throttling on real Redis: parallel guesses are not all tried, backoff instead of a
lockout, a known browser still signs in, admins unlock, everything lands in the audit log; and
the redirect after sign-in never leaves the site."""

from __future__ import annotations

import asyncio
import json
import re
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from robot.config import Settings
from robot.devtools.sandbox import supervisors_json
from robot.web.app import make_web_app
from robot.web.sessions import LOGIN_CSRF_COOKIE
from robot.web.signin import safe_next
from robot.web.throttle import BUCKETS, KNOWN_COOKIE, LoginThrottle

USERS = {"anna": ("admin", "anna-pass-1"), "boris": ("viewer", "boris-pass-1")}


@pytest.fixture
async def client(store, tmp_path):
    settings = Settings(api_token="t", supervisors=supervisors_json(USERS), var_dir=tmp_path)
    app = make_web_app(settings, store)
    # No cookie jar: each request says which cookies it carries (parallel logins would race
    # on a shared jar).
    async with TestClient(TestServer(app), cookie_jar=aiohttp.DummyCookieJar()) as c:
        yield c


async def login_form(client: TestClient) -> tuple[str, str]:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
    return csrf, page.cookies[LOGIN_CSRF_COOKIE].value


async def post_login(client, name, password, csrf, cookie, *, nxt="/", extra_cookies=""):
    return await client.post(
        "/login",
        data={"username": name, "password": password, "csrf": csrf, "next": nxt},
        headers={"Cookie": f"{LOGIN_CSRF_COOKIE}={cookie}{extra_cookies}"},
        allow_redirects=False,
    )


async def audit(store) -> list[dict]:
    return [json.loads(e) for e in await store.redis.lrange("dozvon:audit", 0, -1)]


async def test_hundred_parallel_wrong_passwords_are_not_all_tried(client, store):
    csrf, cookie = await login_form(client)
    responses = await asyncio.gather(
        *(post_login(client, "anna", f"guess-{i}", csrf, cookie) for i in range(100))
    )
    statuses = [r.status for r in responses]
    tried = statuses.count(401)
    assert tried == BUCKETS["pair"].free, statuses
    assert statuses.count(429) == 100 - tried
    refused = next(r for r in responses if r.status == 429)
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Следующая попытка" in await refused.text()
    entries = await audit(store)
    failed = [e for e in entries if e["action"] == "login_failed"]
    assert len(failed) == tried and all(e["user"] == "anna" for e in failed)
    assert failed[0]["address"] == "127.0.0.1"
    throttled = [e for e in entries if e["action"] == "login_throttled"]
    assert [e["bucket"] for e in throttled] == ["pair"]
    # The right password during the window is refused too, and not tried.
    resp = await post_login(client, "anna", "anna-pass-1", csrf, cookie)
    assert resp.status == 429


async def test_admin_sees_and_unlocks(client, store):
    csrf, cookie = await login_form(client)
    for _ in range(BUCKETS["pair"].free):
        assert (await post_login(client, "boris", "wrong", csrf, cookie)).status == 401
    assert (await post_login(client, "boris", "boris-pass-1", csrf, cookie)).status == 429

    # Anna signs in (another name from the same address is only slowed by the address
    # bucket, which is far from full) and unlocks boris.
    resp = await post_login(client, "anna", "anna-pass-1", csrf, cookie)
    assert resp.status == 302
    session = resp.cookies["dozvon_session"].value
    jar = {"Cookie": f"dozvon_session={session}"}
    me = await (await client.get("/dashboard/api/me", headers=jar)).json()
    rows = (await (await client.get("/dashboard/api/signin/throttled", headers=jar)).json())[
        "throttled"
    ]
    assert [(r["kind"], r["name"], r["address"]) for r in rows] == [("pair", "boris", "127.0.0.1")]
    assert rows[0]["failures"] == BUCKETS["pair"].free and rows[0]["retry_after_s"] > 0
    resp = await client.post(
        "/dashboard/api/signin/unlock",
        json={"name": "boris"},
        headers={**jar, "X-CSRF-Token": me["csrf"]},
    )
    assert resp.status == 200 and (await resp.json())["cleared"] >= 1
    assert (await post_login(client, "boris", "boris-pass-1", csrf, cookie)).status == 302
    unlock = next(e for e in await audit(store) if e["action"] == "login_unlock")
    assert unlock["user"] == "anna" and unlock["name"] == "boris" and unlock["status"] == 200


async def test_viewer_cannot_unlock(client):
    csrf, cookie = await login_form(client)
    resp = await post_login(client, "boris", "boris-pass-1", csrf, cookie)
    session = resp.cookies["dozvon_session"].value
    jar = {"Cookie": f"dozvon_session={session}"}
    me = await (await client.get("/dashboard/api/me", headers=jar)).json()
    resp = await client.post(
        "/dashboard/api/signin/unlock",
        json={"name": "anna"},
        headers={**jar, "X-CSRF-Token": me["csrf"]},
    )
    assert resp.status == 403


async def test_known_browser_is_not_held_by_the_name_backoff(client, store):
    csrf, cookie = await login_form(client)
    ok = await post_login(client, "anna", "anna-pass-1", csrf, cookie)
    known = ok.cookies[KNOWN_COOKIE].value
    # Someone guesses anna's password from many addresses: the name bucket backs off.
    throttle = LoginThrottle(store.redis)
    now = int(time.time() * 1000)  # the sign-in route reads the real clock
    for i in range(BUCKETS["name"].free):
        v = await throttle.attempt("anna", f"127.0.0.{10 + i}", now, known_device=False)
        assert v.allowed
    v = await throttle.attempt("anna", "127.0.0.99", now, known_device=False)
    assert not v.allowed and v.bucket == "name"
    # A forged known-device cookie does not help.
    resp = await post_login(
        client, "anna", "anna-pass-1", csrf, cookie, extra_cookies=f"; {KNOWN_COOKIE}=YW5uYQ.x"
    )
    assert resp.status == 429
    # Anna, in the browser she signed in with before, still gets in (and that clears the
    # name's backoff: its owner is here).
    resp = await post_login(
        client, "anna", "anna-pass-1", csrf, cookie, extra_cookies=f"; {KNOWN_COOKIE}={known}"
    )
    assert resp.status == 302
    assert (await throttle.attempt("anna", "127.0.0.99", now, known_device=False)).allowed


async def test_backoff_doubles_and_ends(store):
    throttle = LoginThrottle(store.redis)
    b = BUCKETS["pair"]
    now = 2_000_000_000_000
    for _ in range(b.free):
        assert (await throttle.attempt("x", "127.0.0.5", now, known_device=True)).allowed
    v = await throttle.attempt("x", "127.0.0.5", now + 1, known_device=True)
    assert not v.allowed and v.bucket == "pair"
    assert v.retry_after_s == pytest.approx(b.base_s, abs=0.01)
    now += int(b.base_s * 1000)  # the window ends; one more failure doubles it
    assert (await throttle.attempt("x", "127.0.0.5", now, known_device=True)).allowed
    v = await throttle.attempt("x", "127.0.0.5", now, known_device=True)
    assert v.retry_after_s == pytest.approx(2 * b.base_s, abs=0.01)
    # Success forgets the pair.
    await throttle.succeeded("x", "127.0.0.5")
    assert (await throttle.attempt("x", "127.0.0.5", now, known_device=True)).allowed


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/%09/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\\/evil.example",
        "%2F%2Fevil.example",
        "/%2F/evil.example",
        "/%252F/evil.example",
        "/%5Cevil.example",
        "https://evil.example/",
        "http:/evil.example",
        "javascript:alert(1)",
        " //evil.example",
        "/ /evil.example",
        "/\x00/evil.example",
        "/\u3000/evil.example",
        "evil.example",
        "",
    ],
)
def test_safe_next_refuses_every_way_off_site(target):
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/", "/orders", "/orders/A-1?tab=calls", "/audit#x"])
def test_safe_next_keeps_local_paths(target):
    assert safe_next(target) == target


async def test_redirect_after_sign_in_stays_on_site(client):
    for nxt in ("/%09/evil.example", "/\t/evil.example", "//evil.example", "/\\evil.example",
                "%2F%2Fevil.example", "/orders"):  # fmt: skip
        csrf, cookie = await login_form(client)
        resp = await post_login(client, "anna", "anna-pass-1", csrf, cookie, nxt=nxt)
        assert resp.status == 302
        assert resp.headers["Location"] == ("/orders" if nxt == "/orders" else "/"), nxt
    # ``next`` in the query string of the login page too.
    resp = await client.get("/login?next=/%09/evil.example")
    assert 'name="next" value="/"' in await resp.text()
