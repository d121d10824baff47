"""The durable order store: Redis, via redis.asyncio. Implements ``robot.ports.OrderStore``.

The one module that changes an order's status and writes the CRM's outbox: every move of
``robot.core.lifecycle``'s table is a method here, checked against the table, and every result
event comes from that module's builder. Key names: ``robot.adapters.redis_keys``; the Lua
scripts: ``robot.adapters.redis_scripts``.

Every state change that must be all-or-nothing is one Lua script (add, claim, renew, release,
reap, retry now, outbox claim/retry) or one WATCH/MULTI transaction (finish, end, update,
reopen, status), so a worker dying at any point leaves either the old state or the new one.
The transactions read the order hash under WATCH, build the event from what they read and
write both in one MULTI. Deliveries are at least once: the CRM deduplicates on
``delivery_id``; an order.final is written at most once per cycle (``final_sent``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError

from robot.adapters import redis_scripts as lua
from robot.adapters.redis_connect import is_sentinel_url, redis_client
from robot.adapters.redis_keys import PREFIX, RedisKeys
from robot.adapters.redis_replication import NotReplicated, ReplicaAck
from robot.adapters.webhook_outbox import WebhookOutbox
from robot.core import lifecycle
from robot.core.lifecycle import Move, check_move
from robot.core.models import CallAttempt, Order, OrderStatus, Outcome, StatusEvent
from robot.core.phones import mask_phone
from robot.core.records import OrderRecord, ResultEvent
from robot.core.reopen import (
    MAX_EXTRA_ATTEMPTS,
    NotReopenable,
    Reopening,
    why_not_reopenable,
)
from robot.core.shops import STOP
from robot.core.utc import as_utc
from robot.ports import DuplicateOrder
from robot.supervision import join_task

log = logging.getLogger(__name__)


class UnknownOrder(LookupError):
    """No order with this id is stored."""

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id)
        self.order_id = order_id


def _epoch(dt: datetime) -> float:
    return as_utc(dt).timestamp()


def _iso(dt: datetime) -> str:
    return as_utc(dt).isoformat()


class OrderFinal(Exception):
    """The order is already final; nothing about it can change."""

    def __init__(self, order_id: str, status: OrderStatus) -> None:
        super().__init__(f"order {order_id} is already {status.value}")
        self.order_id = order_id
        self.status = status


@dataclass(frozen=True)
class Snapshot:
    """An order hash as a transaction read it (under WATCH): what its move is decided on."""

    order_id: str
    h: dict[str, str]

    @property
    def status(self) -> OrderStatus:
        return OrderStatus(self.h["status"])

    @property
    def order(self) -> Order:
        return Order.model_validate_json(self.h["order"])

    def num(self, name: str) -> int:
        return int(self.h.get(name) or 0)

    @property
    def cycle_after(self) -> int:
        """Calls up to this attempt number belong to earlier cycles (robot.core.lifecycle)."""
        return int(self.h.get("cycle_after") or self.h.get("reopen_after") or 0)

    def final_id(self) -> str:
        return lifecycle.final_delivery_id(self.order_id, self.num("reopened"), self.num("cycle"))

    def may_send_final(self) -> bool:
        return lifecycle.may_send_final(self.h.get("final_sent"), self.final_id())


@dataclass(frozen=True)
class StatusChange:
    """What ``apply_status`` did: ``result`` applied | stale | unchanged | unknown_order."""

    result: str
    action: str | None
    old: OrderStatus | None = None
    new: OrderStatus | None = None
    new_cycle: bool = False


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
        self.keys = RedisKeys(prefix)
        self.delivery_visibility_s = delivery_visibility_s
        self.claim_scan_limit = claim_scan_limit
        self._owns_client = owns_client
        self._wakeup = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._closing = False
        self._add = redis.register_script(lua.ADD_ORDER)
        self._claim = redis.register_script(lua.CLAIM_DUE)
        self._renew = redis.register_script(lua.RENEW_LEASE)
        self._release = redis.register_script(lua.RELEASE_CLAIM)
        self._reap = redis.register_script(lua.REAP_LEASES)
        # How long an order whose answered call lost its lease waits before it may be called
        # again (Settings.answered_reap_grace_s; the service sets it).
        self.answered_reap_grace_s = 60.0
        self._claim_out = redis.register_script(lua.CLAIM_DELIVERIES)
        self._retry_out = redis.register_script(lua.RETRY_DELIVERY)
        self._retry_now = redis.register_script(lua.RETRY_NOW)
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

    @property
    def wakeup_channel(self) -> str:
        return self.keys.wakeup

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
            order = order.model_copy(update={"received_at": as_utc(now)})
        oid = order.order_id
        due = due_at or now
        event = lifecycle.order_final(
            order, OrderStatus.DNC, attempts=0, history=[], now=now
        )  # sent only if the script finds the order on the do-not-call list
        added = await self._add(
            keys=[
                self.keys.order(oid),
                self.keys.due,
                self.keys.orders,
                self.keys.outbox_due,
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
            await self.redis.zadd(self.keys.due_priority, {oid: _epoch(due)})
        log.info("order %s stored: %s phone=%s", oid, record.status.value, mask_phone(order.phone))
        if record.status is OrderStatus.QUEUED:
            await self._notify()
        return record

    # -- reads ---------------------------------------------------------------------------------

    async def get_order(self, order_id: str) -> OrderRecord | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.order(order_id))
            pipe.hvals(self.keys.calls(order_id))
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
            cycle=int(h.get("cycle") or 0),
            cycle_after=int(h["cycle_after"]) if h.get("cycle_after") else None,
            cycle_cap=int(h["cycle_cap"]) if h.get("cycle_cap") else None,
        )

    @staticmethod
    def _sorted_calls(calls_json: list[str] | list[bytes | str]) -> list[CallAttempt]:
        calls = [CallAttempt.model_validate_json(c) for c in calls_json]
        return sorted(calls, key=lambda c: (c.attempt, as_utc(c.created_at)))

    async def list_calls(self, order_id: str) -> list[CallAttempt]:
        return self._sorted_calls(
            [str(c) for c in await self.redis.hvals(self.keys.calls(order_id))]
        )

    async def list_orders(
        self, status: OrderStatus | None = None, limit: int = 50
    ) -> list[OrderRecord]:
        """Most recently created (or, by status, most recently updated) orders first."""
        key = self.keys.status(status.value) if status else self.keys.orders
        ids = await self.redis.zrange(key, 0, limit - 1, desc=True)
        records = [await self.get_order(str(i)) for i in ids]
        return [r for r in records if r is not None]

    async def counts(self) -> dict[str, int]:
        """Number of orders per status value (queued, calling, and each final status)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for s in OrderStatus:
                pipe.zcard(self.keys.status(s.value))
            values = await pipe.execute()
        return {s.value: int(n) for s, n in zip(OrderStatus, values, strict=True)}

    # -- the dialer's side ---------------------------------------------------------------------

    async def claim_due(self, now: datetime, worker_id: str, lease_s: float) -> OrderRecord | None:
        """Lease the earliest due QUEUED order whose phone has no call in flight."""
        oid = await self._claim(
            keys=[self.keys.due, self.keys.lease, self.keys.lease_owner],
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
            keys=[self.keys.lease, self.keys.lease_owner],
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
            keys=[self.keys.lease, self.keys.lease_owner, self.keys.due],
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
        await self.redis.hset(self.keys.calls(call.order_id), call.call_id,
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
        The order.final event (``lifecycle.final_delivery_id``) carries the whole call history.

        A call of an earlier cycle (claimed before a reopening or a status event's new purpose)
        is recorded and reported as call.finished, never as the new cycle's end: the order goes
        back to the queue for its new purpose if this call still held it, and is left as it is
        otherwise.

        Idempotent per call id: a call whose stored record already has an outcome was finished
        before (a retry whose first EXEC landed, a result replayed from the finish journal) and
        nothing is written again. Accepted whoever holds the lease now: a result kept through a
        Redis outage may arrive after the lease ran out, and an answer beats a retry."""
        oid = call.order_id
        okey = self.keys.order(oid)
        calls_key = self.keys.calls(oid)
        phone = await self.redis.hget(okey, "phone")
        if phone is None:
            raise UnknownOrder(oid)
        lock_key = self.keys.phone(str(phone))
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
                    snap = Snapshot(oid, cast("dict[str, str]", await pipe.hgetall(okey)))
                    holder = await pipe.get(lock_key)
                    old = snap.status
                    earlier = lifecycle.of_earlier_cycle(call, snap.cycle_after)
                    # No claim came after this call's: its lease and phone lock are the ones
                    # the order holds, and go with it.
                    holds = snap.num("attempts") == call.attempt
                    new, final, end_due = status, False, due_at
                    if earlier:
                        new = old
                        reason = snap.h.get("status_reason", "")
                        if holds and old is OrderStatus.CALLING:
                            new, end_due = OrderStatus.QUEUED, now
                            reason = f"a new cycle began during the call: {snap.order.purpose}"
                        holds = holds and old is not OrderStatus.QUEUED  # reaped: not held
                    elif old.is_final:  # e.g. cancelled while the call was in flight
                        new, reason = old, snap.h.get("status_reason", "")
                    else:
                        final = new.is_final and snap.may_send_final()
                    check_move(Move.FINISH, old, new)
                    order = snap.order
                    attempts, reopened = snap.num("attempts"), snap.num("reopened")
                    if final:
                        earlier_calls = await pipe.hvals(calls_key)
                        history = [c for c in self._sorted_calls(earlier_calls)
                                   if c.call_id != call.call_id] + [call]  # fmt: skip
                        event = lifecycle.order_final(
                            order, new, attempts=attempts, history=history, now=now,
                            reopened=reopened, cycle=snap.num("cycle"), call=call,
                        )  # fmt: skip
                    else:
                        event = lifecycle.call_finished(
                            order, call, new, attempts=attempts, now=now, reopened=reopened
                        )
                    pipe.multi()
                    pipe.hset(calls_key, call.call_id, call.model_dump_json())
                    if not earlier or holds:
                        self._queue_finish(pipe, oid, call, old, new, now, reason, end_due)
                        if holder == oid:
                            pipe.delete(lock_key)
                    self._put_event(pipe, snap, event, now)
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        await self._confirm(f"result of call {call.call_id}")
        log.info("order %s call %s finished: %s -> %s (%s)%s", oid, call.call_id,
                 call.outcome.value if call.outcome else "-", new.value, reason or "-",
                 " [earlier cycle]" if earlier else "")  # fmt: skip
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
        okey = self.keys.order(oid)
        fields = {"status": new.value, "status_reason": reason, "updated_at": _iso(now)}
        if call.outcome is not None:
            fields["last_outcome"] = call.outcome.value
        pipe.zrem(self.keys.lease, oid)
        pipe.hdel(self.keys.lease_owner, oid)
        pipe.zrem(self.keys.status(old.value), oid)
        pipe.zadd(self.keys.status(new.value), {oid: _epoch(now)})
        if new is OrderStatus.QUEUED:
            due = due_at or now
            fields["due_at"] = _iso(due)
            pipe.zadd(self.keys.due, {oid: _epoch(due)})
        else:
            pipe.hdel(okey, "due_at")
            pipe.zrem(self.keys.due, oid)
        pipe.hset(okey, mapping=fields)

    async def reap_expired_leases(self, now: datetime, limit: int = 100) -> list[str]:
        """Orders whose worker vanished (lease expired) go back to QUEUED, due now (due after
        ``answered_reap_grace_s`` when the lost call had been answered: see the script); the
        lost call still counts in ``attempts``."""
        grace = now + timedelta(seconds=self.answered_reap_grace_s)
        ids: list[str] = await self._reap(
            keys=[self.keys.lease, self.keys.lease_owner, self.keys.due],
            args=[self.prefix, _epoch(now), _iso(now), limit, _epoch(grace), _iso(grace)],
        )
        for oid in ids:
            log.warning("order %s lease expired: back to queued", oid)
        if ids:
            await self._notify()
        return list(ids)

    async def next_due_at(self) -> datetime | None:
        """When the earliest QUEUED order is due (may be past: its phone is busy), or None."""
        first = await self.redis.zrange(self.keys.due, 0, 0, withscores=True)
        return datetime.fromtimestamp(float(first[0][1]), UTC) if first else None

    # -- moves from outside the dialer: end, update, retry now, reopen, CRM status -------------

    async def end_order(
        self,
        order_id: str,
        status: OrderStatus,
        now: datetime,
        reason: str,
        *,
        move: Move,
        owner: str | None = None,
    ) -> tuple[OrderStatus, bool]:
        """Final ``status`` without a call: cancel, do-not-call by an update, the policy's stop
        of a leased order (``owner``: the worker holding the lease; the claim then does not
        count as an attempt). Returns (status before, changed): an order already final is left
        alone, and so is one whose lease ``owner`` no longer holds."""
        okey, lease_owner = self.keys.order(order_id), self.keys.lease_owner
        calls_key = self.keys.calls(order_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(okey, lease_owner, calls_key)
                    h = cast("dict[str, str]", await pipe.hgetall(okey))
                    if not h:
                        raise UnknownOrder(order_id)
                    snap = Snapshot(order_id, h)
                    old = snap.status
                    if old.is_final:
                        await pipe.reset()
                        return old, False
                    holder = await pipe.hget(lease_owner, order_id)
                    if owner is not None and holder != owner:
                        await pipe.reset()  # our lease expired meanwhile: not ours to end
                        return old, False
                    check_move(move, old, status)
                    lock = self.keys.phone(str(h["phone"]))
                    lock_holder = await pipe.get(lock)
                    history = self._sorted_calls(await pipe.hvals(calls_key))
                    pipe.multi()
                    self._queue_end(pipe, snap, status, now, reason, history,
                                    uncount=owner is not None)  # fmt: skip
                    if owner is not None:
                        pipe.zrem(self.keys.lease, order_id)
                        pipe.hdel(lease_owner, order_id)
                        if lock_holder == order_id:
                            pipe.delete(lock)
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        log.info("order %s: %s -> %s (%s)", order_id, old.value, status.value, reason)
        return old, True

    def _queue_end(
        self,
        pipe: Any,
        snap: Snapshot,
        status: OrderStatus,
        now: datetime,
        reason: str,
        history: list[CallAttempt],
        *,
        uncount: bool,
    ) -> None:
        """The writes of a cycle's end without a call, and its order.final, into the MULTI."""
        oid, okey = snap.order_id, self.keys.order(snap.order_id)
        attempts = snap.num("attempts") - (1 if uncount else 0)
        event = lifecycle.order_final(
            snap.order, status, attempts=attempts, history=history, now=now,
            reopened=snap.num("reopened"), cycle=snap.num("cycle"),
        )  # fmt: skip
        pipe.hset(okey, mapping={"status": status.value, "status_reason": reason,
                                 "updated_at": _iso(now)})  # fmt: skip
        if uncount:
            pipe.hincrby(okey, "attempts", -1)
        pipe.hdel(okey, "due_at")
        pipe.zrem(self.keys.status(snap.status.value), oid)
        pipe.zadd(self.keys.status(status.value), {oid: _epoch(now)})
        pipe.zrem(self.keys.due, oid)
        self._put_event(pipe, snap, event, now)

    async def update_order(
        self, order_id: str, change: Callable[[Order], Order], now: datetime
    ) -> tuple[OrderStatus, Order, Order]:
        """Store ``change(stored order)`` (which may raise ``OrderError``). Returns (status,
        stored, new). Nothing is written when new equals stored, or when it sets do_not_call
        (the caller ends the order as do-not-call). A queued order becomes due now; a call in
        flight keeps its phone lock, moved to the new phone if that changed. Raises
        UnknownOrder, OrderFinal."""
        okey, lease_owner = self.keys.order(order_id), self.keys.lease_owner
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(okey, lease_owner)
                    h = cast("dict[str, str]", await pipe.hgetall(okey))
                    if not h:
                        raise UnknownOrder(order_id)
                    old = OrderStatus(h["status"])
                    if old.is_final:
                        raise OrderFinal(order_id, old)
                    stored = Order.model_validate_json(h["order"])
                    new = change(stored)
                    if new == stored or new.do_not_call:
                        await pipe.reset()
                        return old, stored, new
                    check_move(Move.UPDATE, old, old)
                    lock_old = self.keys.phone(stored.phone)
                    holder = await pipe.get(lock_old)
                    pttl = await pipe.pttl(lock_old)
                    pipe.multi()
                    fields: dict[Any, Any] = {
                        "order": new.model_dump_json(), "phone": new.phone,
                        "updated_at": _iso(now), "status_reason": "order updated",
                    }  # fmt: skip
                    if old is OrderStatus.QUEUED:
                        fields["due_at"] = _iso(now)
                        pipe.zadd(self.keys.due, {order_id: _epoch(now)})
                    elif new.phone != stored.phone and holder == order_id:
                        # The call being hung up holds the old phone's lock: move it, so the
                        # finishing call releases the lock the order's phone field names.
                        pipe.delete(lock_old)
                        pipe.set(self.keys.phone(new.phone), order_id, px=max(int(pttl), 1000))
                    pipe.hset(okey, mapping=fields)
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        log.info("order %s updated (%s)", order_id, old.value)
        if old is OrderStatus.QUEUED:
            await self._notify()
        return old, stored, new

    async def retry_now(self, order_id: str, now: datetime, reason: str) -> str:
        """A queued order becomes due now. Returns the status found ("missing": no such
        order); a final order is left alone (``reopen`` it with a stated number of attempts)."""
        found = str(await self._retry_now(
            keys=[self.keys.order(order_id), self.keys.due, self.keys.status("queued")],
            args=[self.prefix, order_id, _epoch(now), _iso(now), reason],
        ))  # fmt: skip
        if found == OrderStatus.QUEUED.value:
            check_move(Move.RETRY_NOW, OrderStatus.QUEUED, OrderStatus.QUEUED)
            await self._notify()
        return found

    async def reopen(
        self, order_id: str, now: datetime, *, attempts: int, by: str, on_dnc: bool = False
    ) -> Reopening:
        """Give a final order ``attempts`` further calls, due now: a new cycle. Raises
        NotReopenable with the reason (confirmed, cancelled, calls barred, no such number,
        phone on the do-not-call list), UnknownOrder, or ValueError for a count out of range.
        One transaction: the status, the schedule and the CRM's ``order.reopened`` event."""
        if not 1 <= attempts <= MAX_EXTRA_ATTEMPTS:
            raise ValueError(f"attempts must be between 1 and {MAX_EXTRA_ATTEMPTS}")
        okey = self.keys.order(order_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(okey)
                    h = cast("dict[str, str]", await pipe.hgetall(okey))
                    if not h:
                        raise UnknownOrder(order_id)
                    snap = Snapshot(order_id, h)
                    old, order = snap.status, snap.order
                    why = why_not_reopenable(old, order, on_dnc)
                    if why is not None:
                        await pipe.reset()
                        raise NotReopenable(order_id, old, why)
                    check_move(Move.REOPEN, old, OrderStatus.QUEUED)
                    state = Reopening(snap.num("reopened") + 1, snap.num("attempts"), attempts)
                    event = lifecycle.order_reopened(
                        order, attempts=state.after_attempt, now=now, reopened=state.count
                    )
                    pipe.multi()
                    pipe.hset(okey, mapping={
                        "status": OrderStatus.QUEUED.value, "due_at": _iso(now),
                        "updated_at": _iso(now), "reopened": state.count,
                        "reopen_after": state.after_attempt, "reopen_attempts": attempts,
                        "cycle_after": state.after_attempt, "cycle_cap": attempts,
                        "status_reason": f"reopened by {by}: {attempts} more attempt(s)",  # i18n
                    })  # fmt: skip
                    pipe.zrem(self.keys.status(old.value), order_id)
                    pipe.zadd(self.keys.status(OrderStatus.QUEUED.value), {order_id: _epoch(now)})
                    pipe.zadd(self.keys.due, {order_id: _epoch(now)})
                    self._put_event(pipe, snap, event, now)
                    pipe.publish(self.keys.wakeup, "1")
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        log.info("order %s: %s reopened by %s with %d attempt(s) (reopening %d)",
                 order_id, old.value, by, attempts, state.count)  # fmt: skip
        return state

    async def reopening(self, order_id: str) -> Reopening | None:
        """The current cycle's view for the policy (robot.core.reopen.policy_view)."""
        names = ("reopened", "reopen_after", "reopen_attempts", "cycle_after", "cycle_cap")
        values = await self.redis.hmget(self.keys.order(order_id), list(names))
        return Reopening.from_fields(dict(zip(names, values, strict=True)))

    async def apply_status(
        self, event: StatusEvent, action: str | None, now: datetime
    ) -> StatusChange:
        """A CRM status event, in one transaction. ``action``: what the shop's map says the
        status means (a purpose, ``STOP`` or None). An event older (``occurred_at``) than the
        status stored changes nothing ("stale"); the status the order has already refreshes
        its time and fields only ("unchanged"). Otherwise the status, its time and fields are
        stored on the order, and:

        - None: nothing else;
        - STOP: an active order ends STOPPED (status_reason: the status), with its cycle's
          order.final; pending calls are dropped (the caller hangs up a live one);
        - a purpose: the order is called about it, due now, in a new cycle (its own attempts
          and order.final) unless it is active with that purpose already; a CALLING order
          keeps its lease until the call (hung up by the caller) ends, then is requeued. A
          final do-not-call or invalid-number order only records it.

        The claim script dials an order only while ``purpose_status`` (the status that chose
        its purpose) equals ``acting_status`` (the last status with an action)."""
        oid = event.order_id
        okey, calls_key = self.keys.order(oid), self.keys.calls(oid)
        at = as_utc(event.occurred_at or now)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(okey, self.keys.lease_owner, calls_key)
                    h = cast("dict[str, str]", await pipe.hgetall(okey))
                    if not h:
                        await pipe.reset()
                        return StatusChange("unknown_order", action)
                    snap = Snapshot(oid, h)
                    old, order = snap.status, snap.order
                    if order.crm_status_at is not None and at < as_utc(order.crm_status_at):
                        await pipe.reset()
                        return StatusChange("stale", action, old, old)
                    repeat = order.crm_status == event.status
                    update: dict[str, Any] = {"crm_status": event.status, "crm_status_at": at,
                                              **event.order_fields()}  # fmt: skip
                    fields: dict[str, Any] = {"updated_at": _iso(now)}
                    new, new_cycle = old, False
                    if repeat or action is None:
                        pass
                    elif action == STOP:
                        fields["acting_status"] = event.status
                        if not old.is_final:
                            new = OrderStatus.STOPPED
                    else:
                        update["purpose"] = action
                        fields["acting_status"] = fields["purpose_status"] = event.status
                        if old.is_final and not lifecycle.may_requeue_for_purpose(old):
                            pass
                        elif old.is_final or order.purpose != action:
                            new_cycle = True
                            new = OrderStatus.QUEUED if old.is_final else old
                            fields["cycle"] = snap.num("cycle") + 1
                            fields["cycle_after"] = snap.num("attempts")
                            fields["status_reason"] = f"status {event.status}: {action}"
                    check_move(Move.STATUS, old, new)
                    fields["order"] = order.model_copy(update=update).model_dump_json()
                    history = []
                    if new is OrderStatus.STOPPED:
                        history = self._sorted_calls(await pipe.hvals(calls_key))
                    pipe.multi()
                    pipe.hset(okey, mapping=cast("dict[Any, Any]", fields))
                    if new is OrderStatus.STOPPED:
                        ended = Snapshot(oid, {**h, **fields})  # the final carries the status
                        self._queue_end(pipe, ended, new, now, event.status, history,
                                        uncount=False)  # fmt: skip
                    if new_cycle:
                        pipe.hdel(okey, "cycle_cap")
                    if new_cycle and new is OrderStatus.QUEUED:
                        pipe.hset(okey, mapping={"status": new.value, "due_at": _iso(now)})
                        pipe.zrem(self.keys.status(old.value), oid)
                        pipe.zadd(self.keys.status(new.value), {oid: _epoch(now)})
                        pipe.zadd(self.keys.due, {oid: _epoch(now)})
                        if order.priority > 0:
                            pipe.zadd(self.keys.due_priority, {oid: _epoch(now)})
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        result = "unchanged" if repeat else "applied"
        log.info("order %s: CRM status %s (%s): %s, %s -> %s%s", oid, event.status,
                 action or "-", result, old.value, new.value,
                 " (new cycle)" if new_cycle else "")  # fmt: skip
        if new is OrderStatus.QUEUED and new_cycle:
            await self._notify()
        return StatusChange(result, action, old, new, new_cycle)

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

    def _put_event(self, pipe: Any, snap: Snapshot, event: ResultEvent, now: datetime) -> bool:
        """Queue ``event`` for the CRM in the open MULTI. An order.final is written only if
        the order's ``final_sent`` (read under WATCH) is not this cycle's: every path that
        ends a cycle comes through here, so a cycle's second order.final cannot be written."""
        if event.final:
            if not lifecycle.may_send_final(snap.h.get("final_sent"), event.delivery_id):
                log.warning("order %s: %s was sent before, not again", snap.order_id,
                            event.delivery_id)  # fmt: skip
                return False
            pipe.hset(self.keys.order(snap.order_id), "final_sent", event.delivery_id)
        ikey = self.keys.outbox_item(event.delivery_id)
        pipe.hset(ikey, mapping={"event": event.model_dump_json(), "order_id": event.order_id,
                                 "attempt": 0})  # fmt: skip
        pipe.zadd(self.keys.outbox_due, {event.delivery_id: _epoch(now)})
        return True

    async def claim_deliveries(
        self, now: datetime, limit: int = 10
    ) -> list[tuple[str, ResultEvent, int]]:
        """Take up to ``limit`` due results: (delivery id, event, attempt number from 1). Each
        stays invisible for ``delivery_visibility_s``; unacked ones come back after that."""
        rows = await self._claim_out(
            keys=[self.keys.outbox_due, self.keys.outbox_inflight],
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
            pipe.zrem(self.keys.outbox_inflight, delivery_id)
            pipe.zrem(self.keys.outbox_due, delivery_id)
            pipe.delete(self.keys.outbox_item(delivery_id))
            await pipe.execute()

    async def retry_delivery(
        self, delivery_id: str, next_at: datetime, error: str, *, attempted: bool = True
    ) -> bool:
        """Put a claimed delivery back, due ``next_at``. ``attempted=False`` (nothing was sent,
        e.g. no URL configured) does not count toward the backoff."""
        ok = await self._retry_out(
            keys=[self.keys.outbox_due, self.keys.outbox_inflight],
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
            pipe.zcard(self.keys.outbox_due)
            pipe.zcard(self.keys.outbox_inflight)
            due, inflight = await pipe.execute()
        return int(due) + int(inflight)
