"""The call-policy HTTP routes (do-not-call list, cancel, update, explain) on a real Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from robot.adapters.dnc_store import DncStore
from robot.adapters.order_control import OrderControl
from robot.adapters.redis_store import RedisOrderStore
from robot.config import Settings
from robot.core.models import CallAttempt, OrderStatus, Outcome
from robot.core.policy_config import PolicyConfig
from robot.web.api.policy import PolicyServices
from robot.web.app import make_web_app

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PHONE = "+79161234567"
ORDER = {"order_id": "A-1", "phone": PHONE, "amount": "2490", "shop_name": "Ромашка"}


@pytest.fixture
async def client(store: RedisOrderStore):
    settings = Settings(api_token=TOKEN, default_region="RU")
    policy = PolicyServices(DncStore(store.redis), OrderControl(store), PolicyConfig())
    app = make_web_app(settings, store, policy=policy)
    async with TestClient(TestServer(app)) as c:
        yield c


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", f"/api/v1/dnc/{PHONE}"), ("GET", "/api/v1/dnc"), ("DELETE", f"/api/v1/dnc/{PHONE}"),
     ("POST", "/api/v1/dnc/import"), ("POST", "/api/v1/orders/A-1/cancel"),
     ("PATCH", "/api/v1/orders/A-1"), ("GET", "/api/v1/orders/A-1/explain")],
)  # fmt: skip
async def test_every_route_needs_the_token(client, method, path):
    resp = await client.request(method, path, headers={"Authorization": "Bearer nope"})
    assert resp.status == 401 and (await resp.json())["error"] == "unauthorized"


async def test_dnc_put_get_list_delete(client):
    resp = await client.put("/api/v1/dnc/8 916 123-45-67", json={"reason": "asked"},
                            headers=AUTH)  # fmt: skip
    body = await resp.json()
    assert resp.status == 201 and body["phone"] == PHONE and body["added"] is True
    assert body["source"] == "api" and body["reason"] == "asked"
    resp = await client.put(f"/api/v1/dnc/%2B{PHONE[1:]}", headers=AUTH)
    assert resp.status == 200 and (await resp.json())["added"] is False
    resp = await client.get(f"/api/v1/dnc/{PHONE}", headers=AUTH)
    assert resp.status == 200 and (await resp.json())["reason"] == "asked"
    resp = await client.get("/api/v1/dnc?limit=10", headers=AUTH)
    page = await resp.json()
    assert page["total"] == 1 and page["items"][0]["phone"] == PHONE
    resp = await client.delete(f"/api/v1/dnc/{PHONE}", headers=AUTH)
    assert resp.status == 200 and (await resp.json())["removed"] is True
    for method in ("GET", "DELETE"):
        resp = await client.request(method, f"/api/v1/dnc/{PHONE}", headers=AUTH)
        assert resp.status == 404 and (await resp.json())["error"] == "not_found"


async def test_dnc_bad_input(client):
    resp = await client.put("/api/v1/dnc/12", headers=AUTH)
    assert resp.status == 422 and (await resp.json())["field"] == "phone"
    resp = await client.put(f"/api/v1/dnc/{PHONE}", data="{", headers=AUTH)
    assert resp.status == 400 and (await resp.json())["error"] == "invalid_json"
    resp = await client.get("/api/v1/dnc?offset=x", headers=AUTH)
    assert resp.status == 422


async def test_dnc_import_reports_rows(client):
    csv = "phone,reason\n+79161234567,complaint\n89161234568\nnonsense\n+79161234567\n"
    resp = await client.post("/api/v1/dnc/import", data=csv.encode(), headers=AUTH)
    report = await resp.json()
    assert resp.status == 200
    assert (report["accepted"], report["added"], report["already"]) == (2, 2, 0)
    [bad] = report["rejected"]
    assert (bad["line"], bad["value"]) == (4, "nonsense") and "not a phone" in bad["error"]
    resp = await client.get("/api/v1/dnc", headers=AUTH)
    assert (await resp.json())["total"] == 2


async def test_order_on_the_list_is_dnc_at_intake(client):
    await client.put(f"/api/v1/dnc/{PHONE}", headers=AUTH)
    resp = await client.post("/api/v1/orders", json=ORDER, headers=AUTH)
    assert resp.status == 201 and (await resp.json())["status"] == "dnc"


async def test_cancel_and_patch(client, store):
    assert (await client.post("/api/v1/orders", json=ORDER, headers=AUTH)).status == 201
    resp = await client.patch("/api/v1/orders/A-1", json={"amount": "100"}, headers=AUTH)
    assert resp.status == 200 and (await resp.json())["changed"] is True
    assert str((await store.get_order("A-1")).order.amount) == "100"
    resp = await client.patch("/api/v1/orders/A-1", json={"amount": "-1"}, headers=AUTH)
    assert resp.status == 422 and (await resp.json())["field"] == "amount"
    resp = await client.post("/api/v1/orders/A-1/cancel", headers=AUTH)
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "cancelled" and body["previous"] == "queued"
    resp = await client.post("/api/v1/orders/A-1/cancel", json={"reason": "x"}, headers=AUTH)
    assert resp.status == 200 and (await resp.json())["changed"] is False
    resp = await client.patch("/api/v1/orders/A-1", json={"amount": "5"}, headers=AUTH)
    assert resp.status == 409 and (await resp.json())["status"] == "cancelled"
    resp = await client.post("/api/v1/orders/nope/cancel", headers=AUTH)
    assert resp.status == 404


async def test_cancel_of_another_final_status_conflicts(client, store):
    await client.post("/api/v1/orders", json=ORDER, headers=AUTH)
    await client.patch("/api/v1/orders/A-1", json={"do_not_call": True}, headers=AUTH)
    resp = await client.post("/api/v1/orders/A-1/cancel", headers=AUTH)
    assert resp.status == 409 and (await resp.json())["error"] == "order_final"


async def test_explain(client, store):
    await client.post("/api/v1/orders", json=ORDER, headers=AUTH)
    night = "2030-01-15T20:00:00+00:00"  # 23:00 in Moscow
    resp = await client.get("/api/v1/orders/A-1/explain", params={"now": night}, headers=AUTH)
    body = await resp.json()
    assert resp.status == 200 and body["action"] == "wait" and body["status"] == "queued"
    assert body["at"] == "2030-01-16T06:00:00+00:00" and "Europe/Moscow" in body["reason"]
    # A no-answer a minute ago: the retry delay is what keeps it waiting.
    t = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)
    rec = await store.claim_due(datetime.now(UTC), "w1", 60)
    call = CallAttempt(call_id="c1", order_id="A-1", phone=PHONE, language="ru", created_at=t,
                       ended_at=t, outcome=Outcome.NO_ANSWER, attempt=rec.attempts)  # fmt: skip
    await store.finish_call(call, OrderStatus.QUEUED, t, due_at=t + timedelta(minutes=10))
    resp = await client.get("/api/v1/orders/A-1/explain",
                            params={"now": "2030-01-15T09:01:00Z"}, headers=AUTH)  # fmt: skip
    body = await resp.json()
    assert body["action"] == "wait" and "no answer" in body["reason"]
    assert body["at"] == "2030-01-15T09:10:00+00:00"
    await client.put(f"/api/v1/dnc/{PHONE}", headers=AUTH)
    resp = await client.get("/api/v1/orders/A-1/explain", headers=AUTH)
    assert (await resp.json())["action"] == "stop"
    resp = await client.get("/api/v1/orders/nope/explain", headers=AUTH)
    assert resp.status == 404
    resp = await client.get("/api/v1/orders/A-1/explain", params={"now": "soon"}, headers=AUTH)
    assert resp.status == 422
