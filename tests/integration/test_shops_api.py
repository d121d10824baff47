"""The shops API and the dashboard's per-shop pause on real Redis: changes reach another
worker's registry without a restart, secrets never come back in full, bad input is a 4xx
naming the field, and the admission gate's limits hash follows every change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from robot.adapters.redis_store import RedisOrderStore
from robot.adapters.shop_registry import ShopRegistry, redis_keys
from robot.config import Settings
from robot.devtools.sandbox import supervisors_json
from robot.testing import wait_until
from robot.web.app import make_web_app

TOKEN = "installation-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
SHOP_TOKEN = "token-of-romashka-0123456789"
USERS = {"anna": ("admin", "anna-pass-1")}


@pytest.fixture
async def setup(
    store: RedisOrderStore, tmp_path: Path
) -> AsyncIterator[tuple[TestClient[Any, Any], ShopRegistry]]:
    shops_file = tmp_path / "shops.yaml"
    shops_file.write_text("shops:\n  - name: Файловый\n    max_calls: 2\n", encoding="utf-8")
    settings = Settings(api_token=TOKEN, supervisors=supervisors_json(USERS), var_dir=tmp_path,
                        shops_file=shops_file)  # fmt: skip
    other_worker = ShopRegistry.from_settings(settings, store.redis, poll_s=30)
    await other_worker.start()
    app = make_web_app(settings, store)  # robot serve's registry: its own
    try:
        async with TestClient(TestServer(app)) as client:
            yield client, other_worker
    finally:
        await other_worker.stop()


async def test_put_get_list_delete_and_another_worker_sees_it(
    setup: tuple[TestClient[Any, Any], ShopRegistry], store: RedisOrderStore
) -> None:
    client, other = setup
    doc = {"api_token": SHOP_TOKEN, "webhook_url": "http://127.0.0.1:9/hook",
           "webhook_secret": "romashka-webhook-secret", "caller_id": '"Р" <+74950000001>',
           "hours": "10:00-19:00", "timezone": "Europe/Samara",
           "max_calls": 3, "cps": 0.5}  # fmt: skip
    r = await client.put("/api/v1/shops/Ромашка", json=doc, headers=ADMIN)
    assert r.status == 201, await r.text()
    body = await r.json()
    assert body["name"] == "Ромашка" and body["source"] == "api" and body["hours"] == "10:00-19:00"
    assert body["api_token"] == "****6789" and body["webhook_secret"] == "****cret"
    assert SHOP_TOKEN not in await r.text() and "romashka-webhook-secret" not in await r.text()

    await wait_until(lambda: other.get("Ромашка") is not None, 10)
    assert other.by_token(SHOP_TOKEN).name == "Ромашка"  # type: ignore[union-attr]
    assert await store.redis.hgetall(redis_keys.shop_limits("Ромашка")) == {
        "paused": "0", "max_calls": "3", "cps": "0.5"}  # fmt: skip

    # the document as GET shows it, edited and saved back: the secrets stay
    got = await (await client.get("/api/v1/shops/Ромашка", headers=ADMIN)).json()
    edited = {k: v for k, v in got.items() if k not in ("source", "defined_in")}
    edited["max_calls"] = 5
    r = await client.put("/api/v1/shops/Ромашка", json=edited, headers=ADMIN)
    assert r.status == 200, await r.text()
    await wait_until(lambda: other.get("Ромашка").max_calls == 5, 10)  # type: ignore[union-attr]
    shop = other.get("Ромашка")
    assert shop is not None and shop.api_token is not None and shop.webhook_secret is not None
    assert shop.api_token.get_secret_value() == SHOP_TOKEN
    assert shop.webhook_secret.get_secret_value() == "romashka-webhook-secret"
    assert (await store.redis.hgetall(redis_keys.shop_limits("Ромашка")))["max_calls"] == "5"

    listing = await (await client.get("/api/v1/shops", headers=ADMIN)).json()
    assert [s["name"] for s in listing["shops"]] == ["Ромашка", "Файловый"]
    assert listing["shops"][1]["source"] == "file" and listing["shops"][1]["max_calls"] == 2

    # a shop's own token opens its orders, not the installation's shop settings
    r = await client.get("/api/v1/shops", headers={"Authorization": f"Bearer {SHOP_TOKEN}"})
    assert r.status == 403

    r = await client.delete("/api/v1/shops/Ромашка", headers=ADMIN)
    assert r.status == 200 and (await r.json()) == {
        "name": "Ромашка",
        "deleted": True,
        "shop": None,
    }
    await wait_until(lambda: other.get("Ромашка") is None, 10)
    assert other.by_token(SHOP_TOKEN) is None
    assert await store.redis.exists(redis_keys.shop_limits("Ромашка")) == 0
    r = await client.get("/api/v1/shops/Ромашка", headers=ADMIN)
    assert r.status == 404 and (await r.json())["field"] == "name"


async def test_an_api_copy_of_a_file_shop_and_deleting_it(
    setup: tuple[TestClient[Any, Any], ShopRegistry],
) -> None:
    client, other = setup
    r = await client.delete("/api/v1/shops/Файловый", headers=ADMIN)
    assert r.status == 409 and (await r.json())["error"] == "not_from_api"
    r = await client.put("/api/v1/shops/Файловый", json={"max_calls": 7}, headers=ADMIN)
    assert r.status == 200 and (await r.json())["defined_in"] == ["file", "api"]
    await wait_until(lambda: other.get("Файловый").max_calls == 7, 10)  # type: ignore[union-attr]
    r = await client.delete("/api/v1/shops/Файловый", headers=ADMIN)
    body = await r.json()
    assert r.status == 200 and body["shop"]["source"] == "file" and body["shop"]["max_calls"] == 2
    await wait_until(lambda: other.get("Файловый").max_calls == 2, 10)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("doc", "status", "field"),
    [
        ({"max_calls": -1}, 422, "max_calls"),
        ({"hours": "25:00-26:00"}, 422, "hours"),
        ({"timezone": "Mars/Olympus"}, 422, "timezone"),
        ({"webhok_url": "http://127.0.0.1/"}, 422, "webhok_url"),
        ({"name": "Другой"}, 422, "name"),
        ({"statuses": {"Bad Status": "confirm"}}, 422, "statuses"),
        ({"api_token": TOKEN}, 422, "api_token"),  # the installation's token
        ([1, 2], 400, "body"),
    ],
)
async def test_bad_documents_are_4xx_naming_the_field_and_change_nothing(
    setup: tuple[TestClient[Any, Any], ShopRegistry], doc: Any, status: int, field: str
) -> None:
    client, _ = setup
    r = await client.put("/api/v1/shops/Ромашка", json=doc, headers=ADMIN)
    assert r.status == status, await r.text()
    assert (await r.json())["field"] == field
    r = await client.get("/api/v1/shops/Ромашка", headers=ADMIN)
    assert r.status == 404
    r = await client.put("/api/v1/shops/Ромашка", json={"max_calls": 1}, headers=ADMIN)
    assert r.status == 201  # the next input is not blocked


async def test_the_dashboard_pauses_one_shop_for_every_worker(
    setup: tuple[TestClient[Any, Any], ShopRegistry], store: RedisOrderStore
) -> None:
    client, other = setup
    page = await client.get("/login")
    csrf = (await page.text()).split('name="csrf" value="')[1].split('"')[0]
    await client.post("/login", data={"username": "anna", "password": "anna-pass-1", "csrf": csrf})
    session_csrf = (await (await client.get("/dashboard/api/me")).json())["csrf"]
    hdr = {"X-CSRF-Token": session_csrf}
    shops = await (await client.get("/dashboard/api/shops")).json()
    assert shops["shops"] == [{"name": "Файловый", "paused": False, "source": "file",
                               "configured": True}]  # fmt: skip
    r = await client.post("/dashboard/api/shops/Файловый/pause", headers=hdr)
    assert r.status == 200 and (await r.json())["paused"] is True
    await wait_until(lambda: other.get("Файловый").paused, 10)  # type: ignore[union-attr]
    assert other.source("Файловый") == "file"  # a pause is not a copy of its settings
    assert (await store.redis.hgetall(redis_keys.shop_limits("Файловый")))["paused"] == "1"
    r = await client.post("/dashboard/api/shops/Файловый/resume", headers=hdr)
    assert r.status == 200 and (await r.json())["paused"] is False
    await wait_until(lambda: not other.get("Файловый").paused, 10)  # type: ignore[union-attr]
    r = await client.post("/dashboard/api/shops/Нет такого/pause", headers=hdr)
    assert r.status == 404


async def test_a_token_another_shop_has_is_refused(
    setup: tuple[TestClient[Any, Any], ShopRegistry],
) -> None:
    client, other = setup
    doc = {"api_token": SHOP_TOKEN}
    assert (await client.put("/api/v1/shops/Ромашка", json=doc, headers=ADMIN)).status == 201
    r = await client.put("/api/v1/shops/Лютик", json=doc, headers=ADMIN)
    body = await r.json()
    assert r.status == 422 and body["field"] == "api_token" and "Ромашка" in body["message"]
    assert SHOP_TOKEN not in await r.text()
    await wait_until(lambda: other.get("Ромашка") is not None, 10)
    assert other.get("Лютик") is None and other.by_token(SHOP_TOKEN).name == "Ромашка"  # type: ignore[union-attr]
