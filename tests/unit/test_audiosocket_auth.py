"""Who may open a call's media over AudioSocket (issue 12 item 5): only configured Asterisk
addresses, and only with the call's secret media key, never with the public call id."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from robot.adapters.audiosocket.codec import Kind, encode
from robot.adapters.audiosocket.server import (
    AudioSocketServer,
    PeerPolicy,
    parse_peers,
    peer_allowed,
)
from robot.config import AsteriskServerConfig, Settings
from robot.core.models import CallAttempt
from robot.engine.calls import CallTracker
from robot.service import audiosocket_peers
from robot.testing import FakeMedia, audiosocket_peer


def attempt(call_id: str) -> CallAttempt:
    return CallAttempt(call_id=call_id, order_id="o1", attempt=1, phone="+79161234567",
                       language="ru", created_at=datetime.now(UTC))  # fmt: skip


def test_peer_allowed() -> None:
    nets = parse_peers(["127.0.0.1", "10.1.0.0/16", "::1"])
    assert peer_allowed("127.0.0.1", nets)
    assert peer_allowed("10.1.200.3", nets)
    assert peer_allowed("::ffff:127.0.0.1", nets)
    assert peer_allowed("::1", nets)
    assert not peer_allowed("127.0.0.2", nets)
    assert not peer_allowed("10.2.0.1", nets)
    assert not peer_allowed(None, nets) and not peer_allowed("garbage", nets)
    assert peer_allowed("192.0.2.1", None)  # None: any
    with pytest.raises(ValueError):
        parse_peers(["not-an-address"])


async def test_settings_to_peers() -> None:
    s = Settings(asterisk_servers=[AsteriskServerConfig(name="a", host="localhost")])
    policy = audiosocket_peers(s.media, s.ami)
    assert policy is not None and policy.hosts == ["localhost"]
    assert await policy.allows("127.0.0.1") and await policy.allows("::1")
    assert not await policy.allows("10.0.0.1")
    assert audiosocket_peers(Settings(audiosocket_peers="any").media, Settings().ami) is None
    s = Settings(audiosocket_peers="10.0.0.0/8, 192.168.1.5")
    policy = audiosocket_peers(s.media, s.ami)
    assert policy is not None and await policy.allows("192.168.1.5")
    assert not await policy.allows("127.0.0.1")


async def test_tracker_pairs_media_by_key_not_by_call_id() -> None:
    tracker = CallTracker()
    call_id = str(uuid.uuid4())
    live = tracker.register(attempt(call_id))
    key = tracker.media_key(call_id)
    assert key is not None and key != call_id and uuid.UUID(key).version == 4

    await tracker.handle_media(FakeMedia(call_id))  # the public id: refused at once
    await tracker.handle_media(FakeMedia(str(uuid.uuid4())))
    assert not live.started.done()

    media = FakeMedia(key)
    task = asyncio.create_task(tracker.handle_media(media))
    await asyncio.sleep(0)
    assert live.started.done() and live.started.result() is media
    assert media.call_id == call_id  # the session sees the call's own id
    await tracker.handle_media(FakeMedia(key))  # a second connection with the key: refused
    tracker.unregister(call_id)
    await asyncio.wait_for(task, 1)
    assert tracker.media_key(call_id) is None


async def test_server_refuses_other_addresses_and_unknown_keys() -> None:
    tracker = CallTracker()
    call_id = str(uuid.uuid4())
    live = tracker.register(attempt(call_id))
    server = AudioSocketServer("127.0.0.1", 0, tracker, allowed_peers=PeerPolicy(["127.0.0.1"]))
    await server.start()
    try:
        key = tracker.media_key(call_id)
        assert key is not None
        # Right key, wrong address (127.0.0.2 is loopback too, but not the Asterisk's).
        assert await audiosocket_peer(server.port, key, source="127.0.0.2") == b""
        assert server.refused == 1 and not live.started.done()
        # Right address, the public call id.
        await audiosocket_peer(server.port, call_id, source="127.0.0.1")
        assert server.refused == 2 and not live.started.done()
        # Right address and key: the call's media.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode(Kind.UUID, uuid.UUID(key).bytes))
        await writer.drain()
        media = await asyncio.wait_for(asyncio.shield(live.started), 3)
        assert media.call_id == call_id
        assert len(await asyncio.wait_for(reader.read(323), 3)) > 0  # paced frames flow
        tracker.unregister(call_id)
        writer.close()
    finally:
        await server.stop()
    assert server.refused == 2


async def test_connections_arriving_together_all_wait_for_the_one_resolution():
    # Calls answered together connect at once: none may be refused while the first resolves.
    policy = PeerPolicy(hosts=["localhost"])
    assert await asyncio.gather(*(policy.allows("127.0.0.1") for _ in range(5))) == [True] * 5
