"""The store on a real Sentinel set (a master, a replica, three sentinels on loopback): writes
follow a failover, acknowledged writes survive it, WAIT confirms what it acknowledges."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web

from robot.adapters.intake_stream import IntakeStreamConsumer
from robot.adapters.redis_store import RedisOrderStore
from robot.config import Settings
from robot.core.models import parse_order
from robot.devtools.redis_sentinel_set import SentinelSet, _command
from robot.testing import free_port
from robot.web.app import make_web_app

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def sentinels() -> Iterator[SentinelSet]:
    with SentinelSet() as s:
        yield s


def _order(oid: str, phone: str = "+74951234567"):
    return parse_order({"order_id": oid, "phone": phone, "amount": "990", "shop_name": "Ромашка"})


async def test_acknowledged_orders_survive_a_killed_master(sentinels: SentinelSet):
    store = RedisOrderStore.from_url(sentinels.url)
    assert store.replica_ack is not None and store.replica_ack.replicas == 1
    acked: list[str] = []
    errors = 0
    killed_at: float | None = None
    first_after: float | None = None
    old = sentinels.master_port()
    try:
        for i in range(400):
            if i == 40:
                killed_at = time.monotonic()
                await asyncio.to_thread(sentinels.kill_master)
            try:
                await store.add_order(_order(f"F-{i}", f"+7495123{i:04d}"), datetime.now(UTC))
            except Exception:  # not acknowledged: a CRM would retry
                errors += 1
                continue
            acked.append(f"F-{i}")
            if killed_at is not None and first_after is None:
                first_after = time.monotonic() - killed_at
            if first_after is not None and len(acked) >= 80:
                break
        new = sentinels.master_port()
        assert new is not None and new != old
        assert first_after is not None
        print(f"first order acknowledged {first_after:.2f} s after the kill; {errors} refused")
        # Every acknowledged order is on the promoted master, scheduled.
        due = await store.redis.zrange("dozvon:due", 0, -1)
        assert set(acked) <= set(due)
        # The promoted master has no replica left: acknowledged on it alone, and said so.
        assert store.replica_ack.alone
        # The old master comes back, is turned into a replica, and WAIT confirms again.
        node = next(n for n in sentinels.nodes if n.port == old)
        await asyncio.to_thread(node.start)
        await asyncio.to_thread(sentinels.wait_role, node, "slave")
        async with asyncio.timeout(30):
            while "state=online" not in sentinels.info(new).get("slave0", ""):
                await asyncio.sleep(0.1)
        store.replica_ack._alone_until = 0.0  # do not wait out the recheck period
        await store.add_order(_order("F-back"), datetime.now(UTC))
        assert not store.replica_ack.alone and store.replica_ack.confirmed > 0
    finally:
        await store.aclose()


async def test_planned_failover_moves_writes_pubsub_and_stream_reads(sentinels: SentinelSet):
    """SENTINEL FAILOVER demotes a live master: its clients are cut (or answered READONLY)
    and every kind of user follows: commands, the wakeup subscriber, a blocking XREADGROUP."""
    store = RedisOrderStore.from_url(sentinels.url)
    consumer = IntakeStreamConsumer(store.redis, store, consumer="c1", block_ms=500)
    consumer.start()
    try:
        await store.start()  # starts the wakeup subscriber
        old = sentinels.master_port()
        assert old is not None
        assert "+OK" in _command(sentinels.sentinels[0].port, "SENTINEL", "FAILOVER", "dozvon")
        async with asyncio.timeout(30):
            while sentinels.master_port() in (None, old):
                await asyncio.sleep(0.05)
        await asyncio.to_thread(sentinels.wait_role, sentinels.nodes[0], "slave")
        async with asyncio.timeout(30):  # until then WAIT refuses (it is still syncing)
            while "state=online" not in sentinels.info(sentinels.master_port() or 0).get(
                "slave0", ""
            ):
                await asyncio.sleep(0.05)
        # Plain commands and scripts go to the new master.
        await store.add_order(_order("P-1"), datetime.now(UTC))
        assert (await store.get_order("P-1")) is not None
        # The stream consumer reads on the new master.
        await store.redis.xadd("dozvon:intake", {"order": _order("P-2").model_dump_json()})
        async with asyncio.timeout(20):
            while await store.get_order("P-2") is None:
                await asyncio.sleep(0.1)
        # The wakeup subscriber hears a publish on the new master.
        store._wakeup.clear()
        async with asyncio.timeout(20):
            while not store._wakeup.is_set():
                await store.redis.publish(store.wakeup_channel, "1")
                await asyncio.sleep(0.2)
        assert store.replica_ack is not None
        info = sentinels.info(sentinels.master_port() or 0)
        assert info.get("connected_slaves") == "1"  # the demoted master replicates
    finally:
        await consumer.stop()
        await store.aclose()


async def test_a_replica_that_does_not_answer_means_not_acknowledged(sentinels: SentinelSet):
    """WAIT times out while the replica is connected but stopped (SIGSTOP): the intake answers
    503 not_replicated; once it answers again, the CRM's retry is a confirmed duplicate."""
    store = RedisOrderStore.from_url(sentinels.url, wait_timeout_ms=300)
    settings = Settings(redis_url=sentinels.url, api_token="t")
    runner = web.AppRunner(make_web_app(settings, store), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/api/v1/orders"
    body = {"order_id": "W-1", "phone": "+74951234567", "amount": "990", "shop_name": "Ромашка"}
    replica = sentinels.nodes[1]
    assert replica.pid is not None
    try:
        async with aiohttp.ClientSession(headers={"Authorization": "Bearer t"}) as http:
            os.kill(replica.pid, signal.SIGSTOP)
            try:
                async with http.post(url, json=body) as r:
                    assert (r.status, (await r.json())["error"]) == (503, "not_replicated")
            finally:
                os.kill(replica.pid, signal.SIGCONT)
            async with http.post(url, json=body) as r:  # the CRM's retry
                assert (r.status, (await r.json())["duplicate"]) == (200, True)
        assert store.replica_ack is not None
        assert (store.replica_ack.unconfirmed, store.replica_ack.confirmed) == (1, 1)
    finally:
        await runner.cleanup()
        await store.aclose()


async def test_a_result_the_replica_did_not_confirm_is_journaled_and_replayed(
    sentinels: SentinelSet, tmp_path
):
    """The result reached the master but not the replica: the dialer keeps it (memory and the
    finish journal, as for an unreachable store) and writes it again once the replica answers;
    the replay is applied once and confirmed."""
    from robot.adapters.finish_journal import FileFinishJournal
    from robot.core.models import OrderStatus, Outcome
    from robot.engine.calls import CallTracker
    from robot.engine.dialer import Dialer
    from robot.ports import PendingFinish
    from robot.service import dialer_config
    from robot.testing import FakePrompts, finished_call

    store = RedisOrderStore.from_url(sentinels.url, wait_timeout_ms=300)
    dialer = Dialer(
        store=store, originator=None, tracker=CallTracker(), prompts=FakePrompts(),  # type: ignore[arg-type]
        recognizer=None, is_speech_factory=lambda: (lambda frame: False),
        config=dialer_config(Settings(worker_id="w1", lease_s=60).dialer, {}),
        journal=FileFinishJournal(tmp_path, "w1"),
    )  # fmt: skip
    replica = sentinels.nodes[1]
    assert replica.pid is not None
    try:
        now = datetime.now(UTC)
        await store.add_order(_order("J-1"), now)
        record = await store.claim_due(now, "w1", 60)
        assert record is not None
        call = finished_call(record, Outcome.CONFIRMED, now)
        os.kill(replica.pid, signal.SIGSTOP)
        try:
            await dialer.results.finish(PendingFinish(call, OrderStatus.CONFIRMED, now, "answered"))
            assert dialer.unsaved_results == 1
            assert (tmp_path / "w1.jsonl").read_text().count(call.call_id) == 1
        finally:
            os.kill(replica.pid, signal.SIGCONT)
        assert store.replica_ack is not None
        confirmed = store.replica_ack.confirmed
        assert await dialer.flush_finishes()
        assert store.replica_ack.confirmed == confirmed + 1  # the replay waited for the replica
        assert dialer.unsaved_results == 0
        after = await store.get_order("J-1")
        assert after is not None and after.status is OrderStatus.CONFIRMED
        assert await store.redis.zrange("dozvon:outbox:due", 0, -1) == ["J-1:final"]
        assert store.replica_ack.unconfirmed == 1
    finally:
        await store.aclose()
