"""Run-time controls, worker heartbeats and the supervisors' audit log, in Redis.

Key layout (prefix ``dozvon:``):

    control             HASH    paused (1|0), max_concurrent_calls, calls_per_second (absent:
                                the configured global value), updated_by, updated_at
    control:events      pub/sub a JSON note on every change (the dashboard refreshes)
    wakeup              pub/sub the order store's wake-up channel: dialers re-read at once
    worker:{id}         STRING  JSON heartbeat of a dialing worker (every second), PX
                                ``worker_ttl_s``; readers take its age from the key's
                                remaining TTL (Redis's clock, so host clocks may differ)
    workers             SET     worker ids that may be alive (readers drop expired ones)
    audit               LIST    JSON entries, newest first, capped at ``audit_keep``

They are enforced in one place, the admission gate (``redis_limits``' script reads these
fields at every admission: global cap, token bucket, pause); each worker's ``DialerControl``
only reads them to report them in its heartbeat.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from robot.adapters.redis_keys import PREFIX, RedisKeys
from robot.ports import RunControls, WorkerReport

log = logging.getLogger(__name__)


class InvalidControl(ValueError):
    """A run-time control value out of its allowed range."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _opt_int(v: str | bytes | None) -> int | None:
    return int(v) if v not in (None, "") else None


def _opt_float(v: str | bytes | None) -> float | None:
    return float(v) if v not in (None, "") else None


class RedisRunControl:
    """Implements ``robot.ports.RunControlSource`` for the dialer and the setters for the web."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = PREFIX,
        worker_info: dict[str, Any] | None = None,
        worker_ttl_s: float = 30.0,
        audit_keep: int = 10_000,
        probe: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """``probe``: this worker's live facts (e.g. its Asterisk connections), read at each
        heartbeat. A heartbeat older than a few seconds means a frozen worker (see
        robot.web.health); the key outlives that so the dashboard can say which one."""
        self.redis = redis
        self.prefix = prefix
        self.keys = RedisKeys(prefix)
        self.worker_info = worker_info or {}
        self.probe = probe
        self.worker_ttl_s = worker_ttl_s
        self.audit_keep = audit_keep

    @property
    def events_channel(self) -> str:
        return self.keys.control_events

    # -- the dialer's side (RunControlSource) ----------------------------------------------------

    async def read(self) -> RunControls:
        h = await self.redis.hgetall(self.keys.control)
        return RunControls(
            paused=h.get("paused") == "1",
            max_concurrent_calls=_opt_int(h.get("max_concurrent_calls")),
            calls_per_second=_opt_float(h.get("calls_per_second")),
        )

    async def report(self, report: WorkerReport) -> None:
        live = self.probe() if self.probe is not None else {}
        doc = {**asdict(report), "at": report.at.isoformat(), **self.worker_info, **live}
        doc["ttl_ms"] = int(self.worker_ttl_s * 1000)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(
                self.keys.worker(report.worker_id),
                json.dumps(doc),
                px=int(self.worker_ttl_s * 1000),
            )
            pipe.sadd(self.keys.workers, report.worker_id)
            await pipe.execute()

    # -- the supervisors' side -------------------------------------------------------------------

    async def details(self) -> dict[str, Any]:
        h = await self.redis.hgetall(self.keys.control)
        return {
            "paused": h.get("paused") == "1",
            "max_concurrent_calls": _opt_int(h.get("max_concurrent_calls")),
            "calls_per_second": _opt_float(h.get("calls_per_second")),
            "updated_by": h.get("updated_by"),
            "updated_at": h.get("updated_at"),
        }

    async def set_paused(self, paused: bool, *, by: str, now: datetime) -> None:
        await self._update({"paused": "1" if paused else "0"}, [], by=by, now=now)

    async def set_limits(
        self,
        *,
        max_concurrent_calls: int | None,
        calls_per_second: float | None,
        by: str,
        now: datetime,
    ) -> None:
        """Set both limits; None returns a limit to its configured value (global_max_calls,
        calls_per_second)."""
        if max_concurrent_calls is not None and not 0 <= max_concurrent_calls <= 10_000:
            raise InvalidControl("max_concurrent_calls", "must be between 0 and 10000")
        if calls_per_second is not None and not 0 < calls_per_second <= 1_000:
            raise InvalidControl("calls_per_second", "must be above 0 and at most 1000")
        fields: dict[str, str] = {}
        clear: list[str] = []
        for name, value in (
            ("max_concurrent_calls", max_concurrent_calls),
            ("calls_per_second", calls_per_second),
        ):
            if value is None:
                clear.append(name)
            else:
                fields[name] = str(value)
        await self._update(fields, clear, by=by, now=now)

    async def _update(
        self, fields: dict[str, str], clear: list[str], *, by: str, now: datetime
    ) -> None:
        key = self.keys.control
        async with self.redis.pipeline(transaction=True) as pipe:
            if clear:
                pipe.hdel(key, *clear)
            update = {**fields, "updated_by": by, "updated_at": now.isoformat()}
            # redis-py types a mapping's keys as any encodable value; dict keys are invariant.
            pipe.hset(key, mapping=cast("dict[FieldT, EncodableT]", update))
            pipe.publish(self.events_channel, json.dumps({"by": by, **fields, "cleared": clear}))
            pipe.publish(self.keys.wakeup, "1")
            await pipe.execute()

    async def workers(self) -> list[dict[str, Any]]:
        ids = sorted(cast("set[str]", await self.redis.smembers(self.keys.workers)))
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.get(self.keys.worker(i))
                pipe.pttl(self.keys.worker(i))
            got = await pipe.execute()
        docs, ttls = got[0::2], got[1::2]
        gone = [i for i, d in zip(ids, docs, strict=True) if d is None]
        if gone:
            await self.redis.srem(self.keys.workers, *gone)
        out = []
        for d, ttl in zip(docs, ttls, strict=True):
            if d is None:
                continue
            doc = json.loads(d)
            full = int(doc.get("ttl_ms") or self.worker_ttl_s * 1000)
            # Seconds since the last heartbeat, by Redis's clock.
            doc["age_s"] = round(max(0, full - int(ttl)) / 1000, 1) if int(ttl) > 0 else 0.0
            out.append(doc)
        return out

    # -- audit -----------------------------------------------------------------------------------

    async def audit(
        self, user: str, action: str, *, now: datetime | None = None, **detail: Any
    ) -> dict[str, Any]:
        entry = {
            "at": (now or datetime.now(UTC)).isoformat(),
            "user": user,
            "action": action,
            **detail,
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.keys.audit, json.dumps(entry, ensure_ascii=False, default=str))
            pipe.ltrim(self.keys.audit, 0, self.audit_keep - 1)
            await pipe.execute()
        log.info(
            "audit: %s %s %s", user, action, json.dumps(detail, ensure_ascii=False, default=str)
        )
        return entry

    async def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        return [json.loads(e) for e in await self.redis.lrange(self.keys.audit, 0, limit - 1)]
