"""Each shop's results go to its own webhook URL, signed with its own secret: stand-in CRMs on
127.0.0.1 check every signature, and shop A's results never reach B or carry B's signature."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp.test_utils import TestServer

from robot.adapters.redis_store import RedisOrderStore
from robot.adapters.shop_registry import ShopRegistry
from robot.adapters.webhook import SIGNATURE_HEADER, WebhookDeliverer, verify
from robot.config import Settings
from robot.core.models import parse_order
from robot.core.records import ResultEvent
from robot.core.shops import ShopConfig
from tests.integration.test_webhook import CRM, LOOPBACK_CRM

INSTALLATION_SECRET = "installation-secret"
SECRETS = {"Ромашка": "romashka-secret", "Лютик": "lyutik-secret"}


async def add_result(store: RedisOrderStore, oid: str, shop: str, **extra: str) -> None:
    doc = {"order_id": oid, "phone": "+79161234567", "amount": "10", "shop_name": shop, **extra}
    order = parse_order({**doc, "do_not_call": True}, webhook_hosts=LOOPBACK_CRM)
    await store.add_order(order, datetime.now(UTC))  # DNC: its order.final is queued at once


async def test_each_shop_gets_its_own_results_signed_with_its_own_secret(
    store: RedisOrderStore,
) -> None:
    crms = {name: CRM() for name in [*SECRETS, "installation"]}
    servers = {name: TestServer(crm.app) for name, crm in crms.items()}
    for server in servers.values():
        await server.start_server()
    try:
        url = {name: str(s.make_url("/hook")) for name, s in servers.items()}
        shops = ShopRegistry({
            name: ShopConfig(name=name, webhook_url=url[name], webhook_secret=secret)
            for name, secret in SECRETS.items()
        })  # fmt: skip
        settings = Settings(webhook_url=url["installation"], webhook_secret=INSTALLATION_SECRET)
        d = WebhookDeliverer(store, settings, shops=shops, poll_interval_s=0.01)
        await add_result(store, "R-1", "Ромашка")
        await add_result(store, "L-1", "Лютик")
        await add_result(store, "X-1", "Астра")  # no shop entry: the installation's webhook
        # Ромашка's order names its own endpoint on its CRM: the callback wins, its secret signs
        await add_result(store, "R-2", "Ромашка", callback_url=url["Ромашка"] + "?order=R-2")
        # ... and one naming Лютик's CRM: refused, never sent there
        await add_result(store, "R-3", "Ромашка", callback_url=url["Лютик"])
        while await d.deliver_due():
            pass
        await d.stop()
    finally:
        for server in servers.values():
            await server.close()

    got: dict[str, list[str]] = {}
    for name, crm in crms.items():
        secret = SECRETS.get(name, INSTALLATION_SECRET)
        for body, headers in crm.requests:
            assert verify(body, secret, headers[SIGNATURE_HEADER]), (name, body)
            for other, other_secret in {**SECRETS, "installation": INSTALLATION_SECRET}.items():
                if other != name:
                    assert not verify(body, other_secret, headers[SIGNATURE_HEADER])
            event = ResultEvent.model_validate_json(body)
            got.setdefault(name, []).append(event.order_id)
            assert event.shop_name == {"installation": "Астра"}.get(name, name)
    assert {k: sorted(v) for k, v in got.items()} == {
        "Ромашка": ["R-1", "R-2"],
        "Лютик": ["L-1"],
        "installation": ["X-1"],
    }
    total, [failed] = await store.failed.page()
    assert total == 1 and failed["delivery_id"] == "R-3:final"
    assert "refused URL" in failed["error"] and failed["url"] == url["Лютик"]
