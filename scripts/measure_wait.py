"""What WAIT on a replica costs the order intake: HTTP POST /api/v1/orders -> 201 latency on a
private Sentinel set (master, replica, three sentinels on loopback), with and without the
replica's confirmation, in alternating blocks so both see the same machine load.

    .venv/bin/python scripts/measure_wait.py [--orders 2000] [--concurrency 1 8] [--json]

Prints p50 / p90 / p99 / max in milliseconds per mode and concurrency, and orders per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

from robot.adapters.redis_store import RedisOrderStore
from robot.config import Settings
from robot.devtools.redis_sentinel_set import SentinelSet
from robot.testing import free_port
from robot.web.app import make_web_app

TOKEN = "measure-token"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _serve(store: RedisOrderStore, settings: Settings) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(make_web_app(settings, store), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/api/v1/orders"


async def _block(
    http: aiohttp.ClientSession, url: str, ids: list[str], concurrency: int
) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue = list(ids)

    async def one() -> None:
        while queue:
            oid = queue.pop()
            body = {"order_id": oid, "phone": f"+7916{int(oid.split('-')[-1]) % 10**7:07d}",
                    "amount": "990", "shop_name": "Ромашка"}  # fmt: skip
            t = time.perf_counter()
            async with http.post(url, json=body) as r:
                await r.read()
                if r.status != 201:
                    raise RuntimeError(f"intake answered {r.status}")
            latencies.append((time.perf_counter() - t) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    return latencies, time.perf_counter() - t0


async def measure(orders: int, concurrencies: list[int], block: int = 100) -> dict[str, Any]:
    result: dict[str, Any] = {"orders_per_mode_and_concurrency": orders,
                              "load_average_1m_before": round(os.getloadavg()[0], 2)}  # fmt: skip
    with SentinelSet() as redis:
        settings = Settings(redis_url=redis.url, api_token=TOKEN)
        stores = {
            "wait_1_replica": RedisOrderStore.from_url(redis.url, wait_replicas=1),
            "no_wait": RedisOrderStore.from_url(redis.url, wait_replicas=0),
        }
        servers = {mode: await _serve(store, settings) for mode, store in stores.items()}
        try:
            async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
                for c in concurrencies:
                    lat: dict[str, list[float]] = {m: [] for m in stores}
                    wall: dict[str, float] = dict.fromkeys(stores, 0.0)
                    n = 0
                    while n < orders:
                        for mode in stores:  # alternate: same load for both
                            ids = [f"{mode}-{c}-{i}" for i in range(n, n + block)]
                            got, secs = await _block(http, servers[mode][1], ids, c)
                            lat[mode] += got
                            wall[mode] += secs
                        n += block
                    for mode, values in lat.items():
                        result[f"{mode}_c{c}"] = {
                            "p50_ms": round(statistics.median(values), 2),
                            "p90_ms": round(_pct(values, 0.90), 2),
                            "p99_ms": round(_pct(values, 0.99), 2),
                            "max_ms": round(max(values), 2),
                            "orders_per_s": round(len(values) / wall[mode], 1),
                        }
            ack = stores["wait_1_replica"].replica_ack
            assert ack is not None
            result["confirmed_by_replica"] = ack.confirmed
            result["not_confirmed"] = ack.unconfirmed
        finally:
            for runner, _ in servers.values():
                await runner.cleanup()
            for store in stores.values():
                await store.aclose()
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=2000)
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    report = asyncio.run(measure(args.orders, args.concurrency))
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>32}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
