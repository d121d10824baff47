"""Shops as tenants over HTTP, on a real Redis: each shop's API token sees and changes only
its own orders, the installation's token sees all, and a supervisor limited to one shop sees
only that shop on the dashboard (issue 10 item 4)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from robot.adapters.redis_live import RedisCallBoard
from robot.adapters.shop_registry import ShopRegistry
from robot.config import Settings
from robot.core.models import Outcome
from robot.core.shops import ShopConfig
from robot.devtools.sandbox import add_history
from robot.ports import CallState, CallStateChange
from robot.testing.web import login, sse_event
from robot.web.app import make_web_app
from robot.web.auth import hash_password

ADMIN = {"Authorization": "Bearer installation-token"}
SHOP_A = {"Authorization": "Bearer token-of-shop-a"}
SHOP_B = {"Authorization": "Bearer token-of-shop-b"}
PHONE = "+79161234567"


def order(order_id: str, shop: str | None) -> dict:
    doc = {"order_id": order_id, "phone": PHONE, "amount": "990"}
    return doc if shop is None else {**doc, "shop_name": shop}


def supervisors() -> str:
    return json.dumps([
        {"name": "anna", "role": "admin", "password": hash_password("anna-pass-1"),
         "shops": ["Alfa"]},
        {"name": "vera", "role": "viewer", "password": hash_password("vera-pass-1"),
         "shops": ["Alfa"]},
        {"name": "oleg", "role": "admin", "password": hash_password("oleg-pass-1")},
    ])  # fmt: skip


@pytest.fixture
async def client(store, tmp_path):
    settings = Settings(api_token="installation-token", supervisors=supervisors(), var_dir=tmp_path)
    shops = ShopRegistry({
        "Alfa": ShopConfig(name="Alfa", api_token="token-of-shop-a"),
        "Beta": ShopConfig(name="Beta", api_token="token-of-shop-b"),
    })  # fmt: skip
    async with TestClient(TestServer(make_web_app(settings, store, shops=shops))) as c:
        yield c


async def create(client: TestClient, doc: dict, headers: dict) -> tuple[int, dict]:
    resp = await client.post("/api/v1/orders", json=doc, headers=headers)
    return resp.status, await resp.json()


async def test_each_shop_creates_only_its_own_orders(client):
    assert (await create(client, order("A-1", "Alfa"), SHOP_A))[0] == 201
    status, body = await create(client, order("B-1", "Alfa"), SHOP_B)
    assert status == 403 and body["error"] == "forbidden" and body["field"] == "shop_name"
    status, body = await create(client, order("B-1", None), SHOP_B)  # its own shop by default
    assert status == 201
    read = await client.get("/api/v1/orders/B-1", headers=ADMIN)
    assert (await read.json())["order"]["shop_name"] == "Beta"
    assert (await create(client, order("X-1", "Gamma"), ADMIN))[0] == 201  # admin: any shop


async def test_another_shops_order_does_not_exist_for_a_shop(client):
    await create(client, order("A-1", "Alfa"), SHOP_A)
    await create(client, order("B-1", "Beta"), SHOP_B)
    for headers, mine, theirs in ((SHOP_A, "A-1", "B-1"), (SHOP_B, "B-1", "A-1")):
        assert (await client.get(f"/api/v1/orders/{mine}", headers=headers)).status == 200
        for method, path, body in (
            ("GET", f"/api/v1/orders/{theirs}", None),
            ("GET", f"/api/v1/orders/{theirs}/explain", None),
            ("POST", f"/api/v1/orders/{theirs}/cancel", {"reason": "not mine"}),
            ("PATCH", f"/api/v1/orders/{theirs}", {"customer_name": "Someone"}),
            ("POST", f"/api/v1/orders/{theirs}/status", {"status": "cancelled"}),
        ):
            resp = await client.request(method, path, json=body, headers=headers)
            doc = await resp.json()
            assert resp.status == 404 and doc["error"] == "not_found", (method, path, doc)
            assert doc == {"error": "not_found", "message": f"no order {theirs!r}"}
        # The same answer as for an id nobody has: nothing tells the orders apart.
        unknown = await client.get("/api/v1/orders/Z-404", headers=headers)
        assert (await unknown.json())["message"] == "no order 'Z-404'"
    # Nothing was changed by the refused calls.
    for oid in ("A-1", "B-1"):
        doc = await (await client.get(f"/api/v1/orders/{oid}", headers=ADMIN)).json()
        assert doc["status"] == "queued" and doc["order"].get("customer_name") is None
    resp = await client.post("/api/v1/orders/A-1/status", json={"status": "picked_up"},
                             headers=SHOP_A)  # fmt: skip
    assert resp.status == 200 and (await resp.json())["result"] == "applied"
    doc = await (await client.get("/api/v1/orders/B-1", headers=SHOP_B)).json()
    assert doc["status"] == "queued"


async def test_a_shop_cancels_its_own_and_the_admin_sees_both(client):
    await create(client, order("A-1", "Alfa"), SHOP_A)
    await create(client, order("B-1", "Beta"), SHOP_B)
    resp = await client.post("/api/v1/orders/A-1/cancel", headers=SHOP_A)
    assert resp.status == 200 and (await resp.json())["status"] == "cancelled"
    for oid, status in (("A-1", "cancelled"), ("B-1", "queued")):
        resp = await client.get(f"/api/v1/orders/{oid}", headers=ADMIN)
        assert resp.status == 200 and (await resp.json())["status"] == status
    resp = await client.post("/api/v1/orders/B-1/cancel", headers=ADMIN)
    assert resp.status == 200


async def test_a_taken_order_id_does_not_leak_the_other_shops_order(client):
    await create(client, order("SAME", "Alfa"), SHOP_A)
    status, body = await create(client, order("SAME", "Beta"), SHOP_B)
    assert status == 409 and body["error"] == "order_id_taken" and body["field"] == "order_id"
    assert "status" not in body
    status, body = await create(client, order("SAME", "Alfa"), SHOP_A)
    assert status == 200 and body["duplicate"] is True


async def test_shop_tokens_do_not_open_installation_routes_or_the_dashboard(client):
    for method, path in (("GET", "/api/v1/dnc"), ("PUT", f"/api/v1/dnc/{PHONE}"),
                         ("GET", "/api/v1/webhooks/failed"), ("GET", "/dashboard/api/orders"),
                         ("GET", "/dashboard/api/overview"), ("GET", "/metrics")):  # fmt: skip
        resp = await client.request(method, path, headers=SHOP_A)
        body = await resp.json()
        assert resp.status == 403 and body["error"] == "forbidden", (method, path)
    assert (await client.get("/api/v1/dnc", headers=ADMIN)).status == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "token-of-shop-a"},
     {"Authorization": "Basic dG9rZW4tb2Ytc2hvcC1hOg=="}, {"Authorization": "Bearer "}],
)  # fmt: skip
async def test_wrong_or_missing_token_is_401_in_the_one_error_shape(client, headers):
    for method, path in (("POST", "/api/v1/orders"), ("GET", "/api/v1/orders/A-1"),
                         ("POST", "/api/v1/orders/A-1/cancel")):  # fmt: skip
        resp = await client.request(method, path, json=order("A-1", "Alfa"), headers=headers)
        assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
        body = await resp.json()
        assert set(body) == {"error", "message"} and body["error"] == "unauthorized"


async def test_a_supervisor_limited_to_one_shop_sees_only_it(client):
    await create(client, order("A-1", "Alfa"), SHOP_A)
    await create(client, order("B-1", "Beta"), SHOP_B)
    csrf = await login(client, "anna", "anna-pass-1")
    me = await (await client.get("/dashboard/api/me")).json()
    assert me["shops"] == ["Alfa"]
    listed = await (await client.get("/dashboard/api/orders")).json()
    assert [o["order_id"] for o in listed["orders"]] == ["A-1"] and listed["total"] == 1
    searched = await (await client.get("/dashboard/api/orders?q=B-1")).json()
    assert searched["orders"] == [] and searched["total"] == 0
    report = await (await client.get("/dashboard/api/reports")).json()
    assert report["funnel"]["orders"] == 1
    export = await (await client.get("/dashboard/api/export/orders.csv")).text()
    assert "A-1" in export and "B-1" not in export
    assert (await client.get("/dashboard/api/orders/A-1")).status == 200
    assert (await client.get("/dashboard/api/orders/B-1")).status == 404
    # The CRM API from the dashboard: the same scope.
    assert (await client.get("/api/v1/orders/A-1/explain")).status == 200
    assert (await client.get("/api/v1/orders/B-1/explain")).status == 404
    post = {"headers": {"X-CSRF-Token": csrf}}
    assert (await client.post("/dashboard/api/orders/B-1/retry", json={}, **post)).status == 404
    assert (await client.post("/api/v1/orders/B-1/cancel", **post)).status == 404
    assert (await client.post("/api/v1/orders/A-1/cancel", **post)).status == 200
    # What acts on every shop is not for an account limited to some.
    resp = await client.post("/dashboard/api/control/pause", **post)
    assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
    assert (await client.get("/dashboard/api/audit")).status == 403
    assert (await client.get("/metrics")).status == 403  # counts of every shop
    doc = await (await client.get("/api/v1/orders/B-1", headers=ADMIN)).json()
    assert doc["status"] == "queued"


async def test_an_unlimited_supervisor_sees_every_shop(client):
    await create(client, order("A-1", "Alfa"), SHOP_A)
    await create(client, order("B-1", "Beta"), SHOP_B)
    await login(client, "oleg", "oleg-pass-1")
    listed = await (await client.get("/dashboard/api/orders")).json()
    assert sorted(o["order_id"] for o in listed["orders"]) == ["A-1", "B-1"]
    report = await (await client.get("/dashboard/api/reports")).json()
    assert report["funnel"]["orders"] == 2
    assert (await client.get("/dashboard/api/orders/B-1")).status == 200
    assert (await client.get("/dashboard/api/audit")).status == 200


async def test_a_limited_viewer_reads_its_shop_and_changes_nothing(client):
    await create(client, order("A-1", "Alfa"), SHOP_A)
    await create(client, order("B-1", "Beta"), SHOP_B)
    csrf = await login(client, "vera", "vera-pass-1")
    listed = await (await client.get("/dashboard/api/orders")).json()
    assert [o["order_id"] for o in listed["orders"]] == ["A-1"]
    resp = await client.post("/api/v1/orders/A-1/cancel", headers={"X-CSRF-Token": csrf})
    assert resp.status == 403
    assert (await client.get("/api/v1/orders/A-1")).status == 403  # phones in full: admins


def _call(call_id: str, order_id: str, state: CallState, **kw: Any) -> CallStateChange:
    """A board entry; without shop_name (an older worker) the order is looked up."""
    now = datetime.now(UTC)
    return CallStateChange(call_id=call_id, order_id=order_id, state=state, at=now,
                           started_at=now, attempt=1, phone=PHONE, language="ru",
                           **kw)  # fmt: skip


async def test_the_live_board_of_a_limited_supervisor_shows_only_its_shop(client, store):
    await create(client, order("A-1", "Alfa"), SHOP_A)
    await create(client, order("B-1", "Beta"), SHOP_B)
    board = RedisCallBoard(store.redis, worker_id="w1", timezone="UTC")
    board.start()  # its owner starts the writer (publish no longer does)
    board.publish(_call("ca", "A-1", CallState.LISTENING))
    board.publish(_call("cb", "B-1", CallState.LISTENING, shop_name="Beta"))  # named by the worker
    await board.flush()
    csrf = await login(client, "anna", "anna-pass-1")
    doc = await (await client.get("/dashboard/api/overview")).json()
    assert [c["call_id"] for c in doc["live_calls"]] == ["ca"]
    resp = await client.get("/dashboard/api/events")
    name, data = await asyncio.wait_for(sse_event(resp), 10)
    assert name == "summary" and [c["call_id"] for c in data["live_calls"]] == ["ca"]
    board.publish(_call("cb", "B-1", CallState.SPEAKING))  # another shop's: never shown
    board.publish(_call("ca", "A-1", CallState.SPEAKING))
    async with asyncio.timeout(10):
        while (ev := await sse_event(resp))[0] != "call":
            pass
    assert ev[1]["call_id"] == "ca" and ev[1]["state"] == "speaking"
    resp.close()
    await board.stop()
    await client.post("/logout", headers={"X-CSRF-Token": csrf})
    await login(client, "oleg", "oleg-pass-1")
    doc = await (await client.get("/dashboard/api/overview")).json()
    assert sorted(c["call_id"] for c in doc["live_calls"]) == ["ca", "cb"]


async def test_follow_ups_of_a_limited_supervisor_are_its_shops_only(client, store):
    now = datetime.now(UTC)
    for oid, shop in (("A-9", "Alfa"), ("B-9", "Beta")):
        await add_history(store, order(oid, shop), now, [(Outcome.OPERATOR, 20.0, ["оператор"])])
    csrf = await login(client, "anna", "anna-pass-1")
    doc = await (await client.get("/dashboard/api/followups")).json()
    assert [f["order_id"] for f in doc["followups"]] == ["A-9"]
    assert (await client.get("/dashboard/api/followups/A-9")).status == 200
    assert (await client.get("/dashboard/api/followups/B-9")).status == 404
    post = {"headers": {"X-CSRF-Token": csrf}, "json": {}}
    assert (await client.post("/dashboard/api/followups/B-9/take", **post)).status == 404
    assert (await client.post("/dashboard/api/followups/A-9/take", **post)).status == 200


async def test_todays_numbers_of_a_limited_supervisor_are_its_shops_only(client, store):
    board = RedisCallBoard(store.redis, worker_id="w1", timezone="UTC")
    board.start()  # its owner starts the writer (publish no longer does)
    for cid, shop, outcome in (("c1", "Alfa", Outcome.CONFIRMED), ("c2", "Beta", Outcome.BUSY),
                               ("c3", "Beta", Outcome.REJECTED)):  # fmt: skip
        board.publish(_call(cid, cid, CallState.ENDED, shop_name=shop, outcome=outcome))
    await board.flush()
    await board.stop()
    csrf = await login(client, "anna", "anna-pass-1")  # Alfa only
    today = (await (await client.get("/dashboard/api/overview")).json())["today"]
    assert today["calls"] == 1 and today["outcomes"] == {"confirmed": 1}
    assert sum(h.get("confirmed", 0) for h in today["hours"]) == 1
    await client.post("/logout", headers={"X-CSRF-Token": csrf})
    await login(client, "oleg", "oleg-pass-1")  # every shop
    today = (await (await client.get("/dashboard/api/overview")).json())["today"]
    assert today["calls"] == 3 and today["outcomes"] == {"confirmed": 1, "busy": 1, "rejected": 1}
