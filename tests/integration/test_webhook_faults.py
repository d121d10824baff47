"""Issue 12, webhooks: poison callback URLs, dead letters, SSRF, a tarpit CRM beside a good one.

Real Redis outbox, real loopback CRMs (an aiohttp server; a TCP listener that accepts and
never answers). Every address is loopback; internal targets are proven refused with 127.0.0.1
outside the allowlist and with names that resolve to loopback.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.abc import AbstractResolver
from aiohttp.test_utils import TestClient, TestServer

from robot.adapters.redis_store import RedisOrderStore
from robot.adapters.webhook import DELIVERY_HEADER, WebhookDeliverer
from robot.config import Settings
from robot.core.models import Order
from robot.supervision import TaskBoard
from robot.testing import wait_until
from robot.web.app import make_web_app

SECRET = "s"
TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class CRM:
    """Records delivery ids; answers ``status`` (changeable)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.deliveries: list[str] = []
        self.app = web.Application()
        self.app.router.add_post("/hook", self.hook)

    async def hook(self, request: web.Request) -> web.Response:
        await request.read()
        self.deliveries.append(request.headers[DELIVERY_HEADER])
        return web.Response(status=self.status)


class Tarpit:
    """Accepts TCP connections, reads what comes, never answers."""

    def __init__(self) -> None:
        self.open = 0
        self.max_open = 0
        self.accepted = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.released = False

    async def __aenter__(self) -> Tarpit:
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        return self

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    def release(self) -> None:
        """Hang up on everyone, now and from now on (so the test can stop quickly)."""
        self.released = True
        for w in self.writers:
            w.close()

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.released:
            writer.close()
            return
        self.accepted += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        self.writers.append(writer)
        try:
            while await reader.read(65536):
                pass
        finally:
            self.open -= 1

    async def __aexit__(self, *exc: object) -> None:
        for w in self.writers:
            w.close()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


