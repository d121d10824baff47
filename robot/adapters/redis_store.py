"""The durable order store: Redis, via redis.asyncio. Implements ``robot.ports.OrderStore``.

Key layout (prefix ``dozvon:``; single Redis node, the Lua scripts build some keys inside):

    order:{id}          HASH   order (Order JSON; changed only by an order update), phone,
                               status, attempts, due_at,
                               last_outcome, status_reason, created_at, updated_at (ISO 8601)
    calls:{id}          HASH   call_id -> CallAttempt JSON (the order's call history)
    orders              ZSET   every order id, score = created epoch (listing)
    status:{status}     ZSET   order ids by current status, score = updated epoch (counts)
    due                 ZSET   QUEUED order ids, score = due epoch seconds
    due:priority        ZSET   ids of orders with priority > 0 (score = first due epoch): of
                               the due orders, these are claimed first
    lease               ZSET   in-flight order ids, score = lease expiry epoch seconds
    lease:owner         HASH   order id -> worker id holding the lease
    phone:{e164}        STRING order id with a call in flight to that phone (PX = lease)
    outbox:due          ZSET   delivery ids waiting for the CRM, score = next attempt epoch
    outbox:inflight     ZSET   delivery ids being delivered, score = visibility deadline
    outbox:item:{did}   HASH   event (ResultEvent JSON), order_id, attempt, last_error
    outbox:failed       ZSET   dead letters, score = failed epoch (robot.adapters.webhook_outbox)
    wakeup              pub/sub channel: "new work may be due"

Every state change that must be all-or-nothing is one Lua script (add, claim, renew, release,
reap, outbox claim/retry) or one WATCH/MULTI transaction (finish_call), so a worker dying at any
point leaves either the old state or the new one. Deliveries are at least once: the CRM
deduplicates on ``delivery_id``. Status strings in the scripts are ``OrderStatus`` values.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError

from robot.adapters.redis_connect import is_sentinel_url, redis_client
from robot.adapters.redis_replication import NotReplicated, ReplicaAck
from robot.adapters.webhook_outbox import WebhookOutbox
from robot.core.models import CallAttempt, Order, OrderStatus, Outcome
from robot.core.phones import mask_phone
from robot.core.records import OrderRecord, ResultEvent
from robot.core.reopen import final_delivery_id
from robot.ports import DuplicateOrder
from robot.supervision import join_task

log = logging.getLogger(__name__)

PREFIX = "dozvon:"

# KEYS: order, due, orders, outbox:due. ARGV: prefix, id, order json, phone, now iso, now epoch,
# due iso, due epoch, dnc flag, delivery id, event json. Returns 1 if added, 0 if known. A phone
# on the do-not-call list (ZSET dnc, robot.adapters.dnc_store) counts like the flag.
_LUA_ADD_ORDER = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local p, id = ARGV[1], ARGV[2]
redis.call('HSET', KEYS[1], 'order', ARGV[3], 'phone', ARGV[4], 'attempts', 0,
  'created_at', ARGV[5], 'updated_at', ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[6], id)
local dnc_reason = false
if ARGV[9] == '1' then
  dnc_reason = 'do_not_call flag on the order'
elseif redis.call('ZSCORE', p .. 'dnc', ARGV[4]) then
  dnc_reason = 'phone on the do-not-call list'
end
if dnc_reason then
  redis.call('HSET', KEYS[1], 'status', 'dnc', 'status_reason', dnc_reason)
  redis.call('ZADD', p .. 'status:dnc', ARGV[6], id)
  redis.call('HSET', p .. 'outbox:item:' .. ARGV[10], 'event', ARGV[11], 'order_id', id,
    'attempt', 0)
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[10])
else
  redis.call('HSET', KEYS[1], 'status', 'queued', 'due_at', ARGV[7])
  redis.call('ZADD', p .. 'status:queued', ARGV[6], id)
  redis.call('ZADD', KEYS[2], ARGV[8], id)
end
return 1
"""

