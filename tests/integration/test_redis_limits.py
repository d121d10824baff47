"""Global call limits on a real Redis: the cap, the CPS bucket (injected clock), trunk choice,
slot expiry of dead workers, the dashboard's run-time controls, per-shop limits and the
refusal reasons, and two worker processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import random

from redis.asyncio import Redis

from robot.adapters.redis_keys import shop_limits
from robot.adapters.redis_limits import (
    SHOP_FULL_RETRY_S,
    SHOP_PAUSED_RETRY_S,
    LimitSettings,
    RedisCallLimits,
)
from robot.adapters.redis_store import RedisOrderStore
from robot.ports import Admitted, Refusal, Refused, Trunk
from robot.testing import ManualClock


def limits(store: RedisOrderStore, clock: ManualClock | None = None, **kw) -> RedisCallLimits:
    return RedisCallLimits(store.redis, LimitSettings(**kw), clock=clock)


async def test_cps_bucket_spaces_calls_by_the_rate(store: RedisOrderStore) -> None:
    clock = ManualClock(1_000_000.0)
    lim = limits(store, clock, cps=2.0, burst=1)
    admitted, refusals = [], []
    for step in range(100):  # 10 simulated seconds, asking every 100 ms
        clock.t = 1_000_000.0 + step / 10
        d = await lim.acquire(f"c{step}")
        if isinstance(d, Admitted):
            admitted.append(step)
            await lim.release(f"c{step}")
        else:
            refusals.append(d)
    assert admitted == list(range(0, 100, 5))  # exactly one call every 0.5 s
    assert {r.reason for r in refusals} == {"cps"}
    assert all(0 < r.retry_after_s <= 0.5 for r in refusals)


async def test_burst_allows_back_to_back_calls_then_the_rate(store: RedisOrderStore) -> None:
    clock = ManualClock(1_000_000.0)
    lim = limits(store, clock, cps=1.0, burst=3)
    got = [await lim.acquire(f"c{i}") for i in range(5)]
    assert [isinstance(d, Admitted) for d in got] == [True, True, True, False, False]


async def test_a_call_never_placed_gives_its_token_back(store: RedisOrderStore) -> None:
    clock = ManualClock(1_000_000.0)
    lim = limits(store, clock, cps=1.0)
    assert isinstance(await lim.acquire("a"), Admitted)
    await lim.release("a", placed=False)  # nothing was due
    assert isinstance(await lim.acquire("b"), Admitted)
    await lim.release("b", placed=True)
    assert isinstance(await lim.acquire("c"), Refused)


async def test_global_cap_and_the_dashboard_override(store: RedisOrderStore) -> None:
    lim = limits(store, max_calls=2)
    assert isinstance(await lim.acquire("a"), Admitted)
    assert isinstance(await lim.acquire("b"), Admitted)
    refused = await lim.acquire("c")
    assert isinstance(refused, Refused) and refused.reason == "full"
    await lim.release("a")
    assert isinstance(await lim.acquire("c"), Admitted)
    assert await lim.in_flight() == 2
    await store.redis.hset("dozvon:control", "max_concurrent_calls", "3")
    assert isinstance(await lim.acquire("d"), Admitted)
    await store.redis.hset("dozvon:control", "paused", "1")
    paused = await lim.acquire("e")
    assert isinstance(paused, Refused) and paused.reason == "paused"


async def test_dashboard_calls_per_second_applies_to_all_workers(store: RedisOrderStore) -> None:
    clock = ManualClock(1_000_000.0)
    one, two = limits(store, clock), limits(store, clock)
    await store.redis.hset("dozvon:control", "calls_per_second", "1")
    assert isinstance(await one.acquire("a"), Admitted)
    assert isinstance(await two.acquire("b"), Refused)  # another worker, same bucket
    clock.t += 1.0
    assert isinstance(await two.acquire("b"), Admitted)


async def test_dead_workers_slots_expire_and_heartbeats_keep_them(store: RedisOrderStore) -> None:
    clock = ManualClock(1_000_000.0)
    dead = limits(store, clock, max_calls=1, slot_ttl_s=30)
    alive = limits(store, clock, max_calls=1, slot_ttl_s=30)
    assert isinstance(await dead.acquire("lost-call"), Admitted)
    clock.t += 29
    assert isinstance(await alive.acquire("x"), Refused)
    clock.t += 2  # the dead worker sent no heartbeat: its slot is gone
    assert isinstance(await alive.acquire("x"), Admitted)
    clock.t += 20
    await alive.heartbeat()
    clock.t += 20  # 40 s after acquiring, but 20 s after the heartbeat
    assert isinstance(await dead.acquire("y"), Refused)


async def test_trunk_with_most_free_capacity_wins(store: RedisOrderStore) -> None:
    lim = limits(store)
    a, b = Trunk("a", capacity=1), Trunk("b", capacity=3, dial_template="SIP/{number}@b")
    picks = []
    for i in range(4):
        d = await lim.acquire(f"c{i}", [a, b])
        assert isinstance(d, Admitted)
        picks.append(d.server)
    assert picks == ["b", "b", "a", "b"]  # free (1,3) (1,2) (1,1): ties go to the first listed
    assert (await lim.acquire("c4", [a, b])).reason == "trunks_full"  # type: ignore[union-attr]
    assert await lim.in_flight("b") == 3
    await lim.release("c2")  # the call on a ended
    assert (await lim.acquire("c5", [b])).reason == "trunks_full"  # type: ignore[union-attr]
    d = await lim.acquire("c5", [a, b])
    assert isinstance(d, Admitted) and d.server == "a"


async def test_trunk_out_of_cps_tokens_hands_the_call_to_another(store: RedisOrderStore) -> None:
    clock = ManualClock(1_000_000.0)
    lim = limits(store, clock)
    a, b = Trunk("a", capacity=10, cps=1.0), Trunk("b", capacity=5, cps=1.0)
    first = await lim.acquire("c1", [a, b])
    second = await lim.acquire("c2", [a, b])
    assert isinstance(first, Admitted) and isinstance(second, Admitted)
    assert {first.server, second.server} == {"a", "b"}
    third = await lim.acquire("c3", [a, b])
    assert isinstance(third, Refused) and third.reason == "cps"


# -- per shop (the hash adapters/shop_registry writes) ------------------------------------------


async def _shop_admits(lim: RedisCallLimits, call_id: str, shop: str) -> Refused | None:
    """Both steps of the gate, as the dialer takes them: installation, then the order's shop."""
    assert isinstance(await lim.acquire(call_id), Admitted)
    refused = await lim.acquire_shop(call_id, shop)
    if refused is not None:
        await lim.release(call_id, placed=False)
    return refused


