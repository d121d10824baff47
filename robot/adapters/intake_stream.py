"""Order intake from the Redis stream ``dozvon:intake`` (consumer group ``dozvon``).

Redis stream facts relied on (Redis >= 6.2):
- ``XGROUP CREATE ... 0 MKSTREAM`` creates the stream if missing; the group starts at id 0 so
  orders a CRM added before the first worker ever ran are read too. BUSYGROUP = already there.
- ``XREADGROUP ... >`` hands out new entries and records them in the consumer's pending list
  (PEL) until ``XACK``; ``XREADGROUP ... 0`` re-reads this consumer's own PEL (a worker that
  crashed between read and ack and came back under the same name). A pending entry whose data
  was XDEL'ed comes back with no fields.
- ``XAUTOCLAIM`` moves entries idle for longer than ``claim_idle_ms`` from other (dead)
  consumers to us; with a fresh worker id per process this is what recovers a crashed worker.

An entry carries either a field ``order`` with the JSON document, or the order's fields flat.
An ``action`` (a field of the entry or of the document) says what to do: ``create`` (default),
``update`` (the changed fields of a known order, see ``OrderControl.update``), ``cancel``
(needs only ``order_id``, optional ``reason``) or ``status`` (a CRM status event:
``order_id``, ``status``, ``occurred_at`` and the fields it carries, such as
``pickup_point``; ``OrderControl.apply_status``, exactly as ``POST /api/v1/orders/{id}/status``).
An action that cannot apply (unknown order, an order already final) goes to the rejected
stream with the reason; a stale status event is acknowledged (it changes nothing).
Valid -> ``add_order`` (a duplicate is fine: the order is already safe) -> XACK. Invalid -> one
MULTI of XADD to ``dozvon:intake:rejected`` (entry_id, field, message, original, rejected_at)
and XACK: bad input is logged and dropped and never blocks the stream. Only Redis errors leave
an entry pending for retry; any other exception while handling one entry (bad JSON nested
100 000 deep, a time zone that is a tzdata directory, a bug) rejects that entry with the error,
so no entry can stop the consumer, now or after a restart. Should the loop itself die anyway,
its supervisor (``robot.supervision``) logs it and starts it again with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import NEVER_DECODE
from redis.exceptions import RedisError, ResponseError

from robot.adapters.redis_keys import RedisKeys
from robot.core.callback_url import WebhookHostPolicy
from robot.core.json_doc import InvalidJson, loads
from robot.core.models import OrderError, parse_order, parse_status_event
from robot.logsafe import clean
from robot.ports import DuplicateOrder, OrderStore
from robot.supervision import TaskBoard, join_task, run_with_restarts

log = logging.getLogger(__name__)

STREAM = RedisKeys().intake  # dozvon:intake
GROUP = "dozvon"
REJECTED_STREAM = RedisKeys().intake_rejected  # dozvon:intake:rejected
MAX_ORIGINAL_CHARS = 64_000  # what of a rejected entry is kept next to the error
# Errors that mean "Redis is away" (retry the entry later), not "this entry is bad".
TRANSIENT = (RedisError, ConnectionError)

Entry = tuple[str, dict[str, str] | None]


class IntakeStreamConsumer:
    """Reads orders from the intake stream into the store; owns its task when ``start``ed."""

    def __init__(
        self,
        redis: Redis,
        store: OrderStore,
        *,
        consumer: str,
        default_region: str = "RU",
        stream: str = STREAM,
        group: str = GROUP,
        rejected_stream: str = REJECTED_STREAM,
        block_ms: int = 1000,
        batch: int = 50,
        claim_idle_ms: int = 60_000,
        rejected_maxlen: int = 10_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        control: Any = None,
        webhook_hosts: WebhookHostPolicy | None = None,
        tasks: TaskBoard | None = None,
    ) -> None:
        """``redis`` must use ``decode_responses=True`` and a socket timeout above
        ``block_ms`` (redis-py's default 5 s is fine for the default 1 s block). Entries are read
        undecoded and decoded here with replacement characters: an entry of raw bytes that is
        not UTF-8 must be rejected, not fail every read of the batch it is in."""
        self.redis = redis
        self.store = store
        self.consumer = consumer
        self.default_region = default_region
        self.stream = stream
        self.group = group
        self.rejected_stream = rejected_stream
        self.block_ms = block_ms
        self.batch = batch
        self.claim_idle_ms = claim_idle_ms
        self.rejected_maxlen = rejected_maxlen
        self.clock = clock
        self.control = control  # OrderControl: cancel / update actions; None: create only
        self.webhook_hosts = webhook_hosts  # where callback_url may point (None: public only)
        self.tasks = tasks
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(
                run_with_restarts(
                    "intake-stream", self.run, board=self.tasks, stopping=self._stopping
                ),
                name="dozvon-intake-stream",
            )
        return self._task

    async def stop(self) -> None:
        """Finish the current batch and return (within about ``block_ms``). An entry caught
        mid-way by the fallback cancel stays pending and is redone later (idempotent)."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            await join_task(task, grace_s=self.block_ms / 1000 + 5.0)

    async def run(self) -> None:
        """Recover pending entries, then read new ones until ``stop``; survives Redis
        restarts (recovering again after each error)."""
        need_recovery, last_claim, backoff = True, 0.0, 0.5
        while not self._stopping.is_set():
            try:
                if need_recovery:
                    await self.recover()
                    need_recovery, last_claim = False, time.monotonic()
                elif time.monotonic() - last_claim >= self.claim_idle_ms / 1000:
                    await self._autoclaim()
                    last_claim = time.monotonic()
                await self.poll_once()
                backoff = 0.5
            except (RedisError, OSError) as e:
                log.warning("intake stream: Redis error, retrying in %.1fs: %s", backoff,
                            clean(e))  # fmt: skip
                need_recovery = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                backoff = min(backoff * 2, 10.0)

    # -- steps (public so tests and the demo can drive them one at a time) ---------------------

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
            log.info("intake stream: created group %s on %s", self.group, self.stream)
        except ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    async def recover(self) -> int:
        """Process our own pending entries, then those idle too long at dead consumers."""
        await self.ensure_group()
        done, cursor = 0, "0"
        while True:
            entries = await self._read(cursor, block_ms=None)
            if not entries:
                break
            for entry_id, fields in entries:
                await self._handle(entry_id, fields)
                cursor = entry_id
            done += len(entries)
        done += await self._autoclaim()
        if done:
            log.info("intake stream: recovered %d pending entries", done)
        return done

    async def poll_once(self, *, block: bool = True) -> int:
        """Read and handle one batch of new entries (waiting up to ``block_ms`` for some when
        ``block``); returns how many."""
        entries = await self._read(">", block_ms=self.block_ms if block else None)
        for entry_id, fields in entries:
            await self._handle(entry_id, fields)
        return len(entries)

    # -- internals -----------------------------------------------------------------------------

    async def _read(self, start: str, *, block_ms: int | None) -> list[Entry]:
        args: list[Any] = ["XREADGROUP", "GROUP", self.group, self.consumer, "COUNT", self.batch]
        if block_ms is not None:
            args += ["BLOCK", block_ms]
        args += ["STREAMS", self.stream, start]
        reply: Any = await self.redis.execute_command(*args, **{NEVER_DECODE: True})
        if not reply:
            return []
        if isinstance(reply, dict):  # RESP3 shape
            return _decoded(next(iter(reply.values()))[0])
        return _decoded(reply[0][1])

    async def _autoclaim(self) -> int:
        done, start = 0, "0-0"
        while True:
            reply: Any = await self.redis.execute_command(
                "XAUTOCLAIM", self.stream, self.group, self.consumer, self.claim_idle_ms, start,
                "COUNT", self.batch, **{NEVER_DECODE: True},
            )  # fmt: skip
            next_id, entries = _text(reply[0]), _decoded(reply[1])
            for entry_id, fields in entries:
                log.info("intake stream: took over entry %s from a dead consumer", entry_id)
                await self._handle(entry_id, fields)
            done += len(entries)
            if next_id in ("0-0", start) or not entries:
                return done
            start = next_id

    async def _handle(self, entry_id: str, fields: dict[str, str] | None) -> None:
        if not fields:
            log.warning("intake stream: entry %s was deleted before it was read; acking", entry_id)
            await self.redis.xack(self.stream, self.group, entry_id)
            return
        try:
            doc = _document(fields)
            action = fields.get("action") or (isinstance(doc, dict) and doc.get("action"))
            if action and action != "create":
                await self._apply_action(str(action), doc, entry_id, fields)
                return
            order = parse_order(
                doc, default_region=self.default_region, webhook_hosts=self.webhook_hosts
            )
        except (OrderError, InvalidJson) as e:
            await self._reject(entry_id, fields, e.field, e.message)
            return
        except TRANSIENT:
            raise  # transient: leave it pending, the run loop recovers it
        except Exception as e:  # whatever this entry does, the next one is read
            log.error("intake stream: entry %s failed: %s", entry_id, clean(repr(e)),
                      exc_info=not isinstance(e, RecursionError))  # fmt: skip
            await self._reject(entry_id, fields, "internal", clean(repr(e), 500))
            return
        try:
            await self.store.add_order(order, self.clock())
        except DuplicateOrder as dup:
            log.info("intake stream: order %s already known (%s); acking entry %s",
                     order.order_id, dup.record.status.value, entry_id)  # fmt: skip
        except TRANSIENT:
            raise  # transient: leave it pending, the run loop recovers it
        except Exception as e:  # a bug must not wedge the stream on one entry
            log.exception("intake stream: entry %s failed", entry_id)
            await self._reject(entry_id, fields, "internal", clean(repr(e), 500))
            return
        await self.redis.xack(self.stream, self.group, entry_id)

    async def _apply_action(
        self, action: str, doc: Any, entry_id: str, fields: dict[str, str]
    ) -> None:
        if action not in ("update", "cancel", "status") or self.control is None:
            raise OrderError("action", "must be create, update, cancel or status")
        if not isinstance(doc, dict):
            raise OrderError("body", "must be a JSON object")
        if action == "status":
            event = parse_status_event(doc, also=frozenset({"action"}))
        oid = str(doc.get("order_id") or doc.get("id") or "").strip()
        if not oid:
            raise OrderError("order_id", "is required")
        try:
            if action == "status":
                applied = await self.control.apply_status(event, self.clock())
                if applied.result == "unknown_order":
                    raise LookupError(oid)
                action = f"status {event.status} ({applied.result})"
            elif action == "cancel":
                reason = str(doc.get("reason") or "cancelled by the shop")
                await self.control.cancel(oid, self.clock(), reason)
            else:
                patch = {k: v for k, v in doc.items() if k != "action"}
                await self.control.update(
                    oid, patch, self.clock(), default_region=self.default_region,
                    webhook_hosts=self.webhook_hosts,
                )  # fmt: skip
        except TRANSIENT:
            raise  # transient: leave it pending
        except OrderError:
            raise
        except Exception as e:  # unknown order, already final: tell the CRM, move on
            msg = f"no order {oid!r}" if isinstance(e, LookupError) else str(e)
            await self._reject(entry_id, fields, "order_id", msg)
            return
        log.info("intake stream: order %s %s applied (entry %s)", oid, action, entry_id)
        await self.redis.xack(self.stream, self.group, entry_id)

    async def _reject(self, entry_id: str, fields: dict[str, str], field: str, msg: str) -> None:
        log.warning("intake stream: entry %s rejected: %s: %s", entry_id, clean(field, 100),
                    clean(msg))  # fmt: skip
        original = json.dumps(fields, ensure_ascii=False)
        if len(original) > MAX_ORIGINAL_CHARS:
            original = original[:MAX_ORIGINAL_CHARS] + "...(cut)"
        record: dict[Any, Any] = {
            "entry_id": entry_id,
            "field": field[:200],
            "message": msg[:1000],
            "original": original,
            "rejected_at": self.clock().isoformat(),
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.rejected_stream, record, maxlen=self.rejected_maxlen, approximate=True)
            pipe.xack(self.stream, self.group, entry_id)
            await pipe.execute()


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _decoded(entries: Any) -> list[Entry]:
    out: list[Entry] = []
    for entry_id, fields in entries or []:
        decoded = {_text(k): _text(v) for k, v in fields.items()} if fields else None
        out.append((_text(entry_id), decoded))
    return out


def _document(fields: dict[str, str]) -> Any:
    """The order document of one entry: ``order`` holds JSON, or the fields are the order."""
    if "order" in fields:
        return loads(fields["order"], field="order")
    return dict(fields)