# Skips (leaves due) orders whose phone already has a call in flight; drops stale due entries
# of orders that are no longer QUEUED. KEYS: due, lease, lease:owner. ARGV: prefix, now epoch,
# lease expiry epoch, worker, lease ms, now iso, scan limit. Returns the order id or false.
# Priority orders are tried first: ``due:priority`` indexes them (score = first due time; the
# ``due`` ZSET stays the only schedule, so a retry or a deferral there also holds them back).
_LUA_CLAIM_DUE = """
local p = ARGV[1]
local function claim(id)
  local okey = p .. 'order:' .. id
  local lock = p .. 'phone:' .. redis.call('HGET', okey, 'phone')
  if not redis.call('SET', lock, id, 'NX', 'PX', ARGV[5]) then return false end
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], ARGV[3], id)
  redis.call('HSET', KEYS[3], id, ARGV[4])
  redis.call('HINCRBY', okey, 'attempts', 1)
  redis.call('HSET', okey, 'status', 'calling', 'updated_at', ARGV[6])
  redis.call('HDEL', okey, 'due_at')
  redis.call('ZREM', p .. 'status:queued', id)
  redis.call('ZADD', p .. 'status:calling', ARGV[2], id)
  return true
end
local pkey = p .. 'due:priority'
for _, id in ipairs(redis.call('ZRANGE', pkey, '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, ARGV[7])) do
  local status = redis.call('HGET', p .. 'order:' .. id, 'status')
  if status ~= 'queued' and status ~= 'calling' then
    redis.call('ZREM', pkey, id)
  elseif status == 'queued' then
    local due = redis.call('ZSCORE', KEYS[1], id)
    if due and tonumber(due) <= tonumber(ARGV[2]) and claim(id) then return id end
  end
end
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, ARGV[7])
for _, id in ipairs(ids) do
  if redis.call('HGET', p .. 'order:' .. id, 'status') ~= 'queued' then
    redis.call('ZREM', KEYS[1], id)
  elseif claim(id) then
    return id
  end
end
return false
"""

# KEYS: lease, lease:owner. ARGV: prefix, id, worker, expiry epoch, lease ms.
_LUA_RENEW_LEASE = """
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[3] then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
local lock = ARGV[1] .. 'phone:' .. redis.call('HGET', ARGV[1] .. 'order:' .. ARGV[2], 'phone')
if redis.call('GET', lock) == ARGV[2] then
  redis.call('PEXPIRE', lock, ARGV[5])
else
  redis.call('SET', lock, ARGV[2], 'NX', 'PX', ARGV[5])
end
return 1
"""

# Shared by release (one order, owner checked) and reap (expired leases): back to QUEUED.
_LUA_REQUEUE_FN = """
local function requeue(p, id, due_epoch, due_iso, now_iso, reason, undo_attempt)
  local okey = p .. 'order:' .. id
  redis.call('ZREM', p .. 'lease', id)
  redis.call('HDEL', p .. 'lease:owner', id)
  local phone = redis.call('HGET', okey, 'phone')
  if phone and redis.call('GET', p .. 'phone:' .. phone) == id then
    redis.call('DEL', p .. 'phone:' .. phone)
  end
  if redis.call('HGET', okey, 'status') ~= 'calling' then return end
  if undo_attempt then redis.call('HINCRBY', okey, 'attempts', -1) end
  redis.call('HSET', okey, 'status', 'queued', 'due_at', due_iso, 'updated_at', now_iso,
    'status_reason', reason)
  redis.call('ZREM', p .. 'status:calling', id)
  redis.call('ZADD', p .. 'status:queued', due_epoch, id)
  redis.call('ZADD', p .. 'due', due_epoch, id)
end
"""

# KEYS: lease, lease:owner, due. ARGV: prefix, id, worker, due epoch, due iso, now iso, reason,
# call id to drop from the history ('' for none: a call that was never placed).
_LUA_RELEASE_CLAIM = (
    _LUA_REQUEUE_FN
    + """
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[3] then return 0 end
if ARGV[8] ~= '' then redis.call('HDEL', ARGV[1] .. 'calls:' .. ARGV[2], ARGV[8]) end
requeue(ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7], true)
return 1
"""
)

