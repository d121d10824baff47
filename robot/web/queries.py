"""What the dashboard reads, and its one order action (retry now: performed by the store).

Reads the order store's keys as ``robot.adapters.redis_store`` documents them, the live board
(``redis_live``) and the controls (``redis_control``). Phones are masked here unless the caller
asks for them in full (admins, on one order).
"""

from __future__ import annotations

import json
import logging
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from robot.adapters.dnc_store import DncStore
from robot.adapters.redis_control import RedisRunControl
from robot.adapters.redis_live import LiveBoardReader
from robot.adapters.redis_store import RedisOrderStore
from robot.core.phones import mask_phone
from robot.core.records import OrderRecord

log = logging.getLogger(__name__)

QUEUE_SCAN_CAP = 5_000  # future-due orders classified per refresh; the rest are "unclassified"
ANSWERED = ("confirmed", "rejected", "unclear", "dnc", "later", "operator")


class NotRetryable(Exception):
    """Retry now is for orders waiting for a call or out of attempts, not final answers."""

    def __init__(self, order_id: str, status: str) -> None:
        super().__init__(f"order {order_id} is {status}")
        self.order_id = order_id
        self.status = status


def _row(record: OrderRecord) -> dict[str, Any]:
    o = record.order
    return {
        "order_id": o.order_id,
        "status": record.status.value,
        "phone": mask_phone(o.phone),
        "attempts": record.attempts,
        "last_outcome": record.last_outcome.value if record.last_outcome else None,
        "status_reason": record.status_reason,
        "due_at": record.due_at.isoformat() if record.due_at else None,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "shop_name": o.shop_name,
        "amount": str(o.amount),
        "currency": o.currency,
        "language": o.language,
        "reopened": record.reopened,
    }


