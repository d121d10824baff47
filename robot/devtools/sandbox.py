"""A dashboard on real Redis with a real dialer whose calls are simulated (no Asterisk).

For the browser tests and ``scripts/screenshots.py``: the whole HTTP application (intake API,
dashboard, metrics) on a local port, and a :class:`~robot.engine.dialer.Dialer` wired exactly
as in ``robot run`` (live call board, run-time controls) except that its originator is
:class:`robot.testing.FakeOriginator`: the caller decides when a call rings out, is busy, or
is answered, and then presses keys as the customer (``robot.testing.FakeMedia``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from robot.adapters.order_control import OrderControl
from robot.adapters.redis_control import RedisRunControl
from robot.adapters.redis_limits import RedisCallLimits
from robot.adapters.redis_live import RedisCallBoard
from robot.adapters.redis_store import RedisOrderStore
from robot.config import Settings
from robot.core.models import Outcome
from robot.engine.calls import CallTracker
from robot.engine.control import DialerControl
from robot.engine.dialer import Dialer
from robot.engine.policy_gate import PolicyGate, permissive_policy
from robot.engine.routing import CallRouter
from robot.ports import OriginateRequest, RunControls, Trunk, WorkerReport
from robot.service import dialer_config
from robot.supervision import join_task
from robot.testing import FakeOriginator, FakePrompts, free_port
from robot.web.app import make_web_app

log = logging.getLogger(__name__)

API_TOKEN = "sandbox-token"


class _OneServer:
    """The sandbox's single simulated Asterisk server, always up."""

    def available(self) -> list[Trunk]:
        return [Trunk("default")]


class CountingControl(RedisRunControl):
    """Counts the dialer's control reads, so a test can wait for the dialer to have looked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads = 0
        self.last: RunControls | None = None
        self.read_done = asyncio.Condition()

    async def read(self) -> RunControls:
        self.last = await super().read()
        self.reads += 1
        async with self.read_done:
            self.read_done.notify_all()
        return self.last

    async def report(self, report: WorkerReport) -> None:
        await super().report(report)


@dataclass
class Sandbox:
    settings: Settings
    store: RedisOrderStore
    tracker: CallTracker
    board: RedisCallBoard
    originator: FakeOriginator
    control: CountingControl
    dialer: Dialer
    runner: web.AppRunner
    url: str
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def push_order(self, doc: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.settings.api_token}"}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.url}/api/v1/orders", json=doc, headers=headers) as resp,
        ):
            body = await resp.json()
            if resp.status not in (200, 201):
                raise RuntimeError(f"intake refused {doc.get('order_id')}: {body}")
            return dict(body)

    async def next_call(self, timeout_s: float = 30.0) -> OriginateRequest:
        return await asyncio.wait_for(self.originator.dialed.get(), timeout_s)

    async def control_reads_after(self, n: int, timeout_s: float = 30.0) -> None:
        """Wait until the dialer has read the controls ``n`` more times."""
        target = self.control.reads + n
        async with asyncio.timeout(timeout_s), self.control.read_done:
            await self.control.read_done.wait_for(lambda: self.control.reads >= target)

    async def stop(self) -> None:
        await self.dialer.drain(5.0)
        for t in self.tasks:
            await join_task(t, grace_s=3.0)
        await self.runner.cleanup()
        await self.board.stop()
        await self.store.aclose()


async def start_sandbox(
    redis_url: str,
    *,
    port: int | None = None,
    flush: bool = True,
    dialing: bool = True,
    **overrides: Any,
) -> Sandbox:
    """Start the web app and a simulated dialer on ``redis_url``; ``overrides`` go to Settings
    (e.g. ``supervisors``, ``var_dir``). ``dialing=False``: the web app alone (the dialing is
    another process's, see ``main``)."""
    port = port or free_port()
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "http_host": "127.0.0.1",
        "http_port": port,
        "api_token": API_TOKEN,
        "worker_id": "sandbox-worker",
        "listen_timeout_s": 300.0,
        "max_call_s": 600.0,
        "ring_timeout_s": 300.0,
        **overrides,
    }
    settings = Settings(**values)
    store = RedisOrderStore.from_settings(settings)
    if flush:
        await store.redis.flushdb()
    board = RedisCallBoard(
        store.redis, worker_id=settings.worker_id, timezone=settings.dashboard_timezone
    )
    board.start()
    tracker = CallTracker(events=board)
    originator = FakeOriginator(tracker)
    speech = {"speech": [{"language": "ru", "model": "keys only (sandbox)", "source": "dtmf"}]}
    control = CountingControl(store.redis, worker_info=speech)
    orders = OrderControl(store)
    dialer = Dialer(
        # As in ``robot run`` (finals without a call, reopened orders), any hour, one attempt.
        gate=PolicyGate(permissive_policy(1), finalizer=orders, reopens=orders),
        store=store,
        originator=originator,
        tracker=tracker,
        prompts=FakePrompts(),
        recognizer=None,
        is_speech_factory=lambda: lambda frame: False,
        config=dialer_config(settings.dialer, {}),
        control=DialerControl(control),
        # The one admission gate, as in ``robot run``: the dashboard's pause and limits.
        admission=CallRouter(RedisCallLimits(store.redis), _OneServer()),
    )
    app = make_web_app(settings, store, speech)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, port).start()
    sandbox = Sandbox(
        settings, store, tracker, board, originator, control, dialer, runner,
        f"http://127.0.0.1:{port}",
    )  # fmt: skip
    if dialing:
        sandbox.tasks.append(asyncio.create_task(dialer.run(), name="sandbox-dialer"))
    return sandbox