# KEYS: lease, lease:owner, due. ARGV: prefix, now epoch, now iso, limit, grace epoch, grace
# iso. Returns reaped ids. An order whose lost call had been answered (a call record with
# answered_at and no outcome) comes due only at the grace time: its worker may hold the
# customer's answer in its finish journal (Redis was away, the worker restarts), and an answer
# written within the grace settles the order instead of a second call.
_LUA_REAP_LEASES = (
    _LUA_REQUEUE_FN
    + """
local function answered_lost(p, id)
  for _, raw in ipairs(redis.call('HVALS', p .. 'calls:' .. id)) do
    local ok, c = pcall(cjson.decode, raw)
    if ok and type(c) == 'table' and c.answered_at and c.answered_at ~= cjson.null
        and (c.outcome == nil or c.outcome == cjson.null) then
      return true
    end
  end
  return false
end
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, ARGV[4])
for _, id in ipairs(ids) do
  if answered_lost(ARGV[1], id) then
    requeue(ARGV[1], id, ARGV[5], ARGV[6], ARGV[3],
      'lease expired after the customer answered: waiting for a kept answer', false)
  else
    requeue(ARGV[1], id, ARGV[2], ARGV[3], ARGV[3], 'lease expired: worker lost', false)
  end
end
return ids
"""
)

# Deliveries whose visibility ran out (deliverer crashed) become due again first.
# KEYS: outbox:due, outbox:inflight. ARGV: prefix, now epoch, visible-until epoch, limit.
# Returns {delivery id, event json, attempt} triples.
_LUA_CLAIM_DELIVERIES = """
local p = ARGV[1]
for _, d in ipairs(redis.call('ZRANGE', KEYS[2], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, 1000)) do
  redis.call('ZREM', KEYS[2], d)
  redis.call('ZADD', KEYS[1], ARGV[2], d)
end
local out = {}
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, ARGV[4])
for _, d in ipairs(due) do
  local ikey = p .. 'outbox:item:' .. d
  redis.call('ZREM', KEYS[1], d)
  local ev = redis.call('HGET', ikey, 'event')
  if ev then
    local n = redis.call('HINCRBY', ikey, 'attempt', 1)
    redis.call('ZADD', KEYS[2], ARGV[3], d)
    table.insert(out, {d, ev, n})
  end
end
return out
"""

# KEYS: outbox:due, outbox:inflight. ARGV: prefix, delivery id, next epoch, error, attempted.
_LUA_RETRY_DELIVERY = """
local ikey = ARGV[1] .. 'outbox:item:' .. ARGV[2]
if redis.call('EXISTS', ikey) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', ikey, 'last_error', ARGV[4]) end
if ARGV[5] == '0' then redis.call('HINCRBY', ikey, 'attempt', -1) end
return 1
"""


class UnknownOrder(LookupError):
    """No order with this id is stored."""

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id)
        self.order_id = order_id


