"""``robot demo``: orders in, real calls through Asterisk, answers recognized, results out.

The demo starts its own Redis and Asterisk (or reuses the ones given), a stand-in CRM that
receives and verifies the signed webhooks, and the real service as a child process. It pushes
orders (half over HTTP, half through the Redis stream) to simulated customers in the
``dozvon-customer`` dialplan, whose last two phone digits pick a scripted behaviour, and
compares each order's outcome with what that behaviour should produce.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from robot.config import Settings
from robot.testing import free_port, free_udp_port

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scenario:
    code: int  # last two digits of the phone number (see dialplans/extensions.conf)
    name: str
    expected: str  # the call outcome it must produce
    speech: bool  # needs a speech model in the order's language
    # Speech scenarios whose recordings a model hears only in some languages: the installed
    # Korean model hears the synthetic "네"/"아니요" but not the synthetic replies beyond them
    # (scripts/build_audio.py --verify shows what it hears), so those run with a Russian model;
    # tests/integration/test_call_replies.py covers them on any model.
    heard_in: tuple[str, ...] = ("ru", "ko")
    # What the call is about (robot.core.purposes); its order carries the fields it says.
    purpose: str = "confirm"
    # A CRM status the demo sends while the call rings (it must hang the call up and end the
    # order): such a scenario is judged by the order's final status, not the call's outcome.
    stop_status: str | None = None

    def runs_with(self, speech_language: str | None) -> bool:
        return not self.speech or speech_language in self.heard_in


SCENARIOS = (
    Scenario(1, "says yes", "confirmed", True),
    Scenario(2, "says no", "rejected", True),
    Scenario(4, "presses 1", "confirmed", False),
    Scenario(5, "presses 2", "rejected", False),
    # Calls about later events of an order's life (robot/core/purpose_files).
    Scenario(3, "hears the pickup message to its end", "informed", False, purpose="pickup_ready"),
    Scenario(1, "agrees to the courier's slot", "confirmed", True, purpose="courier_slot"),
    Scenario(
        7,
        "picked up while the call rings",
        "stopped",
        False,
        purpose="pickup_ready",
        stop_status="picked_up",
    ),
    Scenario(6, "line busy", "busy", False),
    Scenario(7, "never answers", "no_answer", False),
    Scenario(3, "stays silent", "unclear", False),
    Scenario(9, "says something else", "unclear", True),
    Scenario(8, "network congestion", "failed", False),
    Scenario(10, "hangs up after the question", "unclear", False),
    Scenario(
        4, "presses 1 after the storage reminder", "informed", False, purpose="storage_ending"
    ),
    Scenario(16, "asks to move the delivery", "changed", True, ("ru",)),
    Scenario(17, "says it is a wrong number", "wrong_number", True, ("ru",)),
    Scenario(18, "voicemail greeting", "machine", True, ("ru",)),
)
# ``robot demo --sip``: every call goes over a SIP trunk to a second Asterisk playing the
# carrier (robot/devtools/asterisk/carrier.py). Its congestion is a 503, which is trunk_limit
# there (no attempt used, retried), so the carrier's own answers take that scenario's place.
SIP_SCENARIOS = (
    *(s for s in SCENARIOS if s.code != 8),
    Scenario(41, "switched off: 183 announcement, 480", "unreachable", False),
    Scenario(42, "no such number: 404", "invalid_number", False),
    Scenario(43, "declines the ringing call: 603", "call_rejected", False),
)
SHOPS = {"ru": "Ромашка", "ko": "Hana Mart"}
ZONES = {"ru": "Europe/Moscow", "ko": "Asia/Seoul"}
PICKUP_POINTS = {"ru": "улица Ленина, дом пять", "ko": "강남역"}
# The CRM status that selected each purpose (robot.core.shops.DEFAULT_STATUSES).
CRM_STATUS = {"pickup_ready": "ready_for_pickup", "courier_slot": "courier_assigned",
              "storage_ending": "storage_ending"}  # fmt: skip
# The call policy of the demo: calls at any hour, one call per order (see README, Call policy).
DEMO_POLICY = json.dumps({"hours": "00:00-24:00", "max_attempts": 1, "min_gap": "0s"})
_PREFIX = {"ru": "+7916555", "ko": "+82105555"}


def phone_for(language: str, index: int, scenario: Scenario) -> str:
    return f"{_PREFIX[language]}{index % 100:02d}{scenario.code:02d}"


def plan_orders(
    n: int,
    speech_language: str | None,
    run_id: str,
    scenarios: tuple[Scenario, ...] = SCENARIOS,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """N orders spread over the scenarios. Spoken answers use the language whose model is
    installed; key presses and line scenarios use Russian, which needs no model for them."""
    usable = [s for s in scenarios if s.runs_with(speech_language)]
    orders = []
    for i in range(n):
        sc = usable[i % len(usable)]
        lang = speech_language if (sc.speech and speech_language) else "ru"
        orders.append(
            {
                "order_id": f"{run_id}{i + 1:02d}",
                "phone": phone_for(lang, i, sc),
                "amount": str(1290 + 1200 * i),
                "currency": "RUB",
                "shop_name": SHOPS[lang],
                "language": lang,
                "customer_name": None,
                "items_summary": "demo",
                "purpose": sc.purpose,
                **purpose_fields(sc.purpose, lang, now or datetime.now(UTC)),
                "_scenario": sc,
            }
        )
    return orders


def purpose_fields(purpose: str, lang: str, now: datetime) -> dict[str, Any]:
    """What the CRM would have sent with the status that selected the purpose: the pickup
    point and storage date, the courier's slot (tomorrow 10:00-14:00 where the customer is).
    The demo creates such orders directly, with their status; a real CRM sends the status
    event (``POST /api/v1/orders/{id}/status``) for an order it created earlier."""
    if purpose == "confirm":
        return {}
    zone = ZoneInfo(ZONES[lang])
    today = now.astimezone(zone).date()
    fields: dict[str, Any] = {"crm_status": CRM_STATUS[purpose], "timezone": ZONES[lang]}
    if purpose in ("pickup_ready", "storage_ending"):
        days = 7 if purpose == "pickup_ready" else 2
        fields["pickup_point"] = PICKUP_POINTS[lang]
        fields["storage_until"] = (today + timedelta(days=days)).isoformat()
    if purpose == "courier_slot":
        start = datetime.combine(today + timedelta(days=1), time_of_day(10), zone)
        fields["slot_from"] = start.isoformat()
        fields["slot_to"] = (start + timedelta(hours=4)).isoformat()
    return fields


@dataclass
class Crm:
    """A stand-in CRM: receives webhooks, checks signatures, keeps the final events."""

    secret: str
    events: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        from robot.adapters.webhook import verify

        body = await request.read()
        if not verify(body, self.secret, request.headers.get("X-Dozvon-Signature", "")):
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)
        self.events.append(json.loads(body))
        self.changed.set()
        return web.json_response({"ok": True})

    def final_by_order(self) -> dict[str, dict[str, Any]]:
        return {e["order_id"]: e for e in self.events if e.get("final")}


def speech_language(settings: Settings) -> tuple[str | None, str]:
    from robot.adapters.asr_models import ModelNotInstalled, resolve

    for lang in ("ru", "ko"):
        try:
            info = resolve(lang, settings.models_dir)
        except ModelNotInstalled:
            continue
        return lang, info.name
    return None, "none (key presses only)"


async def run_demo(
    n_orders: int,
    *,
    timeout_s: float = 300.0,
    hold: bool = False,
    sip: bool = False,
    on_report: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the demo; ``on_report`` gets the results as soon as they are in (before ``hold``
    keeps the dashboard up). SIGTERM or SIGINT at any point stops everything it started."""
    stopping = _StopOnSignal()
    with stopping:
        return await _run_demo(n_orders, timeout_s, hold, sip, on_report, stopping)