async def test_a_paused_shop_is_refused_and_other_shops_are_not(store: RedisOrderStore) -> None:
    lim = limits(store)
    assert await _shop_admits(lim, "free", "shop-a") is None  # no hash: no shop limit
    await store.redis.hset(shop_limits("shop-a"), mapping={"paused": "1"})
    refused = await _shop_admits(lim, "a1", "shop-a")
    assert refused == Refused(Refusal.SHOP_PAUSED, SHOP_PAUSED_RETRY_S)
    assert refused.reason.for_shop and not Refusal.PAUSED.for_shop
    assert await _shop_admits(lim, "b1", "shop-b") is None
    await store.redis.hset(shop_limits("shop-a"), "paused", "0")
    assert await _shop_admits(lim, "a2", "shop-a") is None
    # The installation's pause comes first, whatever the shop says.
    await store.redis.hset("dozvon:control", "paused", "1")
    paused = await lim.acquire("b2")
    assert isinstance(paused, Refused) and paused.reason is Refusal.PAUSED


async def test_a_shops_concurrent_calls_cap(store: RedisOrderStore) -> None:
    lim = limits(store, max_calls=10)
    await store.redis.hset(shop_limits("shop-a"), mapping={"max_calls": "2"})
    assert await _shop_admits(lim, "a1", "shop-a") is None
    assert await _shop_admits(lim, "a2", "shop-a") is None
    full = await _shop_admits(lim, "a3", "shop-a")
    assert full == Refused(Refusal.SHOP_FULL, SHOP_FULL_RETRY_S)
    assert await _shop_admits(lim, "b1", "shop-b") is None  # another shop: its own count
    assert await lim.in_flight(shop="shop-a") == 2 and await lim.in_flight() == 3
    await lim.release("a1")
    assert await lim.in_flight(shop="shop-a") == 1
    assert await _shop_admits(lim, "a3", "shop-a") is None
    # A refused call held no shop slot and gave its installation slot back.
    assert await lim.in_flight() == 3


async def test_a_shops_calls_per_second(store: RedisOrderStore) -> None:
    clock = ManualClock(1_000_000.0)
    lim = limits(store, clock)
    await store.redis.hset(shop_limits("shop-a"), mapping={"cps": "2"})
    admitted, refusals = [], []
    for step in range(20):  # 2 simulated seconds, asking every 100 ms
        clock.t = 1_000_000.0 + step / 10
        refused = await _shop_admits(lim, f"a{step}", "shop-a")
        if refused is None:
            admitted.append(step)
            await lim.release(f"a{step}")
        else:
            refusals.append(refused)
    # A burst of one second's worth (2 calls), then one call every 0.5 s.
    assert admitted == [0, 1, 5, 10, 15]
    assert {r.reason for r in refusals} == {Refusal.SHOP_CPS}
    assert all(0 < r.retry_after_s <= 0.5 for r in refusals)
    assert await _shop_admits(lim, "b1", "shop-b") is None  # no limit on another shop


