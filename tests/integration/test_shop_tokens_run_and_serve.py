"""Shop tokens work on both HTTP sides: ``robot run`` (Service.http_app) and ``robot serve``
hand the app the shop registry they keep fresh, so a shop from the settings and a shop saved
through the API afterwards each open their own orders and no one else's (issue 10 item 4)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from robot.adapters.redis_store import RedisOrderStore
from robot.adapters.shop_registry import ShopRegistry
from robot.config import Settings
from robot.core.shops import ShopConfig
from robot.devtools.redis_server import RedisServer
from robot.service import Service
from robot.testing import free_port, wait_until
from robot.web.context import WEB_KEY

ALFA = {"Authorization": "Bearer token-of-alfa-0123456789"}  # DOZVON_SHOPS
BETA = {"Authorization": "Bearer token-of-beta-0123456789"}  # saved through the API


def settings_for(redis_server: RedisServer, tmp_path: Path, **kw: object) -> Settings:
    return Settings(
        redis_url=redis_server.url, api_token="installation-token", var_dir=tmp_path,
        shops={"Alfa": {"api_token": "token-of-alfa-0123456789"}}, **kw,
    )  # fmt: skip


async def save_beta(store: RedisOrderStore) -> None:
    """Another process's shops API saves a shop the settings do not name."""
    beta = ShopConfig(name="Beta", api_token="token-of-beta-0123456789")
    await ShopRegistry(redis=store.redis).put(beta)


async def check_tokens(http: aiohttp.ClientSession | TestClient, base: str = "") -> None:
    doc = {"phone": "+79161234567", "amount": "990"}
    for oid, headers in (("A-1", ALFA), ("B-1", BETA)):
        r = await http.post(f"{base}/api/v1/orders", json={**doc, "order_id": oid},
                            headers=headers)  # fmt: skip
        assert r.status == 201, await r.text()
    for headers, mine, theirs, shop in ((ALFA, "A-1", "B-1", "Alfa"), (BETA, "B-1", "A-1", "Beta")):
        r = await http.get(f"{base}/api/v1/orders/{mine}", headers=headers)
        assert r.status == 200 and (await r.json())["order"]["shop_name"] == shop
        r = await http.get(f"{base}/api/v1/orders/{theirs}", headers=headers)
        assert r.status == 404 and (await r.json())["error"] == "not_found"
    r = await http.get(f"{base}/api/v1/orders/A-1", headers={"Authorization": "Bearer nope"})
    assert r.status == 401


async def test_robot_run_gives_its_http_app_the_service_registry(
    redis_server: RedisServer, store: RedisOrderStore, tmp_path: Path
) -> None:
    svc = Service.build(settings_for(redis_server, tmp_path))
    assert svc.shops is not None
    app = svc.http_app()
    assert app[WEB_KEY].shops is svc.shops  # not a second registry of the app's own
    await svc.shops.start()
    try:
        await save_beta(store)
        await wait_until(lambda: svc.shops is not None and svc.shops.get("Beta") is not None, 10)
        async with TestClient(TestServer(app)) as client:
            await check_tokens(client)
    finally:
        await svc.shops.stop()
        await svc.store.aclose()


async def test_robot_serve_takes_shop_tokens(
    redis_server: RedisServer, store: RedisOrderStore, tmp_path: Path
) -> None:
    from robot.commands.serve import serve

    await save_beta(store)
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings_for(redis_server, tmp_path, http_port=port),
                                     stop=stop))  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def up() -> bool:
                try:
                    async with http.get(f"{base}/healthz") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_until(up, 20, interval_s=0.1)
            await check_tokens(http, base)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
