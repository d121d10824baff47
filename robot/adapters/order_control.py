"""Orders changed from outside the dialer: cancel, update, and final states decided without a
call. Works on ``RedisOrderStore``'s keys (see its docstring) with WATCH/MULTI transactions, so
a cancel racing a claim or a finishing call leaves one consistent state.

Reporting: every order reaches the CRM as exactly one ``order.final`` event, delivery id
``<order>:final``. A cancel of an order whose call is in flight reports ``cancelled`` at once
(with the history so far) and asks the call's worker to hang up over the pub/sub channel
``dozvon:hangup`` (``{"order_id", "reason"}``); when that call ends, its result goes out as a
``call.finished`` event with ``final: false``. The dialer also checks its live calls' orders on
a timer, so a hangup request lost with a Redis restart is still acted on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError, WatchError

from robot.adapters.redis_store import RedisOrderStore, UnknownOrder
from robot.supervision import join_task
from robot.core.callback_url import WebhookHostPolicy
from robot.core.models import CallAttempt, Order, OrderError, OrderStatus, parse_order
from robot.core.records import ResultEvent
from robot.core.reopen import (
    MAX_EXTRA_ATTEMPTS,
    REOPENABLE,
    NotReopenable,
    Reopening,
    final_delivery_id,
)

log = logging.getLogger(__name__)

HANGUP_CHANNEL = "hangup"
_NOT_PATCHABLE = {"order_id", "id", "action", "update", "received_at", "status", "cancelled"}


class OrderFinal(Exception):
    """The order is already final; nothing about it can change."""

    def __init__(self, order_id: str, status: OrderStatus) -> None:
        super().__init__(f"order {order_id} is already {status.value}")
        self.order_id = order_id
        self.status = status


@dataclass(frozen=True)
class ControlResult:
    order_id: str
    previous: OrderStatus
    status: OrderStatus
    changed: bool  # False: nothing to do (already in that state, or not ours)
    hangup_requested: bool = False  # a call was in flight; its worker was told to hang up

    def to_json(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "status": self.status.value,
                "previous": self.previous.value, "changed": self.changed,
                "hangup_requested": self.hangup_requested}  # fmt: skip


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def cancel_requested(patch: dict[str, Any]) -> bool:
    """An update that means "cancel": ``"status": "cancelled"`` or ``"cancelled": true``."""
    return patch.get("status") == OrderStatus.CANCELLED.value or patch.get("cancelled") is True


class OrderControl:
    """Cancel, update and finalize orders in the store's Redis."""

    def __init__(self, store: RedisOrderStore) -> None:
        self.store = store
        self.redis = store.redis
        self.prefix = store.prefix

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def hangup_channel(self) -> str:
        return self._k(HANGUP_CHANNEL)

    # -- public operations ---------------------------------------------------------------------

    async def cancel(
        self, order_id: str, now: datetime, reason: str = "cancelled by the shop"
    ) -> ControlResult:
        """Final ``cancelled``, reported once; a call in flight is hung up by its worker.
        Cancelling a cancelled order changes nothing; any other final status raises."""
        result = await self._finalize(order_id, OrderStatus.CANCELLED, now, reason)
        if not result.changed and result.status is not OrderStatus.CANCELLED:
            raise OrderFinal(order_id, result.status)
        return result

    async def finalize_claimed(
        self, order_id: str, worker_id: str, status: OrderStatus, now: datetime, reason: str
    ) -> bool:
        """The dialer holds the order's lease and the policy says stop (do-not-call,
        exhausted): final without a call; the claim does not count as an attempt."""
        result = await self._finalize(order_id, status, now, reason, owner=worker_id)
        return result.changed

    async def update(
        self,
        order_id: str,
        patch: dict[str, Any],
        now: datetime,
        *,
        default_region: str = "RU",
        webhook_hosts: WebhookHostPolicy | None = None,
    ) -> ControlResult:
        """Apply changed fields (the API's order format, any subset). Cancel if the patch says
        so; ``do_not_call: true`` makes it final ``dnc``. A queued order becomes due now (the
        policy decides the real time); a call in flight is hung up, since it talks about the
        old order, and the order is called again by the usual retry rules."""
        if cancel_requested(patch):
            return await self.cancel(order_id, now, str(patch.get("reason") or "cancelled"))
        if "order_id" in patch and str(patch["order_id"]) != order_id:
            raise OrderError("order_id", "cannot be changed")
        okey, lease_owner = self._k("order", order_id), self._k("lease", "owner")
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(okey, lease_owner)
                    h = await pipe.hgetall(okey)
                    if not h:
                        raise UnknownOrder(order_id)
                    old = OrderStatus(h["status"])
                    if old.is_final:
                        raise OrderFinal(order_id, old)
                    stored = Order.model_validate_json(h["order"])
                    new = _patched(stored, patch, default_region, webhook_hosts)
                    if new == stored:
                        await pipe.reset()
                        return ControlResult(order_id, old, old, changed=False)
                    if new.do_not_call:
                        await pipe.reset()
                        break
                    lock_old = self._k("phone", stored.phone)
                    holder = await pipe.get(lock_old)
                    pttl = await pipe.pttl(lock_old)
                    pipe.multi()
                    fields: dict[Any, Any] = {"order": new.model_dump_json(), "phone": new.phone,
                              "updated_at": _utc(now).isoformat(),
                              "status_reason": "order updated"}  # fmt: skip
                    if old is OrderStatus.QUEUED:
                        fields["due_at"] = _utc(now).isoformat()
                        pipe.zadd(self._k("due"), {order_id: _utc(now).timestamp()})
                    elif new.phone != stored.phone and holder == order_id:
                        # The call being hung up holds the old phone's lock: move it, so the
                        # finishing call releases the lock the order's phone field names.
                        pipe.delete(lock_old)
                        pipe.set(self._k("phone", new.phone), order_id, px=max(int(pttl), 1000))
                    pipe.hset(okey, mapping=fields)
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        if new.do_not_call:
            return await self._finalize(
                order_id, OrderStatus.DNC, now, "do_not_call set by an order update"
            )
        log.info("order %s updated (%s)", order_id, old.value)
        hangup = old is OrderStatus.CALLING
        if hangup:
            await self.request_hangup(order_id, "order updated")
        else:
            await self.store._notify()
        return ControlResult(order_id, old, old, changed=True, hangup_requested=hangup)

    async def request_hangup(self, order_id: str, reason: str) -> None:
        """Ask whichever worker runs this order's call to hang up (fire and forget: the
        dialer's periodic check of its live calls covers a lost message)."""
        try:
            await self.redis.publish(
                self.hangup_channel, json.dumps({"order_id": order_id, "reason": reason})
            )
        except RedisError as e:
            log.warning("order %s: hangup request not published: %s", order_id, e)

    # -- internals -----------------------------------------------------------------------------

    async def _finalize(
        self,
        order_id: str,
        status: OrderStatus,
        now: datetime,
        reason: str,
        *,
        owner: str | None = None,
    ) -> ControlResult:
        okey, lease_owner = self._k("order", order_id), self._k("lease", "owner")
        calls_key = self._k("calls", order_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(okey, lease_owner, calls_key)
                    h = await pipe.hgetall(okey)
                    if not h:
                        raise UnknownOrder(order_id)
                    old = OrderStatus(h["status"])
                    if old.is_final:
                        await pipe.reset()
                        return ControlResult(order_id, old, old, changed=False)
                    holder = await pipe.hget(lease_owner, order_id)
                    if owner is not None and holder != owner:
                        await pipe.reset()  # our lease expired meanwhile: not ours to end
                        return ControlResult(order_id, old, old, changed=False)
                    lock = self._k("phone", str(h["phone"]))
                    lock_holder = await pipe.get(lock)
                    history = sorted(
                        (CallAttempt.model_validate_json(c) for c in await pipe.hvals(calls_key)),
                        key=lambda c: (c.attempt, _utc(c.created_at)),
                    )
                    attempts = int(h.get("attempts", 0)) - (1 if owner is not None else 0)
                    order = Order.model_validate_json(h["order"])
                    reopened = int(h.get("reopened") or 0)
                    event = ResultEvent(
                        event="order.final", delivery_id=final_delivery_id(order_id, reopened),
                        order_id=order_id, status=status, final=True, attempts=attempts,
                        history=history, callback_url=order.callback_url,
                        shop_name=order.shop_name, occurred_at=_utc(now), reopened=reopened,
                    )  # fmt: skip
                    pipe.multi()
                    self._queue_final(pipe, order_id, old, status, now, reason, event)
                    if owner is not None:
                        pipe.hincrby(okey, "attempts", -1)
                        pipe.zrem(self._k("lease"), order_id)
                        pipe.hdel(lease_owner, order_id)
                        if lock_holder == order_id:
                            pipe.delete(lock)
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        in_flight = old is OrderStatus.CALLING and owner is None
        log.info("order %s: %s -> %s (%s)", order_id, old.value, status.value, reason)
        if in_flight:
            await self.request_hangup(order_id, reason)
        return ControlResult(order_id, old, status, changed=True, hangup_requested=in_flight)

    def _queue_final(
        self,
        pipe: Any,
        order_id: str,
        old: OrderStatus,
        status: OrderStatus,
        now: datetime,
        reason: str,
        event: ResultEvent,
    ) -> None:
        okey = self._k("order", order_id)
        pipe.hset(okey, mapping={"status": status.value, "status_reason": reason,
                                 "updated_at": _utc(now).isoformat()})  # fmt: skip
        pipe.hdel(okey, "due_at")
        pipe.zrem(self._k("status", old.value), order_id)
        pipe.zadd(self._k("status", status.value), {order_id: _utc(now).timestamp()})
        pipe.zrem(self._k("due"), order_id)
        ikey = self._k("outbox", "item", event.delivery_id)
        pipe.hset(ikey, mapping={"event": event.model_dump_json(), "order_id": order_id,
                                 "attempt": 0})  # fmt: skip
        pipe.zadd(self._k("outbox", "due"), {event.delivery_id: _utc(now).timestamp()})

    # -- reopening (robot.core.reopen) ----------------------------------------------------------

    async def reopen(
        self, order_id: str, now: datetime, *, attempts: int, by: str, on_dnc: bool = False
    ) -> Reopening:
        """Give a final order ``attempts`` further calls, due now. Raises NotReopenable with
        the reason (confirmed, cancelled, calls barred, no such number, phone on the
        do-not-call list), UnknownOrder, or ValueError for a count out of range. One
        transaction: the status, the schedule and the CRM's ``order.reopened`` event."""
        if not 1 <= attempts <= MAX_EXTRA_ATTEMPTS:
            raise ValueError(f"attempts must be between 1 and {MAX_EXTRA_ATTEMPTS}")
        okey = self._k("order", order_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(okey)
                    h = await pipe.hgetall(okey)
                    if not h:
                        raise UnknownOrder(order_id)
                    old = OrderStatus(h["status"])
                    order = Order.model_validate_json(h["order"])
                    why = _not_reopenable(old, order, on_dnc)
                    if why is not None:
                        await pipe.reset()
                        raise NotReopenable(order_id, old, why)
                    state = Reopening(
                        int(h.get("reopened") or 0) + 1, int(h.get("attempts") or 0), attempts
                    )
                    event = ResultEvent(
                        event="order.reopened", order_id=order_id, status=OrderStatus.QUEUED,
                        delivery_id=f"{order_id}:reopened:{state.count}", final=False,
                        attempts=state.after_attempt, callback_url=order.callback_url,
                        shop_name=order.shop_name, occurred_at=_utc(now), reopened=state.count,
                    )  # fmt: skip
                    at = _utc(now)
                    pipe.multi()
                    pipe.hset(okey, mapping={
                        "status": OrderStatus.QUEUED.value, "due_at": at.isoformat(),
                        "updated_at": at.isoformat(), "reopened": state.count,
                        "reopen_after": state.after_attempt, "reopen_attempts": attempts,
                        "status_reason": f"reopened by {by}: {attempts} more attempt(s)",  # i18n
                    })  # fmt: skip
                    pipe.zrem(self._k("status", old.value), order_id)
                    pipe.zadd(
                        self._k("status", OrderStatus.QUEUED.value), {order_id: at.timestamp()}
                    )
                    pipe.zadd(self._k("due"), {order_id: at.timestamp()})
                    ikey = self._k("outbox", "item", event.delivery_id)
                    pipe.hset(ikey, mapping={"event": event.model_dump_json(),
                                             "order_id": order_id, "attempt": 0})  # fmt: skip
                    pipe.zadd(self._k("outbox", "due"), {event.delivery_id: at.timestamp()})
                    pipe.publish(self._k("wakeup"), "1")
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        log.info("order %s: %s reopened by %s with %d attempt(s) (reopening %d)",
                 order_id, old.value, by, attempts, state.count)  # fmt: skip
        return state

    async def reopening(self, order_id: str) -> Reopening | None:
        """How the order was last reopened, if it was (the policy gate asks before a call)."""
        h = await self.redis.hmget(
            self._k("order", order_id), "reopened", "reopen_after", "reopen_attempts"
        )
        return Reopening.from_fields(dict(zip(("reopened", "reopen_after", "reopen_attempts"),
                                              h, strict=True)))  # fmt: skip


def _not_reopenable(status: OrderStatus, order: Order, on_dnc: bool) -> str | None:
    """Why this order may not be called again, or None."""
    if not status.is_final:
        return "not_final"
    if order.do_not_call or status is OrderStatus.DNC:
        return "dnc"
    if on_dnc:
        return "dnc_listed"
    if status not in REOPENABLE:
        return status.value  # confirmed, cancelled, invalid_number
    return None


def _patched(
    stored: Order, patch: dict[str, Any], default_region: str, hosts: WebhookHostPolicy | None
) -> Order:
    doc = stored.model_dump(mode="json", exclude={"received_at"})
    doc.update({k: v for k, v in patch.items() if k not in _NOT_PATCHABLE})
    new = parse_order(doc, default_region=default_region, webhook_hosts=hosts)
    return new.model_copy(update={"received_at": stored.received_at})


class HangupListener:
    """Subscribes to ``dozvon:hangup`` and hands each request to ``on_request(order_id,
    reason)``; reconnects after Redis restarts. Owns its task (``start``/``stop``)."""

    def __init__(
        self, control: OrderControl, on_request: Callable[[str, str], Awaitable[object]]
    ) -> None:
        self.control = control
        self.on_request = on_request
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="dozvon-hangup-listener")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            await join_task(self._task, grace_s=3.0)
            self._task = None

    async def _run(self) -> None:
        redis = self.control.redis
        while not self._stopping:
            pubsub = redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.control.hangup_channel)
                while not self._stopping:
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                    if msg and msg.get("type") == "message":
                        await self._handle(msg.get("data"))
            except (RedisError, OSError) as e:
                log.warning("hangup listener lost Redis: %s", e)
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def _handle(self, data: Any) -> None:
        try:
            doc = json.loads(data)
            order_id, reason = str(doc["order_id"]), str(doc.get("reason", "hangup requested"))
        except (ValueError, KeyError, TypeError):
            log.warning("hangup listener: dropped a malformed message %r", data)
            return
        try:
            await self.on_request(order_id, reason)
        except Exception:
            log.exception("order %s: hangup request failed", order_id)
