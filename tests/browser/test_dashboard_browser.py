"""The dashboard in a real browser: log in, watch an order's call live, pause and see no dial
start, resume, open the timeline, switch to English; a viewer cannot act."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from robot.core.models import Order, OrderStatus, Outcome
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def order(oid: str, phone: str) -> dict:
    return {"order_id": oid, "phone": phone, "amount": "2490", "shop_name": "Ромашка"}


async def test_supervisor_watches_and_steers(browser, box):
    from playwright.async_api import expect

    expect.set_options(timeout=20_000)
    page = await log_in(browser, box.url, "anna")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(page.locator("#dialing-pill")).to_have_attribute("data-paused", "0")
    await expect(page.locator("#no-calls")).to_be_visible()

    # An order pushed through the API appears live, ringing, then listening.
    await box.push_order(order("B-101", "+79161230101"))
    req = await box.next_call()
    row = page.locator('#live-table tr[data-order-id="B-101"]')
    await expect(row.locator(".badge")).to_have_attribute("data-value", "ringing")
    await expect(row.locator("td").nth(1)).to_have_text("+7916***0101")
    box.originator.answer(req.call_id)
    await expect(row.locator(".badge")).to_have_attribute("data-value", "listening")
    box.originator.press(req.call_id, "1")
    await expect(row).to_have_count(0)
    await expect(page.locator('#outcomes li[data-outcome="confirmed"] b')).to_have_text("1")
    await expect(page.locator('[data-kpi="calls_today"] .kpi-value')).to_have_text("1")

    # Pause: every worker acknowledges, and a new order is not dialed.
    await page.click("#btn-pause")
    await expect(page.locator("#dialing-pill")).to_have_attribute("data-paused", "1")
    await expect(page.locator("#pause-acks")).to_contain_text("1 из 1")
    await box.push_order(order("B-102", "+79161230102"))
    await expect(page.locator('[data-kpi="due"] .kpi-value')).to_have_text("1")
    await box.control_reads_after(3)  # the dialer looked again three times, paused each time
    assert [r.order_id for r in box.originator.requests] == ["B-101"]
    assert (await box.store.get_order("B-102")).status is OrderStatus.QUEUED
    await expect(page.locator("#live-table")).to_have_count(0)

    # Resume: the waiting order is dialed and shows up live; the line is busy.
    await page.click("#btn-resume")
    await expect(page.locator("#dialing-pill")).to_have_attribute("data-paused", "0")
    req2 = await box.next_call()
    assert req2.order_id == "B-102"
    await expect(page.locator('#live-table tr[data-order-id="B-102"]')).to_be_visible()
    box.originator.fail(req2.call_id, Outcome.BUSY, "busy")
    await expect(page.locator('#outcomes li[data-outcome="busy"] b')).to_have_text("1")

    # Limits at run time.
    await page.fill("#in-max", "3")
    await page.fill("#in-cps", "2")
    await page.click("#btn-limits")
    await expect(page.locator("#controls .muted.small")).to_contain_text("anna")
    async with asyncio.timeout(20):
        while (await box.control.read()).max_concurrent_calls != 3:
            await asyncio.sleep(0.05)
    assert (await box.control.read()).calls_per_second == 2.0

    # Find the order and open its timeline.
    await page.click('nav a[data-nav="orders"]')
    await page.fill("#q", "B-101")
    await page.click("#search-form button[type=submit]")
    await page.click('#orders-table a:text("B-101")')
    await page.wait_for_url(f"{box.url}/orders/B-101")
    call = page.locator("#timeline li.call")
    await expect(call).to_have_count(1)
    await expect(call.locator('.badge[data-value="confirmed"]')).to_be_visible()
    await expect(call.locator("ul.transcript")).to_contain_text("[key 1]")
    await expect(page.locator("#order-phone")).to_have_text("+79161230101")  # admin: in full
    await expect(page.locator("#explain-body p")).to_be_visible()

    # Cancel an order waiting for tomorrow and put its phone on the don't-call list.
    now = datetime.now(UTC)
    waiting = Order.model_validate(order("B-103", "+79161230103"))
    await box.store.add_order(waiting, now, due_at=now + timedelta(days=1))
    await page.goto(f"{box.url}/orders/B-103")
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.click("#btn-cancel")
    await expect(page.locator('#order-head .badge[data-value="cancelled"]')).to_be_visible()
    await expect(page.locator("#btn-cancel")).to_have_count(0)  # final: nothing to cancel
    await page.click("#btn-dnc-add")
    listed = page.locator('#order-audit tr[data-action="dnc_add"]')
    await expect(listed).to_contain_text("номер в стоп-лист")  # the action in words
    await expect(listed).to_contain_text("выполнено")  # not "201"
    await expect(page.locator("#btn-dnc-remove")).to_be_visible()  # listed: offer removal
    await expect(page.locator("#btn-dnc-add")).to_have_count(0)
    actions = {e["action"] for e in await box.control.audit_log()}
    assert {"POST /api/v1/orders/{order_id}/cancel", "dnc_add"} <= actions

    # English.
    await page.click('.langs button[data-lang="en"]')
    await expect(page.locator('nav a[data-nav="orders"]')).to_have_text("Orders")
    await expect(page.locator("#btn-retry")).to_have_text("Call now")
    audit = [e["action"] for e in await box.control.audit_log()]
    assert {"login", "pause", "resume", "set_limits"} <= set(audit)


async def test_viewer_sees_but_cannot_act(browser, box):
    from playwright.async_api import expect

    expect.set_options(timeout=20_000)
    await box.push_order(order("V-1", "+79161230201"))
    req = await box.next_call()
    page = await log_in(browser, box.url, "boris")
    await expect(page.locator('#live-table tr[data-order-id="V-1"]')).to_be_visible()
    await expect(page.locator("#controls")).to_contain_text("только администратор")
    await expect(page.locator("#btn-pause")).to_have_count(0)
    await page.goto(f"{box.url}/orders/V-1")
    await expect(page.locator("#order-phone")).to_have_text("+7916***0201")
    await expect(page.locator("#order-actions")).to_have_count(0)
    box.originator.fail(req.call_id, Outcome.NO_ANSWER, "no answer")
    await expect(page.locator('#timeline .badge[data-value="no_answer"]')).to_be_visible()
