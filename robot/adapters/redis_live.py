"""Live call state and call statistics in Redis, shared by every worker (``CallEvents``).

Each worker's call tracker publishes state changes here; the dashboard of any process reads
them. Key layout (prefix ``dozvon:``):

    live:call:{call_id}   STRING  JSON of the call's latest change, EX ``ttl_s``; the writer
                                  refreshes it while the call lives, so a dead worker's calls
                                  vanish within ``ttl_s``
    live:calls            SET     call ids that may be live (readers drop ids whose key expired)
    live:events           pub/sub each change as JSON, for server-sent events
    stats:day:{date}      HASH    outcome:{o}, hour:{HH}:{o} counters of ended calls; the date
                                  and hour are in the dashboard's time zone; kept 35 days
    stats:day:{date}:first_call_ms  LIST  order-to-first-call delays (ms) of first attempts
    stats:5m:{n}          HASH    {o} counters of calls ended in the five minutes number n
                                  (epoch // 300), kept 8 h: the health checks' recent rates
    stats:total           HASH    outcome:{o} counters since the start, and histograms
                                  {dispatch,decision}:{bucket}|sum|count for /metrics
    stats:by_shop         HASH    "{shop}\t{purpose}\t{outcome}" counters of ended calls since
                                  the start (robot.core.analytics), for /metrics
    stats:day:{date}:by_shop  HASH  "{shop}\t{HH}\t{outcome}": the day's counters per shop, for
                                  an account limited to some shops; kept 35 days

Publishing never blocks a call: changes go through a bounded queue to one writer task; when
Redis is down they are dropped with a warning (the dashboard is a view, the store is the truth).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.exceptions import RedisError

from robot.adapters.redis_keys import PREFIX, RedisKeys
from robot.core.analytics import SEP, counter_field
from robot.core.phones import mask_phone
from robot.ports import CallState, CallStateChange

log = logging.getLogger(__name__)


STATS_KEEP_S = 35 * 86400
SLICE_S = 300  # stats:5m buckets
SLICES_KEEP_S = 8 * 3600
REFRESH_EVERY_S = 5.0
MAX_LIVE_S = 3600.0  # a call "live" longer than this is a leftover of a crash: stop refreshing
# Histogram upper bounds in seconds (Prometheus ``le``); the last bucket is +Inf.
DISPATCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
DECISION_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


def bucket_label(value_s: float, bounds: tuple[float, ...]) -> str:
    for b in bounds:
        if value_s <= b:
            return repr(b)
    return "+Inf"


def change_to_json(change: CallStateChange, worker_id: str) -> dict[str, Any]:
    return {
        "call_id": change.call_id,
        "order_id": change.order_id,
        "state": change.state.value,
        "at": change.at.isoformat(),
        "started_at": change.started_at.isoformat(),
        "attempt": change.attempt,
        "phone": mask_phone(change.phone),
        "language": change.language,
        "outcome": change.outcome.value if change.outcome else None,
        "reason": change.reason,
        "worker": worker_id,
        "shop_name": change.shop_name,
        "purpose": change.purpose,
    }


class RedisCallBoard:
    """Writes live call state and statistics; implements ``robot.ports.CallEvents``."""

    def __init__(
        self,
        redis: Redis,
        *,
        worker_id: str,
        timezone: str = "UTC",
        prefix: str = PREFIX,
        ttl_s: float = 30.0,
        queue_size: int = 10_000,
    ) -> None:
        self.redis = redis
        self.worker_id = worker_id
        self.tz = ZoneInfo(timezone)
        self.prefix = prefix
        self.keys = RedisKeys(prefix)
        self.ttl_s = ttl_s
        self._queue: asyncio.Queue[CallStateChange | None] = asyncio.Queue(queue_size)
        self._live: dict[str, tuple[str, float]] = {}  # call id -> (json, first seen monotonic)
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0

    # -- CallEvents ------------------------------------------------------------------------------

    def publish(self, change: CallStateChange) -> None:
        """Queue a change; the task ``start`` began writes it (its owner starts it first)."""
        try:
            self._queue.put_nowait(change)
        except asyncio.QueueFull:
            self._dropped += 1
            if self._dropped in (1, 100, 10_000):
                log.warning("live call board: queue full, %d change(s) dropped", self._dropped)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="live-call-board")

    async def stop(self, grace_s: float = 3.0) -> None:
        """Write what is queued (bounded by ``grace_s``), then stop."""
        if self._task is None:
            return
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)
        done, _ = await asyncio.wait({self._task}, timeout=grace_s)
        if not done:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._task = None

    async def flush(self) -> None:
        """Wait until every change published so far is written (tests)."""
        await self._queue.join()

    async def _run(self) -> None:
        next_refresh = time.monotonic() + REFRESH_EVERY_S
        while True:
            try:
                change = await asyncio.wait_for(
                    self._queue.get(), max(0.01, next_refresh - time.monotonic())
                )
            except TimeoutError:
                await self._refresh()
                next_refresh = time.monotonic() + REFRESH_EVERY_S
                continue
            try:
                if change is None:
                    return
                await self._write(change)
            except (RedisError, OSError) as e:
                log.warning("live call board: cannot write %s: %s", change and change.call_id, e)
            except Exception:
                log.exception("live call board: write failed")
            finally:
                self._queue.task_done()

    async def _refresh(self) -> None:
        now = time.monotonic()
        for cid, (_doc, seen) in list(self._live.items()):
            if now - seen > MAX_LIVE_S:
                self._live.pop(cid, None)
        if not self._live:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for cid, (doc, _seen) in self._live.items():
                    pipe.set(self.keys.live_call(cid), doc, ex=int(self.ttl_s))
                    pipe.sadd(self.keys.live_calls, cid)
                await pipe.execute()
        except (RedisError, OSError) as e:
            log.warning("live call board: refresh failed: %s", e)

    async def _write(self, change: CallStateChange) -> None:
        doc = json.dumps(change_to_json(change, self.worker_id), ensure_ascii=False)
        key = self.keys.live_call(change.call_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            if change.state is CallState.ENDED:
                self._live.pop(change.call_id, None)
                pipe.delete(key)
                pipe.srem(self.keys.live_calls, change.call_id)
                self._queue_stats(pipe, change)
            else:
                seen = self._live.get(change.call_id, (doc, time.monotonic()))[1]
                self._live[change.call_id] = (doc, seen)
                pipe.set(key, doc, ex=int(self.ttl_s))
                pipe.sadd(self.keys.live_calls, change.call_id)
                if change.state is CallState.RINGING and change.intake_to_originate_ms is not None:
                    self._queue_dispatch(pipe, change)
            pipe.publish(self.keys.live_events, doc)
            await pipe.execute()

    def day_key(self, at: datetime) -> tuple[str, str]:
        local = at.astimezone(self.tz)
        return self.keys.stats_day(local.date().isoformat()), f"{local.hour:02d}"

    def _queue_dispatch(self, pipe: Any, change: CallStateChange) -> None:
        ms = float(change.intake_to_originate_ms or 0.0)
        day, _hour = self.day_key(change.at)
        pipe.rpush(day + ":first_call_ms", round(ms, 1))
        pipe.expire(day + ":first_call_ms", STATS_KEEP_S)
        total = self.keys.stats_total
        pipe.hincrby(total, "dispatch:" + bucket_label(ms / 1000, DISPATCH_BUCKETS), 1)
        pipe.hincrbyfloat(total, "dispatch:sum", ms / 1000)
        pipe.hincrby(total, "dispatch:count", 1)

    def _queue_stats(self, pipe: Any, change: CallStateChange) -> None:
        outcome = change.outcome.value if change.outcome else "failed"
        day, hour = self.day_key(change.at)
        pipe.hincrby(day, f"outcome:{outcome}", 1)
        pipe.hincrby(day, f"hour:{hour}:{outcome}", 1)
        pipe.expire(day, STATS_KEEP_S)
        shop_day = self.keys.stats_day_by_shop(change.at.astimezone(self.tz).date().isoformat())
        pipe.hincrby(shop_day, SEP.join((change.shop_name, hour, outcome)), 1)
        pipe.expire(shop_day, STATS_KEEP_S)
        recent = self.keys.stats_slice(str(int(change.at.timestamp() // SLICE_S)))
        pipe.hincrby(recent, outcome, 1)
        pipe.expire(recent, SLICES_KEEP_S)
        total = self.keys.stats_total
        pipe.hincrby(total, f"outcome:{outcome}", 1)
        by_shop = counter_field(change.shop_name, change.purpose, outcome)
        pipe.hincrby(self.keys.stats_by_shop, by_shop, 1)
        ms = change.speech_end_to_decision_ms
        if ms is not None:
            pipe.hincrby(total, "decision:" + bucket_label(ms / 1000, DECISION_BUCKETS), 1)
            pipe.hincrbyfloat(total, "decision:sum", ms / 1000)
            pipe.hincrby(total, "decision:count", 1)


class LiveBoardReader:
    """The read side of the board, for the dashboard and /metrics of any process."""

    def __init__(self, redis: Redis, *, timezone: str = "UTC", prefix: str = PREFIX) -> None:
        self.redis = redis
        self.tz = ZoneInfo(timezone)
        self.prefix = prefix
        self.keys = RedisKeys(prefix)

    @property
    def events_channel(self) -> str:
        return self.keys.live_events

    async def live_calls(self) -> list[dict[str, Any]]:
        ids = sorted(cast("set[str]", await self.redis.smembers(self.keys.live_calls)))
        if not ids:
            return []
        docs = await self.redis.mget([self.keys.live_call(i) for i in ids])
        gone = [i for i, d in zip(ids, docs, strict=True) if d is None]
        if gone:
            await self.redis.srem(self.keys.live_calls, *gone)
        calls = [json.loads(d) for d in docs if d is not None]
        return sorted(calls, key=lambda c: c["started_at"])

    async def day(self, day: str, shops: frozenset[str] | None = None) -> dict[str, Any]:
        """Counters of one local day (``YYYY-MM-DD``) and its first-call delays in ms; with
        ``shops``, only those shops' calls (and no first-call delays: they are not kept per
        shop)."""
        if shops is not None:
            return await self._shops_day(day, shops)
        key = self.keys.stats_day(day)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            pipe.lrange(key + ":first_call_ms", 0, -1)
            counters, delays = await pipe.execute()
        outcomes: dict[str, int] = {}
        hours: dict[str, dict[str, int]] = {}
        for field, value in counters.items():
            parts = field.split(":")
            if parts[0] == "outcome" and len(parts) == 2:
                outcomes[parts[1]] = int(value)
            elif parts[0] == "hour" and len(parts) == 3:
                hours.setdefault(parts[1], {})[parts[2]] = int(value)
        return {"outcomes": outcomes, "hours": hours, "first_call_ms": [float(d) for d in delays]}

    async def _shops_day(self, day: str, shops: frozenset[str]) -> dict[str, Any]:
        raw = await self.redis.hgetall(self.keys.stats_day_by_shop(day))
        outcomes: dict[str, int] = {}
        hours: dict[str, dict[str, int]] = {}
        for field, value in raw.items():
            parts = _text(field).split(SEP)
            if len(parts) != 3 or parts[0] not in shops:
                continue
            _shop, hour, outcome = parts
            outcomes[outcome] = outcomes.get(outcome, 0) + int(value)
            slot = hours.setdefault(hour, {})
            slot[outcome] = slot.get(outcome, 0) + int(value)
        return {"outcomes": outcomes, "hours": hours, "first_call_ms": []}

    async def totals(self) -> dict[str, float]:
        return {
            k: float(v)
            for k, v in cast(
                "dict[str, str]", await self.redis.hgetall(self.keys.stats_total)
            ).items()
        }

    async def shop_totals(self) -> list[tuple[str, float]]:
        """The per-shop-and-purpose counters since the start (robot.core.analytics fields)."""
        raw = await self.redis.hgetall(self.keys.stats_by_shop)
        return [(_text(k), float(v)) for k, v in raw.items()]

    async def outcomes_between(self, start_epoch: float, end_epoch: float) -> dict[str, int]:
        """Calls ended by outcome in the five-minute slices that overlap [start, end)."""
        first, last = int(start_epoch // SLICE_S), int((end_epoch - 1e-6) // SLICE_S)
        async with self.redis.pipeline(transaction=False) as pipe:
            for n in range(first, last + 1):
                pipe.hgetall(self.keys.stats_slice(str(n)))
            slices = await pipe.execute()
        out: dict[str, int] = {}
        for h in slices:
            for outcome, v in h.items():
                out[outcome] = out.get(outcome, 0) + int(v)
        return out


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)
