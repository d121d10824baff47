"""Health in a real browser, laptop and phone: a dialing worker process frozen with SIGSTOP
turns the header red within seconds while an order is due, and back when it resumes; the
alerts panel names the silent worker; a dropped live connection greys the page with a banner."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robot.devtools.sandbox import sandbox, supervisors_json
from robot.web.health import STALE_AFTER_S
from tests.browser.conftest import USERS, log_in

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
VIEWPORTS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
async def web(redis_server, tmp_path):
    """The dashboard alone; the dialing is done by the worker process below."""
    async with sandbox(
        redis_server.url, supervisors=supervisors_json(USERS), var_dir=tmp_path, dialing=False
    ) as b:
        yield b


@pytest.fixture
def worker(redis_server):
    proc = subprocess.Popen(
        [sys.executable, "-m", "robot.devtools.sandbox", redis_server.url, "frozen-w1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None and "ready" in proc.stdout.readline()
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize("viewport", ["laptop", "phone"])
async def test_frozen_worker_turns_the_header_red(browser, web, worker, viewport):
    from playwright.async_api import expect

    expect.set_options(timeout=30_000)
    page = await log_in(browser, web.url, "anna")
    await page.set_viewport_size(VIEWPORTS[viewport])
    header = page.locator("#health")
    await expect(header).to_have_attribute("data-state", "ok")
    await expect(page.locator("#dialing-pill")).to_have_attribute("data-paused", "0")
    await expect(page.locator("#no-alerts")).to_be_visible()

    # Pause so the order stays due (the simulated worker would otherwise claim it), then an
    # order arrives: due now, a live worker, nothing wrong.
    await page.click("#btn-pause")
    await web.push_order({"order_id": f"F-{viewport}", "phone": "+79161230201",
                          "amount": "990", "shop_name": "Ромашка"})  # fmt: skip
    await expect(page.locator('[data-alert="paused_with_due"]')).to_be_visible()
    await page.click("#btn-resume")
    # Resumed, the worker claims the order; freeze it mid-work.
    os.kill(worker.pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    await expect(header).to_have_attribute("data-state", "critical")
    took = time.monotonic() - frozen_at
    print(f"\n[{viewport}] header red {took:.1f} s after SIGSTOP (heartbeat stale after "
          f"{STALE_AFTER_S} s)")  # fmt: skip
    assert await page.evaluate("document.body.dataset.health") == "critical"
    await expect(page.locator('[data-alert="no_worker"]')).to_be_visible()
    silent = page.locator('[data-alert="worker_silent"]')
    await expect(silent).to_contain_text("frozen-w1")
    await expect(page.locator("#dialing-pill")).to_have_attribute("data-stopped", "1")
    bg = await page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor")
    assert bg == "rgb(127, 29, 29)"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["width"], width

    # It wakes up: green again.
    os.kill(worker.pid, signal.SIGCONT)
    await expect(header).to_have_attribute("data-state", "ok")
    await expect(page.locator("#no-alerts")).to_be_visible()
    await page.context.close()


async def test_dropped_connection_is_obvious(browser, web, worker):
    from playwright.async_api import expect

    expect.set_options(timeout=30_000)
    page = await log_in(browser, web.url, "anna")
    await expect(page.locator("#health")).to_have_attribute("data-state", "ok")
    assert await page.evaluate("document.body.dataset.stale") == "0"
    await web.runner.cleanup()  # the server goes away under the page
    await expect(page.locator("#stale-banner")).to_be_visible()
    await expect(page.locator("#stale-banner")).to_contain_text("Нет связи с сервером")
    assert await page.evaluate("document.body.dataset.stale") == "1"
    opacity = await page.eval_on_selector("main", "e => getComputedStyle(e).opacity")
    assert float(opacity) < 1
    await page.context.close()
    await asyncio.sleep(0)
