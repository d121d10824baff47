"""The global do-not-call list and the per-phone call log, in Redis.

Key layout (prefix ``dozvon:``):

    dnc                 ZSET   E.164 phone -> epoch it was added (membership, listing order)
    dnc:meta            HASH   phone -> {"added_at", "source", "reason", "by"} JSON (by: the
                               supervisor who listed it, "" for the CRM API and calls)
    phonecalls:{e164}   ZSET   call id -> epoch the call was placed, for the per-phone daily
                               cap and minimum gap; trimmed to two days on each write and
                               expiring two days after the last call (no cleanup job needed)

Intake reads ``dnc`` inside its Lua script (``redis_store._LUA_ADD_ORDER``), so an order for a
listed phone is final ``dnc`` atomically with being stored. Writes use MULTI so the set and its
metadata never disagree. With AOF ``appendfsync always`` (our RedisServer, and what we advise
in production) a write that returned is on disk: the in-call "do not call me" is recorded
before the goodbye is played.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from robot.adapters.redis_keys import PREFIX, RedisKeys
from robot.core.phones import PhoneError, mask_phone, normalize_phone
from robot.core.utc import as_utc

log = logging.getLogger(__name__)


PHONE_LOG_KEEP = timedelta(days=2)  # enough for "today" in any zone, and the minimum gap
MAX_IMPORT_ROWS = 100_000
_HEADER_WORDS = {"phone", "number", "msisdn", "телефон", "номер", "전화번호"}


@dataclass(frozen=True)
class DncEntry:
    phone: str  # E.164
    added_at: datetime
    source: str  # api, import, call (the customer asked during a call), dashboard, ...
    reason: str = ""
    by: str = ""  # the supervisor who listed it (dashboard, import from the dashboard)

    def to_json(self) -> dict[str, Any]:
        return {"phone": self.phone, "added_at": self.added_at.isoformat(),
                "source": self.source, "reason": self.reason, "by": self.by}  # fmt: skip


@dataclass
class ImportReport:
    """What a bulk import did: rows added, rows already listed, rows refused (and why)."""

    added: int = 0
    already: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.added + self.already

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "added": self.added, "already": self.already,
                "rejected": self.rejected}  # fmt: skip


def parse_dnc_csv(
    text: str, default_region: str = "RU"
) -> tuple[list[tuple[int, str, str]], list[dict[str, Any]]]:
    """CSV rows ``phone[,reason]`` -> ([(line, E.164, reason)], [rejected rows]). A first row
    whose first cell is a word like "phone" is a header; blank rows and ``#`` comments are
    skipped; a phone listed twice is accepted once."""
    ok: list[tuple[int, str, str]] = []
    bad: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line, row in enumerate(csv.reader(io.StringIO(text, newline="")), 1):
        cells = [c.strip() for c in row]
        if cells and cells[0].startswith("'"):  # our CSV export's guard against formulas
            cells[0] = cells[0][1:]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if line == 1 and cells[0].lower() in _HEADER_WORDS:
            continue
        if len(ok) + len(bad) >= MAX_IMPORT_ROWS:
            bad.append({"line": line, "value": cells[0], "error": "too many rows"})
            break
        try:
            phone = normalize_phone(cells[0], default_region)
        except PhoneError as e:
            bad.append({"line": line, "value": cells[0], "error": str(e)})
            continue
        if phone not in seen:
            seen.add(phone)
            ok.append((line, phone, cells[1] if len(cells) > 1 else ""))
    return ok, bad


class DncStore:
    """The do-not-call list (implements the dialer's DNC port) and the per-phone call log."""

    def __init__(self, redis: Redis, *, prefix: str = PREFIX) -> None:
        """``redis`` must use ``decode_responses=True`` (share the order store's client)."""
        self.redis = redis
        self.prefix = prefix
        self.keys = RedisKeys(prefix)

    # -- do-not-call ---------------------------------------------------------------------------

    async def add(
        self, phone: str, now: datetime, *, source: str = "api", reason: str = "", by: str = ""
    ) -> bool:
        """List ``phone`` (E.164); True if it was not listed before. Listing twice keeps the
        first entry's time and source."""
        meta = _meta(now, source, reason, by)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.keys.dnc, {phone: as_utc(now).timestamp()}, nx=True)
            pipe.hsetnx(self.keys.dnc_meta, phone, meta)
            added, _ = await pipe.execute()
        if added:
            log.info("phone %s put on the do-not-call list (%s)", mask_phone(phone), source)
        return bool(added)

    async def remove(self, phone: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.dnc, phone)
            pipe.hdel(self.keys.dnc_meta, phone)
            removed, _ = await pipe.execute()
        if removed:
            log.info("phone %s taken off the do-not-call list", mask_phone(phone))
        return bool(removed)

    async def contains(self, phone: str) -> bool:
        return await self.redis.zscore(self.keys.dnc, phone) is not None

    async def get(self, phone: str) -> DncEntry | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zscore(self.keys.dnc, phone)
            pipe.hget(self.keys.dnc_meta, phone)
            score, meta = await pipe.execute()
        return None if score is None else _entry(phone, score, meta)

    async def count(self) -> int:
        return int(await self.redis.zcard(self.keys.dnc))

    async def entries(self, offset: int = 0, limit: int = 100) -> tuple[int, list[DncEntry]]:
        """(total, a page of entries, most recently added first)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.keys.dnc)
            pipe.zrange(self.keys.dnc, offset, offset + limit - 1, desc=True, withscores=True)
            total, rows = await pipe.execute()
        phones = [p for p, _ in rows]
        metas: list[Any] = await self.redis.hmget(self.keys.dnc_meta, phones) if phones else []
        return int(total), [_entry(p, s, m) for (p, s), m in zip(rows, metas, strict=True)]

    async def import_csv(
        self,
        text: str,
        now: datetime,
        *,
        default_region: str = "RU",
        source: str = "import",
        by: str = "",
    ) -> ImportReport:
        rows, rejected = parse_dnc_csv(text, default_region)
        report = ImportReport(rejected=rejected)
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            async with self.redis.pipeline(transaction=True) as pipe:
                for _, phone, reason in chunk:
                    meta = _meta(now, source, reason, by)
                    pipe.zadd(self.keys.dnc, {phone: as_utc(now).timestamp()}, nx=True)
                    pipe.hsetnx(self.keys.dnc_meta, phone, meta)
                results = await pipe.execute()
            added = sum(int(r) for r in results[0::2])
            report.added += added
            report.already += len(chunk) - added
        log.info("do-not-call import: %d added, %d already listed, %d rejected",
                 report.added, report.already, len(rejected))  # fmt: skip
        return report

    # -- per-phone call log --------------------------------------------------------------------

    async def note_call(self, phone: str, call_id: str, at: datetime) -> None:
        """Record that a call to ``phone`` is being placed now (before the Originate)."""
        key = self.keys.phone_calls(phone)
        t = as_utc(at).timestamp()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {call_id: t})
            pipe.zremrangebyscore(key, "-inf", t - PHONE_LOG_KEEP.total_seconds())
            pipe.expire(key, int(PHONE_LOG_KEEP.total_seconds()))
            await pipe.execute()

    async def forget_call(self, phone: str, call_id: str) -> None:
        """A noted call was never placed (the server refused the Originate)."""
        await self.redis.zrem(self.keys.phone_calls(phone), call_id)

    async def phone_calls(self, phone: str, since: datetime) -> list[datetime]:
        """When calls to ``phone`` were placed since ``since`` (for any order)."""
        rows: list[Any] = await self.redis.zrange(
            self.keys.phone_calls(phone), as_utc(since).timestamp(), "+inf", byscore=True,
            withscores=True,
        )  # fmt: skip
        return [datetime.fromtimestamp(score, UTC) for _, score in rows]


def _meta(now: datetime, source: str, reason: str, by: str) -> str:
    doc = {"added_at": as_utc(now).isoformat(), "source": source, "reason": reason[:500]}
    if by:
        doc["by"] = by
    return json.dumps(doc, ensure_ascii=False)


def _entry(phone: str, score: float, meta: str | None) -> DncEntry:
    doc = json.loads(meta) if meta else {}
    added = doc.get("added_at")
    return DncEntry(
        phone=phone,
        added_at=datetime.fromisoformat(added) if added else datetime.fromtimestamp(score, UTC),
        source=doc.get("source", "unknown"),
        reason=doc.get("reason", ""),
        by=doc.get("by", ""),
    )
