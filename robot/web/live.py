"""Server-sent events for the live overview.

One hub per process: a single Redis subscriber to the live board and the control channel
fans each message out to every connected browser, and while anyone is connected the hub
recomputes the overview (queue, today's numbers, controls, workers) every couple of seconds,
sooner after a call ends or a control changes. Call state changes are forwarded as they
happen; the browser ticks durations on its own.

Events on the stream: ``summary`` (the whole overview), ``call`` (one call's change),
``control`` (a supervisor changed a control). A slow browser whose queue fills is dropped; its
EventSource reconnects by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

SUMMARY_EVERY_S = 2.0
SUMMARY_MIN_GAP_S = 0.3
CLIENT_QUEUE = 500

Message = tuple[str, Any] | None  # (event name, JSON-able data); None: the stream ends


class LiveHub:
    def __init__(
        self,
        redis: Redis,
        channels: dict[str, str],
        overview: Callable[[datetime], Awaitable[dict[str, Any]]],
    ) -> None:
        """``channels`` maps a Redis channel to the SSE event name its messages become."""
        self.redis = redis
        self.channels = channels
        self.overview = overview
        self._clients: set[asyncio.Queue[Message]] = set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._dirty = asyncio.Event()

    def __len__(self) -> int:
        return len(self._clients)

    def subscribe(self) -> asyncio.Queue[Message]:
        q: asyncio.Queue[Message] = asyncio.Queue(CLIENT_QUEUE)
        self._clients.add(q)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="dashboard-live-hub")
        return q

    def unsubscribe(self, q: asyncio.Queue[Message]) -> None:
        self._clients.discard(q)

    def broadcast(self, event: str, data: Any) -> None:
        for q in list(self._clients):
            try:
                q.put_nowait((event, data))
            except asyncio.QueueFull:
                log.info("dashboard: dropping a browser that does not keep up")
                self._clients.discard(q)
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
                q.put_nowait(None)

    def poke(self) -> None:
        """Recompute the overview soon (after an action)."""
        self._dirty.set()

    async def close(self) -> None:
        self._closing = True
        for q in list(self._clients):
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(None)
        self._clients.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        """Runs while browsers are connected; reconnects to Redis after an outage."""
        while self._clients and not self._closing:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self.channels)
                await self._pump(pubsub)
            except (RedisError, OSError) as e:
                log.warning("dashboard live hub lost Redis: %s", e)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def _pump(self, pubsub: Any) -> None:
        next_summary = 0.0
        while self._clients and not self._closing:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.25)
            if msg is not None and msg.get("type") == "message":
                event = self.channels.get(msg["channel"], "message")
                try:
                    data = json.loads(msg["data"])
                except ValueError:
                    data = msg["data"]
                self.broadcast(event, data)
                if event != "call" or (isinstance(data, dict) and data.get("state") == "ended"):
                    self._dirty.set()
            now = time.monotonic()
            if now >= next_summary or (
                self._dirty.is_set() and now >= next_summary - SUMMARY_EVERY_S + SUMMARY_MIN_GAP_S
            ):
                self._dirty.clear()
                next_summary = now + SUMMARY_EVERY_S
                try:
                    self.broadcast("summary", await self.overview(datetime.now(UTC)))
                except (RedisError, OSError):
                    raise
                except Exception:
                    log.exception("dashboard overview failed")


def sse_frame(event: str, data: Any) -> bytes:
    body = json.dumps(data, ensure_ascii=False, default=str)
    return f"event: {event}\ndata: {body}\n\n".encode()
