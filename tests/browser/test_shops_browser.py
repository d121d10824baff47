"""The dashboard's shops, in Chromium: the overview's shop card pauses and resumes one shop
for every worker (the admission gate's hash follows), the live calls filter by shop, and the
orders list suggests the shops' names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from robot.adapters import redis_keys
from robot.ports import CallState, CallStateChange

from .conftest import USERS, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
async def shop_box(redis_server, tmp_path):  # type: ignore[no-untyped-def]
    from robot.devtools.sandbox import sandbox, supervisors_json

    shops = {"Ромашка": {"caller_id": '"Р" <+74950000001>'}, "Лютик": {"max_calls": 2}}
    async with sandbox(redis_server.url, supervisors=supervisors_json(USERS), var_dir=tmp_path,
                       shops=shops) as b:  # fmt: skip
        yield b


async def test_the_shop_card_pauses_one_shop_and_filters_the_live_calls(browser, shop_box):  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    expect.set_options(timeout=20_000)
    box = shop_box
    page = await log_in(browser, box.url, "anna")
    card = page.locator("#shops")
    await expect(card.locator("li")).to_have_count(2)
    lyutik = card.locator('li[data-shop="Лютик"]')
    await expect(lyutik).to_have_attribute("data-paused", "0")
    await lyutik.locator('button[data-action="pause"]').click()
    await expect(lyutik).to_have_attribute("data-paused", "1")
    limits = await box.store.redis.hgetall(redis_keys.shop_limits("Лютик"))
    assert limits == {"paused": "1", "max_calls": "2"}
    assert (await box.store.redis.hgetall(redis_keys.shop_limits("Ромашка")))["paused"] == "0"
    await lyutik.locator('button[data-action="resume"]').click()
    await expect(lyutik).to_have_attribute("data-paused", "0")
    assert (await box.store.redis.hgetall(redis_keys.shop_limits("Лютик")))["paused"] == "0"

    # the live view: every shop's calls, then one shop's
    now = datetime.now(UTC)
    for cid, shop in (("c-r", "Ромашка"), ("c-l", "Лютик")):
        box.board.publish(CallStateChange(
            call_id=cid, order_id=f"O-{cid}", state=CallState.RINGING, at=now, started_at=now,
            attempt=1, phone="+79161234567", language="ru", shop_name=shop, purpose="confirm",
        ))  # fmt: skip
    await box.board.flush()
    rows = page.locator("#live-table tbody tr")
    await expect(rows).to_have_count(2)
    await page.select_option("#live-shop", "Лютик")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-shop", "Лютик")
    assert "shop=" in page.url
    await page.select_option("#live-shop", "")
    await expect(rows).to_have_count(2)

    # the orders list suggests the shops' names
    await page.goto(f"{box.url}/orders")
    await expect(page.locator("#shop")).to_have_attribute("list", "shop-names")
    await expect(page.locator("#shop-names option")).to_have_count(2)


async def test_a_viewer_sees_the_shops_but_no_pause(browser, shop_box):  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    expect.set_options(timeout=20_000)
    page = await log_in(browser, shop_box.url, "boris")
    await expect(page.locator("#shops li")).to_have_count(2)
    await expect(page.locator("#shops button")).to_have_count(0)
