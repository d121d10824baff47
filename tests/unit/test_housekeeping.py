"""Housekeeping on APScheduler: jobs run in the service's loop, errors are logged, stop is clean."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from robot.housekeeping import Housekeeping


class Store:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail
        self.ran = asyncio.Event()

    async def reap_expired_leases(self, now: datetime, limit: int = 100) -> list[str]:
        self.calls += 1
        self.ran.set()
        if self.fail:
            raise ConnectionError("redis away")
        return ["A-1"] if self.calls == 1 else []


class Dialer:
    def __init__(self) -> None:
        self.checked = asyncio.Event()

    async def check_live_orders(self) -> None:
        self.checked.set()


async def test_jobs_run_and_stop():
    store, dialer = Store(), Dialer()
    hk = Housekeeping(store, dialer, lease_s=1.5, clock=lambda: datetime.now(UTC))
    assert hk.reap_interval_s == 0.5
    hk.start()
    try:
        await asyncio.wait_for(store.ran.wait(), 30)  # first run at start
        await asyncio.wait_for(dialer.checked.wait(), 30)
    finally:
        await hk.stop()
    assert hk.reaped == 1 and hk.scheduler is None
    assert Housekeeping(store, None, lease_s=300).reap_interval_s == 5.0


async def test_a_failing_job_is_logged_and_runs_again(caplog):
    store = Store(fail=True)
    hk = Housekeeping(store, None, lease_s=1.5)
    hk.start()
    try:
        async with asyncio.timeout(30):
            while store.calls < 2:
                await asyncio.sleep(0.05)
    finally:
        await hk.stop()
    assert "lease reaping failed" in caplog.text
