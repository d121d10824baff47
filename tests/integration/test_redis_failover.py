"""Redis fails over in the middle of calls: a master, a replica and three sentinels on loopback,
two ``robot worker`` processes on the Sentinel URL, the real Asterisk placing the calls.

The master is SIGKILLed while calls are up and more orders are due. What Asterisk really placed
is counted on an AMI session of the test's own (one ``Local/<digits>@dozvon-customer...;1``
leg per call, opened and closed times); what the CRM received is counted at the stand-in CRM.
Shown: dialing resumes on the promoted master, no acknowledged order is lost, no order and no
phone is called twice (at once or at all, with one attempt per order), one ``order.final``
webhook per order. The figures are printed (``-s``) and quoted in docs/capacity.md."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from robot.adapters.ami.codec import AmiMessage
from robot.adapters.ami.connection import AmiConnection
from robot.adapters.redis_store import RedisOrderStore
from robot.config import REPO_ROOT, Settings
from robot.core.models import parse_order
from robot.devtools.asterisk.runtime import AsteriskRuntime, environment_problem
from robot.devtools.demo import SCENARIOS, Crm, phone_for
from robot.devtools.redis_sentinel_set import SentinelSet
from robot.testing import free_port

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(300)]

_problem = environment_problem(Settings().asterisk_root)
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"Asterisk root unusable: {_problem}"))

AMI_SECRET, SECRET = "fo-ami-secret", "fo-secret"
BY_CODE = {s.code: s for s in SCENARIOS}
POLICY = {"hours": "00:00-24:00", "max_attempts": 1, "min_gap": "0s"}


@dataclass
class Legs:
    """Customer legs Asterisk opened, keyed by Uniqueid: (number, opened, closed) in
    monotonic seconds, from the test's own AMI session."""

    legs: dict[str, list] = field(default_factory=dict)

    def on_ami_event(self, msg: AmiMessage) -> None:
        chan = msg.get("Channel") or ""
        if not (chan.startswith("Local/") and "@dozvon-customer" in chan and chan.endswith(";1")):
            return
        uid = msg.get("Uniqueid") or ""
        if msg.event == "Newchannel":
            self.legs[uid] = [chan[len("Local/") : chan.index("@")], time.monotonic(), None]
        elif msg.event == "Hangup" and uid in self.legs:
            self.legs[uid][2] = time.monotonic()

    def on_ami_connected(self) -> None:
        pass

    def on_ami_lost(self) -> None:
        pass

    def by_number(self) -> dict[str, list[tuple[float, float | None]]]:
        out: dict[str, list[tuple[float, float | None]]] = {}
        for number, opened, closed in self.legs.values():
            out.setdefault(number, []).append((opened, closed))
        return {n: sorted(v) for n, v in out.items()}


