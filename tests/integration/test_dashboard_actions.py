"""Dashboard actions, queries, live events and metrics on real Redis."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from robot.adapters.redis_live import RedisCallBoard
from robot.config import Settings
from robot.core.models import CallAttempt, Order, OrderStatus, Outcome
from robot.devtools.sandbox import sandbox, supervisors_json
from robot.ports import CallState, CallStateChange
from robot.testing.web import sse_event
from robot.web.app import make_web_app

TOKEN = "crm-token"
CRM = {"Authorization": f"Bearer {TOKEN}"}
USERS = {"anna": ("admin", "anna-pass-1")}


def order(oid: str, phone: str = "+79161234567") -> Order:
    return Order(order_id=oid, phone=phone, amount="100", shop_name="Ромашка")


@pytest.fixture
async def client(store, tmp_path):
    settings = Settings(
        api_token=TOKEN, supervisors=supervisors_json(USERS), var_dir=tmp_path,
        dashboard_timezone="UTC",
    )  # fmt: skip
    async with TestClient(TestServer(make_web_app(settings, store))) as c:
        page = await c.get("/login")
        csrf = (await page.text()).split('name="csrf" value="')[1].split('"')[0]
        await c.post("/login", data={"username": "anna", "password": "anna-pass-1",
                                     "csrf": csrf})  # fmt: skip
        c.csrf = (await (await c.get("/dashboard/api/me")).json())["csrf"]
        yield c


async def post(c, url, body=None):
    return await c.post(url, json=body or {}, headers={"X-CSRF-Token": c.csrf})


async def audit(store) -> list[dict]:
    return [json.loads(e) for e in await store.redis.lrange("dozvon:audit", 0, -1)]


async def test_pause_resume_and_limits_are_stored_and_audited(client, store):
    resp = await post(client, "/dashboard/api/control/pause")
    assert (await resp.json())["paused"] is True
    assert await store.redis.hget("dozvon:control", "paused") == "1"
    resp = await post(client, "/dashboard/api/control/limits",
                      {"max_concurrent_calls": 3, "calls_per_second": 1.5})  # fmt: skip
    body = await resp.json()
    assert body["max_concurrent_calls"] == 3 and body["calls_per_second"] == 1.5
    assert body["updated_by"] == "anna"
    for bad in (
        {"max_concurrent_calls": -1},
        {"calls_per_second": 0},
        {"max_concurrent_calls": "x"},
    ):
        resp = await post(client, "/dashboard/api/control/limits", bad)
        assert resp.status == 422
    resp = await post(client, "/dashboard/api/control/limits", {"max_concurrent_calls": None})
    assert (await resp.json())["max_concurrent_calls"] is None
    await post(client, "/dashboard/api/control/resume")
    assert await store.redis.hget("dozvon:control", "paused") == "0"
    entries = await audit(store)
    assert [e["action"] for e in entries[:3]] == ["resume", "set_limits", "set_limits"]
    assert all(e["user"] == "anna" for e in entries)
    assert any(e["action"] == "pause" and e["status"] == 200 for e in entries)
    assert any(e["status"] == 422 for e in entries)  # refused attempts are logged too
    resp = await client.get("/dashboard/api/audit?limit=2")
    assert len((await resp.json())["entries"]) == 2


async def test_retry_now(client, store):
    now = datetime.now(UTC)
    await store.add_order(order("Q1"), now, due_at=now + timedelta(hours=2))
    resp = await post(client, "/dashboard/api/orders/Q1/retry")
    assert resp.status == 200 and (await resp.json())["was"] == "queued"
    assert await store.redis.zscore("dozvon:due", "Q1") <= datetime.now(UTC).timestamp()
    # An exhausted order is queued again; a final answer is not.
    await store.add_order(order("E1", "+79161234500"), now)
    rec = await store.claim_due(now, "w", 60)
    call = CallAttempt(call_id="c-e1", order_id=rec.order.order_id, phone=rec.order.phone,
                       language="ru", created_at=now, outcome=Outcome.NO_ANSWER)  # fmt: skip
    await store.finish_call(call, OrderStatus.EXHAUSTED, now)
    resp = await post(client, "/dashboard/api/orders/E1/retry")
    assert resp.status == 200 and (await store.get_order("E1")).status is OrderStatus.QUEUED
    rec = await store.claim_due(datetime.now(UTC), "w", 60)
    call = call.model_copy(update={"call_id": "c-e2", "attempt": 2, "outcome": Outcome.CONFIRMED})
    await store.finish_call(call, OrderStatus.CONFIRMED, now)
    resp = await post(client, "/dashboard/api/orders/E1/retry")
    assert resp.status == 409 and (await resp.json())["order_status"] == "confirmed"
    assert (await post(client, "/dashboard/api/orders/nope/retry")).status == 404
    retried = [e for e in await audit(store) if e["action"] == "retry_now"]
    assert {e["order_id"] for e in retried} == {"Q1", "E1", "nope"}
    timeline = await (await client.get("/dashboard/api/orders/E1")).json()
    assert [c["outcome"] for c in timeline["calls"]] == ["no_answer", "confirmed"]
    assert {e["action"] for e in timeline["audit"]} == {"retry_now"}


async def test_search_by_id_and_phone_masks_phones(client, store):
    now = datetime.now(UTC)
    await store.add_order(order("SHOP-100", "+79161110001"), now)
    await store.add_order(order("SHOP-200", "+79162220002"), now)
    await store.add_order(order("OTHER-1", "+79162220002"), now)

    async def ids(q: str, status: str = "") -> list[str]:
        resp = await client.get("/dashboard/api/orders", params={"q": q, "status": status})
        rows = (await resp.json())["orders"]
        assert all("***" in r["phone"] for r in rows)
        return sorted(r["order_id"] for r in rows)

    assert await ids("SHOP") == ["SHOP-100", "SHOP-200"]
    assert await ids("other-1") == ["OTHER-1"]
    assert await ids("8 916 222-00-02") == ["OTHER-1", "SHOP-200"]
    assert await ids("0001") == ["SHOP-100"]
    assert await ids("", "queued") == ["OTHER-1", "SHOP-100", "SHOP-200"]
    assert await ids("", "confirmed") == []
    assert (await client.get("/dashboard/api/orders", params={"status": "x"})).status == 422


async def test_recordings_are_served_only_from_the_recordings_folder(client, store, tmp_path):
    now = datetime.now(UTC)
    await store.add_order(order("R1"), now)
    rec_dir = tmp_path / "recordings"
    rec_dir.mkdir()
    (rec_dir / "c1.wav").write_bytes(b"RIFF....WAVE")
    (tmp_path / "secret.wav").write_bytes(b"nope")
    base = {"call_id": "c1", "order_id": "R1", "phone": "+79161234567", "language": "ru",
            "created_at": now.isoformat()}  # fmt: skip
    await store.redis.hset("dozvon:calls:R1", "c1", json.dumps({**base, "recording": "c1.wav"}))
    await store.redis.hset("dozvon:calls:R1", "c2", json.dumps(
        {**base, "call_id": "c2", "recording": "../secret.wav"}))  # fmt: skip
    timeline = await (await client.get("/dashboard/api/orders/R1")).json()
    urls = {c["call_id"]: c["recording_url"] for c in timeline["calls"]}
    assert urls["c1"] == "/dashboard/recordings/R1/c1"
    resp = await client.get(urls["c1"])
    assert resp.status == 200 and await resp.read() == b"RIFF....WAVE"
    assert (await client.get("/dashboard/recordings/R1/c2")).status == 404
    assert (await client.get("/dashboard/recordings/R1/zzz")).status == 404


def change(call_id: str, state: CallState, at: datetime, **kw) -> CallStateChange:
    return CallStateChange(call_id=call_id, order_id=f"o-{call_id}", state=state, at=at,
                           started_at=at, attempt=1, phone="+79161234567", language="ru",
                           **kw)  # fmt: skip


async def test_overview_live_calls_stats_and_metrics(client, store):
    board = RedisCallBoard(store.redis, worker_id="w1", timezone="UTC")
    board.start()
    now = datetime.now(UTC)
    board.publish(change("a", CallState.RINGING, now, intake_to_originate_ms=120.0))
    board.publish(change("b", CallState.LISTENING, now))
    board.publish(change("c", CallState.ENDED, now, outcome=Outcome.CONFIRMED,
                         speech_end_to_decision_ms=250.0))  # fmt: skip
    board.publish(change("d", CallState.ENDED, now, outcome=Outcome.UNCLEAR))
    board.publish(change("e", CallState.ENDED, now, outcome=Outcome.NO_ANSWER))
    await board.flush()
    await store.add_order(order("F1"), now, due_at=now + timedelta(hours=3))  # never called
    await store.add_order(order("N1", "+79161234501"), now)  # due now
    doc = await (await client.get("/dashboard/api/overview")).json()
    live = {c["call_id"]: c for c in doc["live_calls"]}
    assert set(live) == {"a", "b"} and live["b"]["state"] == "listening"
    assert live["a"]["phone"] == "+7916***4567" and live["a"]["worker"] == "w1"
    today = doc["today"]
    assert today["outcomes"] == {"confirmed": 1, "unclear": 1, "no_answer": 1}
    assert today["confirmation_rate"] == 0.5 and today["unclear_rate"] == 0.5
    assert today["median_first_call_ms"] == 120.0
    assert today["hours"][now.hour]["confirmed"] == 1
    assert doc["queue"]["due_now"] == 1 and doc["queue"]["waiting_hours"] == 1
    text = await (await client.get("/metrics")).text()
    assert 'dozvon_calls_total{outcome="confirmed"} 1.0' in text
    assert 'dozvon_calls_in_flight{state="listening"} 1.0' in text
    assert 'dozvon_queue_depth{kind="due_now"} 1.0' in text
    assert 'dozvon_dispatch_latency_seconds_bucket{le="0.25"} 1.0' in text
    assert "dozvon_recognition_latency_seconds_count 1.0" in text
    board.publish(change("a", CallState.ENDED, now, outcome=Outcome.BUSY))
    await board.flush()
    await board.stop()
    doc = await (await client.get("/dashboard/api/overview")).json()
    assert [c["call_id"] for c in doc["live_calls"]] == ["b"]


async def test_event_stream_pushes_call_changes(client, store):
    board = RedisCallBoard(store.redis, worker_id="w1")
    board.start()
    resp = await client.get("/dashboard/api/events")
    assert resp.headers["Content-Type"] == "text/event-stream"
    name, data = await asyncio.wait_for(sse_event(resp), 10)
    assert name == "summary" and data["live_calls"] == []
    board.publish(change("x", CallState.SPEAKING, datetime.now(UTC)))
    async with asyncio.timeout(10):
        while (ev := await sse_event(resp))[0] != "call":
            pass
    assert ev[1]["call_id"] == "x" and ev[1]["state"] == "speaking"
    await post(client, "/dashboard/api/control/pause")
    async with asyncio.timeout(10):
        while not ((ev := await sse_event(resp))[0] == "summary" and ev[1]["controls"]["paused"]):
            pass
    resp.close()
    await board.stop()


async def test_paused_dialer_starts_no_call_until_resumed(redis_server, tmp_path):
    async with sandbox(redis_server.url, var_dir=tmp_path) as box:
        await box.control.set_paused(True, by="test", now=datetime.now(UTC))
        await box.control_reads_after(2)
        await box.push_order({"order_id": "P1", "phone": "+79161234567", "amount": "1",
                              "shop_name": "Ромашка"})  # fmt: skip
        await box.control_reads_after(3)  # the dialer looked three times, paused each time
        assert box.originator.requests == []
        assert (await box.store.get_order("P1")).status is OrderStatus.QUEUED
        workers = await box.control.workers()
        assert workers[0]["paused"] is True and workers[0]["speech"][0]["language"] == "ru"
        await box.control.set_paused(False, by="test", now=datetime.now(UTC))
        req = await box.next_call()
        assert req.order_id == "P1"
        box.originator.answer(req.call_id)
        async with asyncio.timeout(30):
            while box.tracker.live()[0].state != "listening":
                await asyncio.sleep(0.05)
        box.originator.press(req.call_id, "1")
        async with asyncio.timeout(30):
            while (await box.store.get_order("P1")).status is not OrderStatus.CONFIRMED:
                await asyncio.sleep(0.05)


async def test_robot_serve_runs_the_http_side_alone(redis_server):
    import aiohttp

    from robot.commands.serve import serve
    from robot.testing import free_port

    port = free_port()
    stop = asyncio.Event()
    settings = Settings(redis_url=redis_server.url, http_port=port, api_token=TOKEN)
    task = asyncio.create_task(serve(settings, stop=stop))
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(20):
                while True:
                    try:
                        async with http.get(f"{url}/healthz") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.1)
            async with http.get(f"{url}/login") as r:
                assert r.status == 200 and "csrf" in await r.text()
            async with http.get(f"{url}/metrics", headers=CRM) as r:
                assert r.status == 200 and "dozvon_queue_depth" in await r.text()
            async with http.get(f"{url}/api/v1/orders/x/explain", headers=CRM) as r:
                assert r.status == 404 and (await r.json())["error"] == "not_found"
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