class _StopOnSignal:
    """SIGTERM/SIGINT: while holding, end the hold; before that, cancel the run. Either way
    the ``finally`` of the run stops the service, Asterisk, Redis and the stand-in CRM."""

    def __init__(self) -> None:
        self.holding = False
        self.stop = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None

    def __enter__(self) -> _StopOnSignal:
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._signalled, sig)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)

    def _signalled(self, sig: signal.Signals) -> None:
        print(f"{sig.name}: stopping everything the demo started", file=sys.stderr, flush=True)
        if self.holding:
            self.stop.set()
        elif self._task is not None:
            self._task.cancel()


def curl_line(api: str, token: str) -> str:
    """A ready command that pushes one order to this demo (customer 04 presses 1)."""
    body = json.dumps({"order_id": "my-first-order", "phone": "+79165550004", "amount": "990",
                       "shop_name": SHOPS["ru"], "language": "ru"}, ensure_ascii=False)  # fmt: skip
    return (
        f"curl -s -X POST {api}/api/v1/orders -H 'Authorization: Bearer {token}' "
        f"-H 'Content-Type: application/json' -d '{body}'"
    )


async def _run_demo(
    n_orders: int,
    timeout_s: float,
    hold: bool,
    sip: bool,
    on_report: Callable[[dict[str, Any]], None] | None,
    stopping: _StopOnSignal,
) -> dict[str, Any]:
    from robot.devtools.asterisk import carrier as sip_carrier
    from robot.devtools.asterisk.runtime import AsteriskRuntime
    from robot.devtools.redis_server import RedisServer

    base = Settings()
    speech_lang, model_name = speech_language(base)
    run_id = str(int(time.time()) % 100000)  # shops number orders; so does the demo
    ports = {k: free_port() for k in ("http", "ami", "audiosocket", "crm")}
    token, secret = "demo-token", "demo-secret"
    stack = contextlib.AsyncExitStack()
    workdir = Path(tempfile.mkdtemp(prefix="dozvon-demo-"))
    trunk = carrier = None
    crm = Crm(secret)
    service: subprocess.Popen[bytes] | None = None
    runner: web.AppRunner | None = None
    try:
        redis = RedisServer(workdir / "redis")
        redis.start()
        stack.callback(redis.close)
        if sip:
            trunk = sip_carrier.TrunkSpec("127.0.0.1", free_udp_port(), free_udp_port())
            carrier = await stack.enter_async_context(
                sip_carrier.running_carrier(
                    trunk, base.asterisk_root, base.audio_dir, instance=f"carrier-{os.getpid()}"
                )
            )
        overlay, placeholders = sip_carrier.robot_trunk_overlay(trunk) if trunk else ([], {})
        asterisk = AsteriskRuntime(
            base.asterisk_root,
            ports["ami"],
            "dozvon",
            "demo-ami-secret",
            "127.0.0.1",
            ports["audiosocket"],
            base.audio_dir,
            instance=f"demo-{os.getpid()}",
            overlay_dirs=overlay,
            extra_placeholders=placeholders,
        )
        asterisk.start()
        stack.callback(asterisk.remove_files)
        stack.callback(asterisk.stop)
        if sip:
            registered_s = await asyncio.to_thread(sip_carrier.wait_registered, asterisk)
            print(f"SIP trunk registered with the carrier in {registered_s:.1f} s",
                  file=sys.stderr, flush=True)  # fmt: skip

        app = web.Application()
        app.router.add_post("/crm/dozvon", crm.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", ports["crm"]).start()

        env = dict(os.environ)
        env.update(
            {
                "DOZVON_REDIS_URL": redis.url,
                "DOZVON_HTTP_PORT": str(ports["http"]),
                "DOZVON_API_TOKEN": token,
                "DOZVON_AMI_PORT": str(ports["ami"]),
                "DOZVON_AMI_SECRET": "demo-ami-secret",
                "DOZVON_AUDIOSOCKET_PORT": str(ports["audiosocket"]),
                "DOZVON_DIAL_TEMPLATE": (
                    sip_carrier.dial_template("alaw") if sip else "Local/{digits}@dozvon-customer/n"
                ),
                # Over the trunk the carrier's announcement before its 480 takes about 5 s.
                "DOZVON_RING_TIMEOUT_S": "10" if sip else "6",
                "DOZVON_LISTEN_TIMEOUT_S": "4",
                "DOZVON_WEBHOOK_URL": f"http://127.0.0.1:{ports['crm']}/crm/dozvon",
                "DOZVON_WEBHOOK_SECRET": secret,
                # The stand-in CRM is on loopback, an internal address: listed explicitly.
                "DOZVON_WEBHOOK_ALLOWED_HOSTS": f"127.0.0.1:{ports['crm']}",
                "DOZVON_MAX_CONCURRENT_CALLS": "10",
                "DOZVON_VAR_DIR": str(workdir / "var"),
                # Orders are pushed at any hour and each scenario is judged by its one call.
                "DOZVON_POLICY_JSON": DEMO_POLICY,
                # Answered calls are recorded, so the timeline's player has something to play.
                "DOZVON_RECORD_CALLS": "true",
            }
        )
        service = _spawn_service(env, workdir / "service.log")
        api = f"http://127.0.0.1:{ports['http']}"
        await _wait_http(f"{api}/healthz", service, 30.0)
        # The service listens on loopback without DOZVON_SUPERVISORS: dev account admin/admin.
        print(f"dashboard: {api}/  (log in as admin / admin)", file=sys.stderr, flush=True)
        print(f"API token: {token}", file=sys.stderr, flush=True)
        print(f"push an order yourself:\n  {curl_line(api, token)}", file=sys.stderr, flush=True)

        orders = plan_orders(n_orders, speech_lang, run_id, SIP_SCENARIOS if sip else SCENARIOS)
        t0 = time.monotonic()
        stops = [
            asyncio.create_task(_stop_when_ringing(o, api, token, timeout_s))
            for o in orders
            if o["_scenario"].stop_status
        ]
        await _push(orders, api, token, redis.url)
        deadline = time.monotonic() + timeout_s
        want = {o["order_id"] for o in orders}
        while not want <= set(crm.final_by_order()) and time.monotonic() < deadline:
            crm.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(crm.changed.wait(), 1.0)
            if service.poll() is not None:
                break
        elapsed = time.monotonic() - t0
        for task in stops:
            task.cancel()
        await asyncio.gather(*stops, return_exceptions=True)
        report = _report(orders, crm, model_name, speech_lang, elapsed, workdir)
        if carrier is not None:
            _trunk_report(report, orders, crm, carrier.calls)
        if on_report is not None:
            on_report(report)
        if hold and service.poll() is None:
            stopping.holding = True
            print(f"done; the dashboard stays at {api}/ until Ctrl-C (or SIGTERM)",
                  file=sys.stderr, flush=True)  # fmt: skip
            while not stopping.stop.is_set() and service.poll() is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.stop.wait(), 0.5)
        return report
    finally:
        if service is not None and service.poll() is None:
            service.send_signal(signal.SIGTERM)
            try:
                service.wait(30)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()
        if runner is not None:
            await runner.cleanup()
        await stack.aclose()


