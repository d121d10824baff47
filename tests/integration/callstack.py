"""A whole Dozvon stack for integration tests: real Redis, real Asterisk (chroot), the real
service in-process, and a stand-in CRM receiving the signed webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from robot.config import Settings
from robot.devtools.asterisk.carrier import TrunkSpec, robot_trunk_overlay, wait_registered
from robot.devtools.asterisk.runtime import AsteriskRuntime
from robot.devtools.demo import DEMO_POLICY, Crm
from robot.devtools.redis_server import RedisServer
from robot.service import Service
from robot.testing import free_port

TOKEN, SECRET, AMI_SECRET = "test-token", "test-secret", "test-ami-secret"


@dataclass
class CallStack:
    settings: Settings
    redis: RedisServer
    asterisk: AsteriskRuntime
    service: Service
    crm: Crm
    runner: web.AppRunner
    http: aiohttp.ClientSession
    workdir: Path
    pushed: list[str] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    async def push(self, order: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(
            f"{self.api}/api/v1/orders", json=order, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as r:
            body = await r.json()
            assert r.status in (200, 201), body
        self.pushed.append(order["order_id"])
        return body

    async def final(self, order_id: str, timeout_s: float = 90.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s):
            while order_id not in self.crm.final_by_order():
                self.crm.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.crm.changed.wait(), 0.5)
        return self.crm.final_by_order()[order_id]


@contextlib.asynccontextmanager
async def call_stack(*, trunk: TrunkSpec | None = None, **overrides: Any):
    """``trunk``: the robot's Asterisk gets a SIP trunk to that (loopback) carrier and the
    stack starts once it is registered there."""
    workdir = Path(tempfile.mkdtemp(prefix="dozvon-it-"))
    base = Settings()
    redis = RedisServer(workdir / "redis")
    redis.start()
    crm_port = free_port()
    defaults: dict[str, Any] = dict(
        redis_url=redis.url,
        http_port=free_port(),
        api_token=TOKEN,
        ami_port=free_port(),
        ami_secret=AMI_SECRET,
        audiosocket_port=free_port(),
        dial_template="Local/{digits}@dozvon-customer/n",
        ring_timeout_s=5,
        listen_timeout_s=3,
        webhook_url=f"http://127.0.0.1:{crm_port}/crm",
        webhook_secret=SECRET,
        webhook_allowed_hosts=[f"127.0.0.1:{crm_port}"],  # the loopback CRM, listed explicitly
        var_dir=workdir / "var",
        ami_reconnect_max_s=1.0,
        policy_json=DEMO_POLICY,  # any hour, one call per order
    )
    settings = Settings(**{**defaults, **overrides})
    asterisk = AsteriskRuntime(
        base.asterisk_root,
        settings.ami_port,
        settings.ami_user,
        AMI_SECRET,
        "127.0.0.1",
        settings.audiosocket_port,
        settings.audio_dir,
        instance=f"it-{crm_port}",
        overlay_dirs=robot_trunk_overlay(trunk)[0] if trunk else (),
        extra_placeholders=robot_trunk_overlay(trunk)[1] if trunk else None,
    )
    service = None
    runner = None
    http = None
    try:
        asterisk.start()
        if trunk is not None:
            await asyncio.to_thread(wait_registered, asterisk)
        crm = Crm(SECRET)
        app = web.Application()
        app.router.add_post("/crm", crm.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", crm_port).start()
        service = Service.build(settings)
        await service.start()
        await service.ami.wait_connected(15)
        http = aiohttp.ClientSession()
        yield CallStack(settings, redis, asterisk, service, crm, runner, http, workdir)
    finally:
        if http is not None:
            await http.close()
        if service is not None:
            await service.stop(drain_s=5)
        if runner is not None:
            await runner.cleanup()
        asterisk.stop()
        asterisk.remove_files()
        redis.close()


def order(order_id: str, phone: str, language: str = "ru", **extra: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "phone": phone,
        "amount": "2490",
        "currency": "RUB",
        "shop_name": "Ромашка" if language == "ru" else "Hana Mart",
        "language": language,
        **extra,
    }
