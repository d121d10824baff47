"""This worker's heartbeat for the dashboard, with the run-time controls in force.

Supervisors change pause, the concurrent-call limit and calls per second on the dashboard; they
live in Redis (``RunControlSource``) and are enforced by the admission gate alone
(``adapters/redis_limits``), which reads them at every admission. This module enforces and
changes nothing: once per dialer loop turn (``turned``) it reads the controls (one small Redis
read) and reports this worker's state (paused, its calls, the limit in force), at most once a
second unless something changed; its own task (``heartbeat``) reports every second even while
the dialer idles. If Redis cannot be read, the last known controls are the ones reported.
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
        self.controls = RunControls()  # the last read (kept while Redis cannot be read)
        self._reported_at = float("-inf")
        self._reported: tuple[bool, int, int] | None = None  # what the last report said
        self._failing = False
        self._turned_at = clock()

    async def heartbeat(self, dialer: Dialer, every_s: float = REPORT_EVERY_S) -> None:
        """Report this worker every ``every_s`` until cancelled (the dialer owns the task)."""
        while True:
            await self._report(dialer, force=True)
            await asyncio.sleep(every_s)

    async def turned(self, dialer: Dialer) -> None:
        """The dialer loop turned: read the controls and report a change at once."""
        self._turned_at = self.clock()
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
                controls.max_concurrent_calls
                or f"{dialer.config.max_concurrent_calls} (configured)",
                controls.calls_per_second or "unlimited",
            )
        self.controls = controls
        await self._report(dialer)

    def _max_calls(self, dialer: Dialer) -> int:
        limit = self.controls.max_concurrent_calls
        return limit if limit is not None else dialer.config.max_concurrent_calls

    async def _report(self, dialer: Dialer, *, force: bool = False) -> None:
        now = self.clock()
        shown = (self.controls.paused, dialer.active, self._max_calls(dialer))
        if not force and now - self._reported_at < REPORT_EVERY_S and shown == self._reported:
            return
        self._reported_at, self._reported = now, shown
        cps = self.controls.calls_per_second
        try:
            await self.source.report(
                WorkerReport(
                    worker_id=dialer.config.worker_id,
                    paused=self.controls.paused,
                    active_calls=dialer.active,
                    max_concurrent_calls=self._max_calls(dialer),
                    calls_per_second=cps if cps and cps > 0 else None,
                    at=self.wall_clock(),
                    loop_idle_s=round(now - self._turned_at, 1),
                )
            )
        except Exception as e:  # a missed heartbeat only dims this worker on the dashboard
            log.debug("worker report failed: %r", e)
