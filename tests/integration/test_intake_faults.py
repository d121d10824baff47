"""Issue 12, intake: poison entries on both intakes mixed with good ones, every HTTP route fed
hostile JSON, half-sent requests, background tasks that die. Real Redis, real HTTP server."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from robot.adapters.intake_stream import GROUP, REJECTED_STREAM, STREAM, IntakeStreamConsumer
from robot.config import Settings
from robot.supervision import TASKS_KEY, TaskBoard, run_with_restarts
from robot.web.app import make_web_app, runner_options

TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD = {"phone": "+79161234567", "amount": "990", "shop_name": "Ромашка"}
DEEP_100K = "[" * 100_000 + "]" * 100_000
DEEP_1K = "[" * 1000 + "]" * 1000

# (what it is, the order document as JSON text, the field the rejection must name)
POISON = [
    ("tzdata directory", json.dumps({**GOOD, "timezone": "Europe"}), "timezone"),
    ("256-char zone", json.dumps({**GOOD, "timezone": "A" * 256}), "timezone"),
    ("nested 100 000 deep", '{"order_id": "x", "items_summary": ' + DEEP_100K + "}", None),
    ("nested array", DEEP_100K, None),
    ("1e400", json.dumps(GOOD)[:-1] + ', "amount": 1e400}', "amount"),
    ("empty label URL", json.dumps({**GOOD, "callback_url": "http://a..b/"}), "callback_url"),
    (
        "long label URL",
        json.dumps({**GOOD, "callback_url": f"http://{'a' * 64}.x/"}),
        "callback_url",
    ),
    (
        "loopback URL",
        json.dumps({**GOOD, "callback_url": "http://127.0.0.1:6379/"}),
        "callback_url",
    ),
    ("lone surrogate", json.dumps(GOOD)[:-1] + ', "customer_name": "\\ud800"}', "customer_name"),
    ("not JSON", "{order", "order"),
    ("not an object", "[1, 2]", "body"),
]


def settings(**kw) -> Settings:
    return Settings(**({"api_token": TOKEN, "http_body_timeout_s": 1.0} | kw))


def poison_doc(i: int, text: str) -> str:
    """The poison with an order id of its own where it has a place for one."""
    if text.startswith("{") and '"order_id"' not in text and text != "{order":
        return f'{{"order_id": "P-{i}", ' + text[1:]
    return text


async def test_stream_poison_mixed_with_good_entries_loses_nothing(store):
    """Item 2: each poison is rejected with its error and acked; every good order around it
    is stored once; the consumer keeps running. A raw non-UTF-8 entry too."""
    board = TaskBoard()
    consumer = IntakeStreamConsumer(store.redis, store, consumer="w1", block_ms=50, tasks=board)
    await consumer.ensure_group()
    good_ids = []
    for round_ in range(5):
        for i, (_, text, _) in enumerate(POISON):
            oid = f"G-{round_}-{i}"
            good_ids.append(oid)
            await store.redis.xadd(STREAM, {"order": json.dumps({**GOOD, "order_id": oid})})
            await store.redis.xadd(STREAM, {"order": poison_doc(i, text)})
        await store.redis.execute_command("XADD", STREAM, "*", "order", b"\xff\xfe{")
    task = consumer.start()
    expected_rejects = 5 * (len(POISON) + 1)
    async with asyncio.timeout(60):
        while await store.redis.xlen(REJECTED_STREAM) < expected_rejects:
            await asyncio.sleep(0.05)
    assert not task.done() and board.healthy()
    await consumer.stop()
    stored = [oid for oid in good_ids if await store.get_order(oid) is not None]
    assert len(stored) == len(good_ids) == 5 * len(POISON)  # lost: 0
    assert int((await store.redis.xpending(STREAM, GROUP))["pending"]) == 0
    rejected = await store.redis.xrange(REJECTED_STREAM)
    assert len(rejected) == expected_rejects
    by_message = [fields for _, fields in rejected]
    for _, _, field in POISON:
        if field is not None:
            assert any(f["field"] == field for f in by_message), field
    assert all(f["message"] and f["entry_id"] and f["rejected_at"] for f in by_message)
    print(f"stream: {len(good_ids)} good stored once, {len(rejected)} poison rejected, lost 0")


async def test_http_poison_mixed_with_good_orders(store):
    """The same poison over HTTP: 4xx JSON naming the field (never 503 or 500), the good
    orders around it all 201."""
    async with TestClient(TestServer(make_web_app(settings(), store))) as client:
        created = 0
        for i, (what, text, field) in enumerate(POISON):
            resp = await client.post("/api/v1/orders", data=poison_doc(i, text), headers=AUTH)
            doc = await resp.json()
            assert 400 <= resp.status < 500, (what, resp.status, doc)
            assert doc["error"] and doc["message"], what
            if field is not None and field not in ("order",):
                assert doc.get("field") == field, (what, doc)
            else:
                assert doc.get("field"), (what, doc)
            good = {**GOOD, "order_id": f"H-{i}"}
            resp = await client.post("/api/v1/orders", json=good, headers=AUTH)
            created += resp.status == 201
        assert created == len(POISON)
    assert all([await store.get_order(f"H-{i}") for i in range(len(POISON))])


def _concrete(path: str) -> str:
    values = {"order_id": "H-1", "phone": "+79161234567", "delivery_id": "H-1:final",
              "call_id": "c1", "filename": "x"}  # fmt: skip
    return re.sub(r"\{(\w+)[^}]*\}", lambda m: values.get(m.group(1), "x"), path)


async def test_every_route_answers_hostile_json_with_a_4xx_not_a_5xx(store):
    """1 000-deep nesting, 1e400 and NaN on every route of the app (CRM API and dashboard),
    every method it serves: never a 5xx, always JSON for API routes."""
    app = make_web_app(settings(), store)
    async with TestClient(TestServer(app)) as client:
        await client.post("/api/v1/orders", json={**GOOD, "order_id": "H-1"}, headers=AUTH)
        routes = {(r.method, r.resource.canonical) for r in app.router.routes()
                  if r.resource is not None and r.method not in ("HEAD", "*")}  # fmt: skip
        assert len(routes) > 20
        checked = 0
        bodies = [DEEP_1K, '{"max_concurrent_calls": 1e400, "calls_per_second": 1e400}',
                  '{"reason": NaN}', '{"lang": ' + DEEP_1K + "}"]  # fmt: skip
        for method, path in sorted(routes):
            if path.endswith("/events") or path.startswith("/static"):
                continue  # the event stream stays open by design; files ignore bodies
            for body in bodies:
                headers = {**AUTH, "Content-Type": "application/json"}
                resp = await client.request(method, _concrete(path), data=body, headers=headers)
                text = await resp.text()
                assert resp.status < 500, (method, path, body[:40], resp.status, text[:200])
                if path.startswith("/api/") and resp.status >= 400:
                    assert json.loads(text)["error"], (method, path)
                checked += 1
        resp = await client.post("/dashboard/api/control/limits", headers=AUTH,
                                 data='{"max_concurrent_calls": 1e400}')  # fmt: skip
        assert resp.status == 400 and (await resp.json())["field"] == "max_concurrent_calls"
        resp = await client.get("/api/v1/dnc?offset=" + "9" * 30, headers=AUTH)
        assert resp.status == 422 and (await resp.json())["field"] == "offset"
        resp = await client.get("/api/v1/dnc?limit=-5", headers=AUTH)
        assert resp.status == 422 and (await resp.json())["field"] == "limit"
    print(f"{checked} hostile requests over {len(routes)} routes: no 5xx")


async def _serve(app: web.Application, s: Settings) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, **runner_options(s))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        async with asyncio.timeout(60):  # a hang guard; the setting is 1 s
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    return True


async def test_half_sent_requests_are_cut_off(store):
    """Item 10: 100 connections that never finish their headers, and one that never finishes
    its body, are closed by the server; a normal request still works meanwhile."""
    s = settings(http_header_timeout_s=1.0, http_body_timeout_s=1.0)
    runner, port = await _serve(make_web_app(s, store), s)
    try:
        conns = []
        for _ in range(100):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            conns.append((reader, writer))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + TOKEN.encode()
            + b'\r\nContent-Length: 1000\r\n\r\n{"order_id"'
        )
        conns.append((reader, writer))
        ok_reader, ok_writer = await asyncio.open_connection("127.0.0.1", port)
        ok_writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await ok_reader.read(100)).startswith(b"HTTP/1.1 200")
        closed = await asyncio.gather(*(_closed_by_server(r) for r, _ in conns))
        assert all(closed), f"{closed.count(False)} of {len(conns)} still held"
        for _, w in conns:
            w.close()
        ok_writer.close()
    finally:
        await runner.cleanup()


async def test_a_dying_task_is_restarted_and_reported(store):
    """A loop that raises is logged, restarted with backoff, and shown in /healthz (503
    degraded while it waits) and /metrics (task up 0, restarts counted)."""
    board = TaskBoard(base_backoff_s=0.01)
    runs = 0
    stop = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise RuntimeError(f"crash {runs}")
        await stop.wait()

    task = asyncio.create_task(run_with_restarts("flaky", flaky, board=board, stopping=stop))
    async with asyncio.timeout(30):
        while runs < 4:
            await asyncio.sleep(0.01)
    assert board.tasks["flaky"].restarts == 3 and board.tasks["flaky"].state == "running"
    assert "crash 3" in board.tasks["flaky"].last_error

    stuck = TaskBoard(base_backoff_s=600)  # waits long enough to be seen waiting
    stuck_stop = asyncio.Event()

    async def broken() -> None:
        raise ValueError("always")

    stuck_task = asyncio.create_task(
        run_with_restarts("broken", broken, board=stuck, stopping=stuck_stop)
    )
    async with asyncio.timeout(30):
        while stuck.healthy():
            await asyncio.sleep(0.01)
    app = make_web_app(settings(), store)
    app[TASKS_KEY] = stuck
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/healthz")
        doc = await resp.json()
        assert resp.status == 503 and doc["status"] == "degraded"
        assert doc["tasks"]["broken"]["state"] == "restarting"
        metrics = await (await client.get("/metrics", headers=AUTH)).text()
        assert 'dozvon_task_up{task="broken"} 0.0' in metrics
        assert 'dozvon_task_restarts_total{task="broken"} 1.0' in metrics
    stop.set()
    stuck_stop.set()
    await asyncio.wait_for(asyncio.gather(task, stuck_task), 5)
    assert board.tasks["flaky"].state == "stopped"


@pytest.mark.parametrize("zone", ["Europe", "A" * 256])
async def test_bad_zone_over_http_is_422_not_503(store, zone):
    async with TestClient(TestServer(make_web_app(settings(), store))) as client:
        resp = await client.post("/api/v1/orders", headers=AUTH,
                                 json={**GOOD, "order_id": "Z-1", "timezone": zone})  # fmt: skip
        assert resp.status == 422 and (await resp.json())["field"] == "timezone"
        resp = await client.patch("/api/v1/orders/Z-1", headers=AUTH, json={"timezone": zone})
        assert resp.status == 404  # unknown order, not a store error
