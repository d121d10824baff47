"""Reports, the orders list, the do-not-call page, Russian without English server text, and
no horizontal scroll at 390 px: in Chromium, on a laptop and a phone viewport."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from robot.core.models import Outcome
from robot.devtools.sandbox import add_history
from tests.browser.conftest import USERS, log_in

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
LONG_SHOP = "Магазин" + "X" * 93  # 100 characters, no spaces: the API accepts it


def doc(i: int, **extra) -> dict:
    return {"order_id": f"R-{i:04d}", "phone": f"+7916777{i:04d}", "amount": str(100 + i),
            "shop_name": "Ромашка" if i % 3 else "Лютик", "customer_name": f"Клиент {i}",
            **extra}  # fmt: skip


async def seed(box, n: int = 12) -> datetime:
    """Orders over the last days with calls of every kind; returns now."""
    now = datetime.now(UTC).replace(microsecond=0)
    plans = [
        [(Outcome.CONFIRMED, 40.0, ["robot: здравствуйте", "customer: да, жду доставку"])],
        [(Outcome.NO_ANSWER, None, []), (Outcome.REJECTED, 25.0, ["customer: нет"])],
        [(Outcome.BUSY, None, [])],
        [(Outcome.UNCLEAR, 12.0, ["customer: [silence]"])],
        [],
        [(Outcome.DNC, 8.0, ["customer: не звоните мне больше"])],
    ]
    for i in range(n):
        created = now - timedelta(hours=3 + 7 * i)
        await add_history(box.store, doc(i), created, plans[i % len(plans)])
    return now


async def api(box, path: str):
    headers = {"Authorization": f"Bearer {box.settings.api_token}"}
    async with aiohttp.ClientSession() as http, http.get(box.url + path, headers=headers) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def no_page_scroll(page) -> dict:
    """The page is not wider than the viewport; the widest element and its right edge."""
    return await page.evaluate(
        """() => {
        let widest = {right: 0, what: ''};
        for (const e of document.querySelectorAll('body *')) {
          let inScroller = false;
          for (let p = e.parentElement; p; p = p.parentElement) {
            if (getComputedStyle(p).overflowX === 'auto') { inScroller = true; break; }
          }
          const r = e.getBoundingClientRect();
          if (!inScroller && r.width && r.right > widest.right)
            widest = {right: Math.round(r.right), what: e.tagName + (e.id ? '#' + e.id : '')};
        }
        return {scroll: document.documentElement.scrollWidth, view: window.innerWidth, ...widest};
    }"""
    )


async def download_csv(page, selector: str) -> list[dict]:
    async with page.expect_download() as info:
        await page.click(selector)
    download = await info.value
    text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


# Known bug, open: between midnight in the dashboard's zone (Moscow) and midnight UTC the audit
# CSV of the default range comes back empty. Not strict, so it still runs and passes outside it.
@pytest.mark.xfail(reason="audit CSV empty between Moscow and UTC midnight", strict=False)
@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
async def test_report_and_its_csv_match_the_api(browser, box, viewport):
    from playwright.async_api import expect

    expect.set_options(timeout=20_000)
    now = await seed(box)
    # One order a range-length earlier counts only in the previous period.
    await add_history(box.store, doc(99, shop_name="=HYPERLINK(1)"), now - timedelta(days=9),
                      [(Outcome.CONFIRMED, 30.0, [])])  # fmt: skip
    page = await log_in(browser, box.url, "anna")
    await page.set_viewport_size(viewport)
    await page.goto(f"{box.url}/reports")
    await expect(page.locator('#funnel [data-kpi="orders"] .kpi-value')).to_be_visible()
    frm = await page.input_value("#r-from")
    to = await page.input_value("#r-to")
    rep = await api(box, f"/dashboard/api/reports?from={frm}&to={to}")
    assert rep["funnel"]["orders"] == 12 and rep["previous"]["funnel"]["orders"] == 1
    assert rep["funnel"]["reached"] == 8 and rep["funnel"]["confirmed"] == 2
    assert rep["calls"] == 12 and rep["talk"]["calls"] == 8
    assert {r["shop"] for r in rep["by_shop"]} == {"Ромашка", "Лютик"}
    assert [r["attempt"] for r in rep["by_attempt"]] == [1, 2]
    assert sum(r["orders"] for r in rep["by_day"]) == 12
    await expect(page.locator('#funnel [data-kpi="orders"] .kpi-value')).to_have_text("12")
    await expect(page.locator('#funnel [data-kpi="confirmed"] .kpi-value')).to_contain_text("2")

    orders_csv = await download_csv(page, "#export-orders")
    listed = await api(box, f"/dashboard/api/orders?from={frm}&to={to}&limit=500")
    assert sorted(r["order_id"] for r in orders_csv) == sorted(
        o["order_id"] for o in listed["orders"]
    )
    assert len(orders_csv) == rep["funnel"]["orders"]
    by_id = {o["order_id"]: o for o in listed["orders"]}
    for row in orders_csv:
        api_row = by_id[row["order_id"]]
        assert (row["status"], row["shop_name"]) == (api_row["status"], api_row["shop_name"])
        assert row["phone"].startswith("'+7916777")  # admin: full, and no formula
    calls_csv = await download_csv(page, "#export-calls")
    assert len(calls_csv) == rep["calls"]
    assert {r["outcome"] for r in calls_csv} >= {"confirmed", "rejected", "no_answer", "busy"}
    audit_csv = await download_csv(page, "#export-audit")
    assert any(r["action"] == "login" and r["user"] == "anna" for r in audit_csv)

    # The previous period's order: a shop name that is a formula is exported as text.
    zone = ZoneInfo(box.settings.dashboard_timezone)  # report days are the dashboard's
    old = (now - timedelta(days=9)).astimezone(zone).date().isoformat()
    await page.goto(f"{box.url}/reports?from={old}&to={old}")
    rows = await download_csv(page, "#export-orders")
    assert [r["shop_name"] for r in rows] == ["'=HYPERLINK(1)"]
    width = await no_page_scroll(page)
    assert width["scroll"] <= width["view"], width


async def test_orders_list_pages_past_100_and_filters(browser, box):
    from playwright.async_api import expect

    expect.set_options(timeout=20_000)
    now = datetime.now(UTC)
    for i in range(130):
        calls = [(Outcome.UNCLEAR, 5.0, ["customer: привезите в пятницу"])] if i == 7 else []
        await add_history(box.store, doc(i, language="ru"), now - timedelta(minutes=i), calls)
    page = await log_in(browser, box.url, "anna")
    await page.goto(f"{box.url}/orders")
    await expect(page.locator("#orders-total")).to_have_attribute("data-total", "130")
    rows = page.locator("#orders-table tbody tr")
    await expect(rows).to_have_count(50)
    await expect(rows.first).to_have_attribute("data-order-id", "R-0000")
    await page.click("#page-next")
    await page.click("#page-next")
    await expect(page.locator("#page-info")).to_have_text("101–130 из 130")
    await expect(rows).to_have_count(30)
    await expect(rows.last).to_have_attribute("data-order-id", "R-0129")
    await expect(page.locator("#page-next")).to_be_disabled()
    # Columns for daily work.
    first = page.locator('#orders-table tr[data-order-id="R-0101"] td')
    await expect(first.nth(5)).to_have_text("Ромашка")
    await expect(first.nth(6)).to_have_text("201 RUB")
    await expect(first.nth(7)).to_have_text("Клиент 101")

    # Filters: shop, then a word the customer said, then attempts.
    await page.fill("#shop", "лютик")
    await page.click("#search-form button[type=submit]")
    await expect(page.locator("#orders-total")).to_have_attribute("data-total", "44")
    await page.fill("#shop", "")
    await page.fill("#q", "пятницу")
    await page.click("#search-form button[type=submit]")
    await expect(page.locator("#orders-total")).to_have_attribute("data-total", "1")
    await expect(rows.first).to_have_attribute("data-order-id", "R-0007")
    await page.fill("#q", "Клиент 12")  # the customer's name: 12 and 120-129
    await page.fill("#attempts", "0")
    await page.click("#search-form button[type=submit]")
    await expect(page.locator("#orders-total")).to_have_attribute("data-total", "11")
    api_page = await api(box, "/dashboard/api/orders?offset=100&limit=50")
    assert api_page["total"] == 130 and len(api_page["orders"]) == 30


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
async def test_dnc_page_admin_and_viewer(browser, box, viewport, tmp_path):
    from playwright.async_api import expect

    expect.set_options(timeout=20_000)
    page = await log_in(browser, box.url, "anna")
    await page.set_viewport_size(viewport)
    await page.goto(f"{box.url}/dnc")
    await page.fill("#dnc-phone", "8 916 555-00-01")
    await page.fill("#dnc-reason", "жалоба в поддержку")
    await page.click("#dnc-add")
    row = page.locator('#dnc-table tr[data-phone="+79165550001"]')
    await expect(row).to_contain_text("жалоба в поддержку")
    await expect(row).to_contain_text("anna")
    await expect(row).to_contain_text("панель супервизора")
    csv_file = tmp_path / "dnc.csv"
    csv_file.write_text("телефон,причина\n+79165550002,просил по почте\nне номер,x\n")
    await page.set_input_files("#dnc-file", str(csv_file))
    await page.click("#dnc-import")
    await expect(page.locator("#dnc-import-result")).to_contain_text("добавлено 1")
    await expect(page.locator("#dnc-import-result")).to_contain_text("отклонено 1")
    await expect(page.locator("#dnc-total")).to_have_attribute("data-total", "2")
    await page.fill("#dnc-q", "почте")
    await page.click("#dnc-search button[type=submit]")
    await expect(page.locator("#dnc-table tbody tr")).to_have_count(1)
    await expect(page.locator("#dnc-table tbody tr")).to_have_attribute(
        "data-phone", "+79165550002"
    )
    exported = await download_csv(page, "#dnc-export")
    assert {r["phone"] for r in exported} == {"'+79165550001", "'+79165550002"}
    assert {r["by"] for r in exported} == {"anna"}
    await page.fill("#dnc-q", "")
    await page.click("#dnc-search button[type=submit]")
    await page.click('#dnc-table button[data-remove="+79165550001"]')
    await expect(page.locator("#dnc-total")).to_have_attribute("data-total", "1")
    width = await no_page_scroll(page)
    assert width["scroll"] <= width["view"], width
    actions = [e["action"] for e in await box.control.audit_log()]
    assert {"dnc_add", "dnc_import", "dnc_remove"} <= set(actions)

    viewer = await log_in(browser, box.url, "boris")
    await viewer.set_viewport_size(viewport)
    await viewer.goto(f"{box.url}/dnc")
    await expect(viewer.locator("#dnc-table tbody tr")).to_have_count(1)
    await expect(viewer.locator("#dnc-table td.mono")).to_have_text("+7916***0002")
    await expect(viewer.locator("#dnc-add-form")).to_have_count(0)
    await expect(viewer.locator("#dnc-import-form")).to_have_count(0)
    assert USERS["boris"][0] == "viewer"
    shown = await download_csv(viewer, "#dnc-export")
    assert [r["phone"] for r in shown] == ["'+7916***0002"]


def english_fragments() -> set[str]:
    from tests.unit.test_i18n import english_fragments as fragments

    return fragments() | {"robot:", "customer:", "[silence]"}


async def pages_text(box, page) -> dict[str, str]:
    out = {}
    for path, ready in (
        ("/", "#kpis .kpi"),
        ("/orders", "#orders-table"),
        ("/orders/R-0001", "#explain-body [data-explain]"),  # no answer, then rejected
        ("/orders/R-0002", "#explain-body [data-explain]"),  # busy: waiting for a retry
        ("/orders/R-0004", "#explain-body [data-explain]"),  # never called, far future
        ("/orders/R-0005", "#explain-body [data-explain]"),  # asked not to be called
        ("/reports", "#funnel"),
        ("/dnc", "#dnc-table"),
        ("/audit", "#audit-table"),
        ("/followups", "#fu-list, #fu-none"),
    ):
        await page.goto(box.url + path)
        await page.wait_for_selector(ready)
        await page.wait_for_timeout(300)
        out[path] = await page.inner_text("body")
    return out


async def test_russian_pages_have_no_english_server_text(browser, box):
    from robot.core.phones import normalize_phone
    from robot.web.i18n import RU, message_keys

    assert [k for k in message_keys() if k not in RU] == []
    await seed(box, 6)
    from robot.adapters.dnc_store import DncStore

    await DncStore(box.store.redis).add(
        normalize_phone("+79167770005"), datetime.now(UTC), source="call",
        reason="asked during call R-0005-c1 (order R-0005)",
    )  # fmt: skip
    page = await log_in(browser, box.url, "anna")
    # Actions for the audit log: a cancel, limits, a refused limit (a validation toast).
    await page.goto(f"{box.url}/orders/R-0002")
    page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await page.click("#btn-cancel")
    await page.wait_for_selector('#order-head .badge[data-value="cancelled"]')
    await page.goto(f"{box.url}/")
    await page.fill("#in-max", "99999")
    await page.click("#btn-limits")
    toast = page.locator("#toast")
    await toast.wait_for()
    assert "должно быть от 0 до 10000" in await toast.inner_text()
    texts = await pages_text(box, page)
    fragments = english_fragments()
    for path, text in texts.items():
        leaks = sorted(f for f in fragments if f in text)
        assert leaks == [], (path, leaks)
        assert not re.search(r"\b(GET|PUT|POST|DELETE|PATCH) /", text), path
    assert "стоп-лист" in texts["/orders/R-0005"].lower()
    assert "просил не звонить" in texts["/orders/R-0005"]
    assert re.search(r"GMT[+−-]\d|UTC", texts["/orders/R-0002"])  # times say their zone


async def test_no_horizontal_scroll_at_390_px(browser, box):
    await seed(box, 6)
    calls = [(Outcome.BUSY, None, []), (Outcome.UNCLEAR, 3.0, ["customer: " + "ы" * 300])]
    long = doc(50, shop_name=LONG_SHOP, customer_name="Я" * 100)
    await add_history(box.store, long, datetime.now(UTC) - timedelta(hours=1), calls)
    page = await log_in(browser, box.url, "anna")
    await page.set_viewport_size(PHONE)
    for path, ready in (
        ("/", "#kpis .kpi"),
        ("/orders", "#orders-table"),
        ("/orders/R-0050", "#explain-body [data-explain]"),
        ("/reports", "#funnel"),
        ("/dnc", "#dnc-body"),
        ("/audit", "#audit"),
        ("/followups", "#fu-list, #fu-none"),
    ):
        await page.goto(box.url + path)
        await page.wait_for_selector(ready)
        width = await no_page_scroll(page)
        assert width["scroll"] <= PHONE["width"], (path, width)
        assert width["right"] <= PHONE["width"], (path, width)
    # The long shop name wraps inside its field rather than overlapping the next one.
    await page.goto(f"{box.url}/orders/R-0050")
    await page.wait_for_selector("#order-head .field")
    boxes = await page.evaluate(
        """() => [...document.querySelectorAll('#order-head .field')].map(f => {
             const r = f.getBoundingClientRect(); return [r.top, r.bottom, r.left, r.right]; })"""
    )
    for a, b in itertools.pairwise(boxes):
        assert a[1] <= b[0] + 0.5 or a[3] <= b[2] + 0.5, (a, b)  # no overlap
