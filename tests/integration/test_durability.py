"""Crash safety on real processes: ``robot worker`` subprocesses, a real redis-server with AOF,
a real Asterisk. An independent AMI session counts the calls Asterisk actually placed (each
customer leg is one ``Local/<digits>@dozvon-customer-...;1`` channel), so "called exactly once"
is measured outside the robot, not taken from its own bookkeeping."""

from __future__ import annotations

import asyncio
import contextlib
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
from robot.core.models import OrderStatus, parse_order
from robot.devtools.asterisk.runtime import AsteriskRuntime, environment_problem
from robot.devtools.demo import SCENARIOS, Crm, phone_for
from robot.devtools.redis_server import RedisServer
from robot.testing import free_port

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(400)]

_problem = environment_problem(Settings().asterisk_root)
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"Asterisk root unusable: {_problem}"))

AMI_SECRET, SECRET = "dur-ami-secret", "dur-secret"
SCENARIO = {s.code: s for s in SCENARIOS}


@dataclass
class ChannelLog:
    """Customer legs Asterisk created and ended, as seen on AMI (monotonic seconds)."""

    opened: dict[str, tuple[float, str]] = field(default_factory=dict)  # uid -> (t, channel)
    closed: dict[str, float] = field(default_factory=dict)

    def on_ami_event(self, msg: AmiMessage) -> None:
        channel = msg.get("Channel") or ""
        if "@dozvon-customer" not in channel or not channel.endswith(";1"):
            return
        uid = msg.get("Uniqueid") or ""
        if msg.event == "Newchannel":
            self.opened[uid] = (time.monotonic(), channel)
        elif msg.event == "Hangup":
            self.closed[uid] = time.monotonic()

    def on_ami_connected(self) -> None:
        pass

    def on_ami_lost(self) -> None:
        pass

    def calls_to(self, digits: str) -> list[tuple[float, float | None]]:
        """(opened, closed) of every leg to this number, in order."""
        return sorted(
            (t, self.closed.get(uid))
            for uid, (t, ch) in self.opened.items()
            if ch.startswith(f"Local/{digits}@")
        )


