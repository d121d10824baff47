"""``GET /metrics`` for Prometheus: the whole installation, as Redis knows it.

Every worker writes its call counters and latency histograms to Redis (``redis_live``), so any
one process (``robot serve`` or ``robot run``) exposes the same cluster-wide numbers and
Prometheus needs one target, not one per worker. Auth: ``Authorization: Bearer`` with
``metrics_token`` (or the API token), or a supervisor's session; see ``security``.

    dozvon_calls_total{outcome}                 counter    ended calls by outcome
    dozvon_shop_calls_total{shop,purpose,outcome}  counter ended calls per shop and purpose
    dozvon_shop_calls_reached_total{shop,purpose}  counter of them, a person answered
    dozvon_shop_calls_succeeded_total{shop,purpose} counter  of them, confirmed or informed
    dozvon_shop_paused{shop}                    gauge      1 while the shop's calls are paused
    dozvon_calls_in_flight{state}               gauge      live calls by state
    dozvon_queue_depth{kind}                    gauge      due_now, waiting_hours, waiting_retry,
                                                           unclassified, calling
    dozvon_orders{status}                       gauge      orders by status
    dozvon_dispatch_latency_seconds             histogram  intake -> Originate (first attempt)
    dozvon_recognition_latency_seconds          histogram  end of speech -> decision
    dozvon_dialing_paused                       gauge      1 while a supervisor paused dialing
    dozvon_workers                              gauge      dialing workers reporting
    dozvon_workers_live, dozvon_worker_heartbeat_age_seconds{worker}, dozvon_asterisk_up,
    dozvon_orders_queued_without_speech_model{language}, dozvon_webhook_*,
    dozvon_health_alert{code,severity}          gauges     the health checks (robot.web.health)
    dozvon_intake_rejected                      gauge      entries in dozvon:intake:rejected
    dozvon_task_up{task}                        gauge      this process: 1 while the background
                                                           task runs, 0 while it waits to restart
    dozvon_task_restarts_total{task}            counter    this process: restarts after a crash
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from robot.adapters.redis_live import DECISION_BUCKETS, DISPATCH_BUCKETS
from robot.core.analytics import fold_counters
from robot.core.models import Outcome
from robot.ports import CallState
from robot.web.context import WEB_KEY
from robot.web.health import metric_families

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# ``shop`` labels are the registry's shop names and "other" (robot.core.analytics): a shop name
# an order brought that no configuration knows never becomes a time series of its own.


def _histogram(
    name: str, doc: str, totals: dict[str, float], prefix: str, bounds: tuple[float, ...]
) -> HistogramMetricFamily:
    cumulative, buckets = 0.0, []
    for b in bounds:
        cumulative += totals.get(f"{prefix}:{b!r}", 0.0)
        buckets.append((repr(b), cumulative))
    count = totals.get(f"{prefix}:count", 0.0)
    buckets.append(("+Inf", count))
    return HistogramMetricFamily(
        name, doc, buckets=buckets, sum_value=totals.get(f"{prefix}:sum", 0.0)
    )


class SnapshotCollector:
    """Yields metric families from one snapshot read from Redis beforehand."""

    def __init__(self, snap: dict[str, Any]) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        s = self.snap
        totals: dict[str, float] = s["totals"]
        calls = CounterMetricFamily("dozvon_calls", "Ended calls by outcome", labels=["outcome"])
        for o in Outcome:
            calls.add_metric([o.value], totals.get(f"outcome:{o.value}", 0.0))
        yield calls
        live = GaugeMetricFamily("dozvon_calls_in_flight", "Live calls by state", labels=["state"])
        for st in CallState:
            if st is not CallState.ENDED:
                n = sum(1 for c in s["live"] if c.get("state") == st.value)
                live.add_metric([st.value], n)
        yield live
        queue = GaugeMetricFamily("dozvon_queue_depth", "Orders waiting", labels=["kind"])
        for kind, n in s["queue"].items():
            queue.add_metric([kind], n)
        yield queue
        orders = GaugeMetricFamily("dozvon_orders", "Orders by status", labels=["status"])
        for status, n in s["statuses"].items():
            orders.add_metric([status], n)
        yield orders
        yield _histogram(
            "dozvon_dispatch_latency_seconds",
            "Intake to Originate of first attempts",
            totals,
            "dispatch",
            DISPATCH_BUCKETS,
        )
        yield _histogram(
            "dozvon_recognition_latency_seconds",
            "End of the customer's speech to the decision",
            totals,
            "decision",
            DECISION_BUCKETS,
        )
        yield GaugeMetricFamily(
            "dozvon_dialing_paused", "1 while dialing is paused", value=int(s["paused"])
        )
        yield GaugeMetricFamily("dozvon_workers", "Dialing workers reporting", value=s["workers"])
        yield GaugeMetricFamily(
            "dozvon_intake_rejected", "Rejected intake entries", value=s.get("rejected", 0)
        )
        up = GaugeMetricFamily("dozvon_task_up", "Background task running", labels=["task"])
        restarts = CounterMetricFamily(
            "dozvon_task_restarts", "Background task restarts after a crash", labels=["task"]
        )
        for name, task in s.get("tasks", {}).items():
            up.add_metric([name], 0 if task["state"] == "restarting" else 1)
            restarts.add_metric([name], task["restarts"])
        yield up
        yield restarts
        if s.get("health") is not None:
            yield from metric_families(s["health"])
        yield from shop_families(s.get("shop_totals", []), s.get("shops", {}))


def shop_families(counters: list[tuple[str, float]], shops: dict[str, bool]) -> Iterator[Metric]:
    """Calls per shop and purpose (``shops``: the registry's names -> paused)."""
    tallies = fold_counters(counters, shops)
    labels = ["shop", "purpose"]
    calls = CounterMetricFamily(
        "dozvon_shop_calls", "Ended calls per shop and purpose", labels=[*labels, "outcome"]
    )
    reached = CounterMetricFamily(
        "dozvon_shop_calls_reached", "Ended calls a person answered", labels=labels
    )
    succeeded = CounterMetricFamily(
        "dozvon_shop_calls_succeeded", "Ended calls confirmed or informed", labels=labels
    )
    for (shop, purpose), t in sorted(tallies.items()):
        for outcome, n in sorted(t.outcomes.items()):
            calls.add_metric([shop, purpose, outcome], n)
        reached.add_metric([shop, purpose], t.reached)
        succeeded.add_metric([shop, purpose], t.confirmed + t.informed)
    yield calls
    yield reached
    yield succeeded
    paused = GaugeMetricFamily("dozvon_shop_paused", "1 while a shop is paused", labels=["shop"])
    for name, is_paused in sorted(shops.items()):
        paused.add_metric([name], int(is_paused))
    yield paused


async def snapshot(request: web.Request) -> dict[str, Any]:
    from robot.adapters.intake_stream import REJECTED_STREAM
    from robot.supervision import TASKS_KEY

    ctx = request.app[WEB_KEY]
    board = request.app.get(TASKS_KEY)
    shops = getattr(ctx, "shops", None)  # the shop registry (robot.adapters.shop_registry)
    return {
        "tasks": board.report() if board is not None else {},
        "rejected": await ctx.store.redis.xlen(REJECTED_STREAM),
        "totals": await ctx.board.totals(),
        "live": await ctx.board.live_calls(),
        "queue": await ctx.queries.queue(datetime.now(UTC)),
        "statuses": await ctx.store.counts(),
        "paused": (await ctx.control.read()).paused,
        "workers": len(await ctx.control.workers()),
        "health": await ctx.queries.health.check(datetime.now(UTC)),
        "shop_totals": await ctx.board.shop_totals(),
        "shops": {shop.name: shop.paused for shop in shops.all()} if shops is not None else {},
    }


def render(snap: dict[str, Any]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snap))
    return generate_latest(registry)


async def metrics(request: web.Request) -> web.Response:
    body = render(await snapshot(request))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