def _utc(dt: datetime) -> datetime:
    """Naive datetimes are taken as UTC: the store never guesses a local zone."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _epoch(dt: datetime) -> float:
    return _utc(dt).timestamp()


def _iso(dt: datetime) -> str:
    return _utc(dt).isoformat()


def _final_details(status: OrderStatus, call: CallAttempt) -> dict[str, Any]:
    """What order.final adds for the reply-based endings: the requested change, the fake flag."""
    if status is OrderStatus.CHANGED:
        return {"requested_change": call.requested_change}
    if status is OrderStatus.NOT_ORDERED:
        return {"suspected_fake": True}
    return {}


class RedisOrderStore:
    """Orders, schedule, leases, call history and the CRM outbox in one Redis database."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = PREFIX,
        delivery_visibility_s: float = 60.0,
        claim_scan_limit: int = 100,
        owns_client: bool = False,
        replica_ack: ReplicaAck | None = None,
    ) -> None:
        """``redis`` must be created with ``decode_responses=True``. ``replica_ack``: confirm
        orders, claims and results on a replica before acknowledging them (``from_url`` makes
        one for a Sentinel URL)."""
        self.redis = redis
        self.replica_ack = replica_ack
        self.prefix = prefix
        self.delivery_visibility_s = delivery_visibility_s
        self.claim_scan_limit = claim_scan_limit
        self._owns_client = owns_client
        self._wakeup = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._closing = False
        self._add = redis.register_script(_LUA_ADD_ORDER)
        self._claim = redis.register_script(_LUA_CLAIM_DUE)
        self._renew = redis.register_script(_LUA_RENEW_LEASE)
        self._release = redis.register_script(_LUA_RELEASE_CLAIM)
        self._reap = redis.register_script(_LUA_REAP_LEASES)
        # How long an order whose answered call lost its lease waits before it may be called
        # again (Settings.answered_reap_grace_s; the service sets it).
        self.answered_reap_grace_s = 60.0
        self._claim_out = redis.register_script(_LUA_CLAIM_DELIVERIES)
        self._retry_out = redis.register_script(_LUA_RETRY_DELIVERY)
        self.failed = WebhookOutbox(redis, prefix=prefix)  # the dead letters of the outbox

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        retries: int = 10,
        wait_replicas: int | None = None,
        wait_timeout_ms: int = 500,
        **kwargs: Any,
    ) -> RedisOrderStore:
        """Own a client for ``url`` (a Redis or a Sentinel set: ``redis_connect``). Commands
        retry through a Redis restart or a failover of a few seconds; a retried script whose
        first run did land is harmless: add_order then reports a duplicate of itself, a doubly
        claimed order comes back when its lease expires. ``wait_replicas``: replicas that must
        have an order, claim or result before it is acknowledged (``redis_replication``);
        None: 1 for a Sentinel URL, 0 (no WAIT) for a single Redis."""
        if wait_replicas is None:
            wait_replicas = 1 if is_sentinel_url(url) else 0
        prefix = kwargs.get("prefix", PREFIX)
        ack = None
        if wait_replicas > 0:
            ack = ReplicaAck(redis_client(url, retries=0), f"{prefix}replication:fence",
                             replicas=wait_replicas, timeout_ms=wait_timeout_ms)  # fmt: skip
        return cls(redis_client(url, retries=retries), owns_client=True, replica_ack=ack,
                   **kwargs)  # fmt: skip

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> RedisOrderStore:
        """``from_url`` with the Redis settings of ``robot.config.Settings``."""
        return cls.from_url(
            settings.redis_url,
            wait_replicas=settings.redis_wait_replicas,
            wait_timeout_ms=settings.redis_wait_timeout_ms,
            **kwargs,
        )

    # -- keys ----------------------------------------------------------------------------------

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def wakeup_channel(self) -> str:
        return self._k("wakeup")

    # -- lifecycle -----------------------------------------------------------------------------

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def aclose(self) -> None:
        """Stop the wakeup subscriber; close the client if this store created it."""
        self._closing = True
        if self._listener is not None:
            await join_task(self._listener, grace_s=3.0)
            self._listener = None
        if self._owns_client:
            await self.redis.aclose()
            if self.replica_ack is not None:
                await self.replica_ack.redis.aclose()

    async def _confirm(self, what: str) -> None:
        """Return once a replica has everything written so far (``redis_replication``);
        ``NotReplicated`` (a RedisError: HTTP 503, a stream entry left pending) if not."""
        if self.replica_ack is not None:
            await self.replica_ack.confirm(what)

    # -- intake --------------------------------------------------------------------------------

    async def add_order(
        self, order: Order, now: datetime, *, due_at: datetime | None = None
    ) -> OrderRecord:
        """Store and schedule ``order`` (due ``due_at`` or now); DNC orders go straight to the
        CRM outbox. Atomic and idempotent: a known id raises DuplicateOrder, schedules nothing."""
        if order.received_at is None:
            order = order.model_copy(update={"received_at": _utc(now)})
        oid = order.order_id
        due = due_at or now
        event = ResultEvent(
            event="order.final",
            delivery_id=f"{oid}:final",
            order_id=oid,
            status=OrderStatus.DNC,
            final=True,
            attempts=0,
            callback_url=order.callback_url,
            shop_name=order.shop_name,
            occurred_at=_utc(now),
        )
        added = await self._add(
            keys=[
                self._k("order", oid),
                self._k("due"),
                self._k("orders"),
                self._k("outbox", "due"),
            ],
            args=[
                self.prefix,
                oid,
                order.model_dump_json(),
                order.phone,
                _iso(now),
                _epoch(now),
                _iso(due),
                _epoch(due),
                "1" if order.do_not_call else "0",
                event.delivery_id,
                event.model_dump_json(),
            ],
        )
        await self._confirm(f"order {oid}")  # a duplicate too: its first 201 may have failed
        record = await self.get_order(oid)
        if record is None:  # pragma: no cover - only if someone deletes keys under us
            raise UnknownOrder(oid)
        if not added:
            raise DuplicateOrder(record)
        if order.priority > 0 and record.status is OrderStatus.QUEUED:
            # Outside the add script on purpose: lost here (a crash), the order is only served
            # in plain first-come order. The claim script drops the entry once it is final.
            await self.redis.zadd(self._k("due", "priority"), {oid: _epoch(due)})
        log.info("order %s stored: %s phone=%s", oid, record.status.value, mask_phone(order.phone))
        if record.status is OrderStatus.QUEUED:
            await self._notify()
        return record

    # -- reads ---------------------------------------------------------------------------------

    async def get_order(self, order_id: str) -> OrderRecord | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._k("order", order_id))
            pipe.hvals(self._k("calls", order_id))
            h, calls_json = await pipe.execute()
        if not h:
            return None
        return OrderRecord(
            order=Order.model_validate_json(h["order"]),
            status=OrderStatus(h["status"]),
            attempts=int(h.get("attempts", 0)),
            due_at=datetime.fromisoformat(h["due_at"]) if h.get("due_at") else None,
            last_outcome=Outcome(h["last_outcome"]) if h.get("last_outcome") else None,
            status_reason=h.get("status_reason", ""),
            created_at=datetime.fromisoformat(h["created_at"]),
            updated_at=datetime.fromisoformat(h["updated_at"]),
            calls=self._sorted_calls(calls_json),
            reopened=int(h.get("reopened") or 0),
            reopen_after=int(h.get("reopen_after") or 0),
            reopen_attempts=int(h.get("reopen_attempts") or 0),
        )

    @staticmethod
    def _sorted_calls(calls_json: list[str] | list[bytes | str]) -> list[CallAttempt]:
        calls = [CallAttempt.model_validate_json(c) for c in calls_json]
        return sorted(calls, key=lambda c: (c.attempt, _utc(c.created_at)))

    async def list_calls(self, order_id: str) -> list[CallAttempt]:
        return self._sorted_calls(
            [str(c) for c in await self.redis.hvals(self._k("calls", order_id))]
        )

    async def list_orders(
        self, status: OrderStatus | None = None, limit: int = 50
    ) -> list[OrderRecord]:
        """Most recently created (or, by status, most recently updated) orders first."""
        key = self._k("status", status.value) if status else self._k("orders")
        ids = await self.redis.zrange(key, 0, limit - 1, desc=True)
        records = [await self.get_order(str(i)) for i in ids]
        return [r for r in records if r is not None]

    async def counts(self) -> dict[str, int]:
        """Number of orders per status value (queued, calling, and each final status)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for s in OrderStatus:
                pipe.zcard(self._k("status", s.value))
            values = await pipe.execute()
        return {s.value: int(n) for s, n in zip(OrderStatus, values, strict=True)}

    # -- the dialer's side ---------------------------------------------------------------------

    async def claim_due(self, now: datetime, worker_id: str, lease_s: float) -> OrderRecord | None:
        """Lease the earliest due QUEUED order whose phone has no call in flight."""
        oid = await self._claim(
            keys=[self._k("due"), self._k("lease"), self._k("lease", "owner")],
            args=[
                self.prefix, _epoch(now), _epoch(now) + lease_s, worker_id,
                max(1, int(lease_s * 1000)), _iso(now), self.claim_scan_limit,
            ],
        )  # fmt: skip
        if not oid:
            return None
        try:
            await self._confirm(f"claim of order {oid}")
        except NotReplicated as e:
            # Not dialed: a claim the replica lacks would let a promoted replica hand the same
            # order (and phone) to another worker while this call runs.
            log.warning("order %s claim not replicated, not dialing: %s", oid, e)
            with contextlib.suppress(RedisError, OSError):
                await self.release_claim(oid, worker_id, now, now, reason="claim not replicated")
            return None
        log.info("order %s claimed by %s", oid, worker_id)
        return await self.get_order(oid)

    async def renew_lease(self, order_id: str, worker_id: str, lease_s: float) -> bool:
        """Extend a lease this worker holds, measured from the real clock."""
        expiry = datetime.now(UTC).timestamp() + lease_s
        ok = await self._renew(
            keys=[self._k("lease"), self._k("lease", "owner")],
            args=[self.prefix, order_id, worker_id, expiry, max(1, int(lease_s * 1000))],
        )
        return bool(ok)

    async def release_claim(
        self,
        order_id: str,
        worker_id: str,
        now: datetime,
        due_at: datetime,
        *,
        reason: str = "",
        unplaced_call: str = "",
    ) -> bool:
        """Give a leased order back without calling (e.g. outside calling hours): QUEUED again,
        due ``due_at``, and the claim does not count as an attempt. ``unplaced_call``: the id
        of a call recorded before its Originate but never placed (the server refused it),
        removed from the history."""
        ok = await self._release(
            keys=[self._k("lease"), self._k("lease", "owner"), self._k("due")],
            args=[self.prefix, order_id, worker_id, _epoch(due_at), _iso(due_at), _iso(now),
                  reason, unplaced_call],
        )  # fmt: skip
        if ok:
            log.info(
                "order %s released by %s until %s: %s", order_id, worker_id, _iso(due_at), reason
            )
            await self._notify()
        return bool(ok)

    async def save_call(self, call: CallAttempt) -> None:
        await self.redis.hset(self._k("calls", call.order_id), call.call_id,
                              call.model_dump_json())  # fmt: skip

    async def finish_call(
        self,
        call: CallAttempt,
        status: OrderStatus,
        now: datetime,
        *,
        reason: str = "",
        due_at: datetime | None = None,
    ) -> None:
        """Store the call, set the status, release lease and phone lock, requeue if QUEUED and
        put the result in the outbox, in one MULTI. A final status already set (e.g. cancelled
        during the call) is kept, and was reported then: this call goes out as call.finished.
        The order.final event (id ``<order>:final``) carries the whole call history.

        Idempotent per call id: a call whose stored record already has an outcome was finished
        before (a retry whose first EXEC landed, a result replayed from the finish journal) and
        nothing is written again. Accepted whoever holds the lease now: a result kept through a
        Redis outage may arrive after the lease ran out, and an answer beats a retry."""
        oid = call.order_id
        okey = self._k("order", oid)
        calls_key = self._k("calls", oid)
        phone = await self.redis.hget(okey, "phone")
        if phone is None:
            raise UnknownOrder(oid)
        lock_key = self._k("phone", str(phone))
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(okey, lock_key, calls_key)
                    stored = await pipe.hget(calls_key, call.call_id)
                    if stored and CallAttempt.model_validate_json(stored).outcome is not None:
                        await pipe.unwatch()
                        log.info("order %s call %s: already finished, not applied again",
                                 oid, call.call_id)  # fmt: skip
                        # A replay after NotReplicated: written then, confirmed only now.
                        await self._confirm(f"result of call {call.call_id}")
                        return
                    h = cast("dict[str, str]", await pipe.hgetall(okey))
                    holder = await pipe.get(lock_key)
                    old = OrderStatus(h["status"])
                    late = old.is_final  # e.g. cancelled while the call was in flight
                    new = old if late else status
                    final = new.is_final and not late  # order.final goes out once per order
                    if late:
                        reason = h.get("status_reason", "")
                    order = Order.model_validate_json(h["order"])
                    history = []
                    if final:
                        earlier = await pipe.hvals(self._k("calls", oid))
                        history = [c for c in self._sorted_calls(earlier)
                                   if c.call_id != call.call_id] + [call]  # fmt: skip
                    reopened = int(h.get("reopened") or 0)
                    event = ResultEvent(
                        event="order.final" if final else "call.finished",
                        delivery_id=final_delivery_id(oid, reopened)
                        if final
                        else f"{oid}:{call.call_id}",
                        reopened=reopened,
                        order_id=oid,
                        status=new,
                        final=final,
                        call=call,
                        attempts=int(h.get("attempts", 0)),
                        history=history,
                        callback_url=order.callback_url,
                        shop_name=order.shop_name,
                        occurred_at=_utc(now),
                        **_final_details(new, call) if final else {},
                    )
                    pipe.multi()
                    self._queue_finish(pipe, oid, call, old, new, now, reason, due_at)
                    if holder == oid:
                        pipe.delete(lock_key)
                    self._queue_delivery(pipe, event, now)
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        await self._confirm(f"result of call {call.call_id}")
        log.info("order %s call %s finished: %s -> %s (%s)", oid, call.call_id,
                 call.outcome.value if call.outcome else "-", new.value, reason or "-")  # fmt: skip
        if new is OrderStatus.QUEUED:
            await self._notify()

    def _queue_finish(
        self,
        pipe: Any,
        oid: str,
        call: CallAttempt,
        old: OrderStatus,
        new: OrderStatus,
        now: datetime,
        reason: str,
        due_at: datetime | None,
    ) -> None:
        okey = self._k("order", oid)
        pipe.hset(self._k("calls", oid), call.call_id, call.model_dump_json())
        fields = {"status": new.value, "status_reason": reason, "updated_at": _iso(now)}
        if call.outcome is not None:
            fields["last_outcome"] = call.outcome.value
        pipe.zrem(self._k("lease"), oid)
        pipe.hdel(self._k("lease", "owner"), oid)
        pipe.zrem(self._k("status", old.value), oid)
        pipe.zadd(self._k("status", new.value), {oid: _epoch(now)})
        if new is OrderStatus.QUEUED:
            due = due_at or now
            fields["due_at"] = _iso(due)
            pipe.zadd(self._k("due"), {oid: _epoch(due)})
        else:
            pipe.hdel(okey, "due_at")
            pipe.zrem(self._k("due"), oid)
        pipe.hset(okey, mapping=fields)

    async def reap_expired_leases(self, now: datetime, limit: int = 100) -> list[str]:
        """Orders whose worker vanished (lease expired) go back to QUEUED, due now (due after
        ``answered_reap_grace_s`` when the lost call had been answered: see the script); the
        lost call still counts in ``attempts``."""
        grace = now + timedelta(seconds=self.answered_reap_grace_s)
        ids: list[str] = await self._reap(
            keys=[self._k("lease"), self._k("lease", "owner"), self._k("due")],
            args=[self.prefix, _epoch(now), _iso(now), limit, _epoch(grace), _iso(grace)],
        )
        for oid in ids:
            log.warning("order %s lease expired: back to queued", oid)
        if ids:
            await self._notify()
        return list(ids)

    async def next_due_at(self) -> datetime | None:
        """When the earliest QUEUED order is due (may be past: its phone is busy), or None."""
        first = await self.redis.zrange(self._k("due"), 0, 0, withscores=True)
        return datetime.fromtimestamp(float(first[0][1]), UTC) if first else None

    # -- wakeups -------------------------------------------------------------------------------

    async def _notify(self) -> None:
        self._wakeup.set()
        try:
            await self.redis.publish(self.wakeup_channel, "1")
        except RedisError as e:  # the workers poll anyway; a lost wakeup only costs latency
            log.warning("wakeup publish failed: %s", e)

    async def start(self) -> None:
        """Subscribe to the wakeups of other processes (intake, requeues there); without it
        ``wait_for_work`` hears this process's own wakeups only and polls for the rest."""
        if not self._closing and (self._listener is None or self._listener.done()):
            self._listener = asyncio.create_task(self._listen(), name="dozvon-store-wakeup")

    async def wait_for_work(self, timeout_s: float) -> None:
        """Return when intake or a requeue (here, or in another process once ``start`` has
        subscribed) signals, or after ``timeout_s``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout_s)
        self._wakeup.clear()

    async def _listen(self) -> None:
        """One subscriber connection per store; reconnects after Redis restarts."""
        failing = False
        while not self._closing:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.wakeup_channel)
                if failing:
                    log.info("wakeup subscriber reconnected")
                    failing = False
                    self._wakeup.set()  # something may have arrived while we were deaf
                while not self._closing:
                    if await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5):
                        self._wakeup.set()
            except (RedisError, OSError) as e:
                if not failing:
                    log.warning("wakeup subscriber lost Redis: %s", e)
                    failing = True
                self._wakeup.set()
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    # -- the CRM outbox ------------------------------------------------------------------------

    def _queue_delivery(self, pipe: Any, event: ResultEvent, now: datetime) -> None:
        ikey = self._k("outbox", "item", event.delivery_id)
        pipe.hset(ikey, mapping={"event": event.model_dump_json(), "order_id": event.order_id,
                                 "attempt": 0})  # fmt: skip
        pipe.zadd(self._k("outbox", "due"), {event.delivery_id: _epoch(now)})

    async def claim_deliveries(
        self, now: datetime, limit: int = 10
    ) -> list[tuple[str, ResultEvent, int]]:
        """Take up to ``limit`` due results: (delivery id, event, attempt number from 1). Each
        stays invisible for ``delivery_visibility_s``; unacked ones come back after that."""
        rows = await self._claim_out(
            keys=[self._k("outbox", "due"), self._k("outbox", "inflight")],
            args=[self.prefix, _epoch(now), _epoch(now) + self.delivery_visibility_s, limit],
        )
        out = []
        for d, ev, n in rows:
            try:
                out.append((d, ResultEvent.model_validate_json(ev), int(n)))
            except ValidationError as e:  # one unreadable item must not block the others
                await self.failed.fail(d, f"unreadable event: {e.errors()[0]['msg']}", now, None)
        return out

    async def fail_delivery(
        self, delivery_id: str, error: str, now: datetime, url: str | None = None
    ) -> bool:
        """Give up on a delivery: it moves to the failed list (``webhook_outbox``)."""
        return await self.failed.fail(delivery_id, error, now, url)

    async def ack_delivery(self, delivery_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._k("outbox", "inflight"), delivery_id)
            pipe.zrem(self._k("outbox", "due"), delivery_id)
            pipe.delete(self._k("outbox", "item", delivery_id))
            await pipe.execute()

    async def retry_delivery(
        self, delivery_id: str, next_at: datetime, error: str, *, attempted: bool = True
    ) -> bool:
        """Put a claimed delivery back, due ``next_at``. ``attempted=False`` (nothing was sent,
        e.g. no URL configured) does not count toward the backoff."""
        ok = await self._retry_out(
            keys=[self._k("outbox", "due"), self._k("outbox", "inflight")],
            args=[
                self.prefix,
                delivery_id,
                _epoch(next_at),
                error[:500],
                "1" if attempted else "0",
            ],
        )
        return bool(ok)

    async def outbox_size(self) -> int:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self._k("outbox", "due"))
            pipe.zcard(self._k("outbox", "inflight"))
            due, inflight = await pipe.execute()
        return int(due) + int(inflight)
