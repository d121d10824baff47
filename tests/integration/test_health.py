"""Health checks on real Redis through the real app: each condition raises its alert in the
overview, /dashboard/api/health and /metrics; the Prometheus rules only use exported metrics."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from robot.adapters.redis_control import RedisRunControl
from robot.adapters.redis_live import RedisCallBoard
from robot.config import Settings
from robot.core.models import Outcome
from robot.ports import CallState, CallStateChange, WorkerReport
from robot.testing import make_order
from robot.web.app import make_web_app
from robot.web.health import STALE_AFTER_S

TOKEN = "crm-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yaml"


@pytest.fixture
async def client(store, tmp_path):
    app = make_web_app(Settings(api_token=TOKEN, var_dir=tmp_path), store)
    async with TestClient(TestServer(app)) as c:
        yield c


async def health(client, now: datetime | None = None) -> dict:
    resp = await client.get("/dashboard/api/health", headers=AUTH)
    assert resp.status == 200
    return await resp.json()


def codes(doc: dict) -> dict[str, str]:
    return {a["code"]: a["severity"] for a in doc["alerts"]}


async def heartbeat(store, worker="w1", *, speech=("ru",), asterisk_up=True) -> RedisRunControl:
    control = RedisRunControl(
        store.redis,
        worker_info={"speech": [{"language": s, "model": f"m-{s}"} for s in speech]},
        probe=lambda: {"asterisk": [{"name": "pbx1", "ami": "127.0.0.1:5038", "up": asterisk_up}]},
    )
    await control.report(
        WorkerReport(worker, False, 0, 10, None, datetime.now(UTC), loop_idle_s=0.2)
    )
    return control


async def test_no_worker_with_orders_due_is_critical(client, store):
    doc = await health(client)
    assert codes(doc) == {"no_worker": "warning"}  # nothing due: not an emergency
    await store.add_order(make_order(order_id="H-1"), datetime.now(UTC))
    doc = await health(client)
    assert doc["state"] == "critical" and codes(doc)["no_worker"] == "critical"
    assert doc["alerts"][0]["params"]["due"] == 1
    await heartbeat(store)
    doc = await health(client)
    assert doc["state"] == "ok" and doc["live_workers"] == 1 and doc["dialing"] is True


async def test_frozen_worker_is_told_apart_and_turns_critical(client, store):
    await store.add_order(make_order(order_id="H-2"), datetime.now(UTC))
    await heartbeat(store, "w-frozen")
    # A heartbeat last written more than STALE_AFTER_S ago (its key's TTL tells, by Redis's
    # clock): as if the worker had been SIGSTOPped then.
    await store.redis.pexpire("dozvon:worker:w-frozen", int((30 - STALE_AFTER_S - 2) * 1000))
    doc = await health(client)
    assert codes(doc) == {"no_worker": "critical", "worker_silent": "critical"}
    silent = next(a for a in doc["alerts"] if a["code"] == "worker_silent")
    assert silent["params"]["worker"] == "w-frozen" and silent["params"]["age_s"] >= STALE_AFTER_S
    assert doc["dialing"] is False
    await heartbeat(store, "w-alive")  # another worker still dials: only a warning
    assert codes(await health(client)) == {"worker_silent": "warning"}


async def test_asterisk_down_and_speech_missing(client, store):
    await heartbeat(store, speech=("ko",), asterisk_up=False)
    await store.add_order(make_order(order_id="H-3", lang="ru"), datetime.now(UTC))
    doc = await health(client)
    c = codes(doc)
    assert c["asterisk_down"] == "critical"  # the only server
    assert c["speech_missing"] == "warning"
    missing = next(a for a in doc["alerts"] if a["code"] == "speech_missing")
    assert missing["params"] == {"language": "ru", "orders": 1}
    metrics = await (await client.get("/metrics", headers=AUTH)).text()
    assert 'dozvon_asterisk_up{server="pbx1",worker="w1"} 0.0' in metrics
    assert 'dozvon_orders_queued_without_speech_model{language="ru"} 1.0' in metrics
    assert 'dozvon_health_alert{code="asterisk_down",severity="critical"} 1.0' in metrics


async def test_webhooks_failing_and_backing_up(client, store):
    await heartbeat(store)
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    await store.add_order(make_order(order_id="H-4", do_not_call=True), long_ago)
    [(did, _event, _n)] = await store.claim_deliveries(datetime.now(UTC))
    await store.retry_delivery(did, datetime.now(UTC), "HTTP 503 from crm")
    doc = await health(client)
    c = codes(doc)
    assert c["webhooks_failing"] == "warning" and c["webhooks_backlog"] == "critical"
    w = doc["webhooks"]
    assert w["pending"] == 1 and w["failing"] == 1 and w["last_error"] == "HTTP 503 from crm"
    assert w["oldest_age_s"] >= 3500
    metrics = await (await client.get("/metrics", headers=AUTH)).text()
    age = re.search(r"^dozvon_webhook_oldest_pending_age_seconds ([0-9.e+]+)$", metrics, re.M)
    assert age and float(age.group(1)) >= 3500
    # Given up on (the dead-letter list): no longer pending, counted as dead.
    from robot.adapters.webhook_outbox import WebhookOutbox

    assert await WebhookOutbox(store.redis).fail(did, "HTTP 410", datetime.now(UTC), None)
    doc = await health(client)
    assert codes(doc) == {"webhooks_dead": "warning"}
    assert doc["webhooks"]["dead"] == 1 and doc["webhooks"]["pending"] == 0
    metrics = await (await client.get("/metrics", headers=AUTH)).text()
    assert "dozvon_webhook_dead 1.0" in metrics


def ended(outcome: Outcome, at: datetime) -> CallStateChange:
    return CallStateChange(
        call_id=str(uuid.uuid4()), order_id="X", state=CallState.ENDED, at=at, started_at=at,
        attempt=1, phone="+79160000000", language="ru", outcome=outcome,
    )  # fmt: skip


async def test_failed_spike_and_confirmation_drop(client, store):
    await heartbeat(store)
    board = RedisCallBoard(store.redis, worker_id="w1")
    board.start()
    now = datetime.now(UTC)
    for i in range(40):  # the six hours before: 80 % of answered calls confirmed
        at = now - timedelta(hours=2, minutes=i)
        board.publish(ended(Outcome.CONFIRMED if i % 5 else Outcome.REJECTED, at))
        board.publish(ended(Outcome.NO_ANSWER, at))
    for i in range(12):  # the last minutes: a third confirmed, and many failed
        at = now - timedelta(minutes=1, seconds=i)
        board.publish(ended(Outcome.CONFIRMED if i % 3 == 0 else Outcome.REJECTED, at))
        board.publish(ended(Outcome.FAILED, at))
    await board.flush()
    await board.stop()
    doc = await health(client)
    c = codes(doc)
    assert c["failed_spike"] == "critical" and c["confirm_drop"] == "warning"
    drop = next(a for a in doc["alerts"] if a["code"] == "confirm_drop")["params"]
    assert drop["rate"] == pytest.approx(4 / 12, abs=0.01)
    assert drop["baseline"] == pytest.approx(0.8, abs=0.01)


async def test_overview_carries_the_same_health(client, store):
    resp = await client.get("/dashboard/api/overview", headers=AUTH)
    doc = await resp.json()
    assert doc["health"]["state"] in ("ok", "warning", "critical")
    assert {a["code"] for a in doc["health"]["alerts"]} == {"no_worker"}


# -- Prometheus alert rules ------------------------------------------------------------------

PROMQL_WORDS = {"sum", "rate", "increase", "max", "min", "by", "on", "and", "or", "unless",
                "without", "ignoring", "group_left", "group_right", "clamp_min", "bool",
                "absent", "avg", "count", "vector", "time", "offset"}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\b\d+(\.\d+)?(ms|[smhdwy])?\b", "", expr)  # numbers and durations
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return words - PROMQL_WORDS


async def test_alert_rules_use_only_exported_metrics(client, store):
    await heartbeat(store)
    await store.add_order(make_order(order_id="H-5", lang="ko"), datetime.now(UTC))
    body = await (await client.get("/metrics", headers=AUTH)).text()
    exported = set()
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            _h, _t, name, kind = line.split()
            exported.add(name)
            if kind == "counter":
                exported.add(f"{name}_total")
            if kind == "histogram":
                exported |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules = [r for g in doc["groups"] for r in g["rules"]]
    names = {r["alert"] for r in rules}
    # The dashboard's conditions, each as a rule.
    assert {"DozvonNoDialingWorker", "DozvonAsteriskDown", "DozvonSpeechModelMissing",
            "DozvonWebhooksFailing", "DozvonWebhooksBackingUp", "DozvonFailedCallSpike",
            "DozvonConfirmationRateDrop"} <= names  # fmt: skip
    for r in rules:
        used = metric_names(r["expr"])
        assert used, r["alert"]
        assert used <= exported, (r["alert"], used - exported)
        assert r["labels"]["severity"] in ("critical", "warning")
        assert r["annotations"]["summary"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_alert_rules_pass_promtool():
    out = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
