"""An in-memory order store, do-not-call list and phone call log: the dialer's storage ports
(``robot.ports.OrderStore`` with the lease, release and schedule methods the dialer uses,
``robot.engine.policy_gate``'s DNC list, phone log and finalizer) without Redis.

It follows ``robot.adapters.redis_store.RedisOrderStore`` where the dialer can tell: the
earliest due QUEUED order is claimed (priority orders first) unless its phone has a call in
flight; a claim counts an attempt and a release takes it back; ``finish_call`` applies a
call id once, keeps a final status set during the call, and queues ``call.finished`` or the
one ``order.final`` for the CRM. What it does not have: persistence, other processes, the
replica acknowledgement. Tests of those stay on a real redis-server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from robot.adapters.redis_store import UnknownOrder
from robot.core import lifecycle
from robot.core.lifecycle import Move, check_move
from robot.core.models import CallAttempt, Order, OrderStatus
from robot.core.records import OrderRecord, ResultEvent
from robot.core.utc import as_utc
from robot.ports import DuplicateOrder


@dataclass
class _Delivery:
    event: ResultEvent
    due: float  # epoch
    attempt: int = 0
    inflight_until: float | None = None


@dataclass
class InMemoryDnc:
    """The do-not-call list and the per-phone call log (``DncStore``'s ports) in memory."""

    listed: dict[str, datetime] = field(default_factory=dict)
    calls: dict[str, dict[str, datetime]] = field(default_factory=dict)  # phone -> call id -> at

    async def contains(self, phone: str) -> bool:
        return phone in self.listed

    async def add(
        self, phone: str, now: datetime, *, source: str = "api", reason: str = "", by: str = ""
    ) -> bool:
        if phone in self.listed:
            return False
        self.listed[phone] = as_utc(now)
        return True

    async def remove(self, phone: str) -> bool:
        return self.listed.pop(phone, None) is not None

    async def note_call(self, phone: str, call_id: str, at: datetime) -> None:
        self.calls.setdefault(phone, {})[call_id] = as_utc(at)

    async def forget_call(self, phone: str, call_id: str) -> None:
        self.calls.get(phone, {}).pop(call_id, None)

    async def phone_calls(self, phone: str, since: datetime) -> list[datetime]:
        return sorted(t for t in self.calls.get(phone, {}).values() if t >= as_utc(since))


class InMemoryOrderStore:
    """Orders, schedule, leases, call history and the CRM outbox in a dict (see module doc)."""

    def __init__(self, *, dnc: InMemoryDnc | None = None, delivery_visibility_s: float = 60.0):
        self.dnc = dnc  # add_order checks it like the add script checks the dnc ZSET
        self.delivery_visibility_s = delivery_visibility_s
        self.answered_reap_grace_s = 60.0
        self.records: dict[str, OrderRecord] = {}
        self.calls: dict[str, dict[str, CallAttempt]] = {}
        self.due: dict[str, float] = {}  # order id -> due epoch (QUEUED orders)
        self.priority: set[str] = set()
        self.leases: dict[str, tuple[str, float]] = {}  # order id -> (worker, expiry epoch)
        self.phone_locks: dict[str, tuple[str, float]] = {}  # phone -> (order id, monotonic)
        self.outbox: dict[str, _Delivery] = {}
        self.final_sent: dict[str, str] = {}  # order id -> delivery id of its last order.final
        self.waiters = 0  # dialers inside wait_for_work now
        self._wakeup = asyncio.Event()

    # -- intake --------------------------------------------------------------------------------

    async def add_order(
        self, order: Order, now: datetime, *, due_at: datetime | None = None
    ) -> OrderRecord:
        oid = order.order_id
        if oid in self.records:
            raise DuplicateOrder(self._copy(oid))
        if order.received_at is None:
            order = order.model_copy(update={"received_at": as_utc(now)})
        due = as_utc(due_at or now)
        rec = OrderRecord(order=order, created_at=as_utc(now), updated_at=as_utc(now))
        self.records[oid] = rec
        self.calls[oid] = {}
        reason = ""
        if order.do_not_call:
            reason = "do_not_call flag on the order"
        elif self.dnc is not None and await self.dnc.contains(order.phone):
            reason = "phone on the do-not-call list"
        if reason:
            rec.status, rec.status_reason = OrderStatus.DNC, reason
            self._deliver(lifecycle.order_final(order, OrderStatus.DNC, attempts=0, history=[],
                                                now=now), now)  # fmt: skip
            return self._copy(oid)
        rec.status, rec.due_at = OrderStatus.QUEUED, due
        self._schedule(oid, due)
        if order.priority > 0:
            self.priority.add(oid)
        await self._notify()
        return self._copy(oid)

    # -- reads ---------------------------------------------------------------------------------

    async def get_order(self, order_id: str) -> OrderRecord | None:
        return self._copy(order_id) if order_id in self.records else None

    async def list_calls(self, order_id: str) -> list[CallAttempt]:
        return self._history(order_id)

    async def counts(self) -> dict[str, int]:
        """Number of orders per status value, as ``RedisOrderStore.counts``."""
        found = Counter(r.status.value for r in self.records.values())
        return {s.value: found[s.value] for s in OrderStatus}

    # -- the dialer's side ---------------------------------------------------------------------

    async def claim_due(self, now: datetime, worker_id: str, lease_s: float) -> OrderRecord | None:
        t = as_utc(now).timestamp()
        due = sorted((d, oid) for oid, d in self.due.items() if d <= t)  # ties: by id, as Redis
        first = [oid for _, oid in due if oid in self.priority]
        for oid in first + [oid for _, oid in due if oid not in self.priority]:
            rec = self.records[oid]
            if not self._lock_phone(rec.order.phone, oid, lease_s):
                continue
            del self.due[oid]
            self.priority.discard(oid)
            self.leases[oid] = (worker_id, t + lease_s)
            rec.attempts += 1
            rec.status, rec.due_at, rec.updated_at = OrderStatus.CALLING, None, as_utc(now)
            return self._copy(oid)
        return None

    async def renew_lease(self, order_id: str, worker_id: str, lease_s: float) -> bool:
        lease = self.leases.get(order_id)
        if lease is None or lease[0] != worker_id:
            return False
        self.leases[order_id] = (worker_id, datetime.now(UTC).timestamp() + lease_s)
        self._lock_phone(self.records[order_id].order.phone, order_id, lease_s)
        return True

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
        lease = self.leases.get(order_id)
        if lease is None or lease[0] != worker_id:
            return False
        if unplaced_call:
            self.calls[order_id].pop(unplaced_call, None)
        self._requeue(order_id, due_at, now, reason, undo_attempt=True)
        await self._notify()
        return True

    async def save_call(self, call: CallAttempt) -> None:
        self.calls.setdefault(call.order_id, {})[call.call_id] = call.model_copy(deep=True)

    async def finish_call(
        self,
        call: CallAttempt,
        status: OrderStatus,
        now: datetime,
        *,
        reason: str = "",
        due_at: datetime | None = None,
    ) -> None:
        oid = call.order_id
        rec = self.records.get(oid)
        if rec is None:
            raise UnknownOrder(oid)
        stored = self.calls[oid].get(call.call_id)
        if stored is not None and stored.outcome is not None:
            return  # finished before: applied once
        old = rec.status
        late = old.is_final  # e.g. cancelled while the call was in flight
        new = old if late else status
        check_move(Move.FINISH, old, new)
        final = new.is_final and not late
        if late:
            reason = rec.status_reason
        if final:
            history = [c for c in self._history(oid) if c.call_id != call.call_id] + [call]
            event = lifecycle.order_final(rec.order, new, attempts=rec.attempts, history=history,
                                          now=now, reopened=rec.reopened, call=call)  # fmt: skip
        else:
            event = lifecycle.call_finished(rec.order, call, new, attempts=rec.attempts, now=now,
                                            reopened=rec.reopened)  # fmt: skip
        self._deliver(event, now)
        self.calls[oid][call.call_id] = call.model_copy(deep=True)
        rec.status, rec.status_reason, rec.updated_at = new, reason, as_utc(now)
        if call.outcome is not None:
            rec.last_outcome = call.outcome
        self.leases.pop(oid, None)
        self._unlock_phone(rec.order.phone, oid)
        if new is OrderStatus.QUEUED:
            rec.due_at = as_utc(due_at or now)
            self._schedule(oid, rec.due_at)
            await self._notify()
        else:
            rec.due_at = None
            self.due.pop(oid, None)

    async def finalize_claimed(
        self, order_id: str, worker_id: str, status: OrderStatus, now: datetime, reason: str
    ) -> bool:
        """``OrderControl.finalize_claimed``: end a leased order without a call (the claim is
        not an attempt); False if the lease is not ``worker_id``'s any more."""
        rec = self.records.get(order_id)
        if rec is None:
            raise UnknownOrder(order_id)
        lease = self.leases.get(order_id)
        if rec.status.is_final or lease is None or lease[0] != worker_id:
            return False
        check_move(Move.FINALIZE, rec.status, status)
        rec.attempts -= 1
        self._deliver(lifecycle.order_final(rec.order, status, attempts=rec.attempts,
                                            history=self._history(order_id), now=now,
                                            reopened=rec.reopened), now)  # fmt: skip
        rec.status, rec.status_reason, rec.due_at = status, reason, None
        rec.updated_at = as_utc(now)
        self.due.pop(order_id, None)
        self.leases.pop(order_id, None)
        self._unlock_phone(rec.order.phone, order_id)
        return True

    async def reap_expired_leases(self, now: datetime, limit: int = 100) -> list[str]:
        t = as_utc(now).timestamp()
        expired = sorted((exp, oid) for oid, (_, exp) in self.leases.items() if exp <= t)
        ids = [oid for _, oid in expired[:limit]]
        grace = now + timedelta(seconds=self.answered_reap_grace_s)
        for oid in ids:
            answered = any(c.answered_at and c.outcome is None for c in self.calls[oid].values())
            if answered:
                self._requeue(oid, grace, now, "lease expired after the customer answered: "
                              "waiting for a kept answer", undo_attempt=False)  # fmt: skip
            else:
                self._requeue(oid, now, now, "lease expired: worker lost", undo_attempt=False)
        if ids:
            await self._notify()
        return ids

    async def next_due_at(self) -> datetime | None:
        return datetime.fromtimestamp(min(self.due.values()), UTC) if self.due else None

    # -- wakeups -------------------------------------------------------------------------------

    async def _notify(self) -> None:
        self._wakeup.set()

    notify = _notify

    async def wait_for_work(self, timeout_s: float) -> None:
        self.waiters += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout_s)
        finally:
            self.waiters -= 1
        self._wakeup.clear()

    # -- the CRM outbox ------------------------------------------------------------------------

    async def claim_deliveries(
        self, now: datetime, limit: int = 10
    ) -> list[tuple[str, ResultEvent, int]]:
        t = as_utc(now).timestamp()
        for d in self.outbox.values():
            if d.inflight_until is not None and d.inflight_until <= t:
                d.inflight_until, d.due = None, t
        due = sorted((d.due, i) for i, d in self.outbox.items() if d.inflight_until is None
                     and d.due <= t)[:limit]  # fmt: skip
        out = []
        for _, i in due:
            d = self.outbox[i]
            d.attempt += 1
            d.inflight_until = t + self.delivery_visibility_s
            out.append((i, d.event, d.attempt))
        return out

    async def ack_delivery(self, delivery_id: str) -> None:
        self.outbox.pop(delivery_id, None)

    async def outbox_size(self) -> int:
        return len(self.outbox)

    # -- internals -----------------------------------------------------------------------------

    def _copy(self, oid: str) -> OrderRecord:
        return self.records[oid].model_copy(deep=True, update={"calls": self._history(oid)})

    def _history(self, oid: str) -> list[CallAttempt]:
        calls = [c.model_copy(deep=True) for c in self.calls.get(oid, {}).values()]
        return sorted(calls, key=lambda c: (c.attempt, as_utc(c.created_at)))

    def _schedule(self, oid: str, due: datetime) -> None:
        self.due[oid] = as_utc(due).timestamp()

    def _lock_phone(self, phone: str, oid: str, lease_s: float) -> bool:
        holder = self.phone_locks.get(phone)
        if holder is not None and holder[0] != oid and holder[1] > time.monotonic():
            return False
        self.phone_locks[phone] = (oid, time.monotonic() + lease_s)
        return True

    def _unlock_phone(self, phone: str, oid: str) -> None:
        if self.phone_locks.get(phone, ("",))[0] == oid:
            del self.phone_locks[phone]

    def _requeue(
        self, oid: str, due: datetime, now: datetime, reason: str, *, undo_attempt: bool
    ) -> None:
        rec = self.records[oid]
        self.leases.pop(oid, None)
        self._unlock_phone(rec.order.phone, oid)
        if rec.status is not OrderStatus.CALLING:
            return
        if undo_attempt:
            rec.attempts -= 1
        rec.status, rec.due_at = OrderStatus.QUEUED, as_utc(due)
        rec.updated_at, rec.status_reason = as_utc(now), reason
        self._schedule(oid, due)

    def _deliver(self, event: ResultEvent, now: datetime) -> None:
        """Like the Redis store's one outbox writer: a cycle's order.final is written once."""
        if event.final:
            if not lifecycle.may_send_final(self.final_sent.get(event.order_id), event.delivery_id):
                return
            self.final_sent[event.order_id] = event.delivery_id
        self.outbox[event.delivery_id] = _Delivery(event, as_utc(now).timestamp())