def _spawn_service(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "robot", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the service exited with {proc.returncode} while starting")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the service did not answer {url} within {timeout_s:.0f} s")


async def _push(orders: list[dict[str, Any]], api: str, token: str, redis_url: str) -> None:
    """Even orders over HTTP, odd ones through the Redis stream, as two kinds of CRM would."""
    from robot.adapters.redis_connect import redis_client
    from robot.adapters.redis_keys import RedisKeys

    headers = {"Authorization": f"Bearer {token}"}
    stream = RedisKeys().intake  # the stream robot.adapters.intake_stream reads
    r = redis_client(redis_url)
    try:
        async with aiohttp.ClientSession(headers=headers) as http:
            for i, o in enumerate(orders):
                body = {k: v for k, v in o.items() if not k.startswith("_") and v is not None}
                if i % 2 == 0:
                    async with http.post(f"{api}/api/v1/orders", json=body) as resp:
                        if resp.status not in (200, 201):
                            raise RuntimeError(
                                f"intake refused {body['order_id']}: "
                                f"{resp.status} {await resp.text()}"
                            )
                else:
                    await r.xadd(stream, {"order": json.dumps(body, ensure_ascii=False)})
    finally:
        await r.aclose()


async def _stop_when_ringing(order: dict[str, Any], api: str, token: str, timeout_s: float) -> None:
    """Send the scenario's CRM status (``picked_up``) once the order's call rings, as a CRM
    would when the customer walks into the pickup point meanwhile; note when it was sent."""
    status = order["_scenario"].stop_status
    url = f"{api}/api/v1/orders/{order['order_id']}"
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as r:
                    calls = (await r.json()).get("calls") or [] if r.status == 200 else []
                if any(c.get("originated_at") and not c.get("ended_at") for c in calls):
                    sent = datetime.now(UTC)
                    body = {"status": status, "occurred_at": sent.isoformat()}
                    async with http.post(f"{url}/status", json=body) as r:
                        order["_stop"] = {"sent_at": sent, "answer": await r.json()}
                    return
            await asyncio.sleep(0.1)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 1)


