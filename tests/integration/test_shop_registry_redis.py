"""Shops changed through the API reach every worker's registry (two registries on one real
Redis), and every shop's limits hash is written for the admission gate."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from robot.adapters.shop_registry import ShopRegistry, redis_keys
from robot.core.shops import ShopConfig
from robot.devtools.redis_server import RedisServer
from robot.testing import wait_until


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    r = Redis.from_url(redis_server.url, decode_responses=True)
    await r.flushdb()
    try:
        yield r
    finally:
        await r.aclose()


async def test_an_api_change_reaches_the_other_worker(redis: Redis, tmp_path: Path) -> None:
    f = tmp_path / "shops.json"
    f.write_text('{"Ромашка": {"caller_id": "\\"Р\\" <+74950000001>", "max_calls": 2}}')
    a = ShopRegistry(file=f, redis=redis, poll_s=30)  # the poll never fires: pub/sub does it
    b = ShopRegistry(file=f, redis=redis, poll_s=30)
    await a.start()
    await b.start()
    try:
        assert await redis.hgetall(redis_keys.shop_limits("Ромашка")) == {
            "paused": "0",
            "max_calls": "2",
        }
        await a.put(ShopConfig(name="Лютик", caller_id='"Л" <+74950000002>', cps=1.0))
        await wait_until(lambda: b.get("Лютик") is not None, 5)
        assert b.get("Лютик").caller_id == '"Л" <+74950000002>'  # type: ignore[union-attr]
        assert b.source("Лютик") == "api"
        assert await redis.hgetall(redis_keys.shop_limits("Лютик")) == {"paused": "0", "cps": "1.0"}

        # the API copy of a file's shop hides it; DELETE shows the file's again
        await a.put(ShopConfig(name="Ромашка", caller_id='"API" <+74950000009>'))
        await wait_until(lambda: b.get("Ромашка").caller_id == '"API" <+74950000009>', 5)  # type: ignore[union-attr]
        assert "max_calls" not in await redis.hgetall(redis_keys.shop_limits("Ромашка"))
        assert await a.delete("Ромашка") is True
        await wait_until(lambda: b.get("Ромашка").max_calls == 2, 5)  # type: ignore[union-attr]

        # pause from the dashboard: the file's shop stays the file's
        await b.set_paused("Ромашка", True)
        await wait_until(lambda: a.get("Ромашка").paused, 5)  # type: ignore[union-attr]
        assert a.source("Ромашка") == "file"
        assert (await redis.hgetall(redis_keys.shop_limits("Ромашка")))["paused"] == "1"

        # a shop that is gone loses its limits hash
        assert await a.delete("Лютик") is True
        await wait_until(lambda: b.get("Лютик") is None, 5)
        assert await redis.exists(redis_keys.shop_limits("Лютик")) == 0
    finally:
        await a.stop()
        await b.stop()


async def test_a_missed_message_is_caught_by_the_version_poll(redis: Redis) -> None:
    a = ShopRegistry(redis=redis)
    b = ShopRegistry(redis=redis, poll_s=0.05)
    await a.refresh(force=True)
    await b.start()
    try:
        # written as another release's worker would, without publishing
        await redis.hset(redis_keys.shops(), "Астра", '{"name": "Астра", "paused": true}')
        await redis.incr(redis_keys.shops_version())
        await wait_until(lambda: b.get("Астра") is not None, 5)
        assert b.get("Астра").paused is True  # type: ignore[union-attr]
        # a hand-edited document that is not valid is logged and skipped, the rest stays
        await redis.hset(redis_keys.shops(), "Бад", '{"name": "Бад", "max_calls": "many"}')
        version = await redis.incr(redis_keys.shops_version())
        await wait_until(lambda: b.api_version == version, 5)
        assert b.get("Бад") is None and b.get("Астра") is not None
    finally:
        await b.stop()


async def test_starts_while_redis_is_down_and_catches_up(
    private_redis_server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker started during an outage (test_redis_outage's replacement) must start: the
    file's shops at once, the API's and the limits hashes once Redis answers again."""
    caplog.set_level(logging.WARNING, "robot.adapters.shop_registry")
    server = private_redis_server
    server.start()
    writer = Redis.from_url(server.url, decode_responses=True)
    try:
        await ShopRegistry(redis=writer).put(ShopConfig(name="Лютик", cps=1.0))
    finally:
        await writer.aclose()
    server.stop()
    f = tmp_path / "shops.json"
    f.write_text('{"Ромашка": {"max_calls": 2}}')
    # No retries: every command fails at once while Redis is down (redis-py's default retries
    # for a few seconds, which would hide a loop that gives up on its first failure).
    redis = Redis.from_url(server.url, decode_responses=True, retry=Retry(NoBackoff(), 0))
    registry = ShopRegistry(file=f, redis=redis, poll_s=30)
    try:
        await registry.start(wait_s=0.2)
        assert registry.get("Ромашка") is not None and registry.get("Лютик") is None
        # its loop has met the outage (and must live through it) before Redis comes back
        await wait_until(lambda: "shops: Redis unavailable" in caplog.text, 10)
        await asyncio.to_thread(server.start)  # same port, same AOF: the API's shop is there
        await wait_until(lambda: registry.get("Лютик") is not None, 10)
        assert registry.source("Лютик") == "api"
        await wait_until(lambda: redis.exists(redis_keys.shop_limits("Ромашка")), 10)
        assert await redis.hgetall(redis_keys.shop_limits("Ромашка")) == {
            "paused": "0",
            "max_calls": "2",
        }
        # and it listens again: a change made now reaches it through the channel
        await ShopRegistry(redis=redis).put(ShopConfig(name="Астра"))
        await wait_until(lambda: registry.get("Астра") is not None, 10)
    finally:
        await registry.stop()
        await redis.aclose()


async def test_a_file_edit_reaches_the_limits_hash(redis: Redis, tmp_path: Path) -> None:
    f = tmp_path / "shops.yaml"
    f.write_text("Ромашка: {max_calls: 2}\n", encoding="utf-8")
    reg = ShopRegistry(file=f, redis=redis, file_check_s=0, poll_s=0.05)
    await reg.start()
    try:
        key = redis_keys.shop_limits("Ромашка")
        assert await redis.hgetall(key) == {"paused": "0", "max_calls": "2"}
        f.write_text("Ромашка: {max_calls: 4, paused: true}\n", encoding="utf-8")
        st = f.stat()
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        assert reg.get("Ромашка").max_calls == 4  # type: ignore[union-attr]  # a lookup saw it first
        async with asyncio.timeout(5):
            while await redis.hgetall(key) != {"paused": "1", "max_calls": "4"}:
                await asyncio.sleep(0.02)
    finally:
        await reg.stop()
