"""Work for humans in a real browser, laptop and phone: an exhausted order appears in the
follow-up queue, is taken, noted and closed, all seen in the audit log; "call now" reopens a
final order and it is really called; the alerts panel shows throttled sign-ins and an admin
unlocks them."""

from __future__ import annotations

import re

import aiohttp
import pytest

from robot.core.models import OrderStatus, Outcome
from robot.web.throttle import BUCKETS
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser
VIEWPORTS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


async def no_page_scroll(page, viewport: str) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate(
        """(w) => [...document.querySelectorAll('body *')].filter((e) =>
        e.getBoundingClientRect().right > w + 1).slice(0, 8).map((e) =>
        `${e.tagName}#${e.id}.${e.className}`)""",
        VIEWPORTS[viewport]["width"],
    )
    assert width <= VIEWPORTS[viewport]["width"], (width, wide)


async def exhausted_order(box, oid: str, phone: str) -> None:
    import asyncio

    await box.push_order(
        {
            "order_id": oid,
            "phone": phone,
            "amount": "990",
            "shop_name": "Ромашка",
            "customer_name": "Пётр Вернидубович-Заречный",
        }
    )
    req = await box.next_call()
    box.originator.fail(req.call_id, Outcome.NO_ANSWER, "rang out, no answer")
    async with asyncio.timeout(30):
        while (await box.store.get_order(oid)).status is not OrderStatus.EXHAUSTED:
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("viewport", ["laptop", "phone"])
async def test_follow_up_take_note_resolve_and_call_again(browser, box, viewport):
    from playwright.async_api import expect

    expect.set_options(timeout=20_000)
    oid = f"FU-{viewport}"
    await exhausted_order(box, oid, "+79161230501" if viewport == "laptop" else "+79161230502")
    page = await log_in(browser, box.url, "anna")
    await page.set_viewport_size(VIEWPORTS[viewport])
    await expect(page.locator("#followups-count")).to_have_text("1")
    await page.click('nav a[data-nav="followups"]')
    row = page.locator(f'#fu-table tr[data-order-id="{oid}"]')
    await expect(row.locator("td[data-reason]")).to_have_text("попытки исчерпаны")
    await expect(row.locator(".fu-state")).to_have_text("новый")
    await no_page_scroll(page, viewport)
    await row.locator('button[data-fu="take"]').click()
    await expect(row.locator(".fu-state")).to_have_text("в работе: anna")

    await row.locator("a").click()
    await page.wait_for_url(f"{box.url}/orders/{oid}")
    card = page.locator("#followup")
    await expect(card).to_have_attribute("data-state", "taken")
    await page.fill("#fu-note", "Клиент просит перезвонить после 18:00")
    await page.click("#fu-add-note")
    await expect(page.locator("#fu-notes li")).to_contain_text(
        "Клиент просит перезвонить после 18:00"
    )
    await page.select_option("#fu-resolution", "done")
    await page.click("#fu-resolve")
    await expect(card).to_have_attribute("data-state", "resolved")
    await expect(page.locator("#fu-state-text")).to_have_text("решён: anna")
    box_ = await card.bounding_box()  # the card fits (the page's other tables are dash-b's)
    assert box_["x"] + box_["width"] <= VIEWPORTS[viewport]["width"], box_

    # Call now on the final order: reopened with a stated count, and really called.
    await expect(page.locator("#reopen-hint")).to_contain_text("order.reopened")
    await page.fill("#retry-attempts", "2")
    await page.click("#btn-retry")
    await expect(page.locator("#toast")).to_contain_text("ещё попыток — 2")
    req = await box.next_call()
    assert req.order_id == oid
    await expect(page.locator("#order-head .badge").first).to_have_attribute(
        "data-value", "calling"
    )
    box.originator.fail(req.call_id, Outcome.BUSY, "busy")
    await expect(page.locator("#order-head .badge").first).to_have_attribute("data-value", "queued")

    # The audit log says who did what, and when, in words.
    await page.click('nav a[data-nav="audit"]')
    table = page.locator("#audit-table")
    for words in ("взял в работу", "заметка", "закрыл работу по заказу"):
        entry = table.locator("tr", has_text=words).first
        await expect(entry).to_contain_text("anna")
        await expect(entry).to_contain_text(re.compile(r"\d{2}:\d{2}"))
    await page.context.close()


@pytest.mark.parametrize("viewport", ["laptop", "phone"])
async def test_alerts_panel_shows_throttled_sign_in_and_admin_unlocks(browser, box, viewport):
    from playwright.async_api import expect

    expect.set_options(timeout=20_000)
    page = await log_in(browser, box.url, "anna")
    await page.set_viewport_size(VIEWPORTS[viewport])
    await expect(page.locator("#health")).to_have_attribute("data-state", "ok")
    await expect(page.locator("#no-alerts")).to_be_visible()
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as http:  # someone guesses boris's password
        for _ in range(BUCKETS["pair"].free):
            async with http.get(f"{box.url}/login") as r:
                csrf = (await r.text()).split('name="csrf" value="')[1].split('"')[0]
            async with http.post(
                f"{box.url}/login", data={"username": "boris", "password": "wrong", "csrf": csrf}
            ) as r:
                assert r.status == 401
    alert = page.locator('[data-alert="signin_throttled"]')
    await expect(alert).to_be_visible()
    await expect(page.locator("#health")).to_have_attribute("data-state", "warning")
    row = page.locator('#signin-throttled li[data-throttled="pair"]')
    await expect(row).to_contain_text("boris")
    await no_page_scroll(page, viewport)
    await row.locator("button").click()
    await expect(alert).to_have_count(0)
    await expect(page.locator("#health")).to_have_attribute("data-state", "ok")
    await page.context.close()