def _report(
    orders: list[dict[str, Any]],
    crm: Crm,
    model: str,
    lang: str | None,
    elapsed: float,
    workdir: Path,
) -> dict[str, Any]:
    finals = crm.final_by_order()
    rows, mismatches = [], 0
    originate_ms: list[float] = []
    decision_ms: list[float] = []
    for o in orders:
        sc: Scenario = o["_scenario"]
        ev = finals.get(o["order_id"])
        call = (ev or {}).get("call") or {}
        outcome = call.get("outcome") if ev else None
        if call.get("intake_to_originate_ms") is not None:
            originate_ms.append(call["intake_to_originate_ms"])
        if call.get("speech_end_to_decision_ms") is not None and sc.speech:
            decision_ms.append(call["speech_end_to_decision_ms"])
        row: dict[str, Any] = {"id": o["order_id"], "language": o["language"]}
        if sc.stop_status:  # judged by the order's end: stopped by the CRM's status
            outcome = (ev or {}).get("status")
            row["stop"] = _stop_row(o, [e for e in crm.events if e["order_id"] == o["order_id"]])
        ok = outcome == sc.expected
        mismatches += 0 if ok else 1
        row.update(
            {
                "purpose": o["purpose"],
                "scenario": sc.name,
                "expected": sc.expected,
                "outcome": outcome or "missing",
                "status": ev.get("status") if ev else None,
                "reason": call.get("reason"),
            }
        )
        rows.append(row)
    return {
        "model": model,
        "language": lang or "none",
        "orders": rows,
        "mismatches": mismatches,
        "bad_signatures": crm.bad_signatures,
        "elapsed_s": round(elapsed, 1),
        "intake_to_originate_ms": {"p50": _pct(originate_ms, 50), "p99": _pct(originate_ms, 99)},
        "speech_end_to_decision_ms": {"p50": _pct(decision_ms, 50), "p99": _pct(decision_ms, 99)},
        "logs": str(workdir),
        # Scenarios the installed model cannot hear (Scenario.heard_in): not run, not hidden.
        "not_run": [f"{s.code:02d} {s.name}" for s in SCENARIOS if not s.runs_with(lang)],
    }