@dataclass
class Stack:
    workdir: Path
    redis: SentinelSet
    ami_port: int
    crm: Crm
    crm_url: str
    store: RedisOrderStore
    legs: Legs
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOZVON_")}
        env.update({
            "DOZVON_REDIS_URL": self.redis.url, "DOZVON_AMI_PORT": str(self.ami_port),
            "DOZVON_AMI_SECRET": AMI_SECRET, "DOZVON_AUDIOSOCKET_PORT": str(free_port()),
            "DOZVON_DIAL_TEMPLATE": "Local/{digits}@dozvon-customer/n",
            "DOZVON_RING_TIMEOUT_S": "4", "DOZVON_LISTEN_TIMEOUT_S": "3",
            "DOZVON_WEBHOOK_URL": self.crm_url, "DOZVON_WEBHOOK_SECRET": SECRET,
            "DOZVON_LEASE_S": "30", "DOZVON_WORKER_ID": name, "DOZVON_ASR_LANGUAGES": "",
            "DOZVON_MAX_CONCURRENT_CALLS": "4", "DOZVON_VAR_DIR": str(self.workdir / name),
            "DOZVON_AMI_RECONNECT_MAX_S": "1", "DOZVON_POLICY_JSON": json.dumps(POLICY),
        })  # fmt: skip
        with open(self.workdir / f"{name}.log", "ab") as out:
            self.workers.append(subprocess.Popen(
                [sys.executable, "-m", "robot", "worker"], env=env, cwd=REPO_ROOT,
                stdout=out, stderr=subprocess.STDOUT,
            ))  # fmt: skip

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    async def wait_logged_in(self, name: str) -> None:
        async with asyncio.timeout(60):
            while "AMI default connected" not in self.log(name):
                await asyncio.sleep(0.1)

    async def add_until_acknowledged(self, oid: str, phone: str) -> float:
        """As a CRM would: retry until the store acknowledges; returns the monotonic time."""
        doc = {"order_id": oid, "phone": phone, "amount": "990", "shop_name": "Ромашка"}
        while True:
            try:
                await self.store.add_order(parse_order(doc), datetime.now(UTC))
                return time.monotonic()
            except Exception as e:
                if type(e).__name__ == "DuplicateOrder":  # an earlier try did land
                    return time.monotonic()
                await asyncio.sleep(0.2)


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    workdir = Path(tempfile.mkdtemp(prefix="dozvon-failover-"))
    base = Settings()
    redis = SentinelSet(workdir / "redis", down_after_ms=1000, failover_timeout_ms=3000)
    ami_port, crm_port = free_port(), free_port()
    asterisk = AsteriskRuntime(
        base.asterisk_root, ami_port, "dozvon", AMI_SECRET, "127.0.0.1", free_port(),
        base.audio_dir, instance=f"fo-{crm_port}",
    )  # fmt: skip
    crm = Crm(SECRET)
    app = web.Application()
    app.router.add_post("/crm", crm.handle)
    runner = web.AppRunner(app, access_log=None)
    legs = Legs()
    ami = AmiConnection("127.0.0.1", ami_port, "dozvon", AMI_SECRET, events="call",
                        reconnect_max_s=1.0, name="counter")  # fmt: skip
    ami.add_listener(legs)
    s: Stack | None = None
    store: RedisOrderStore | None = None
    try:
        await asyncio.to_thread(redis.start)
        store = RedisOrderStore.from_url(redis.url)
        await asyncio.to_thread(asterisk.start)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", crm_port).start()
        await ami.start()
        await ami.wait_connected(15)
        s = Stack(workdir, redis, ami_port, crm, f"http://127.0.0.1:{crm_port}/crm", store, legs)
        yield s
    finally:
        for proc in s.workers if s else ():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.to_thread(proc.wait, 30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if store is not None:
            await store.aclose()
        await ami.stop()
        await runner.cleanup()
        await asyncio.to_thread(asterisk.stop)
        asterisk.remove_files()
        redis.close()
        shutil.rmtree(workdir, ignore_errors=True)


async def test_master_killed_mid_calls(stack: Stack):
    for name in ("worker-a", "worker-b"):
        stack.spawn(name)
    await asyncio.gather(stack.wait_logged_in("worker-a"), stack.wait_logged_in("worker-b"))
    # Key presses and line states (no speech model needed), calls of 4-20 s. Two orders of
    # each scenario share a phone number: never two calls to it at once.
    plan = [(4, "confirmed"), (5, "rejected"), (6, "busy"), (7, "no_answer")]
    orders: dict[str, tuple[str, str]] = {}
    for n in range(2):
        for i, (code, want) in enumerate(plan):
            orders[f"B-{n}-{code}"] = (phone_for("ru", i, BY_CODE[code]), want)
    for oid, (phone, _) in orders.items():
        await stack.add_until_acknowledged(oid, phone)
    async with asyncio.timeout(60):  # answered calls are up: kill in the middle of them
        while sum(1 for _, o, c in stack.legs.legs.values() if c is None) < 3:
            await asyncio.sleep(0.05)
    old = stack.redis.master_port()
    assert old is not None
    killed_mono, killed_wall = time.monotonic(), datetime.now(UTC)
    await asyncio.to_thread(stack.redis.kill_master)
    # The CRM keeps sending orders through the outage (each retried until acknowledged).
    during = {f"D-{i}-{code}": (phone_for("ru", 20 + i, BY_CODE[code]), want)
              for i, (code, want) in enumerate(plan)}  # fmt: skip
    pusher = asyncio.gather(*(stack.add_until_acknowledged(o, p) for o, (p, _) in during.items()))
    new = await asyncio.to_thread(stack.redis.wait_for_failover, old)
    promoted_s = time.monotonic() - killed_mono
    acked_at = await pusher
    orders.update(during)

    async with asyncio.timeout(180):
        while not set(orders) <= set(stack.crm.final_by_order()):
            stack.crm.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stack.crm.changed.wait(), 0.5)

    # The killed master comes back and is made a replica of the promoted one.
    node = next(n for n in stack.redis.nodes if n.port == old)
    await asyncio.to_thread(node.start)
    await asyncio.to_thread(stack.redis.wait_role, node, "slave")

    finals = stack.crm.final_by_order()
    legs = stack.legs.by_number()
    placed = sum(len(v) for v in legs.values())
    lost = [o for o in orders if o not in finals or await stack.store.get_order(o) is None]
    wrong = {o: (finals[o]["call"]["outcome"], want) for o, (_, want) in orders.items()
             if finals[o]["call"]["outcome"] != want}  # fmt: skip
    doubled_orders = [o for o in orders if len(finals[o]["history"]) != 1]
    overlapping = [
        n for n, v in legs.items() if any(b[0] < (a[1] or 1e18) for a, b in itertools.pairwise(v))
    ]
    final_posts: dict[str, int] = {}
    for e in stack.crm.events:
        if e.get("final"):
            final_posts[e["order_id"]] = final_posts.get(e["order_id"], 0) + 1
    # No master exists for down-after-milliseconds (1 s) after the kill: a call started later
    # was claimed on the promoted master. (One started within it was claimed, and its claim
    # replicated, just before the kill.)
    after_kill = sorted(
        (datetime.fromisoformat(c["created_at"]) - killed_wall).total_seconds()
        for e in finals.values() for c in e["history"]
    )  # fmt: skip
    resume_s = next((t for t in after_kill if t > 1.0), None)
    logs = "".join(stack.log(n) for n in ("worker-a", "worker-b"))
    report = {
        "orders": len(orders), "calls_placed": placed, "lost": len(lost),
        "doubled_orders": len(doubled_orders), "phones_called_twice_at_once": len(overlapping),
        "final_webhooks": sum(final_posts.values()), "orders_with_one_final": sum(
            1 for n in final_posts.values() if n == 1),
        "promoted_after_s": round(promoted_s, 2),
        "first_dial_on_new_master_s": round(resume_s, 2) if resume_s is not None else None,
        "dials_racing_the_kill": sum(1 for t in after_kill if 0 <= t <= 1.0),
        "claims_not_replicated": logs.count("claim not replicated"),
        "worker_redis_errors_logged": logs.count("Redis error") + logs.count("failed, retrying"),
        "last_outage_order_acknowledged_after_s": round(max(acked_at) - killed_mono, 2),
    }  # fmt: skip
    print("\nredis failover:", json.dumps(report))

    assert stack.crm.bad_signatures == 0
    assert not lost, lost
    assert not wrong, wrong
    assert not doubled_orders, doubled_orders
    assert not overlapping, overlapping
    assert placed == len(orders)  # one call per order: Asterisk placed nothing twice
    assert final_posts == dict.fromkeys(orders, 1)
    assert resume_s is not None and new != old
    assert all(w.poll() is None for w in stack.workers)  # both workers rode it out
