"""Webhook dead letters: deliveries that gave up, kept in Redis until retried or deleted.

Keys (prefix ``dozvon:``, next to the outbox keys of ``redis_store``):

    outbox:failed       ZSET   delivery ids that failed for good, score = failed epoch
    outbox:item:{did}   HASH   as in the outbox (event, order_id, attempt, last_error), plus
                               failed_at (ISO 8601) and url (where it was being sent)

A delivery lands here after ``webhook_max_attempts`` failed attempts, or at once for errors no
retry can fix (a callback URL that cannot be parsed or points where the host policy forbids,
an event that cannot be read back). ``retry`` puts it back in ``outbox:due`` with its attempt
count reset; ``delete`` drops it. Every move is one Lua script, so a delivery is in exactly one
of ``outbox:due``, ``outbox:inflight`` and ``outbox:failed``.

Methods (``WebhookOutbox``): ``fail(delivery_id, error, now, url)``, ``page(offset, limit)``,
``count()``, ``get(delivery_id)``, ``retry(delivery_id, now)``, ``delete(delivery_id)``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis

from robot.adapters.redis_keys import PREFIX, RedisKeys
from robot.core.records import ResultEvent
from robot.core.utc import as_utc

log = logging.getLogger(__name__)

# KEYS: outbox:due, outbox:inflight, outbox:failed. ARGV: prefix, did, epoch, error, iso, url.
_LUA_FAIL = """
local ikey = ARGV[1] .. 'outbox:item:' .. ARGV[2]
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
if redis.call('EXISTS', ikey) == 0 then return 0 end
redis.call('HSET', ikey, 'last_error', ARGV[4], 'failed_at', ARGV[5], 'url', ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
return 1
"""

# KEYS: outbox:due, outbox:failed. ARGV: prefix, did, due epoch.
_LUA_RETRY = """
if redis.call('ZREM', KEYS[2], ARGV[2]) == 0 then return 0 end
local ikey = ARGV[1] .. 'outbox:item:' .. ARGV[2]
if redis.call('EXISTS', ikey) == 0 then return 0 end
redis.call('HSET', ikey, 'attempt', 0)
redis.call('HDEL', ikey, 'failed_at')
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
return 1
"""

# KEYS: outbox:failed. ARGV: prefix, did.
_LUA_DELETE = """
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
redis.call('DEL', ARGV[1] .. 'outbox:item:' .. ARGV[2])
return 1
"""


class WebhookOutbox:
    """The failed list of the CRM outbox (see the module docstring)."""

    def __init__(self, redis: Redis, *, prefix: str = PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix
        self.keys = RedisKeys(prefix)
        self._fail = redis.register_script(_LUA_FAIL)
        self._retry = redis.register_script(_LUA_RETRY)
        self._delete = redis.register_script(_LUA_DELETE)

    @property
    def failed_key(self) -> str:
        return self.keys.outbox_failed

    async def fail(self, delivery_id: str, error: str, now: datetime, url: str | None) -> bool:
        """Move a delivery (due or in flight) to the failed list; False if it is gone."""
        ok = await self._fail(
            keys=[self.keys.outbox_due, self.keys.outbox_inflight, self.failed_key],
            args=[self.prefix, delivery_id, as_utc(now).timestamp(), error[:1000],
                  as_utc(now).isoformat(), url or ""],
        )  # fmt: skip
        if ok:
            log.warning("delivery %s failed for good: %s", delivery_id, error[:300])
        return bool(ok)

    async def count(self) -> int:
        return int(await self.redis.zcard(self.failed_key))

    async def page(self, offset: int = 0, limit: int = 100) -> tuple[int, list[dict[str, Any]]]:
        """(total, failed deliveries, newest first) in the API's ``FailedDelivery`` shape."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.failed_key)
            pipe.zrange(self.failed_key, offset, offset + limit - 1, desc=True, withscores=True)
            total, rows = await pipe.execute()
        items = []
        for did, score in rows:
            item = await self._item(did, score)
            if item is not None:
                items.append(item)
        return int(total), items

    async def get(self, delivery_id: str) -> dict[str, Any] | None:
        score = await self.redis.zscore(self.failed_key, delivery_id)
        return None if score is None else await self._item(delivery_id, score)

    async def _item(self, did: str, score: float) -> dict[str, Any] | None:
        h = await self.redis.hgetall(self.keys.outbox_item(did))
        if not h:
            return None
        event: dict[str, Any] | None = None
        try:
            event = ResultEvent.model_validate_json(h.get("event", "")).model_dump(mode="json")
        except ValidationError:
            event = None
        return {
            "delivery_id": did,
            "order_id": h.get("order_id", ""),
            "url": h.get("url") or None,
            "error": h.get("last_error", ""),
            "attempts": int(h.get("attempt", 0) or 0),
            "failed_at": h.get("failed_at")
            or datetime.fromtimestamp(float(score), UTC).isoformat(),
            "event": event,
        }

    async def retry(self, delivery_id: str, now: datetime) -> bool:
        """Back to the outbox, due now, attempts from 1 again; False if not in the list."""
        ok = await self._retry(
            keys=[self.keys.outbox_due, self.failed_key],
            args=[self.prefix, delivery_id, as_utc(now).timestamp()],
        )
        return bool(ok)

    async def delete(self, delivery_id: str) -> bool:
        ok = await self._delete(keys=[self.failed_key], args=[self.prefix, delivery_id])
        return bool(ok)
