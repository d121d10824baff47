"""Orders changed from outside the dialer: cancel, update, CRM status events, reopening, and
final states decided without a call. The store (``robot.adapters.redis_store``) performs each
move in one transaction; this module decides what to ask it for and hangs up calls in flight.

Reporting: each cycle of an order (robot.core.lifecycle) reaches the CRM as exactly one
``order.final`` event. A cancel (or a CRM status that means stop) of an order whose call is in
flight reports the final status at once (with the history so far) and asks the call's worker
to hang up over the pub/sub channel ``dozvon:hangup`` (``{"order_id", "reason"}``); when that
call ends, its result goes out as a ``call.finished`` event with ``final: false``. The dialer
also checks its live calls' orders on a timer, so a hangup request lost with a Redis restart
is still acted on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from redis.exceptions import RedisError

from robot.adapters.redis_store import (
    OrderFinal,
    RedisOrderStore,
    UnknownOrder,
)
from robot.core.callback_url import WebhookHostPolicy
from robot.core.lifecycle import Move
from robot.core.models import Order, OrderError, OrderStatus, StatusEvent, parse_order
from robot.core.records import OrderRecord
from robot.core.reopen import Reopening
from robot.core.shops import STOP, ShopConfig, action_for_status
from robot.supervision import join_task

log = logging.getLogger(__name__)

# The CRM status and its time change only by status events (apply_status), never by a patch.
_NOT_PATCHABLE = {"order_id", "id", "action", "update", "received_at", "status", "cancelled",
                  "crm_status", "crm_status_at"}  # fmt: skip

__all__ = [
    "ControlResult",
    "HangupListener",
    "OrderControl",
    "OrderFinal",
    "StatusApplied",
    "UnknownOrder",
]


class ShopLookup(Protocol):
    """What status events need of the shops registry (robot.adapters.shop_registry)."""

    def get(self, name: str) -> ShopConfig | None: ...


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


@dataclass(frozen=True)
class StatusApplied:
    """What a CRM status event did (``OrderControl.apply_status``)."""

    result: str  # applied | stale | unchanged | unknown_order
    action: str | None  # the purpose the status selected, "stop", or None (only recorded)
    order: OrderRecord | None
    hung_up: list[str] = field(default_factory=list)  # ids of live calls told to hang up

    def to_json(self) -> dict[str, Any]:
        o = self.order
        return {"result": self.result, "action": self.action,
                "order_id": o.order.order_id if o else None,
                "status": o.status.value if o else None,
                "purpose": o.order.purpose if o else None,
                "crm_status": o.order.crm_status if o else None,
                "hung_up": self.hung_up}  # fmt: skip


def cancel_requested(patch: dict[str, Any]) -> bool:
    """An update that means "cancel": ``"status": "cancelled"`` or ``"cancelled": true``."""
    return patch.get("status") == OrderStatus.CANCELLED.value or patch.get("cancelled") is True


class OrderControl:
    """Cancel, update, finalize, reopen and apply CRM statuses to orders in the store."""

    def __init__(self, store: RedisOrderStore, shops: ShopLookup | None = None) -> None:
        self.store = store
        self.keys = store.keys
        self.redis = store.redis
        self.prefix = store.prefix
        self.shops = shops  # None: every shop gets DEFAULT_STATUSES

    @property
    def hangup_channel(self) -> str:
        return self.keys.hangup

    # -- public operations ---------------------------------------------------------------------

    async def cancel(
        self, order_id: str, now: datetime, reason: str = "cancelled by the shop"
    ) -> ControlResult:
        """Final ``cancelled``, reported once; a call in flight is hung up by its worker.
        Cancelling a cancelled order changes nothing; any other final status raises."""
        result = await self._end(order_id, OrderStatus.CANCELLED, now, reason, Move.CANCEL)
        if not result.changed and result.status is not OrderStatus.CANCELLED:
            raise OrderFinal(order_id, result.status)
        return result

    async def finalize_claimed(
        self, order_id: str, worker_id: str, status: OrderStatus, now: datetime, reason: str
    ) -> bool:
        """The dialer holds the order's lease and the policy says stop (do-not-call,
        exhausted): final without a call; the claim does not count as an attempt."""
        _, changed = await self.store.end_order(
            order_id, status, now, reason, move=Move.FINALIZE, owner=worker_id
        )
        return changed

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
        old, stored, new = await self.store.update_order(
            order_id, lambda o: _patched(o, patch, default_region, webhook_hosts), now
        )
        if new.do_not_call:
            return await self._end(
                order_id, OrderStatus.DNC, now, "do_not_call set by an order update", Move.UPDATE
            )
        if new == stored:
            return ControlResult(order_id, old, old, changed=False)
        hangup = old is OrderStatus.CALLING
        if hangup:
            await self.request_hangup(order_id, "order updated")
        return ControlResult(order_id, old, old, changed=True, hangup_requested=hangup)

    async def apply_status(self, event: StatusEvent, now: datetime) -> StatusApplied:
        """A CRM status event (``POST /api/v1/orders/{id}/status``, the stream's "status"
        action): the order's shop maps the status to a purpose, "stop" or nothing
        (``robot.core.shops.action_for_status``); the store applies it in one transaction
        (``RedisOrderStore.apply_status``: stale events change nothing). A live call is hung
        up when the status stops the order or starts a new purpose."""
        before = await self.store.get_order(event.order_id)
        if before is None:
            return StatusApplied("unknown_order", None, None)
        shop = self.shops.get(before.order.shop_name) if self.shops is not None else None
        action = action_for_status(shop, event.status)
        change = await self.store.apply_status(event, action, now)
        if change.result == "unknown_order":
            return StatusApplied("unknown_order", action, None)
        hung_up: list[str] = []
        if change.old is OrderStatus.CALLING and (
            change.new is OrderStatus.STOPPED or change.new_cycle
        ):
            why = f"CRM status {event.status}" + (" (stop)" if action == STOP else "")
            hung_up = [c.call_id for c in before.calls if c.outcome is None]
            await self.request_hangup(event.order_id, why)
        return StatusApplied(change.result, action, await self.store.get_order(event.order_id),
                             hung_up)  # fmt: skip

    async def request_hangup(self, order_id: str, reason: str) -> None:
        """Ask whichever worker runs this order's call to hang up (fire and forget: the
        dialer's periodic check of its live calls covers a lost message)."""
        try:
            await self.redis.publish(
                self.hangup_channel, json.dumps({"order_id": order_id, "reason": reason})
            )
        except RedisError as e:
            log.warning("order %s: hangup request not published: %s", order_id, e)

    async def _end(
        self, order_id: str, status: OrderStatus, now: datetime, reason: str, move: Move
    ) -> ControlResult:
        old, changed = await self.store.end_order(order_id, status, now, reason, move=move)
        if not changed:
            return ControlResult(order_id, old, old, changed=False)
        in_flight = old is OrderStatus.CALLING
        if in_flight:
            await self.request_hangup(order_id, reason)
        return ControlResult(order_id, old, status, changed=True, hangup_requested=in_flight)

    # -- reopening (robot.core.reopen) ----------------------------------------------------------

    async def reopen(
        self, order_id: str, now: datetime, *, attempts: int, by: str, on_dnc: bool = False
    ) -> Reopening:
        """Give a final order ``attempts`` further calls (``RedisOrderStore.reopen``)."""
        return await self.store.reopen(order_id, now, attempts=attempts, by=by, on_dnc=on_dnc)

    async def reopening(self, order_id: str) -> Reopening | None:
        """The current cycle's view, if the order has one (the policy gate asks before a call)."""
        return await self.store.reopening(order_id)


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
