"""Reading many stored orders at once, for the orders list, the reports and the CSV exports.

Orders are found by creation time in the ``orders`` sorted set (score = created epoch, see
``robot.adapters.redis_store``) and read in pipelined chunks of :data:`CHUNK`: one round trip
per chunk for the order hashes, one more for their calls when they are needed. Documents are
decoded with ``json.loads`` into plain dicts (no model validation): a read of 10 000 orders
must stay well under a second on a small machine.

Days are local days of the dashboard's time zone (``DOZVON_DASHBOARD_TIMEZONE``); a range is
``[first day 00:00, last day + 1 00:00)`` there.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from robot.adapters.redis_keys import RedisKeys

CHUNK = 1000
MAX_RANGE_DAYS = 400


class BadQuery(ValueError):
    """A query parameter that cannot be used; ``field`` names it (HTTP 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DayRange:
    """Local days ``first`` to ``last`` inclusive, in ``zone``."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> DayRange:
        """The period of the same length just before this one."""
        return DayRange(self.first - timedelta(days=self.days), self.first - timedelta(days=1),
                        self.zone)  # fmt: skip

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def to_json(self) -> dict[str, Any]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(),
                "days": self.days, "timezone": self.zone.key}  # fmt: skip


def parse_day(raw: str | None, name: str) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise BadQuery(name, f"{name} must be a date (YYYY-MM-DD)") from None


def day_range(
    first: str | None, last: str | None, zone: ZoneInfo, *, today: date, default_days: int
) -> DayRange:
    """``from``/``to`` query values (either may be missing) as a range ending ``today`` by
    default."""
    a, b = parse_day(first, "from"), parse_day(last, "to")
    b = b or (a + timedelta(days=default_days - 1) if a else today)
    a = a or b - timedelta(days=default_days - 1)
    if b < a or (b - a).days >= MAX_RANGE_DAYS:
        raise BadQuery(
            "to", f"the range must end after it starts and span at most {MAX_RANGE_DAYS} days"
        )
    return DayRange(a, b, zone)


@dataclass
class StoredOrder:
    """One order as stored: the hash fields, the order JSON and (if asked for) its calls."""

    order_id: str
    fields: dict[str, str]
    order: dict[str, Any]
    calls: list[dict[str, Any]] | None = None

    @property
    def status(self) -> str:
        return self.fields.get("status", "")

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.fields["created_at"])

    @property
    def attempts(self) -> int:
        return int(self.fields.get("attempts") or 0)

    def sorted_calls(self) -> list[dict[str, Any]]:
        calls = self.calls or []
        return sorted(calls, key=lambda c: (c.get("attempt", 0), c.get("created_at", "")))


async def scan_orders(
    redis: Redis,
    prefix: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    with_calls: bool = False,
    limit: int | None = None,
) -> AsyncIterator[list[StoredOrder]]:
    """Orders created in ``[start, end)``, newest first, in chunks (at most ``limit``)."""
    keys = RedisKeys(prefix)
    key = keys.orders
    hi = f"({end.timestamp()}" if end else "+inf"
    lo = str(start.timestamp()) if start else "-inf"
    offset = 0
    while limit is None or offset < limit:
        n = CHUNK if limit is None else min(CHUNK, limit - offset)
        ids = cast("list[str]", await redis.zrevrangebyscore(key, hi, lo, start=offset, num=n))
        if not ids:
            return
        offset += len(ids)
        async with redis.pipeline(transaction=False) as pipe:
            for oid in ids:
                pipe.hgetall(keys.order(oid))
                if with_calls:
                    pipe.hvals(keys.calls(oid))
            raw = await pipe.execute()
        step = 2 if with_calls else 1
        chunk = []
        for i, oid in enumerate(ids):
            h = raw[i * step]
            if not h or "order" not in h:
                continue  # deleted under us
            calls = [json.loads(c) for c in raw[i * step + 1]] if with_calls else None
            chunk.append(StoredOrder(str(oid), h, json.loads(h["order"]), calls))
        yield chunk
        if len(ids) < n:
            return


async def load_calls(redis: Redis, prefix: str, orders: list[StoredOrder]) -> None:
    """Fill ``calls`` of orders read without them (one round trip)."""
    todo = [o for o in orders if o.calls is None]
    if not todo:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for o in todo:
            pipe.hvals(RedisKeys(prefix).calls(o.order_id))
        raw = await pipe.execute()
    for o, calls in zip(todo, raw, strict=True):
        o.calls = [json.loads(c) for c in calls]
