"""Run-time dialing controls: pause, the concurrent-call limit and calls per second.

Supervisors change them on the dashboard; they live in Redis (``RunControlSource``) so every
worker process sees them. The dialer asks :meth:`DialerControl.ready` once per loop turn, before
it claims an order: that reads the controls (one small Redis read), applies them to the dialer,
reports this worker's state at most once a second, and paces claims with a token bucket when
a calls-per-second limit is set. If Redis cannot be read, the last known controls stay in force.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from robot.ports import RunControls, RunControlSource, WorkerReport

if TYPE_CHECKING:
    from robot.engine.dialer import Dialer

log = logging.getLogger(__name__)

REPORT_EVERY_S = 1.0  # heartbeat; a change (pause, calls, limit) is reported at once
# The heartbeat has its own task, so a dialer idling until the next due order still reports
# every second; the dialer loop's last turn goes with it, so a loop stuck on something shows.
MAX_PACE_WAIT_S = 0.5  # re-read the controls at least this often while waiting for a token


class TokenBucket:
    """Calls per second with a burst of one second's worth (at least one call)."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.rate: float | None = None
        self.tokens = 0.0
        self._at = clock()
        self.set_rate(rate)

    def set_rate(self, rate: float | None) -> None:
        rate = rate if rate and rate > 0 else None
        if rate == self.rate:
            return
        self._refill()
        self.rate = rate
        self.tokens = min(self.tokens, self.burst) if rate else 0.0

    @property
    def burst(self) -> float:
        return max(1.0, self.rate or 1.0)

    def _refill(self) -> None:
        now = self.clock()
        if self.rate:
            self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now

    def wait_s(self) -> float:
        """0 when a call may start now, else how long until one may."""
        if self.rate is None:
            return 0.0
        self._refill()
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        if self.rate is not None:
            self._refill()
            self.tokens -= 1.0


class DialerControl:
    def __init__(
        self,
        source: RunControlSource,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.source = source
        self.clock = clock
        self.wall_clock = wall_clock
        self.bucket = TokenBucket(None, clock)
        self.controls = RunControls()
        self._configured_max: int | None = None
        self._reported_at = float("-inf")
        self._reported: tuple[bool, int, int] | None = None  # what the last report said
        self._failing = False
        self._turned_at = clock()

    async def heartbeat(self, dialer: Dialer, every_s: float = REPORT_EVERY_S) -> None:
        """Report this worker every ``every_s`` until cancelled (the dialer owns the task)."""
        while True:
            await self._report(dialer, force=True)
            await asyncio.sleep(every_s)

    async def ready(self, dialer: Dialer) -> bool:
        """Apply the current controls to ``dialer``; False: not yet (ask again)."""
        self._turned_at = self.clock()
        await self._refresh(dialer)
        if dialer.paused or dialer.active >= dialer.config.max_concurrent_calls:
            return True  # the dialer's own wait handles these
        wait = self.bucket.wait_s()
        if wait > 0:
            await asyncio.sleep(min(wait, MAX_PACE_WAIT_S))
            return False
        self.bucket.take()
        return True

    async def _refresh(self, dialer: Dialer) -> None:
        if self._configured_max is None:
            self._configured_max = dialer.config.max_concurrent_calls
        try:
            controls = await self.source.read()
            if self._failing:
                log.info("run-time controls readable again")
                self._failing = False
        except Exception as e:
            if not self._failing:
                log.warning("cannot read run-time controls, keeping the last ones: %r", e)
                self._failing = True
            controls = self.controls
        if controls != self.controls:
            log.info(
                "run-time controls: paused=%s max_concurrent_calls=%s calls_per_second=%s",
                controls.paused,
                controls.max_concurrent_calls or f"{self._configured_max} (configured)",
                controls.calls_per_second or "unlimited",
            )
        self.controls = controls
        dialer.paused = controls.paused
        dialer.config.max_concurrent_calls = (
            controls.max_concurrent_calls
            if controls.max_concurrent_calls is not None
            else self._configured_max
        )
        self.bucket.set_rate(controls.calls_per_second)
        await self._report(dialer)

    async def _report(self, dialer: Dialer, *, force: bool = False) -> None:
        now = self.clock()
        shown = (dialer.paused, dialer.active, dialer.config.max_concurrent_calls)
        if not force and now - self._reported_at < REPORT_EVERY_S and shown == self._reported:
            return
        self._reported_at, self._reported = now, shown
        try:
            await self.source.report(
                WorkerReport(
                    worker_id=dialer.config.worker_id,
                    paused=dialer.paused,
                    active_calls=dialer.active,
                    max_concurrent_calls=dialer.config.max_concurrent_calls,
                    calls_per_second=self.bucket.rate,
                    at=self.wall_clock(),
                    loop_idle_s=round(now - self._turned_at, 1),
                )
            )
        except Exception as e:  # a missed heartbeat only dims this worker on the dashboard
            log.debug("worker report failed: %r", e)