async def test_a_shop_call_never_placed_gives_its_shop_token_back(store: RedisOrderStore) -> None:
    clock = ManualClock(1_000_000.0)
    lim = limits(store, clock)
    await store.redis.hset(shop_limits("shop-a"), mapping={"cps": "1"})
    assert await _shop_admits(lim, "a1", "shop-a") is None
    await lim.release("a1", placed=False)  # e.g. the policy said "not now"
    assert await _shop_admits(lim, "a2", "shop-a") is None
    await lim.release("a2", placed=True)
    refused = await _shop_admits(lim, "a3", "shop-a")
    assert refused is not None and refused.reason is Refusal.SHOP_CPS


async def test_heartbeats_keep_a_shops_slots(store: RedisOrderStore) -> None:
    clock = ManualClock(1_000_000.0)
    lim = limits(store, clock, slot_ttl_s=30)
    await store.redis.hset(shop_limits("shop-a"), mapping={"max_calls": "1"})
    assert await _shop_admits(lim, "a1", "shop-a") is None
    clock.t += 20
    await lim.heartbeat()
    clock.t += 20  # 40 s after acquiring, 20 s after the heartbeat: still held
    full = await _shop_admits(lim, "a2", "shop-a")
    assert full is not None and full.reason is Refusal.SHOP_FULL


async def test_refusal_reasons_name_the_limit(store: RedisOrderStore) -> None:
    clock = ManualClock(1_000_000.0)
    lim = limits(store, clock, max_calls=1, cps=1.0)
    assert isinstance(await lim.acquire("a"), Admitted)
    assert (await lim.acquire("b")).reason is Refusal.FULL  # type: ignore[union-attr]
    await lim.release("a")
    assert (await lim.acquire("b")).reason is Refusal.CPS  # type: ignore[union-attr]
    clock.t += 1
    full = await lim.acquire("b", [Trunk("t", capacity=0)])
    assert isinstance(full, Refused) and full.reason is Refusal.TRUNKS_FULL


# -- two worker processes ------------------------------------------------------------------------

CAP = 3


def _worker(url: str, name: str, calls: int) -> None:
    async def main() -> None:
        redis = Redis.from_url(url, decode_responses=True)
        lim = RedisCallLimits(redis, LimitSettings(max_calls=CAP))
        # Observed concurrency: incremented after a slot is taken, decremented before it is
        # given back, so it never overstates what the limiter let through.
        track = redis.register_script(
            "local n = redis.call('INCR', KEYS[1]) "
            "if n > tonumber(redis.call('GET', KEYS[2]) or '0') then "
            "redis.call('SET', KEYS[2], n) end return n"
        )
        done = 0
        while done < calls:
            d = await lim.acquire(f"{name}-{done}")
            if isinstance(d, Refused):
                await asyncio.sleep(random.uniform(0.001, 0.005))
                continue
            await track(keys=["bench:now", "bench:max"])
            await redis.incr("bench:admitted")
            await asyncio.sleep(random.uniform(0.001, 0.01))
            await redis.decr("bench:now")
            await lim.release(f"{name}-{done}")
            done += 1
        await redis.aclose()

    asyncio.run(main())


async def test_global_cap_holds_across_two_worker_processes(store: RedisOrderStore) -> None:
    url = store.redis.connection_pool.connection_kwargs
    redis_url = f"redis://{url['host']}:{url['port']}/{url.get('db', 0)}"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(redis_url, f"w{i}", 60)) for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        await asyncio.to_thread(p.join, 120)
        assert p.exitcode == 0
    assert int(await store.redis.get("bench:admitted")) == 120
    peak = int(await store.redis.get("bench:max"))
    assert 1 <= peak <= CAP
    assert await store.redis.zcard("dozvon:limits:calls") == 0


async def test_a_refusing_trunk_is_slowed_down_then_recovers(store: RedisOrderStore) -> None:
    clock = ManualClock(1_000_000.0)
    lim = limits(store, clock, backoff_start_cps=2.0, backoff_min_cps=0.25, backoff_hold_s=0.5)
    trunk, other = Trunk("carrier"), Trunk("spare")
    assert await lim.trunk_rate("carrier") is None
    # Unlimited until it refuses (503/403); then half the start rate, halving per refusal.
    assert [await lim.back_off("carrier") for _ in range(4)] == [1.0, 0.5, 0.25, 0.25]
    admitted = []
    for step in range(40):  # 10 simulated seconds, asking every 250 ms
        clock.t = 1_000_000.0 + step / 4
        d = await lim.acquire(f"c{step}", [trunk])
        if isinstance(d, Admitted):
            admitted.append(step)
            await lim.release(f"c{step}")
    assert admitted == [0, 16, 32]  # one call every 4 s at 0.25 calls/s
    # Another trunk is not slowed down.
    assert isinstance(await lim.acquire("o1", [other]), Admitted)
    assert isinstance(await lim.acquire("o2", [other]), Admitted)
    await asyncio.sleep(0.8)  # the reduction holds backoff_hold_s after the last refusal
    assert await lim.trunk_rate("carrier") is None
    clock.t += 0.1
    assert isinstance(await lim.acquire("c-after", [trunk]), Admitted)
    assert isinstance(await lim.acquire("c-after-2", [trunk]), Admitted)
