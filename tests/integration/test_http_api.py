"""The intake HTTP API through aiohttp's test client, on a real Redis."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from robot.adapters.redis_store import RedisOrderStore
from robot.config import Settings
from robot.web.app import make_web_app

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ORDER = {"order_id": "A-1", "phone": "8 916 123-45-67", "amount": "2490.50", "shop_name": "Ромашка"}


@pytest.fixture
async def client(store: RedisOrderStore):
    settings = Settings(api_token=TOKEN, default_region="RU")
    async with TestClient(TestServer(make_web_app(settings, store))) as c:
        yield c


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}]
)
async def test_requires_the_bearer_token(client, headers):
    for method, path in (("POST", "/api/v1/orders"), ("GET", "/api/v1/orders/A-1")):
        resp = await client.request(method, path, json=ORDER, headers=headers)
        assert resp.status == 401
        assert (await resp.json())["error"] == "unauthorized"


async def test_new_then_duplicate(client, store):
    resp = await client.post("/api/v1/orders", json=ORDER, headers=AUTH)
    assert resp.status == 201
    assert await resp.json() == {"order_id": "A-1", "status": "queued", "duplicate": False}
    resp = await client.post("/api/v1/orders", json={**ORDER, "amount": "1"}, headers=AUTH)
    assert resp.status == 200
    assert await resp.json() == {"order_id": "A-1", "status": "queued", "duplicate": True}
    assert await store.redis.zcard("dozvon:due") == 1


async def test_do_not_call_order_is_final_at_once(client):
    resp = await client.post("/api/v1/orders", json={**ORDER, "do_not_call": True}, headers=AUTH)
    assert resp.status == 201 and (await resp.json())["status"] == "dnc"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"amount": None}, "amount"),
        ({"language": "fr"}, "language"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"order_id": "bad id with spaces"}, "order_id"),
    ],
)
async def test_invalid_field_is_named(client, change, field):
    doc = {k: v for k, v in {**ORDER, **change}.items() if v is not None}
    resp = await client.post("/api/v1/orders", json=doc, headers=AUTH)
    assert resp.status == 422
    body = await resp.json()
    assert body["error"] == "invalid_field" and body["field"] == field and body["message"]


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b""])
async def test_malformed_json_is_400(client, raw):
    resp = await client.post("/api/v1/orders", data=raw, headers=AUTH)
    assert resp.status == 400
    assert (await resp.json())["error"] == "invalid_json"


async def test_non_object_body_is_422(client):
    resp = await client.post("/api/v1/orders", json=[ORDER], headers=AUTH)
    assert resp.status == 422 and (await resp.json())["field"] == "body"


async def test_get_order_with_calls(client):
    await client.post("/api/v1/orders", json=ORDER, headers=AUTH)
    resp = await client.get("/api/v1/orders/A-1", headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert body["order"]["phone"] == "+79161234567" and body["order"]["amount"] == "2490.50"
    assert body["status"] == "queued" and body["calls"] == [] and body["attempts"] == 0
    resp = await client.get("/api/v1/orders/nope", headers=AUTH)
    assert resp.status == 404 and (await resp.json())["error"] == "not_found"


async def test_unknown_api_route_is_json(client):
    resp = await client.get("/api/v1/nothing-here", headers=AUTH)
    assert resp.status == 404 and (await resp.json())["error"] == "not_found"


async def test_healthz(client):
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json())["redis"] == "ok"


async def test_store_down_is_503_json():
    store = RedisOrderStore.from_url("redis://127.0.0.1:1/0", retries=0)  # nothing on port 1
    app = make_web_app(Settings(api_token=TOKEN), store)
    try:
        async with TestClient(TestServer(app)) as c:
            resp = await c.post("/api/v1/orders", json=ORDER, headers=AUTH)
            assert resp.status == 503 and (await resp.json())["error"] == "store_unavailable"
            resp = await c.get("/healthz")
            assert resp.status == 503 and (await resp.json())["status"] == "unavailable"
    finally:
        await store.aclose()
