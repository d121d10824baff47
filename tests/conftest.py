"""Shared fixtures: a real redis-server (Debian's binary, AOF on) and a store on it."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from robot.adapters.redis_store import RedisOrderStore
from robot.devtools.redis_server import RedisServer
from robot.testing import InMemoryOrderStore


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the whole session; tests isolate by flushing (see ``store``)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "redis"


@pytest.fixture
def private_redis_server(redis_data_dir: Path) -> Iterator[RedisServer]:
    """A server of the test's own, for tests that stop, kill or restart Redis."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with RedisServer(redis_data_dir) as server:
        yield server


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisOrderStore]:
    """A store on the session server, on an empty database."""
    s = RedisOrderStore.from_url(redis_server.url)
    await s.redis.flushdb()
    try:
        yield s
    finally:
        await s.aclose()


@pytest.fixture(params=["memory", "redis"])
def any_store(request: pytest.FixtureRequest) -> RedisOrderStore | InMemoryOrderStore:
    """Each test twice: on robot.testing's in-memory store (no Redis needed: ``-k memory``)
    and on ``store``. What the dialer relies on holds for both, so the fake stays honest."""
    if request.param == "memory":
        return InMemoryOrderStore()
    store: RedisOrderStore = request.getfixturevalue("store")
    return store
