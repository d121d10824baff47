"""Screenshots of the dashboard's main views into docs/screenshots/ (for the README).

Starts its own Redis and the sandbox (the real web app and dialer, simulated calls), fills a
day of history, leaves a few calls live, and photographs the views with Playwright driving
Debian's Chromium:

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from robot.core.models import Order, Outcome
from robot.devtools.redis_server import RedisServer
from robot.devtools.sandbox import Sandbox, sandbox, supervisors_json
from robot.ports import CallState, CallStateChange

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
USERS = {"anna": ("admin", "anna-pass-1")}
MIX = [Outcome.CONFIRMED] * 9 + [Outcome.REJECTED] * 2 + [Outcome.NO_ANSWER] * 3 + [
    Outcome.BUSY, Outcome.UNCLEAR, Outcome.FAILED, Outcome.LATER]  # fmt: skip


def order(i: int, **extra: object) -> dict:
    return {
        "order_id": f"{41200 + i}",
        "phone": f"+7916555{i:04d}",
        "amount": str(990 + 350 * i),
        "shop_name": "Ромашка",
        "customer_name": "Анна",
        "items_summary": "чайник, 2 кружки",
        **extra,
    }


async def seed_history(box: Sandbox) -> None:
    """A day of ended calls (hourly chart, outcomes, first-call delays)."""
    rng = random.Random(7)
    tz = ZoneInfo(box.settings.dashboard_timezone)
    now = datetime.now(tz)
    for hour in range(9, now.hour + 1):
        for n in range(rng.randint(6, 22) if hour < now.hour else 5):
            at = now.replace(hour=hour, minute=rng.randint(0, 59) if hour < now.hour else 0)
            cid = f"hist-{hour}-{n}"
            common = {"call_id": cid, "order_id": cid, "at": at.astimezone(UTC),
                      "started_at": at.astimezone(UTC), "attempt": 1, "phone": "+79160000000",
                      "language": "ru"}  # fmt: skip
            box.board.publish(CallStateChange(state=CallState.RINGING,
                              intake_to_originate_ms=rng.uniform(150, 900), **common))  # fmt: skip
            box.board.publish(
                CallStateChange(state=CallState.ENDED, outcome=rng.choice(MIX), **common)
            )
    await box.board.flush()


async def call_through(box: Sandbox, doc: dict, how: str) -> str:
    await box.push_order(doc)
    req = await box.next_call()
    if how == "busy":
        box.originator.fail(req.call_id, Outcome.BUSY, "busy")
    elif how == "no_answer":
        box.originator.fail(req.call_id, Outcome.NO_ANSWER, "no answer")
    elif how in ("confirm", "reject"):
        box.originator.answer(req.call_id)
        await wait_state(box, req.call_id, "listening")
        box.originator.press(req.call_id, "1" if how == "confirm" else "2")
    elif how == "listen":
        box.originator.answer(req.call_id)
        await wait_state(box, req.call_id, "listening")
    return req.call_id


async def wait_state(box: Sandbox, call_id: str, state: str) -> None:
    async with asyncio.timeout(30):
        while not any(  # noqa: ASYNC110 - a script polling the sandbox
            c.call.call_id == call_id and c.state == state for c in box.tracker.live()
        ):
            await asyncio.sleep(0.05)


async def wait_ended(box: Sandbox) -> None:
    async with asyncio.timeout(30):
        while box.dialer.active:  # noqa: ASYNC110 - a script polling the sandbox
            await asyncio.sleep(0.05)


def write_recording(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000 * 3)


SHOPS = ("Ромашка", "Лютик", "Василёк")
PLANS = (
    [(Outcome.CONFIRMED, 35.0, ["robot: Здравствуйте! Это магазин.", "customer: да, жду"])],
    [(Outcome.NO_ANSWER, None, []), (Outcome.CONFIRMED, 22.0, ["customer: да"])],
    [(Outcome.BUSY, None, []), (Outcome.REJECTED, 15.0, ["customer: нет, передумал"])],
    [(Outcome.NO_ANSWER, None, [])],
    [(Outcome.UNCLEAR, 9.0, ["customer: [silence]"])],
    [(Outcome.CONFIRMED, 41.0, ["customer: подтверждаю"])],
)


async def seed_orders(box: Sandbox) -> None:
    """Two weeks of orders with calls (reports, the orders list) and a do-not-call list."""
    from robot.adapters.dnc_store import DncStore
    from robot.devtools.sandbox import add_history

    rng = random.Random(11)
    now = datetime.now(UTC)
    for i in range(140):
        created = now - timedelta(hours=rng.uniform(2, 14 * 24))
        doc = order(100 + i, shop_name=rng.choice(SHOPS), customer_name=rng.choice(
            ("Анна", "Борис", "Вера", "Глеб", "Дарья")), language="ru")  # fmt: skip
        await add_history(box.store, doc, created, rng.choice(PLANS))
    dnc = DncStore(box.store.redis, prefix=box.store.prefix)
    for i, (source, reason, by) in enumerate((
        ("call", "asked during call 7f3a (order 41230)", ""),
        ("dashboard", "жалоба в поддержку", "anna"),
        ("import", "отказ от рассылок", "anna"),
        ("api", "запрос из CRM", ""),
    )):  # fmt: skip
        await dnc.add(f"+7916444{i:04d}", now - timedelta(hours=5 * i), source=source,
                      reason=reason, by=by)  # fmt: skip


async def deliver_results(box: Sandbox) -> None:
    """Play the CRM: take every result from the outbox (the sandbox runs no webhook sender,
    and an installation whose CRM is down would rightly show a webhook alert)."""
    while rows := await box.store.claim_deliveries(datetime.now(UTC), 500):
        for delivery_id, _event, _attempt in rows:
            await box.store.ack_delivery(delivery_id)


async def populate(box: Sandbox) -> None:
    await seed_history(box)
    await seed_orders(box)
    # Finished calls with timelines; one with a recording.
    cid = await call_through(box, order(1), "confirm")
    for i, how in ((2, "reject"), (3, "busy"), (4, "no_answer"), (5, "confirm")):
        await wait_ended(box)
        await call_through(box, order(i), how)
    await wait_ended(box)
    import json

    rec = box.settings.var_dir / "recordings" / f"{cid}.wav"
    write_recording(rec)
    raw = json.loads(await box.store.redis.hget("dozvon:calls:41201", cid))
    raw["recording"] = rec.name
    await box.store.redis.hset("dozvon:calls:41201", cid, json.dumps(raw))
    # Waiting: for calling hours (tomorrow morning) and for a retry.
    tomorrow = datetime.now(UTC) + timedelta(hours=14)
    for i in range(6, 9):
        await box.store.add_order(Order(**order(i)), datetime.now(UTC), due_at=tomorrow)
    # Live calls: one listening, two ringing.
    await call_through(box, order(9, language="ru"), "listen")
    await call_through(box, order(10), "ring")
    await call_through(box, order(11), "ring")
    await deliver_results(box)


async def shoot(out: Path) -> None:
    from playwright.async_api import async_playwright

    work = Path(tempfile.mkdtemp(prefix="dozvon-shots-"))
    redis = RedisServer(work / "redis")
    redis.start()
    try:
        async with sandbox(
            redis.url, supervisors=supervisors_json(USERS), var_dir=work / "var"
        ) as box:
            await populate(box)
            async with async_playwright() as p:
                browser = await p.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                ctx = await browser.new_context(
                    viewport={"width": 1440, "height": 900},
                    locale="ru-RU",
                    timezone_id=box.settings.dashboard_timezone,
                )
                page = await ctx.new_page()
                await page.goto(f"{box.url}/login")
                await page.screenshot(path=str(out / "login.png"))
                await page.fill("input[name=username]", "anna")
                await page.fill("input[name=password]", USERS["anna"][1])
                await page.click("button[type=submit]")
                await page.wait_for_selector("#live-table")
                await page.wait_for_timeout(3000)  # a summary after the workers' heartbeats
                await page.screenshot(path=str(out / "overview.png"), full_page=True)
                await page.goto(f"{box.url}/orders")
                await page.wait_for_selector("#orders-table")
                await page.screenshot(path=str(out / "orders.png"))
                await page.goto(f"{box.url}/reports")
                await page.wait_for_selector("#by-shop")
                await page.screenshot(path=str(out / "reports.png"), full_page=True)
                await page.goto(f"{box.url}/dnc")
                await page.wait_for_selector("#dnc-table")
                await page.screenshot(path=str(out / "dnc.png"))
                await page.goto(f"{box.url}/orders/41201")
                await page.wait_for_selector("#timeline li.call")
                await page.wait_for_timeout(500)
                await page.screenshot(path=str(out / "timeline.png"), full_page=True)
                await page.goto(f"{box.url}/")
                await page.click('.langs button[data-lang="en"]')
                await page.wait_for_timeout(1500)
                await page.set_viewport_size({"width": 1366, "height": 768})
                await page.screenshot(path=str(out / "overview-en-laptop.png"))
                await page.click('.langs button[data-lang="ru"]')
                await page.set_viewport_size({"width": 390, "height": 844})
                await page.goto(f"{box.url}/orders")
                await page.wait_for_selector("#orders-table")
                await page.screenshot(path=str(out / "orders-phone.png"))
                await page.goto(f"{box.url}/reports")
                await page.wait_for_selector("#by-shop")
                await page.screenshot(path=str(out / "reports-phone.png"))
                await browser.close()
            for call in list(box.tracker.live()):
                box.originator.fail(call.call.call_id, Outcome.NO_ANSWER, "done")
    finally:
        redis.close()
    print(f"screenshots in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(args.out))


if __name__ == "__main__":
    main()
