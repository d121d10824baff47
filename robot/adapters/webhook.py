"""Results to the CRM: signed webhooks from the store's outbox, retried until acknowledged.

Wire contract (what a CRM implements):
- ``POST`` to the order's ``callback_url``, else ``settings.webhook_url``; body = one
  ``ResultEvent`` as JSON (``Content-Type: application/json``).
- ``X-Dozvon-Signature: sha256=<hex>``: HMAC-SHA256 of the raw body with the shared secret
  (``settings.webhook_secret``); check it with :func:`verify` or the same three lines.
- ``X-Dozvon-Delivery: <delivery_id>``: the idempotency key (also in the body). Delivery is at
  least once, so the CRM must ignore a delivery id it has already processed.
- ``X-Dozvon-Timestamp: <unix seconds>``: when this attempt was sent (informational).
- Any 2xx acknowledges. Anything else, a connection error or a timeout is retried with
  exponential backoff (base, 2x, 4x ... capped at ``webhook_max_backoff_s``, +-20 % jitter).
  Events of one order can arrive out of order after retries; ``occurred_at`` and ``attempts``
  tell which is newer.

The top half of this module is pure (signing, backoff); ``WebhookDeliverer`` does the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import aiohttp
from redis.exceptions import RedisError

from robot.config import Settings
from robot.core.records import ResultEvent

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Dozvon-Signature"
DELIVERY_HEADER = "X-Dozvon-Delivery"
TIMESTAMP_HEADER = "X-Dozvon-Timestamp"
_SCHEME = "sha256="


def sign(body: bytes, secret: str) -> str:
    """HMAC-SHA256 of ``body`` keyed with ``secret``, as lowercase hex."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str) -> bool:
    """For CRMs: does ``signature`` (the header value, with or without ``sha256=``) match?"""
    given = signature.strip()
    if given.startswith(_SCHEME):
        given = given[len(_SCHEME) :]
    return hmac.compare_digest(given.lower(), sign(body, secret))


def webhook_request(
    event: ResultEvent, delivery_id: str, secret: str, now: datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery attempt."""
    body = event.model_dump_json().encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: _SCHEME + sign(body, secret),
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(int(now.timestamp())),
    }
    return body, headers


def backoff_delay(
    attempt: int,
    *,
    base_s: float,
    max_s: float,
    jitter: float = 0.2,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based). With the +-20 %
    jitter each step still exceeds the previous one (2 * 0.8 > 1.2) until the cap."""
    raw = min(base_s * 2 ** max(0, attempt - 1), max_s)
    return min(raw * (1 - jitter + 2 * jitter * rand()), max_s)


class ResultOutbox(Protocol):
    async def claim_deliveries(
        self, now: datetime, limit: int = 10
    ) -> list[tuple[str, ResultEvent, int]]: ...

    async def ack_delivery(self, delivery_id: str) -> None: ...

    async def retry_delivery(
        self, delivery_id: str, next_at: datetime, error: str, *, attempted: bool = True
    ) -> bool: ...


class WebhookDeliverer:
    """Drains the outbox to the CRM. Owns its task (``start``/``stop``) and, unless one is
    passed in, its aiohttp ClientSession."""

    def __init__(
        self,
        outbox: ResultOutbox,
        settings: Settings,
        *,
        session: aiohttp.ClientSession | None = None,
        base_backoff_s: float = 1.0,
        poll_interval_s: float = 0.5,
        batch: int = 10,
        no_url_recheck_s: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.outbox = outbox
        self.settings = settings
        self.base_backoff_s = base_backoff_s
        self.poll_interval_s = poll_interval_s
        self.batch = batch
        self.no_url_recheck_s = no_url_recheck_s
        self.clock = clock
        self.rand = rand
        self._session = session
        self._owns_session = session is None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._warned_no_url = False

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self.run(), name="dozvon-webhook")
        return self._task

    async def stop(self) -> None:
        """Let the deliveries in progress finish (bounded by the HTTP timeout), then close our
        session. Cancel is only the fallback (redis-py can lose a cancellation mid-read); a
        delivery cut off that way stays claimed and comes back after the store's visibility
        timeout: never lost, maybe repeated."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=self.settings.webhook_timeout_s + 5)
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def run(self) -> None:
        """Deliver until ``stop``."""
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                claimed = await self.deliver_due()
                backoff = 0.5
            except (RedisError, OSError) as e:
                log.warning("webhook: outbox unavailable, retrying in %.1fs: %s", backoff, e)
                await self._pause(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if claimed < self.batch:
                await self._pause(self.poll_interval_s)

    # -- one pass ------------------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Claim up to ``batch`` due results and try each once, concurrently."""
        items = await self.outbox.claim_deliveries(self.clock(), self.batch)
        if items:
            await asyncio.gather(*(self._deliver(d, ev, n) for d, ev, n in items))
        return len(items)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _deliver(self, delivery_id: str, event: ResultEvent, attempt: int) -> None:
        oid = event.order_id
        url = event.callback_url or self.settings.webhook_url
        if not url:
            if not self._warned_no_url:
                log.warning("webhook: no URL configured (DOZVON_WEBHOOK_URL or callback_url); "
                            "results stay in the outbox")  # fmt: skip
                self._warned_no_url = True
            log.debug("order %s delivery %s: parked, no URL", oid, delivery_id)
            await self.outbox.retry_delivery(
                delivery_id, self.clock() + timedelta(seconds=self.no_url_recheck_s),
                "no webhook URL configured", attempted=False,
            )  # fmt: skip
            return
        now = self.clock()
        body, headers = webhook_request(event, delivery_id, self.settings.webhook_secret, now)
        timeout = aiohttp.ClientTimeout(total=self.settings.webhook_timeout_s)
        try:
            async with self._client().post(
                url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as resp:
                error = "" if 200 <= resp.status < 300 else f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError) as e:
            error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        if not error:
            await self.outbox.ack_delivery(delivery_id)
            log.info("order %s delivery %s: delivered (%s, attempt %d)", oid, delivery_id,
                     event.status.value, attempt)  # fmt: skip
            return
        delay = backoff_delay(
            attempt, base_s=self.base_backoff_s, max_s=self.settings.webhook_max_backoff_s,
            rand=self.rand,
        )  # fmt: skip
        await self.outbox.retry_delivery(
            delivery_id, self.clock() + timedelta(seconds=delay), error
        )
        log.warning("order %s delivery %s: attempt %d failed (%s); retry in %.1fs", oid,
                    delivery_id, attempt, error, delay)  # fmt: skip