class DashboardQueries:
    def __init__(
        self,
        store: RedisOrderStore,
        board: LiveBoardReader,
        control: RedisRunControl,
        *,
        timezone: str = "UTC",
        recordings_dir: Path | None = None,
        default_region: str = "RU",
    ) -> None:
        self.store = store
        self.keys = store.keys
        self.redis = store.redis
        self.board = board
        self.control = control
        self.tz = ZoneInfo(timezone)
        self.recordings_dir = recordings_dir
        self.default_region = default_region
        self.health: Any = None  # robot.web.health.HealthChecks, set by robot.web.app
        self.dnc: Any = None  # robot.adapters.dnc_store.DncStore

    # -- overview ------------------------------------------------------------------------------

    async def queue(self, now: datetime) -> dict[str, int]:
        epoch = now.timestamp()
        due = self.keys.due
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcount(due, "-inf", epoch)
            pipe.zcount(due, f"({epoch}", "+inf")
            pipe.zrangebyscore(due, f"({epoch}", "+inf", start=0, num=QUEUE_SCAN_CAP)
            pipe.zcard(self.keys.status("calling"))
            due_now, future, ids, calling = await pipe.execute()
        hours = retry = 0
        if ids:
            async with self.redis.pipeline(transaction=False) as pipe:
                for oid in ids:
                    pipe.hget(self.keys.order(oid), "attempts")
                rows = await pipe.execute()
            # Never called and not due yet: only calling hours hold such an order back. Called
            # before: waiting for its retry (which may also wait for the window to open).
            for attempts in rows:
                if int(attempts or 0) == 0:
                    hours += 1
                else:
                    retry += 1
        return {
            "due_now": int(due_now),
            "waiting_hours": hours,
            "waiting_retry": retry,
            "unclassified": int(future) - len(ids),
            "calling": int(calling),
        }

    def local_day(self, now: datetime) -> str:
        return now.astimezone(self.tz).date().isoformat()

    async def today(self, now: datetime, shops: frozenset[str] | None = None) -> dict[str, Any]:
        """Today's numbers, of every shop or (``shops``) of those only."""
        day = self.local_day(now)
        data = await self.board.day(day, shops)
        outcomes: dict[str, int] = data["outcomes"]
        calls = sum(outcomes.values())
        answered = sum(outcomes.get(o, 0) for o in ANSWERED)
        delays = data["first_call_ms"]
        return {
            "date": day,
            "timezone": str(self.tz),
            "calls": calls,
            "answered": answered,
            "outcomes": outcomes,
            "confirmation_rate": outcomes.get("confirmed", 0) / answered if answered else None,
            "unclear_rate": outcomes.get("unclear", 0) / answered if answered else None,
            "median_first_call_ms": statistics.median(delays) if delays else None,
            "first_calls": len(delays),
            "hours": [{"hour": h, **data["hours"].get(f"{h:02d}", {})} for h in range(24)],
        }

    async def speech(
        self, workers: list[dict[str, Any]], fallback: dict[str, Any]
    ) -> list[dict[str, Any]]:
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for w in workers:
            for m in w.get("speech", []):
                seen.setdefault((m.get("language", ""), m.get("model", "")), m)
        if not seen:
            for m in fallback.get("speech", []):
                seen.setdefault((m.get("language", ""), m.get("model", "")), m)
        return list(seen.values())

    async def overview(self, now: datetime, process_info: dict[str, Any]) -> dict[str, Any]:
        workers = await self.control.workers()
        doc = {
            "server_time": now.isoformat(),
            "live_calls": await self.board.live_calls(),
            "queue": await self.queue(now),
            "today": await self.today(now),
            "statuses": await self.store.counts(),
            "controls": await self.control.details(),
            "workers": workers,
            "speech": await self.speech(workers, process_info),
        }
        if self.health is not None:
            doc["health"] = await self.health.check(now, doc)
        return doc

    async def shops_of(self, order_ids: list[str]) -> dict[str, str | None]:
        """Each order's shop_name (None: no such order), for scoping the live board."""
        if not order_ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for oid in order_ids:
                pipe.hget(self.keys.order(oid), "order")
            rows = await pipe.execute()
        return {
            oid: json.loads(raw).get("shop_name") if raw else None
            for oid, raw in zip(order_ids, rows, strict=True)
        }

    # -- orders (the list and its search: robot.web.orders_list) -------------------------------

    async def timeline(self, order_id: str, *, full_phone: bool) -> dict[str, Any] | None:
        record = await self.store.get_order(order_id)
        if record is None:
            return None
        raw_calls = await self.redis.hgetall(self.keys.calls(order_id))
        row = _row(record)
        if full_phone:
            row["phone"] = record.order.phone
        calls = []
        for call in record.calls:
            doc = call.model_dump(mode="json")
            doc["phone"] = row["phone"] if full_phone else mask_phone(call.phone)
            raw = json.loads(raw_calls.get(call.call_id, "{}"))
            doc["recording_url"] = (
                f"/dashboard/recordings/{order_id}/{call.call_id}" if raw.get("recording") else None
            )
            doc.pop("recording", None)
            calls.append(doc)
        order = record.order.model_dump(mode="json")
        order["phone"] = row["phone"]
        masked = mask_phone(record.order.phone)
        audit = [
            e
            for e in await self.control.audit_log(1000)
            if e.get("order_id") == order_id or e.get("phone") == masked
        ]
        listed = await DncStore(self.redis, prefix=self.store.prefix).contains(record.order.phone)
        return {**row, "order": order, "calls": calls, "audit": audit, "phone_listed": listed}

    async def recording_path(self, order_id: str, call_id: str) -> Path | None:
        """The recording file of one call, only if it lies inside the recordings folder."""
        if self.recordings_dir is None:
            return None
        raw = await self.redis.hget(self.keys.calls(order_id), call_id)
        rec = json.loads(raw).get("recording") if raw else None
        if not rec:
            return None
        base = self.recordings_dir.resolve()
        path = Path(rec)
        path = (path if path.is_absolute() else base / path).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            return None
        return path

    async def retry_now(
        self, order_id: str, now: datetime, *, by: str, attempts: int = 1
    ) -> dict[str, Any]:
        """Call the order now: a queued one becomes due now; a final one is reopened with
        ``attempts`` further attempts (robot.core.reopen). Returns ``{"was", "reopened"}``.
        Raises KeyError, NotRetryable (calling now), NotReopenable (why not), ValueError."""
        now = now.astimezone(UTC)
        found = await self.store.retry_now(order_id, now, f"retry now by {by}")
        if found == "missing":
            raise KeyError(order_id)
        if found == "calling":
            raise NotRetryable(order_id, str(found))
        if found == "queued":
            return {"was": found, "reopened": 0}
        phone = await self.redis.hget(self.keys.order(order_id), "phone")
        on_dnc = bool(phone) and await self.dnc.contains(str(phone))
        state = await self.store.reopen(order_id, now, attempts=attempts, by=by, on_dnc=on_dnc)
        return {"was": found, "reopened": state.count, "attempts": state.attempts}
