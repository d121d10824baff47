"""Webhook delivery to a real local aiohttp server standing in for the CRM, outbox in Redis."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.test_utils import TestServer

from robot.adapters.redis_store import RedisOrderStore
from robot.adapters.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, WebhookDeliverer, verify
from robot.config import Settings
from robot.core.callback_url import WebhookHostPolicy
from robot.core.models import OrderStatus, parse_order
from robot.core.records import ResultEvent
from robot.testing import free_port, wait_until

SECRET = "crm-shared-secret"


class CRM:
    """Answers each POST with the next status in ``script`` (then 200), remembering requests."""

    def __init__(self, script: list[int] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        self.app = web.Application()
        self.app.router.add_post("/hook", self.hook)

    async def hook(self, request: web.Request) -> web.Response:
        self.requests.append((await request.read(), dict(request.headers)))
        return web.Response(status=self.script.pop(0) if self.script else 200)


class SpyOutbox:
    """The real store, with retries and acks recorded (next_at minus the deliverer's clock)."""

    def __init__(self, store: RedisOrderStore) -> None:
        self.store = store
        self.last_now = datetime.now(UTC)
        self.retries: list[tuple[float, str]] = []
        self.acks: list[str] = []

    def clock(self) -> datetime:
        self.last_now = datetime.now(UTC)
        return self.last_now

    async def claim_deliveries(self, now, limit=10):
        return await self.store.claim_deliveries(now, limit)

    async def ack_delivery(self, delivery_id):
        self.acks.append(delivery_id)
        await self.store.ack_delivery(delivery_id)

    async def retry_delivery(self, delivery_id, next_at, error, *, attempted=True):
        self.retries.append(((next_at - self.last_now).total_seconds(), error))
        return await self.store.retry_delivery(delivery_id, next_at, error, attempted=attempted)

    async def fail_delivery(self, delivery_id, error, now, url=None):
        return await self.store.fail_delivery(delivery_id, error, now, url)


# The loopback CRMs of these tests are internal addresses: allowed explicitly, as a shop
# would list its own CRM host.
LOOPBACK_CRM = WebhookHostPolicy.from_settings(["127.0.0.1"], None)


async def dnc_result(store: RedisOrderStore, **extra) -> None:
    doc = {"order_id": "A-1", "phone": "+79161234567", "amount": "10", "shop_name": "X", **extra}
    order = parse_order({**doc, "do_not_call": True}, webhook_hosts=LOOPBACK_CRM)
    await store.add_order(order, datetime.now(UTC))


def deliverer(
    spy: SpyOutbox, url: str | None, allowed: list[str] | None = None
) -> WebhookDeliverer:
    settings = Settings(webhook_url=url, webhook_secret=SECRET, webhook_max_backoff_s=1.0,
                        webhook_timeout_s=5.0, webhook_allowed_hosts=allowed or [])  # fmt: skip
    return WebhookDeliverer(spy, settings, base_backoff_s=0.05, poll_interval_s=0.01,
                            clock=spy.clock, rand=lambda: 0.5)  # fmt: skip


async def test_signed_delivery_is_acked(store: RedisOrderStore):
    crm = CRM()
    spy = SpyOutbox(store)
    async with TestServer(crm.app) as server:
        d = deliverer(spy, str(server.make_url("/hook")))
        await dnc_result(store)
        assert await d.deliver_due() == 1
        await d.stop()
    [(body, headers)] = crm.requests
    assert verify(body, SECRET, headers[SIGNATURE_HEADER])
    event = ResultEvent.model_validate_json(body)
    assert event.order_id == "A-1" and event.status is OrderStatus.DNC and event.final
    assert headers[DELIVERY_HEADER] == event.delivery_id and spy.acks == [event.delivery_id]
    assert await store.outbox_size() == 0


async def test_server_errors_are_retried_with_growing_backoff(store: RedisOrderStore):
    crm = CRM(script=[500, 503])
    spy = SpyOutbox(store)
    async with TestServer(crm.app) as server:
        d = deliverer(spy, str(server.make_url("/hook")))
        await dnc_result(store)
        d.start()
        await wait_until(lambda: bool(spy.acks))
        await d.stop()
    assert len(crm.requests) == 3
    assert len({h[DELIVERY_HEADER] for _, h in crm.requests}) == 1
    assert len(spy.acks) == 1
    assert [e for _, e in spy.retries] == ["HTTP 500", "HTTP 503"]
    delays = [s for s, _ in spy.retries]
    assert delays[1] > delays[0] > 0
    assert await store.outbox_size() == 0


async def test_crm_down_then_up_gets_the_result_later(store: RedisOrderStore):
    port = free_port()  # nobody listens there
    crm = CRM()
    spy = SpyOutbox(store)
    d = deliverer(spy, f"http://127.0.0.1:{port}/hook")
    await dnc_result(store)
    d.start()
    try:
        await wait_until(lambda: len(spy.retries) >= 3)
        assert crm.requests == [] and await store.outbox_size() == 1
        async with TestServer(crm.app, port=port):
            await wait_until(lambda: bool(spy.acks))
    finally:
        await d.stop()
    assert len(crm.requests) == 1 and await store.outbox_size() == 0
    delays = [s for s, _ in spy.retries]
    assert delays[0] < delays[1] < delays[2]


async def test_callback_url_wins_over_the_configured_url(store: RedisOrderStore):
    crm = CRM()
    async with TestServer(crm.app) as server:
        await dnc_result(store, callback_url=str(server.make_url("/hook")))
        d = deliverer(SpyOutbox(store), "http://127.0.0.1:1/never", allowed=["127.0.0.1"])
        assert await d.deliver_due() == 1
        await d.stop()
    assert len(crm.requests) == 1 and await store.outbox_size() == 0


async def test_without_url_results_stay_in_the_outbox(store: RedisOrderStore, caplog):
    spy = SpyOutbox(store)
    d = deliverer(spy, None)
    d.no_url_recheck_s = 0
    await dnc_result(store)
    with caplog.at_level(logging.WARNING, logger="robot.adapters.webhook"):
        assert await d.deliver_due() == 1
        assert await d.deliver_due() == 1
    await d.stop()
    assert sum("no URL configured" in r.getMessage() for r in caplog.records) == 1
    assert await store.outbox_size() == 1 and spy.acks == []
    [(_, _, attempt)] = await store.claim_deliveries(datetime.now(UTC))
    assert attempt == 1  # parking does not count as a failed attempt
