"""Several Asterisk servers (stand-ins speaking AMI): calls go to the server with the most free
capacity, a server whose AMI connection drops leaves the rotation and fails only its own calls,
and it comes back when AMI reconnects."""

from __future__ import annotations

from datetime import UTC, datetime

from robot.adapters.ami.pool import AsteriskPool
from robot.adapters.redis_limits import LimitSettings, RedisCallLimits
from robot.adapters.redis_store import RedisOrderStore
from robot.config import AsteriskServerConfig, Settings
from robot.core.models import CallAttempt, Outcome
from robot.engine.calls import CallTracker
from robot.engine.routing import CallRouter
from robot.ports import Admitted, OriginateOutcome, OriginateRequest, Refused
from robot.testing import free_port, wait_until
from robot.testing.fake_ami import FakeAsterisk, OriginatedCall


def call(call_id: str, server: str) -> CallAttempt:
    return CallAttempt(
        call_id=call_id,
        order_id=f"o-{call_id}",
        phone="+79161234567",
        language="ru",
        asterisk=server,
        created_at=datetime.now(UTC),
    )


async def test_pool_spreads_by_free_capacity_and_drops_a_dead_server(
    store: RedisOrderStore,
) -> None:
    originated: dict[str, list[OriginatedCall]] = {"a": [], "b": []}
    ports = {"a": free_port(), "b": free_port()}
    fakes = {n: FakeAsterisk("127.0.0.1", p, originated[n].append) for n, p in ports.items()}
    for f in fakes.values():
        await f.start()
    settings = Settings(
        asterisk_servers=[
            AsteriskServerConfig(name="a", ami_port=ports["a"], capacity=1),
            AsteriskServerConfig(
                name="b", ami_port=ports["b"], capacity=2, dial_template="PJSIP/{number}@b-trunk"
            ),
        ],
        ami_reconnect_max_s=0.2,
    )
    tracker = CallTracker()
    pool = AsteriskPool.from_settings(settings, tracker)
    router = CallRouter(RedisCallLimits(store.redis, LimitSettings()), pool)
    await pool.start()
    try:
        await wait_until(lambda: len(pool.available()) == 2, 10)
        first = await router.admit("c1")
        assert isinstance(first, Admitted) and first.server == "b"
        assert first.dial_template == "PJSIP/{number}@b-trunk"
        second = await router.admit("c2")  # a: 1 free, b: 1 free -> the first listed
        assert isinstance(second, Admitted) and second.server == "a"
        for cid, server in (("c1", "b"), ("c2", "a")):
            tracker.register(call(cid, server))
            req = OriginateRequest(cid, f"o-{cid}", "Local/1@x", "", 5, {}, server=server)
            await pool.originate(req)
        await wait_until(lambda: len(originated["a"]) == 1 and len(originated["b"]) == 1, 10)

        await fakes["a"].stop()  # server a goes down with a call on it
        await wait_until(lambda: [t.name for t in pool.available()] == ["b"], 10)
        lost = {live.call.call_id: live for live in tracker.live()}
        assert lost["c2"].started.done()
        result = lost["c2"].started.result()
        assert isinstance(result, OriginateOutcome) and result.outcome is Outcome.FAILED
        assert "a" in result.reason
        assert not lost["c1"].started.done()  # b's call is untouched
        third = await router.admit("c3")
        assert isinstance(third, Admitted) and third.server == "b"
        full = await router.admit("c4")  # b is full and a is out of the rotation
        assert isinstance(full, Refused) and full.reason == "trunks_full"

        await router.release("c2", placed=True)
        fakes["a"] = FakeAsterisk("127.0.0.1", ports["a"], originated["a"].append)
        await fakes["a"].start()  # back up: AMI reconnects, the server rejoins
        await wait_until(lambda: len(pool.available()) == 2, 10)
        back = await router.admit("c4")
        assert isinstance(back, Admitted) and back.server == "a"
    finally:
        await pool.stop()
        for f in fakes.values():
            await f.stop()


async def test_no_server_up_refuses_without_touching_redis(store: RedisOrderStore) -> None:
    settings = Settings(ami_port=free_port(), ami_reconnect_max_s=0.2)
    pool = AsteriskPool.from_settings(settings, CallTracker())
    router = CallRouter(RedisCallLimits(store.redis, LimitSettings()), pool)
    refused = await router.admit("c1")
    assert isinstance(refused, Refused) and refused.reason == "no_server"
    assert [s["name"] for s in pool.describe()] == ["default"]