class LoopbackDns(AbstractResolver):
    """Resolves every name to 127.0.0.1: a public-looking name rebound to this machine."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(self, host, port=0, family=socket.AF_INET):
        self.asked.append(host)
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]  # fmt: skip

    async def close(self) -> None:
        pass


def settings(**kw) -> Settings:
    base = dict(webhook_secret=SECRET, webhook_max_backoff_s=0.2, webhook_timeout_s=5.0,
                api_token=TOKEN, webhook_allowed_hosts=["127.0.0.1"])  # fmt: skip
    return Settings(**(base | kw))


def deliverer(store: RedisOrderStore, s: Settings, **kw) -> WebhookDeliverer:
    return WebhookDeliverer(store, s, base_backoff_s=0.02, poll_interval_s=0.02, **kw)


async def final_for(store: RedisOrderStore, order_id: str, url: str | None) -> None:
    """An order that is final at once (do-not-call), so its order.final is in the outbox.
    Built without the intake checks: this is how a URL stored before them looks."""
    order = Order(order_id=order_id, phone="+79161234567", amount="10", shop_name="X",
                  do_not_call=True, callback_url=url)  # fmt: skip
    await store.add_order(order, datetime.now(UTC))


async def failed_ids(store: RedisOrderStore) -> set[str]:
    _, items = await store.failed.page(0, 1000)
    return {i["delivery_id"] for i in items}


async def test_poison_urls_go_to_the_failed_list_and_the_rest_is_delivered(store):
    """Issue 12 item 1: ``http://a..b/`` killed the deliverer's task; now each poison is a dead
    letter with its error and the deliverer keeps running."""
    crm = CRM()
    poisons = ["http://a..b/", "http://" + "a" * 64 + ".example/", "http://x.example:99999/",
               "ftp://x.example/"]  # fmt: skip
    async with TestServer(crm.app) as server:
        good = str(server.make_url("/hook"))
        for i, url in enumerate(poisons):
            await final_for(store, f"P-{i}", url)
            await final_for(store, f"G-{i}", good)
        board = TaskBoard()
        d = deliverer(store, settings(), tasks=board)
        task = d.start()
        await wait_until(lambda: len(crm.deliveries) == len(poisons), 60)
        async with asyncio.timeout(30):
            while len(await failed_ids(store)) < len(poisons):
                await asyncio.sleep(0.02)
        assert not task.done() and board.healthy()
        await d.stop()
    assert sorted(crm.deliveries) == sorted(f"G-{i}:final" for i in range(len(poisons)))
    _, items = await store.failed.page(0, 100)
    assert {i["delivery_id"] for i in items} == {f"P-{i}:final" for i in range(len(poisons))}
    assert all(i["error"].startswith("refused URL") and i["attempts"] == 1 for i in items)
    assert await store.outbox_size() == 0


async def test_a_poison_left_in_flight_by_a_dead_deliverer_cannot_kill_the_next(redis_server):
    """Across restarts: the poison's visibility ran out after a crash; the next deliverer
    takes it again and dead-letters it. Also an event that cannot be read back."""
    store = RedisOrderStore.from_url(redis_server.url, delivery_visibility_s=0.2)
    await store.redis.flushdb()
    crm = CRM()
    try:
        async with TestServer(crm.app) as server:
            await final_for(store, "P-1", "http://a..b/")
            assert len(await store.claim_deliveries(datetime.now(UTC))) == 1  # then "crashed"
            await store.redis.hset("dozvon:outbox:item:P-2:final", mapping={
                "event": "{not json", "order_id": "P-2", "attempt": 0})  # fmt: skip
            await store.redis.zadd("dozvon:outbox:due", {"P-2:final": time.time()})
            await final_for(store, "G-1", str(server.make_url("/hook")))
            await asyncio.sleep(0.3)
            d = deliverer(store, settings())
            task = d.start()
            async with asyncio.timeout(30):
                while len(await failed_ids(store)) < 2 or not crm.deliveries:
                    await asyncio.sleep(0.02)
            assert not task.done()
            await d.stop()
        assert crm.deliveries == ["G-1:final"]
        assert await failed_ids(store) == {"P-1:final", "P-2:final"}
        item = await store.failed.get("P-2:final")
        assert item is not None and "unreadable event" in item["error"] and item["event"] is None
    finally:
        await store.aclose()


async def test_bounded_attempts_then_the_failed_list_api_retries_and_deletes(store):
    crm = CRM(status=500)
    async with TestServer(crm.app) as server:
        url = str(server.make_url("/hook"))
        await final_for(store, "F-1", url)
        await final_for(store, "F-2", url)
        d = deliverer(store, settings(webhook_max_attempts=3))
        d.start()
        async with asyncio.timeout(30):
            while len(await failed_ids(store)) < 2:
                await asyncio.sleep(0.02)
        assert sorted(crm.deliveries) == sorted(["F-1:final"] * 3 + ["F-2:final"] * 3)
        app = make_web_app(settings(webhook_max_attempts=3), store)
        async with TestClient(TestServer(app)) as client:
            resp = await client.get("/api/v1/webhooks/failed", headers=AUTH)
            doc = await resp.json()
            assert resp.status == 200 and doc["total"] == 2
            one = doc["items"][0]
            assert one["attempts"] == 3 and one["error"] == "HTTP 500" and one["url"] == url
            assert one["event"]["event"] == "order.final"
            resp = await client.get("/api/v1/webhooks/failed/F-1:final", headers=AUTH)
            assert resp.status == 200 and (await resp.json())["order_id"] == "F-1"
            crm.status = 200
            resp = await client.post("/api/v1/webhooks/failed/F-1:final/retry", headers=AUTH)
            assert resp.status == 200 and (await resp.json())["done"] is True
            await wait_until(lambda: crm.deliveries.count("F-1:final") == 4, 60)
            resp = await client.delete("/api/v1/webhooks/failed/F-2:final", headers=AUTH)
            assert resp.status == 200
            for method, path in (("post", "/api/v1/webhooks/failed/F-2:final/retry"),
                                 ("delete", "/api/v1/webhooks/failed/nope"),
                                 ("get", "/api/v1/webhooks/failed/nope")):  # fmt: skip
                resp = await getattr(client, method)(path, headers=AUTH)
                assert resp.status == 404 and (await resp.json())["field"] == "delivery_id"
            resp = await client.get("/api/v1/webhooks/failed?offset=99999999999999999999",
                                    headers=AUTH)  # fmt: skip
            assert resp.status == 422 and (await resp.json())["field"] == "offset"
        await d.stop()
    assert await failed_ids(store) == set() and await store.outbox_size() == 0


async def test_ssrf_internal_targets_are_refused_at_the_url_and_after_dns(store):
    """Item 9: 127.0.0.1 outside the allowlist, ``localhost`` and a name that resolves to
    127.0.0.1 get no connection; the same name listed in the allowlist is delivered."""
    crm = CRM()
    async with TestServer(crm.app) as server:
        port = server.port
        await final_for(store, "S-1", f"http://127.0.0.1:{port}/hook")
        await final_for(store, "S-2", f"http://localhost:{port}/hook")
        d = deliverer(store, settings(webhook_allowed_hosts=[f"127.0.0.1:{port + 1}"]))
        d.start()
        async with asyncio.timeout(30):
            while len(await failed_ids(store)) < 2:
                await asyncio.sleep(0.02)
        await d.stop()
        # No allowlist: a public-looking name passes the URL check and is refused once it
        # resolves to loopback (what DNS rebinding after intake would do).
        await final_for(store, "S-3", f"http://crm.rebound.example:{port}/hook")
        dns = LoopbackDns()
        d = deliverer(store, settings(webhook_allowed_hosts=[]), resolver=dns)
        d.start()
        async with asyncio.timeout(30):
            while len(await failed_ids(store)) < 3:
                await asyncio.sleep(0.02)
        await d.stop()
        assert crm.deliveries == []  # nothing reached the loopback service
        assert dns.asked == ["crm.rebound.example"]  # refused after resolution, not before
        item = await store.failed.get("S-3:final")
        assert item is not None and "refused target" in item["error"]
        assert "127.0.0.1 is internal" in item["error"]
        for did in ("S-1:final", "S-2:final"):
            item = await store.failed.get(did)
            assert item is not None and "refused URL" in item["error"]

        await final_for(store, "S-4", f"http://crm.rebound.example:{port}/hook")
        d = deliverer(store, settings(webhook_allowed_hosts=["crm.rebound.example"]),
                      resolver=LoopbackDns())  # fmt: skip
        d.start()
        await wait_until(lambda: crm.deliveries == ["S-4:final"], 60)
        await d.stop()


async def test_a_tarpit_crm_delays_only_itself(store):
    """Item 8: 30 results for a CRM that accepts and never answers, 10 for a good CRM. All 10
    good ones arrive while every tarpit delivery is still pending; the tarpit never holds more
    than its per-host share of connections."""
    crm = CRM()
    async with Tarpit() as pit, TestServer(crm.app) as server:
        for i in range(30):
            await final_for(store, f"T-{i}", f"http://127.0.0.1:{pit.port}/hook")
        for i in range(10):
            await final_for(store, f"G-{i}", str(server.make_url("/hook")))
        s = settings(webhook_timeout_s=120.0, webhook_per_host=2, webhook_concurrency=8)
        d = deliverer(store, s)
        started = time.monotonic()
        d.start()
        await wait_until(lambda: len(crm.deliveries) == 10, 60)
        good_delay = time.monotonic() - started
        assert sorted(crm.deliveries) == sorted(f"G-{i}:final" for i in range(10))
        assert await store.outbox_size() == 30  # every tarpit delivery still pending
        assert pit.max_open <= 2
        print(
            f"good CRM: 10 webhooks in {good_delay:.2f} s beside a tarpit holding "
            f"{pit.max_open} connection(s)"
        )
        pit.release()  # let the held deliveries end so stop() is quick
        await d.stop()
    assert await failed_ids(store) == set()


async def test_one_failing_delivery_does_not_stop_the_others(store):
    """A bug in one delivery (here the outbox raising on its ack) fails that delivery only."""
    crm = CRM()

    class Flaky(RedisOrderStore):
        async def ack_delivery(self, delivery_id):
            if delivery_id.startswith("B-"):
                raise RuntimeError("boom")
            await super().ack_delivery(delivery_id)

    flaky = Flaky(store.redis)
    async with TestServer(crm.app) as server:
        for i in range(3):
            await final_for(flaky, f"B-{i}", str(server.make_url("/hook")))
            await final_for(flaky, f"G-{i}", str(server.make_url("/hook")))
        d = deliverer(flaky, settings())
        task = d.start()
        async with asyncio.timeout(30):
            while len(await failed_ids(flaky)) < 3:
                await asyncio.sleep(0.02)
        await wait_until(lambda: {f"G-{i}:final" for i in range(3)} <= set(crm.deliveries), 60)
        assert not task.done()
        await d.stop()
    _, items = await flaky.failed.page()
    assert all("internal error" in i["error"] for i in items)
    assert json.dumps(items)
