"""Playwright driving Debian's Chromium (never a downloaded browser) against the sandbox:
the real web app and a real dialer on real Redis, with simulated calls."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest

CHROMIUM = os.environ.get("DOZVON_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
USERS = {"anna": ("admin", "anna-pass-1"), "boris": ("viewer", "boris-pass-1")}

pytestmark = pytest.mark.browser


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    playwright = pytest.importorskip("playwright.async_api")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    async with playwright.async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
async def box(redis_server, tmp_path):
    from robot.devtools.sandbox import sandbox, supervisors_json

    async with sandbox(
        redis_server.url, supervisors=supervisors_json(USERS), var_dir=tmp_path
    ) as b:
        yield b


async def log_in(browser, url: str, name: str, *, lang: str = "ru"):
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="ru-RU")
    page = await context.new_page()
    await page.goto(f"{url}/?lang={lang}")
    assert "/login" in page.url
    await page.fill("input[name=username]", name)
    await page.fill("input[name=password]", USERS[name][1])
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda u: "/login" not in u)
    return page