@contextlib.asynccontextmanager
async def sandbox(redis_url: str, **kwargs: Any) -> AsyncIterator[Sandbox]:
    box = await start_sandbox(redis_url, **kwargs)
    try:
        yield box
    finally:
        await box.stop()


def supervisors_json(accounts: dict[str, tuple[str, str]]) -> str:
    """``{"name": ("role", "password")}`` -> the DOZVON_SUPERVISORS JSON."""
    from robot.web.auth import hash_password

    return json.dumps(
        [{"name": n, "role": r, "password": hash_password(p)} for n, (r, p) in accounts.items()]
    )


async def add_history(
    store: RedisOrderStore,
    doc: dict[str, Any],
    created: Any,
    calls: list[tuple[Outcome, float | None, list[str]]] = (),  # type: ignore[assignment]
) -> None:
    """Store an order created at ``created`` with finished calls, as the dialer would leave it:
    ``calls`` are (outcome, talk seconds or None if nobody answered, transcript), a minute
    apart. Orders without a conclusive answer stay queued, due in a year (never dialed here).
    For reports, lists and screenshots that need history without waiting for calls."""
    from datetime import timedelta

    from robot.core.models import CallAttempt, Order, OrderStatus
    from robot.core.policy import FINAL_BY_OUTCOME, decide
    from robot.core.policy_config import PolicyConfig

    # What the AMI mapping and the dialog write as a call's reason, by outcome.
    reasons = {Outcome.CONFIRMED: "dtmf 1", Outcome.REJECTED: "dtmf 2", Outcome.BUSY: "busy",
               Outcome.NO_ANSWER: "rang out, no answer", Outcome.UNCLEAR: "silence",
               Outcome.FAILED: "congestion", Outcome.DNC: "dtmf 9",
               Outcome.LATER: "said: перезвоните позже"}  # fmt: skip
    history: list[CallAttempt] = []

    order = Order.model_validate(doc)
    later = created + timedelta(days=365)
    await store.add_order(order, created, due_at=later)
    for n, (outcome, talk_s, transcript) in enumerate(calls, 1):
        start = created + timedelta(minutes=n)
        answered = start + timedelta(seconds=5) if talk_s is not None else None
        end = (
            answered + timedelta(seconds=talk_s)
            if answered and talk_s
            else start + timedelta(seconds=30)
        )
        await store.redis.hincrby(store.prefix + f"order:{order.order_id}", "attempts", 1)
        call = CallAttempt(
            call_id=f"{order.order_id}-c{n}", order_id=order.order_id, attempt=n,
            phone=order.phone, language=order.language, created_at=start, originated_at=start,
            answered_at=answered, ended_at=end, outcome=outcome,
            reason=reasons.get(outcome, outcome.value), transcript=transcript,
        )  # fmt: skip
        history.append(call)
        status = FINAL_BY_OUTCOME.get(outcome, OrderStatus.QUEUED)
        why = decide(order, history, end, False, PolicyConfig()).reason
        await store.finish_call(call, status, end, reason=why, due_at=later)


async def _serve(redis_url: str, worker_id: str) -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    box = await start_sandbox(redis_url, flush=False, worker_id=worker_id)
    print(f"sandbox worker {worker_id} ready on {box.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await box.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m robot.devtools.sandbox REDIS_URL WORKER_ID``: a sandbox as a process of its own,
    a dialing worker the tests can freeze (SIGSTOP) and kill."""
    import sys

    redis_url, worker_id = (argv if argv is not None else sys.argv[1:])[:2]
    asyncio.run(_serve(redis_url, worker_id))


if __name__ == "__main__":
    main()
