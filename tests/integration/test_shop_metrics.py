"""/metrics per shop and purpose, end to end: ended calls written by a worker's live board on
real Redis, read by the web app with the shops registry (labels: its shops and "other")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from robot.adapters.redis_live import RedisCallBoard
from robot.adapters.redis_store import RedisOrderStore
from robot.adapters.shop_registry import ShopRegistry
from robot.config import Settings
from robot.core.models import Outcome
from robot.core.shops import parse_shops
from robot.ports import CallState, CallStateChange
from robot.web.app import make_web_app
from robot.web.context import WEB_KEY

TOKEN = "metrics-test-token"


def ended(cid: str, shop: str, purpose: str, outcome: Outcome) -> CallStateChange:
    now = datetime.now(UTC)
    return CallStateChange(call_id=cid, order_id=cid, state=CallState.ENDED, at=now,
                           started_at=now, attempt=1, phone="+79161234567", language="ru",
                           outcome=outcome, shop_name=shop, purpose=purpose)  # fmt: skip


async def test_metrics_count_calls_per_shop_and_purpose(
    store: RedisOrderStore, tmp_path: Path
) -> None:
    board = RedisCallBoard(store.redis, worker_id="w1", timezone="UTC")
    board.start()  # its owner starts the writer (publish no longer does)
    for change in (
        ended("1", "Ромашка", "confirm", Outcome.CONFIRMED),
        ended("2", "Ромашка", "confirm", Outcome.NO_ANSWER),
        ended("3", "Ромашка", "pickup_ready", Outcome.INFORMED),
        ended("4", "Лютик", "pickup_ready", Outcome.BUSY),
        ended("5", "Никто не знает", "confirm", Outcome.CONFIRMED),
    ):
        board.publish(change)
    await board.flush()
    await board.stop()
    shops = ShopRegistry(parse_shops({"Ромашка": {}, "Лютик": {"paused": True}}))
    settings = Settings(api_token=TOKEN, var_dir=tmp_path, dashboard_timezone="UTC")
    app = make_web_app(settings, store)
    app[WEB_KEY].shops = shops
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert resp.status == 200
        text = await resp.text()
    lines = set(text.splitlines())
    for line in (
        'dozvon_shop_calls_total{outcome="confirmed",purpose="confirm",shop="Ромашка"} 1.0',
        'dozvon_shop_calls_total{outcome="no_answer",purpose="confirm",shop="Ромашка"} 1.0',
        'dozvon_shop_calls_total{outcome="informed",purpose="pickup_ready",shop="Ромашка"} 1.0',
        'dozvon_shop_calls_total{outcome="busy",purpose="pickup_ready",shop="Лютик"} 1.0',
        'dozvon_shop_calls_total{outcome="confirmed",purpose="confirm",shop="other"} 1.0',
        'dozvon_shop_calls_reached_total{purpose="confirm",shop="Ромашка"} 1.0',
        'dozvon_shop_calls_succeeded_total{purpose="pickup_ready",shop="Ромашка"} 1.0',
        'dozvon_shop_calls_succeeded_total{purpose="pickup_ready",shop="Лютик"} 0.0',
        'dozvon_shop_paused{shop="Лютик"} 1.0',
        'dozvon_shop_paused{shop="Ромашка"} 0.0',
    ):
        assert line in lines, line
    assert "Никто не знает" not in text
