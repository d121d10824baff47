"""What a test reads of an order store's inner state, the same for the in-memory store and the
Redis one, so one test checks both (the Redis side reads the keys of ``redis_keys``)."""

from __future__ import annotations

from robot.adapters.redis_store import RedisOrderStore
from robot.testing.memory_store import InMemoryOrderStore

AnyStore = RedisOrderStore | InMemoryOrderStore


async def leases_held(store: AnyStore) -> int:
    """Orders leased to some worker now."""
    if isinstance(store, InMemoryOrderStore):
        return len(store.leases)
    return int(await store.redis.zcard(store.keys.lease))


async def lease_owner(store: AnyStore, order_id: str) -> str | None:
    if isinstance(store, InMemoryOrderStore):
        lease = store.leases.get(order_id)
        return lease[0] if lease else None
    owner = await store.redis.hget(store.keys.lease_owner, order_id)
    return None if owner is None else str(owner)


async def due_count(store: AnyStore) -> int:
    """Entries of the schedule (QUEUED orders waiting for their time)."""
    if isinstance(store, InMemoryOrderStore):
        return len(store.due)
    return int(await store.redis.zcard(store.keys.due))


async def is_due(store: AnyStore, order_id: str) -> bool:
    """The order is on the schedule."""
    if isinstance(store, InMemoryOrderStore):
        return order_id in store.due
    return await store.redis.zscore(store.keys.due, order_id) is not None


async def phone_locked(store: AnyStore, e164: str) -> bool:
    """A call to this phone is in flight (the lock that keeps it to one call at a time)."""
    if isinstance(store, InMemoryOrderStore):
        return e164 in store.phone_locks
    return bool(await store.redis.exists(store.keys.phone(e164)))


async def waiting_deliveries(store: AnyStore) -> list[str]:
    """Delivery ids waiting for the CRM (not taken by a deliverer), sorted."""
    if isinstance(store, InMemoryOrderStore):
        return sorted(i for i, d in store.outbox.items() if d.inflight_until is None)
    return sorted(str(i) for i in await store.redis.zrange(store.keys.outbox_due, 0, -1))


async def delivery_attempts(store: AnyStore, delivery_id: str) -> int:
    """How often a delivery was taken for sending."""
    if isinstance(store, InMemoryOrderStore):
        return store.outbox[delivery_id].attempt
    return int(await store.redis.hget(store.keys.outbox_item(delivery_id), "attempt") or 0)