def _stop_row(order: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """The status sent while the call rang, the API's answer, how soon the call ended after it
    (its call.finished webhook) and how many calls the order had."""
    stop = order.get("_stop")
    if stop is None:
        return {"status": order["_scenario"].stop_status, "sent": False}
    calls = {e["call"]["call_id"]: e["call"] for e in events if e.get("call")}
    ended = max((c["ended_at"] for c in calls.values() if c.get("ended_at")), default=None)
    after_ms = None
    if ended:
        after_ms = round((datetime.fromisoformat(ended) - stop["sent_at"]).total_seconds() * 1000)
    answer = stop["answer"]
    return {"status": order["_scenario"].stop_status, "sent": True,
            "result": answer.get("result"), "hung_up": answer.get("hung_up"),
            "call_ended_after_ms": after_ms, "calls": len(calls)}  # fmt: skip


def _trunk_report(
    report: dict[str, Any], orders: list[dict[str, Any]], crm: Crm, seen: Any
) -> None:
    """``--sip``: every call must have crossed the trunk (the carrier saw it); a call that
    did not is a mismatch too."""
    finals = crm.final_by_order()
    placed = 0
    for o, row in zip(orders, report["orders"], strict=True):
        calls = len((finals.get(o["order_id"]) or {}).get("history") or [])
        crossed = len(seen.for_number(o["phone"].lstrip("+")))
        placed += calls
        row["calls"], row["seen_by_carrier"] = calls, crossed
        if crossed != calls or calls == 0:
            report["mismatches"] += 1
    report["trunk"] = {"calls_placed": placed, "seen_by_carrier": len(seen.calls)}


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide and full-width characters (Hangul,
    CJK) take two, combining marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def format_table(report: dict[str, Any]) -> str:
    head = ("order", "lang", "purpose", "scenario", "expected", "outcome", "ok")
    body = [
        (str(r["id"]), str(r["language"]), str(r.get("purpose", "confirm")), str(r["scenario"]),
         str(r["expected"]), str(r["outcome"]), "yes" if r["expected"] == r["outcome"] else "NO")
        for r in report["orders"]
    ]  # fmt: skip
    widths = [max(display_width(row[i]) for row in (head, *body)) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(_pad(c, w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [f"speech model: {report['model']} (language: {report['language']})", line(head)]
    lines += [line(row) for row in body]
    lines.append(
        f"mismatches: {report['mismatches']}   elapsed: {report['elapsed_s']} s   "
        f"intake->originate p50 {report['intake_to_originate_ms']['p50']} ms   "
        f"end of speech->decision p50 {report['speech_end_to_decision_ms']['p50']} ms"
    )
    for r in report["orders"]:
        stop = r.get("stop")
        if stop and stop.get("sent"):
            lines.append(
                f"order {r['id']}: {stop['status']} sent while its call rang: {stop['result']}, "
                f"{len(stop.get('hung_up') or [])} call hung up, the call ended "
                f"{stop['call_ended_after_ms']} ms later; {stop['calls']} call made"
            )
    if report.get("not_run"):
        lines.append(f"not run, the {report['language']} model cannot hear them: "
                     + ", ".join(report["not_run"]))  # fmt: skip
    if "trunk" in report:
        lines.append(
            f"SIP trunk: {report['trunk']['calls_placed']} calls placed, "
            f"{report['trunk']['seen_by_carrier']} seen by the carrier"
        )
    lines.append(f"logs: {report['logs']}")
    return "\n".join(lines)