@dataclass
class Rig:
    workdir: Path
    redis: RedisServer
    asterisk: AsteriskRuntime
    ami_port: int
    crm: Crm
    crm_url: str
    store: RedisOrderStore
    channels: ChannelLog
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(self, name: str, policy: dict, **env: str) -> subprocess.Popen[bytes]:
        full = {k: v for k, v in os.environ.items() if not k.startswith("DOZVON_")}
        full.update({
            "DOZVON_REDIS_URL": self.redis.url, "DOZVON_AMI_PORT": str(self.ami_port),
            "DOZVON_AMI_SECRET": AMI_SECRET, "DOZVON_AUDIOSOCKET_PORT": str(free_port()),
            "DOZVON_DIAL_TEMPLATE": "Local/{digits}@dozvon-customer/n",
            "DOZVON_RING_TIMEOUT_S": "3", "DOZVON_LISTEN_TIMEOUT_S": "3",
            "DOZVON_WEBHOOK_URL": self.crm_url, "DOZVON_WEBHOOK_SECRET": SECRET,
            "DOZVON_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",  # the loopback CRM
            "DOZVON_LEASE_S": "3", "DOZVON_WORKER_ID": name, "DOZVON_ASR_LANGUAGES": "",
            "DOZVON_VAR_DIR": str(self.workdir / f"var-{name}"), "DOZVON_AMI_RECONNECT_MAX_S": "1",
            "DOZVON_POLICY_JSON": json.dumps(policy), **env,
        })  # fmt: skip
        with open(self.workdir / f"{name}.log", "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "robot", "worker"], env=full, cwd=REPO_ROOT,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.workers[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    async def ready(self, name: str, timeout_s: float = 60.0) -> None:
        """The worker logged in to AMI (it dials nothing before that anyway)."""
        async with asyncio.timeout(timeout_s):
            while "AMI default connected" not in self.log(name):
                assert self.workers[name].poll() is None, self.log(name)[-3000:]
                await asyncio.sleep(0.1)

    async def add(self, oid: str, phone: str) -> None:
        doc = {"order_id": oid, "phone": phone, "amount": "990", "shop_name": "Ромашка"}
        await self.store.add_order(parse_order(doc), datetime.now(UTC))  # acknowledged here

    async def finals(self, ids: list[str], timeout_s: float = 120.0) -> dict[str, dict]:
        async with asyncio.timeout(timeout_s):
            while not set(ids) <= set(self.crm.final_by_order()):
                self.crm.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.crm.changed.wait(), 0.5)
        return self.crm.final_by_order()

    def finals_per_order(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.crm.events:
            if e["final"]:
                counts[e["order_id"]] = counts.get(e["order_id"], 0) + 1
        return counts


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    workdir = Path(tempfile.mkdtemp(prefix="dozvon-dur-"))
    base = Settings()
    redis = RedisServer(workdir / "redis")
    redis.start()
    ami_port, crm_port = free_port(), free_port()
    asterisk = AsteriskRuntime(
        base.asterisk_root, ami_port, "dozvon", AMI_SECRET, "127.0.0.1", free_port(),
        base.audio_dir, instance=f"dur-{crm_port}",
    )  # fmt: skip
    crm = Crm(SECRET)
    app = web.Application()
    app.router.add_post("/crm", crm.handle)
    runner = web.AppRunner(app, access_log=None)
    channels = ChannelLog()
    ami = AmiConnection("127.0.0.1", ami_port, "dozvon", AMI_SECRET, events="call",
                        reconnect_max_s=1.0, name="observer")  # fmt: skip
    ami.add_listener(channels)
    store = RedisOrderStore.from_url(redis.url)
    r = None
    try:
        await asyncio.to_thread(asterisk.start)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", crm_port).start()
        await ami.start()
        await ami.wait_connected(15)
        r = Rig(workdir, redis, asterisk, ami_port, crm, f"http://127.0.0.1:{crm_port}/crm",
                store, channels)  # fmt: skip
        yield r
    finally:
        for proc in r.workers.values() if r else ():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.to_thread(proc.wait, 30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        await store.aclose()
        await ami.stop()
        await runner.cleanup()
        await asyncio.to_thread(asterisk.stop)
        asterisk.remove_files()
        redis.close()
        shutil.rmtree(workdir, ignore_errors=True)


def digits(phone: str) -> str:
    return phone.lstrip("+")


async def test_sigkilled_worker_mid_call_is_called_again_exactly_once(rig: Rig):
    policy = {"hours": "00:00-24:00", "max_attempts": 2, "min_gap": "0s",
              "retry": {"failed": {"delays": ["1s"]}, "unclear": {"delays": ["1s"]}}}  # fmt: skip
    phone = phone_for("ru", 1, SCENARIO[3])  # answers and stays silent
    rig.spawn("worker-a", policy)
    await rig.ready("worker-a")
    await rig.add("K-1", phone)
    async with asyncio.timeout(60):  # the customer answered: the robot is mid-call
        while not any(c.answered_at for c in (await rig.store.get_order("K-1")).calls):
            await asyncio.sleep(0.05)
    rig.workers["worker-a"].send_signal(signal.SIGKILL)
    await asyncio.to_thread(rig.workers["worker-a"].wait, 10)
    # Its call had been answered: called again only after the grace for a kept answer.
    rig.spawn("worker-b", policy, DOZVON_ANSWERED_REAP_GRACE_S="1")

    final = (await rig.finals(["K-1"]))["K-1"]
    assert final["status"] == OrderStatus.EXHAUSTED.value
    lost, second = final["history"]
    assert lost["outcome"] is None and lost["answered_at"] is not None  # died with worker A
    assert second["outcome"] == "unclear"
    assert "lease expired" in rig.log("worker-b")
    # Asterisk placed exactly two calls, and the second only after the first had ended.
    (_, close1), (open2, close2) = rig.channels.calls_to(digits(phone))
    assert close1 is not None and close1 < open2 and close2 is not None
    assert rig.finals_per_order() == {"K-1": 1}
    assert await rig.store.redis.zcard(f"dozvon:phonecalls:{phone}") == 2


async def test_two_workers_never_call_one_order_or_one_phone_twice_at_once(rig: Rig):
    policy = {"hours": "00:00-24:00", "max_attempts": 1, "min_gap": "0s"}
    for name in ("worker-a", "worker-b"):
        rig.spawn(name, policy, DOZVON_MAX_CONCURRENT_CALLS="2")
    await asyncio.gather(rig.ready("worker-a"), rig.ready("worker-b"))
    phones = [phone_for("ru", i, SCENARIO[7]) for i in range(3)]  # ring 3 s, no answer
    ids = []
    for n in range(2):
        for i, phone in enumerate(phones):
            ids.append(f"T-{i}-{n}")
            await rig.add(ids[-1], phone)
    finals = await rig.finals(ids)
    assert {finals[i]["call"]["outcome"] for i in ids} == {"no_answer"}
    assert all(len(finals[i]["history"]) == 1 for i in ids)
    assert rig.finals_per_order() == dict.fromkeys(ids, 1)
    for phone in phones:
        legs = rig.channels.calls_to(digits(phone))
        assert len(legs) == 2, legs  # one call per order
        (_, close1), (open2, _) = legs
        assert close1 is not None and close1 < open2  # never two calls to one phone at once
    dialed = {name: rig.log(name).count(": dialing ") for name in ("worker-a", "worker-b")}
    assert sum(dialed.values()) == 6 and min(dialed.values()) >= 1, dialed


@pytest.mark.parametrize("crash", [False, True], ids=["clean-restart", "sigkill"])
async def test_redis_restart_loses_nothing_acknowledged(rig: Rig, crash: bool):
    policy = {"hours": "00:00-24:00", "max_attempts": 1, "min_gap": "0s"}
    rig.spawn("worker-a", policy)
    await rig.ready("worker-a")
    plan = [(3, "unclear"), (4, "confirmed"), (6, "busy"), (7, "no_answer")]
    before = [(f"R-{code}", phone_for("ru", 1, SCENARIO[code]), want) for code, want in plan]
    after = [(f"S-{code}", phone_for("ru", 2, SCENARIO[code]), want) for code, want in plan]
    for oid, phone, _ in before:
        await rig.add(oid, phone)
    async with asyncio.timeout(60):  # restart while calls are in flight
        while (await rig.store.counts())["calling"] == 0:
            await asyncio.sleep(0.05)
    await asyncio.to_thread(rig.redis.restart, crash=crash)
    for oid, phone, _ in after:
        await rig.add(oid, phone)
    finals = await rig.finals([oid for oid, _, _ in before + after], timeout_s=180)
    for oid, phone, want in before + after:
        assert finals[oid]["call"]["outcome"] == want, (oid, finals[oid]["call"]["reason"])
        assert len(finals[oid]["history"]) == 1
        assert len(rig.channels.calls_to(digits(phone))) == 1, oid  # called exactly once
    assert rig.finals_per_order() == {oid: 1 for oid, _, _ in before + after}
    assert rig.workers["worker-a"].poll() is None  # the worker rode it out
