"""Housekeeping jobs on APScheduler (``AsyncIOScheduler`` in the service's event loop).

Jobs (each ``coalesce=True, max_instances=1``: a slow run is never stacked on itself):

- ``reap-leases`` every ``min(5 s, lease / 3)``: orders whose worker died (lease expired) go
  back to the queue (``RedisOrderStore.reap_expired_leases``; the lost call stays in the
  history and counts as failed for the retry rules). This worker settles first
  (``Dialer.settle_before_reap``): results it kept through a Redis outage are written and its
  live calls' leases renewed, and nothing is reaped until that worked, so an order answered
  while Redis was away is never requeued and called again.
- ``live-orders`` every 2 s: this worker's live calls whose order went final meanwhile
  (cancelled, dnc) are hung up; the pub/sub hangup request is the fast path, this the safety
  net for a request lost while Redis restarted.

What needs no job, and why:

- Calling-window openings and retry times: a waiting order sits in the ``due`` ZSET scored at
  the moment the policy allows; the dialer sleeps until the earliest score (or a wakeup) and
  claims it then. One timer per order would be the same thing, kept in a second place.
- Daily counters per phone: there are none to reset. The per-phone call log is a ZSET of call
  times, trimmed on write and expiring on its own; "today" is computed in the customer's zone
  when the policy decides, so midnight in Vladivostok and in Kaliningrad both just work.
- Webhook redelivery: the deliverer drains the outbox ZSET, whose scores are the next attempt
  times (exponential backoff), twice a second; a crashed delivery comes back after its
  visibility timeout. It is already a scheduler, with its state in Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

LIVE_CHECK_S = 2.0


class LeaseReaper(Protocol):
    async def reap_expired_leases(self, now: datetime, limit: int = 100) -> list[str]: ...


class LiveOrderChecker(Protocol):
    async def check_live_orders(self) -> None: ...


class Housekeeping:
    def __init__(
        self,
        store: LeaseReaper,
        dialer: LiveOrderChecker | None,
        *,
        lease_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.dialer = dialer
        self.clock = clock
        self.reap_interval_s = min(5.0, max(0.5, lease_s / 3))
        self.scheduler: AsyncIOScheduler | None = None
        self.reaped = 0  # orders put back by this process (for tests and logs)

    def start(self) -> None:
        sched = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )
        sched.add_job(
            self.reap_leases,
            "interval",
            seconds=self.reap_interval_s,
            id="reap-leases",
            next_run_time=self.clock(),
        )
        if self.dialer is not None:
            sched.add_job(self.check_live_orders, "interval", seconds=LIVE_CHECK_S,
                          id="live-orders")  # fmt: skip
        sched.start()
        self.scheduler = sched
        log.info("housekeeping: lease reaping every %.1f s, live-order check every %.0f s",
                 self.reap_interval_s, LIVE_CHECK_S)  # fmt: skip

    async def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the next loop turn
        self.scheduler = None

    async def reap_leases(self) -> None:
        settle = getattr(self.dialer, "settle_before_reap", None)
        if settle is not None:
            try:
                settled = await settle()
            except Exception as e:
                log.warning("settling before lease reaping failed: %r", e)
                settled = False
            if not settled:
                return  # Redis still away (or refusing): our leases may look expired
        try:
            ids = await self.store.reap_expired_leases(self.clock())  # logs each one
        except Exception as e:
            log.warning("lease reaping failed: %r", e)
            return
        self.reaped += len(ids)

    async def check_live_orders(self) -> None:
        if self.dialer is None:
            return
        try:
            await self.dialer.check_live_orders()
        except Exception as e:
            log.warning("live-order check failed: %r", e)
