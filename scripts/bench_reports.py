"""How long the reports, the orders list and the CSV exports take for N stored orders.

Starts its own Redis and the sandbox web app, stores N orders with calls spread over the last
14 days (robot.devtools.sandbox.add_history: the store's own writes), then times the dashboard's
requests as a browser would send them:

    .venv/bin/python scripts/bench_reports.py --orders 10000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from robot.core.models import Outcome
from robot.devtools.redis_server import RedisServer
from robot.devtools.sandbox import add_history, sandbox

PLANS = [
    [(Outcome.CONFIRMED, 35.0, ["robot: здравствуйте", "customer: да"])],
    [(Outcome.NO_ANSWER, None, []), (Outcome.CONFIRMED, 20.0, ["customer: да, жду"])],
    [(Outcome.BUSY, None, []), (Outcome.REJECTED, 15.0, ["customer: нет, передумал"])],
    [(Outcome.NO_ANSWER, None, [])] * 3,
    [(Outcome.UNCLEAR, 8.0, ["customer: [silence]"])],
    [],
]


async def timed(http: aiohttp.ClientSession, url: str, runs: int = 3) -> tuple[float, int]:
    """Median wall time in ms of ``runs`` GETs, and the size of the last answer."""
    times, size = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        async with http.get(url) as resp:
            body = await resp.read()
            assert resp.status == 200, body[:300]
        times.append((time.perf_counter() - t) * 1000)
        size = len(body)
    return statistics.median(times), size


async def run(n: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="dozvon-bench-reports-"))
    redis = RedisServer(work / "redis")
    redis.start()
    rng = random.Random(3)
    try:
        async with sandbox(redis.url, var_dir=work / "var") as box:
            now = datetime.now(UTC)
            t0 = time.perf_counter()

            async def one(i: int) -> None:
                doc = {"order_id": f"B{i:06d}", "phone": f"+7916{i:07d}", "amount": "990",
                       "shop_name": f"Магазин {i % 7}", "customer_name": f"Клиент {i}",
                       "language": "ru"}  # fmt: skip
                created = now - timedelta(seconds=rng.uniform(0, 14 * 86400))
                await add_history(box.store, doc, created, rng.choice(PLANS))

            for start in range(0, n, 20):  # a few at a time: the client's pool is bounded
                await asyncio.gather(*(one(i) for i in range(start, min(n, start + 20))))
            print(f"stored {n} orders in {time.perf_counter() - t0:.1f} s")
            headers = {"Authorization": f"Bearer {box.settings.api_token}"}
            today = now.date()
            week = f"from={today - timedelta(days=6)}&to={today}"
            async with aiohttp.ClientSession(box.url, headers=headers) as http:
                for label, url in (
                    ("report, 7 days (and the 7 before)", f"/dashboard/api/reports?{week}"),
                    ("orders list, first page", "/dashboard/api/orders?limit=50"),
                    ("orders list, page at offset 5000", "/dashboard/api/orders?offset=5000"),
                    ("orders list, shop filter", "/dashboard/api/orders?shop=магазин 3"),
                    ("orders list, transcript words", "/dashboard/api/orders?q=передумал"),
                    ("orders CSV, 7 days", f"/dashboard/api/export/orders.csv?{week}"),
                    ("calls CSV, 7 days", f"/dashboard/api/export/calls.csv?{week}"),
                ):
                    ms, size = await timed(http, url)
                    print(f"{label:40s} {ms:8.1f} ms  {size / 1024:8.1f} KiB")
    finally:
        redis.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    asyncio.run(run(parser.parse_args().orders))


if __name__ == "__main__":
    main()
