"""Results to the CRM: signed webhooks from the store's outbox, retried until acknowledged.

Wire contract (what a CRM implements):
- ``POST`` to the order's ``callback_url``, else its shop's ``webhook_url`` (the shops
  registry), else ``settings.webhook_url``; body = one ``ResultEvent`` as JSON
  (``Content-Type: application/json``).
- ``X-Dozvon-Signature: sha256=<hex>``: HMAC-SHA256 of the raw body with the order's shop's
  ``webhook_secret``, else the shared secret (``settings.webhook_secret``); check it with
  :func:`verify` or the same three lines. Another shop's secret never signs it.
- ``X-Dozvon-Delivery: <delivery_id>``: the idempotency key (also in the body). Delivery is at
  least once, so the CRM must ignore a delivery id it has already processed.
- ``X-Dozvon-Timestamp: <unix seconds>``: when this attempt was sent (informational).
- Any 2xx acknowledges. Anything else, a connection error or a timeout is retried with
  exponential backoff (base, 2x, 4x ... capped at ``webhook_max_backoff_s``, +-20 % jitter),
  up to ``webhook_max_attempts``; then the delivery moves to the failed list (dead letters,
  ``robot.adapters.webhook_outbox``, ``GET /api/v1/webhooks/failed``). Events of one order can
  arrive out of order after retries; ``occurred_at`` and ``attempts`` tell which is newer.
- Where: ``callback_url`` must pass the host policy (``webhook_allowed_hosts``, no internal
  addresses unless listed), checked on the URL and on every address it resolves to at
  connect time (``robot.adapters.webhook_target``). A refused or unparsable URL fails at once.
  Each shop's own ``webhook_url`` is trusted like ``settings.webhook_url``, for its own
  orders only: another shop's callback_url to it passes only if the policy allows it anyway.

How deliveries run: each in its own task, at most ``webhook_concurrency`` sending at a time and
``webhook_per_host`` per CRM host, each bounded by ``webhook_timeout_s`` in all. A delivery
whose host is busy waits for that host's next free slot without taking a global one (up to
``PARK_PER_SLOT`` per host slot); beyond that it goes back to the outbox for about as long as
the host's queue takes to drain at its recent pace (not counted as an attempt). So a CRM that
accepts connections and never answers (a tarpit) holds only its own host's slots; everyone
else's results go on. The store's visibility timeout must exceed the longest wait (service.py
sets it to ``(PARK_PER_SLOT + 2) * webhook_timeout_s``). Any exception in one delivery ends
that delivery (retried or failed), never the deliverer.

The top half of this module is pure (signing, backoff); ``WebhookDeliverer`` does the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import aiohttp
from redis.exceptions import RedisError

from robot.adapters.shop_registry import ShopRegistry
from robot.adapters.webhook_target import TargetGuard, refusal
from robot.config import WebhookSettings
from robot.core.callback_url import CallbackUrlError, WebhookHostPolicy
from robot.core.records import ResultEvent
from robot.logsafe import clean
from robot.supervision import TaskBoard, run_with_restarts

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
    raw = min(base_s * 2.0 ** max(0, attempt - 1), max_s)
    return min(raw * (1 - jitter + 2 * jitter * rand()), max_s)


class ResultOutbox(Protocol):
    async def claim_deliveries(
        self, now: datetime, limit: int = 10
    ) -> list[tuple[str, ResultEvent, int]]: ...

    async def ack_delivery(self, delivery_id: str) -> None: ...

    async def retry_delivery(
        self, delivery_id: str, next_at: datetime, error: str, *, attempted: bool = True
    ) -> bool: ...

    async def fail_delivery(
        self, delivery_id: str, error: str, now: datetime, url: str | None = None
    ) -> bool: ...


class PermanentFailure(Exception):
    """No retry can deliver this (bad URL, refused target): straight to the failed list."""


PARK_PER_SLOT = 4  # deliveries that may wait in memory for each of a host's slots


class _Unparked(Exception):
    """A parked delivery is sent back to the outbox (the deliverer stops)."""


class WebhookDeliverer:
    """Drains the outbox to the CRMs. Owns its task (``start``/``stop``), the delivery tasks
    and, unless one is passed in, its aiohttp ClientSession (with the guarded resolver)."""

    def __init__(
        self,
        outbox: ResultOutbox,
        settings: WebhookSettings,
        *,
        session: aiohttp.ClientSession | None = None,
        base_backoff_s: float = 1.0,
        poll_interval_s: float = 0.5,
        batch: int = 10,
        no_url_recheck_s: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rand: Callable[[], float] = random.random,
        hosts: WebhookHostPolicy | None = None,
        resolver: Any = None,
        tasks: TaskBoard | None = None,
        shops: ShopRegistry | None = None,
    ) -> None:
        """``shops``: where each order's shop's webhook URL and secret are looked up, at each
        delivery (they change at run time)."""
        self.outbox = outbox
        self.shops = shops
        self.settings = settings
        self.base_backoff_s = base_backoff_s
        self.poll_interval_s = poll_interval_s
        self.batch = batch
        self.no_url_recheck_s = no_url_recheck_s
        self.clock = clock
        self.rand = rand
        self.concurrency = settings.webhook_concurrency
        self.per_host = settings.webhook_per_host
        self.max_attempts = settings.webhook_max_attempts
        policy = hosts or WebhookHostPolicy.from_settings(
            settings.webhook_allowed_hosts, settings.webhook_url
        )
        self.policy = policy
        self.guard = TargetGuard(policy, resolver)
        self._shops_seen: int | None = None
        self.tasks = tasks
        self._session = session
        self._owns_session = session is None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._warned_no_url = False
        self._inflight: set[asyncio.Task[None]] = set()
        self._per_host: dict[tuple[str, int], int] = {}  # deliveries sending, by host
        self._parked: dict[tuple[str, int], deque[asyncio.Future[None]]] = {}
        self._pace: dict[tuple[str, int], float] = {}  # recent seconds per attempt, by host
        self._slot_freed = asyncio.Event()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(
                run_with_restarts("webhook", self.run, board=self.tasks, stopping=self._stopping),
                name="dozvon-webhook",
            )
        return self._task

    async def stop(self) -> None:
        """Let the deliveries in progress finish (bounded by the HTTP timeout), then close our
        session. Cancel is only the fallback (redis-py can lose a cancellation mid-read); a
        delivery cut off that way stays claimed and comes back after the store's visibility
        timeout: never lost, maybe repeated."""
        self._stopping.set()
        self._slot_freed.set()
        for queue in self._parked.values():
            for slot in queue:
                if not slot.done():
                    slot.set_exception(_Unparked())
        task, self._task = self._task, None
        grace = self.settings.webhook_timeout_s + 5
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
        if self._inflight:
            _, late = await asyncio.wait(set(self._inflight), timeout=grace)
            for t in late:
                t.cancel()
            if late:
                await asyncio.wait(late, timeout=1.0)
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _wait_for_slot_or_poll(self) -> None:
        self._slot_freed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._slot_freed.wait(), self.poll_interval_s)

    async def run(self) -> None:
        """Claim due deliveries while there are free slots, each into its own task, until
        ``stop``. Store outages are waited out; nothing one delivery does ends this loop."""
        backoff = 0.5
        while not self._stopping.is_set():
            parked = sum(len(q) for q in self._parked.values())
            free = self.concurrency - (len(self._inflight) - parked)
            claimed = 0
            try:
                if free > 0:
                    claimed = self._spawn_all(
                        await self.outbox.claim_deliveries(self.clock(), min(free, 100))
                    )
                backoff = 0.5
            except (RedisError, OSError) as e:
                log.warning("webhook: outbox unavailable, retrying in %.1fs: %s", backoff,
                            clean(e))  # fmt: skip
                await self._pause(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if free <= 0 or claimed < min(free, 100):
                await self._wait_for_slot_or_poll()

    def _spawn_all(self, items: list[tuple[str, ResultEvent, int]]) -> int:
        for delivery_id, event, attempt in items:
            task = asyncio.create_task(
                self._deliver_one(delivery_id, event, attempt), name=f"webhook-{delivery_id}"
            )
            self._inflight.add(task)
            task.add_done_callback(self._finished)
        return len(items)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._slot_freed.set()

    # -- one pass (tests and the demo drive it directly) ---------------------------------------

    async def deliver_due(self) -> int:
        """Claim up to ``batch`` due results and try each once, concurrently; wait for them."""
        items = await self.outbox.claim_deliveries(self.clock(), self.batch)
        if items:
            await asyncio.gather(*(self._deliver_one(d, ev, n) for d, ev, n in items))
        return len(items)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = self.guard.connector(limit=self.concurrency, limit_per_host=self.per_host)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    # -- one delivery --------------------------------------------------------------------------

    def route(self, event: ResultEvent) -> tuple[str | None, str, WebhookHostPolicy]:
        """Where one result goes, the secret that signs it and the host policy for its URL:
        the order's callback_url, else its shop's webhook, else the installation's."""
        shop = self.shops.get(event.shop_name) if self.shops and event.shop_name else None
        if shop is None:
            return (
                event.callback_url or self.settings.webhook_url,
                self.settings.webhook_secret,
                self.policy,
            )
        if self.shops is not None and self.shops.changes != self._shops_seen:
            # connect-time checks: every shop's webhook origin is an allowed destination
            self._shops_seen = self.shops.changes
            self.guard.policy = self.policy.trusting(*(s.webhook_url for s in self.shops.all()))
        url = event.callback_url or shop.webhook_url or self.settings.webhook_url
        secret = shop.webhook_secret.get_secret_value() if shop.webhook_secret else None
        return url, secret or self.settings.webhook_secret, self.policy.trusting(shop.webhook_url)

    async def _deliver_one(self, delivery_id: str, event: ResultEvent, attempt: int) -> None:
        """One attempt, whatever happens: delivered, retried, or failed for good."""
        url = event.callback_url or self.settings.webhook_url
        with contextlib.suppress(Exception):
            url = self.route(event)[0]
        try:
            await self._deliver(delivery_id, event, attempt)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as e:
            # Acking or rescheduling failed: it stays claimed and is retried after the
            # store's visibility timeout.
            log.warning("order %s delivery %s: outbox unavailable: %s", event.order_id,
                        delivery_id, clean(e))  # fmt: skip
        except Exception as e:  # a bug in one delivery: give up on it, keep the others going
            log.error("order %s delivery %s: unexpected %s", event.order_id, delivery_id,
                      clean(repr(e)), exc_info=True)  # fmt: skip
            with contextlib.suppress(Exception):
                await self.outbox.fail_delivery(
                    delivery_id, f"internal error: {clean(repr(e), 300)}", self.clock(), url
                )

    async def _deliver(self, delivery_id: str, event: ResultEvent, attempt: int) -> None:
        oid = event.order_id
        url, secret, policy = self.route(event)
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
        try:
            target = policy.check_url(url)
        except CallbackUrlError as e:
            await self._give_up(delivery_id, event, attempt, f"refused URL: {e}", url)
            return
        host = target.origin
        if not await self._acquire_host(host):
            await self.outbox.retry_delivery(
                delivery_id, self.clock() + timedelta(seconds=self._drain_s(host)),
                "", attempted=False,  # not an error: the CRM's slots are busy
            )  # fmt: skip
            return
        started = time.monotonic()
        try:
            error = await self._post(delivery_id, event, url, secret)
        except PermanentFailure as e:
            await self._give_up(delivery_id, event, attempt, str(e), url)
            return
        finally:
            pace = self._pace.get(host, time.monotonic() - started)
            self._pace[host] = 0.7 * pace + 0.3 * (time.monotonic() - started)
            self._release_host(host)
        if not error:
            await self.outbox.ack_delivery(delivery_id)
            log.info("order %s delivery %s: delivered (%s, attempt %d)", oid, delivery_id,
                     event.status.value, attempt)  # fmt: skip
            return
        if attempt >= self.max_attempts:
            await self._give_up(delivery_id, event, attempt, error, url)
            return
        delay = backoff_delay(
            attempt, base_s=self.base_backoff_s, max_s=self.settings.webhook_max_backoff_s,
            rand=self.rand,
        )  # fmt: skip
        await self.outbox.retry_delivery(
            delivery_id, self.clock() + timedelta(seconds=delay), error
        )
        log.warning("order %s delivery %s: attempt %d failed (%s); retry in %.1fs", oid,
                    delivery_id, attempt, clean(error), delay)  # fmt: skip

    # -- per-host slots ------------------------------------------------------------------------

    async def _acquire_host(self, host: tuple[str, int]) -> bool:
        """A sending slot for ``host``: at once, after waiting for one (parked), or False when
        too many already wait."""
        if self._per_host.get(host, 0) < self.per_host:
            self._per_host[host] = self._per_host.get(host, 0) + 1
            return True
        queue = self._parked.setdefault(host, deque())
        if len(queue) >= self.per_host * PARK_PER_SLOT or self._stopping.is_set():
            return False
        slot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(slot)
        try:
            await slot  # _release_host hands a finishing delivery's slot over
        except _Unparked:
            return False
        except asyncio.CancelledError:
            if slot.done() and not slot.cancelled():
                self._release_host(host)  # handed over just as we were cancelled
            elif slot in queue:
                queue.remove(slot)
            raise
        return True

    def _release_host(self, host: tuple[str, int]) -> None:
        queue = self._parked.get(host)
        while queue:
            slot = queue.popleft()
            if not slot.done():
                slot.set_result(None)  # the slot passes on; the count stays
                return
        self._parked.pop(host, None)
        self._per_host[host] -= 1
        if not self._per_host[host]:
            del self._per_host[host]
        self._slot_freed.set()

    def _drain_s(self, host: tuple[str, int]) -> float:
        """About how long the host's queue takes to drain at its recent pace (+-50 %)."""
        if self._stopping.is_set():
            return 0.0
        waiting = self._per_host.get(host, 0) + len(self._parked.get(host, ()))
        estimate = waiting / self.per_host * self._pace.get(host, 1.0)
        jittered = estimate * (0.5 + self.rand())
        return min(max(jittered, 0.2), max(self.settings.webhook_max_backoff_s, 0.2))

    async def _post(self, delivery_id: str, event: ResultEvent, url: str, secret: str) -> str:
        """One POST; "" on a 2xx, else the error to retry on. Raises PermanentFailure."""
        body, headers = webhook_request(event, delivery_id, secret, self.clock())
        total = self.settings.webhook_timeout_s
        timeout = aiohttp.ClientTimeout(total=total)
        try:
            async with asyncio.timeout(total + 1.0):  # DNS in a thread included
                async with self._client().post(
                    url, data=body, headers=headers, timeout=timeout, allow_redirects=False
                ) as resp:
                    return "" if 200 <= resp.status < 300 else f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            reason = refusal(e)
            if reason is not None:
                raise PermanentFailure(f"refused target: {reason}") from None
            if isinstance(e, aiohttp.InvalidURL):
                raise PermanentFailure(f"invalid URL: {e}") from None
            return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        except (ValueError, UnicodeError) as e:  # yarl/aiohttp refusing the URL itself
            raise PermanentFailure(f"invalid URL: {type(e).__name__}: {e}") from None

    async def _give_up(
        self, delivery_id: str, event: ResultEvent, attempt: int, error: str, url: str
    ) -> None:
        await self.outbox.fail_delivery(delivery_id, error, self.clock(), url)
        log.error("order %s delivery %s: failed for good after %d attempt(s): %s",
                  event.order_id, delivery_id, attempt, clean(error))  # fmt: skip
