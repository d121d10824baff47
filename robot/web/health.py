"""Health that never lies: what needs a supervisor now, from facts in Redis, every refresh.

The overview (and so every server-sent ``summary``), ``GET /dashboard/api/health`` and
``/metrics`` carry the same answer: a list of alerts, each a message key (``code``), a
severity and the numbers the message needs (``params``), so the page says it in the reader's
language. The header turns red on any ``critical`` alert. ``deploy/prometheus/alerts.yaml``
states the same conditions over the metrics for Prometheus.

What is checked, and the facts each check relies on:

- **a live dialing worker**: every worker writes a heartbeat every second from a task of its
  own (``robot.engine.control``); its age comes from the key's remaining TTL, Redis's clock,
  so host clocks may differ. Older than ``STALE_AFTER_S``: the worker is frozen, dead or cut
  off (SIGSTOP, a hung host, a lost network); no live worker while orders are due is critical.
  A live worker whose dialer loop has not turned for ``STUCK_AFTER_S`` is stuck.
- **Asterisk / AMI**: each heartbeat lists the worker's AMI connections and whether each is up.
- **speech models**: queued orders by language (a sample of ``LANG_SCAN_CAP``, recomputed at
  most every ``LANG_EVERY_S``) against the models live workers report.
- **webhooks**: the outbox (``redis_store``): undelivered count, how many have failed at least
  once and the last error, the age of the oldest undelivered event, and the dead-letter list
  when there is one.
- **failed calls and confirmation rate**: five-minute outcome slices (``redis_live``): the
  last 15 minutes against the two hours before (failed share), the last 30 minutes against
  the six hours before (confirmed share of answered calls).
- **sign-in**: names or addresses waiting out a backoff (``robot.web.throttle``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from prometheus_client.core import GaugeMetricFamily, Metric

from robot.adapters.redis_keys import RedisKeys

if TYPE_CHECKING:
    from robot.adapters.redis_control import RedisRunControl
    from robot.adapters.redis_live import LiveBoardReader
    from robot.adapters.redis_store import RedisOrderStore
    from robot.web.throttle import LoginThrottle

log = logging.getLogger(__name__)

STALE_AFTER_S = 3.0  # heartbeats come every second
STUCK_AFTER_S = 60.0  # the dialer loop turns at least every few seconds when healthy
LANG_SCAN_CAP = 2_000
LANG_EVERY_S = 15.0
OUTBOX_SCAN_CAP = 500
WEBHOOK_SLOW_S = 120.0  # oldest undelivered event older than this: warning
WEBHOOK_STUCK_S = 900.0  # ... than this: critical
FAILED_WINDOW_S = 15 * 60
FAILED_BASELINE_S = 2 * 3600
FAILED_MIN = 5  # failed calls in the window before a spike is called
FAILED_SHARE = 0.3  # of the window's calls
CONFIRM_WINDOW_S = 30 * 60
CONFIRM_BASELINE_S = 6 * 3600
CONFIRM_MIN_RECENT = 10  # answered calls in the window
CONFIRM_MIN_BASELINE = 20
CONFIRM_DROP = 0.15  # absolute fall of the rate...
CONFIRM_RATIO = 0.75  # ... and below this share of the baseline
ANSWERED = ("confirmed", "rejected", "unclear", "dnc", "later", "operator")
FAILED = ("failed",)


@dataclass(frozen=True)
class Alert:
    code: str  # message key: the page shows t("alert.<code>", params)
    severity: str  # "critical" turns the header red; "warning" amber
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "params": self.params}


@dataclass
class HealthFacts:
    """What the checks look at; gathered from Redis by :class:`HealthChecks`."""

    workers: list[dict[str, Any]]
    due_now: int
    calling: int
    paused: bool
    queued_by_language: dict[str, int]
    webhooks: dict[str, Any]
    recent: dict[str, dict[str, int]]  # window name -> outcome counts
    throttled: int = 0


def _share(
    counts: dict[str, int], part: tuple[str, ...], whole: tuple[str, ...] | None
) -> tuple[int, int, float | None]:
    num = sum(counts.get(o, 0) for o in part)
    den = sum(counts.values()) if whole is None else sum(counts.get(o, 0) for o in whole)
    return num, den, (num / den if den else None)


def evaluate(f: HealthFacts) -> list[Alert]:
    """The alerts for these facts, most severe first. Pure."""
    alerts: list[Alert] = []
    work_waiting = f.due_now > 0 or f.calling > 0
    live = [w for w in f.workers if float(w.get("age_s", 0)) <= STALE_AFTER_S]
    silent = [w for w in f.workers if float(w.get("age_s", 0)) > STALE_AFTER_S]
    if not live:
        alerts.append(
            Alert(
                "no_worker",
                "critical" if work_waiting else "warning",
                {"due": f.due_now, "calling": f.calling, "silent": len(silent)},
            )
        )
    for w in silent:
        alerts.append(
            Alert(
                "worker_silent",
                "critical" if work_waiting and not live else "warning",
                {"worker": w.get("worker_id", "?"), "age_s": round(float(w["age_s"]))},
            )
        )
    for w in live:
        idle = w.get("loop_idle_s")
        if idle is not None and float(idle) > STUCK_AFTER_S and f.due_now > 0 and not f.paused:
            alerts.append(
                Alert(
                    "worker_stuck",
                    "critical",
                    {"worker": w.get("worker_id", "?"), "idle_s": round(float(idle))},
                )
            )
    servers = [(w.get("worker_id", "?"), a) for w in live for a in w.get("asterisk", [])]
    down = [(wid, a) for wid, a in servers if not a.get("up")]
    for wid, a in down:
        alerts.append(
            Alert(
                "asterisk_down",
                "critical" if len(down) == len(servers) else "warning",
                {"server": a.get("name", "?"), "ami": a.get("ami", ""), "worker": wid},
            )
        )
    if f.paused and f.due_now > 0:
        alerts.append(Alert("paused_with_due", "warning", {"due": f.due_now}))
    # Which languages the live workers understand (with none live, "no worker" says it all).
    have = {str(m.get("language")) for w in live for m in w.get("speech", [])}
    for lang, n in sorted(f.queued_by_language.items()):
        if n > 0 and lang not in have and live:
            alerts.append(Alert("speech_missing", "warning", {"language": lang, "orders": n}))
    alerts.extend(_webhook_alerts(f.webhooks))
    alerts.extend(_call_alerts(f.recent))
    if f.throttled:
        alerts.append(Alert("signin_throttled", "warning", {"n": f.throttled}))
    order = {"critical": 0, "warning": 1}
    return sorted(alerts, key=lambda a: order.get(a.severity, 2))


def _webhook_alerts(w: dict[str, Any]) -> list[Alert]:
    out = []
    age = w.get("oldest_age_s")
    if w.get("failing"):
        out.append(
            Alert(
                "webhooks_failing",
                "warning",
                {"n": w["failing"], "error": w.get("last_error") or ""},
            )
        )
    if age is not None and age > WEBHOOK_SLOW_S:
        out.append(
            Alert(
                "webhooks_backlog",
                "critical" if age > WEBHOOK_STUCK_S else "warning",
                {"pending": w.get("pending", 0), "age_s": round(age)},
            )
        )
    if w.get("dead"):
        out.append(Alert("webhooks_dead", "warning", {"n": w["dead"]}))
    return out


def _call_alerts(recent: dict[str, dict[str, int]]) -> list[Alert]:
    out = []
    failed, calls, share = _share(recent.get("failed_window", {}), FAILED, None)
    _bf, bcalls, bshare = _share(recent.get("failed_baseline", {}), FAILED, None)
    if share is not None and failed >= FAILED_MIN and share >= FAILED_SHARE:
        if bshare is None or bcalls < 10 or share >= 2 * bshare:
            out.append(
                Alert(
                    "failed_spike",
                    "critical",
                    {"failed": failed, "calls": calls, "share": round(share, 3)},
                )
            )
    _c, answered, rate = _share(recent.get("confirm_window", {}), ("confirmed",), ANSWERED)
    _bc, banswered, brate = _share(recent.get("confirm_baseline", {}), ("confirmed",), ANSWERED)
    if (
        rate is not None
        and brate is not None
        and answered >= CONFIRM_MIN_RECENT
        and banswered >= CONFIRM_MIN_BASELINE
        and rate < brate - CONFIRM_DROP
        and rate < brate * CONFIRM_RATIO
    ):
        out.append(
            Alert("confirm_drop", "warning", {"rate": round(rate, 3), "baseline": round(brate, 3)})
        )
    return out


def summary(alerts: list[Alert], f: HealthFacts) -> dict[str, Any]:
    state = "ok"
    if any(a.severity == "critical" for a in alerts):
        state = "critical"
    elif alerts:
        state = "warning"
    live = [w for w in f.workers if float(w.get("age_s", 0)) <= STALE_AFTER_S]
    return {
        "state": state,
        "alerts": [a.to_json() for a in alerts],
        "live_workers": len(live),
        "dialing": bool(live) and not f.paused,
        "webhooks": f.webhooks,
        "workers": [
            {
                "worker_id": w.get("worker_id"),
                "age_s": w.get("age_s"),
                "live": float(w.get("age_s", 0)) <= STALE_AFTER_S,
                "asterisk": w.get("asterisk", []),
            }
            for w in f.workers
        ],
        "queued_by_language": f.queued_by_language,
        "stale_after_s": STALE_AFTER_S,
    }


class HealthChecks:
    """Gathers :class:`HealthFacts` from Redis and evaluates them."""

    def __init__(
        self,
        store: RedisOrderStore,
        board: LiveBoardReader,
        control: RedisRunControl,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.store = store
        self.keys = RedisKeys(store.prefix)
        self.redis = store.redis
        self.board = board
        self.control = control
        self.throttle = throttle
        self._langs: dict[str, int] = {}
        self._langs_at = float("-inf")

    async def check(self, now: datetime, overview: dict[str, Any] | None = None) -> dict[str, Any]:
        """The health summary; ``overview`` lends what it has already read (queue, workers,
        controls), else those are read here."""
        o = overview or {}
        workers = o.get("workers")
        if workers is None:
            workers = await self.control.workers()
        queue = o.get("queue")
        if queue is None:
            due = self.keys.due
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zcount(due, "-inf", now.timestamp())
                pipe.zcard(self.keys.status("calling"))
                due_now, calling = await pipe.execute()
            queue = {"due_now": int(due_now), "calling": int(calling)}
        controls = o.get("controls") or await self.control.details()
        throttled = 0
        if self.throttle is not None:
            throttled = len(await self.throttle.blocked(int(now.timestamp() * 1000)))
        facts = HealthFacts(
            workers=workers,
            due_now=int(queue.get("due_now", 0)),
            calling=int(queue.get("calling", 0)),
            paused=bool(controls.get("paused")),
            queued_by_language=await self.queued_languages(),
            webhooks=await self.webhooks(now),
            recent=await self.recent(now),
            throttled=throttled,
        )
        return summary(evaluate(facts), facts)

    async def queued_languages(self) -> dict[str, int]:
        if time.monotonic() - self._langs_at < LANG_EVERY_S:
            return self._langs
        ids = cast(
            "list[str]", await self.redis.zrange(self.keys.status("queued"), 0, LANG_SCAN_CAP - 1)
        )
        counts: dict[str, int] = {}
        if ids:
            async with self.redis.pipeline(transaction=False) as pipe:
                for oid in ids:
                    pipe.hget(self.keys.order(oid), "order")
                docs = await pipe.execute()
            for d in docs:
                try:
                    lang = str(json.loads(d).get("language") or "ru") if d else None
                except ValueError:
                    lang = None
                if lang:
                    counts[lang] = counts.get(lang, 0) + 1
        self._langs, self._langs_at = counts, time.monotonic()
        return counts

    async def webhooks(self, now: datetime) -> dict[str, Any]:
        due_k, inflight_k = self.keys.outbox_due, self.keys.outbox_inflight
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(due_k)
            pipe.zcard(inflight_k)
            pipe.zrange(due_k, 0, OUTBOX_SCAN_CAP - 1)
            pipe.zrange(inflight_k, 0, 99)
            n_due, n_inflight, due_ids, inflight_ids = await pipe.execute()
        ids = list(dict.fromkeys([*due_ids, *inflight_ids]))
        rows: list[Any] = []
        if ids:
            async with self.redis.pipeline(transaction=False) as pipe:
                for d in ids:
                    pipe.hmget(self.keys.outbox_item(d), "event", "last_error")
                rows = await pipe.execute()
        oldest: float | None = None
        failing, last_error = 0, ""
        for event, error in rows:
            if error:
                failing += 1
                last_error = last_error or str(error)[:200]
            try:
                occurred = datetime.fromisoformat(json.loads(event)["occurred_at"])
            except (ValueError, KeyError, TypeError):
                occurred = None
            if occurred is not None:
                age = (now - occurred).total_seconds()
                oldest = age if oldest is None else max(oldest, age)
        dead = await self._dead_letters()
        return {
            "pending": int(n_due) + int(n_inflight),
            "in_flight": int(n_inflight),
            "failing": failing,
            "last_error": last_error,
            "oldest_age_s": round(oldest, 1) if oldest is not None else None,
            "dead": dead,
        }

    async def _dead_letters(self) -> int:
        """Deliveries given up on (robot.adapters.webhook_outbox's dead-letter list)."""
        from robot.adapters.webhook_outbox import WebhookOutbox

        return int(await WebhookOutbox(self.redis, prefix=self.store.prefix).count())

    async def recent(self, now: datetime) -> dict[str, dict[str, int]]:
        t = now.timestamp()
        return {
            "failed_window": await self.board.outcomes_between(t - FAILED_WINDOW_S, t),
            "failed_baseline": await self.board.outcomes_between(
                t - FAILED_WINDOW_S - FAILED_BASELINE_S, t - FAILED_WINDOW_S
            ),
            "confirm_window": await self.board.outcomes_between(t - CONFIRM_WINDOW_S, t),
            "confirm_baseline": await self.board.outcomes_between(
                t - CONFIRM_WINDOW_S - CONFIRM_BASELINE_S, t - CONFIRM_WINDOW_S
            ),
        }


def metric_families(h: dict[str, Any]) -> Iterator[Metric]:
    """The health summary as Prometheus gauges (deploy/prometheus/alerts.yaml uses them)."""
    yield GaugeMetricFamily(
        "dozvon_workers_live", "Dialing workers with a fresh heartbeat", value=h["live_workers"]
    )
    age = GaugeMetricFamily(
        "dozvon_worker_heartbeat_age_seconds",
        "Since each worker's last heartbeat",
        labels=["worker"],
    )
    ami = GaugeMetricFamily(
        "dozvon_asterisk_up",
        "1 while a live worker's AMI connection is up",
        labels=["worker", "server"],
    )
    for w in h["workers"]:
        age.add_metric([str(w["worker_id"])], float(w.get("age_s") or 0))
        if w["live"]:
            for a in w["asterisk"]:
                ami.add_metric([str(w["worker_id"]), str(a.get("name"))], 1 if a.get("up") else 0)
    yield age
    yield ami
    missing = GaugeMetricFamily(
        "dozvon_orders_queued_without_speech_model",
        "Queued orders in a language no live worker has a speech model for",
        labels=["language"],
    )
    for a in h["alerts"]:
        if a["code"] == "speech_missing":
            missing.add_metric([a["params"]["language"]], a["params"]["orders"])
    yield missing
    w = h["webhooks"]
    yield GaugeMetricFamily(
        "dozvon_webhook_pending", "Undelivered webhook events", value=w["pending"]
    )
    yield GaugeMetricFamily(
        "dozvon_webhook_failing",
        "Undelivered events that failed at least once",
        value=w["failing"],
    )
    yield GaugeMetricFamily(
        "dozvon_webhook_oldest_pending_age_seconds",
        "Age of the oldest undelivered event",
        value=w["oldest_age_s"] or 0.0,
    )
    yield GaugeMetricFamily("dozvon_webhook_dead", "Deliveries given up on", value=w["dead"])
    alerts = GaugeMetricFamily(
        "dozvon_health_alert", "1 per alert the dashboard shows now", labels=["code", "severity"]
    )
    seen: set[tuple[str, str]] = set()
    for a in h["alerts"]:
        key = (a["code"], a["severity"])
        if key not in seen:
            seen.add(key)
            alerts.add_metric(list(key), 1)
    yield alerts
