"""``robot bench``: N orders through the real intake and scheduler, answered at concurrency C.

The robot runs as child processes (``robot run``, one per worker, sharing one Redis), so its
CPU is measured apart from the load generator. Orders go in over HTTP, closed loop: at most C
are unfinished at any time (a new one is pushed when a final result reaches the stand-in CRM),
at most ``rate`` a second, so intake-to-Originate is measured with capacity free. Modes:

- ``protocol``: a fake Asterisk (``robot.testing.fake_ami``) accepts the Originates and
  simulated customers (``customers``) speak AudioSocket to the robot: the robot's own
  capacity, beyond what one Asterisk on this machine holds.
- ``asterisk``: the real chrooted Asterisk dials Local channels into the simulated customer
  dialplan (scenario 04 presses 1, 01 says yes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from robot.config import REPO_ROOT, Settings
from robot.devtools.bench.procstat import CpuMeter
from robot.devtools.bench.report import RunData, Timeline, build_report, plot
from robot.devtools.demo import Crm
from robot.testing import free_port

log = logging.getLogger(__name__)

TOKEN, SECRET, AMI_SECRET = "bench-token", "bench-secret", "bench-ami-secret"
SCENARIO = {"speech": 1, "dtmf": 4}  # dialplans/extensions.conf [dozvon-customer-scenario]
SAMPLE_S = 0.5


@dataclass
class BenchOptions:
    calls: int = 50
    concurrency: int = 10
    mode: str = "protocol"  # protocol | asterisk
    answer: str = "speech"  # speech (a recorded "yes") | dtmf (key 1)
    language: str = "ko"  # the order's language; speech needs its model installed
    workers: int = 1
    asr_processes: int = 0
    ring_s: float = 2.0  # protocol mode: mean time the phone rings before the customer answers
    rate: float = 50.0  # orders pushed per second at most
    redis: str = "single"  # single | sentinel (master + replica + 3 sentinels, WAIT 1)
    ramp_s: float = 30.0  # the first C orders are spread over this long (about one call)
    timeout_s: float = 900.0
    plot: Path | None = None
    workdir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)


def phone(language: str, index: int, scenario: int) -> str:
    """A valid mobile number, unique per index, ending in the scenario's two digits."""
    if language == "ko":
        return f"+8210{index % 1_000_000:06d}{scenario:02d}"
    return f"+7916{index % 100_000:05d}{scenario:02d}"


def make_orders(opts: BenchOptions, run_id: str) -> list[dict[str, Any]]:
    shop = "Hana Mart" if opts.language == "ko" else "Ромашка"
    return [
        {
            "order_id": f"b{run_id}-{i:05d}",
            "phone": phone(opts.language, i, SCENARIO[opts.answer]),
            "amount": "2490",
            "currency": "RUB",
            "shop_name": shop,
            "language": opts.language,
        }
        for i in range(opts.calls)
    ]


class Workers:
    """The robot's worker processes."""

    def __init__(self, env: dict[str, str], count: int, workdir: Path) -> None:
        self.ports = [(free_port(), free_port()) for _ in range(count)]  # http, audiosocket
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = env
        self.workdir = workdir

    def start(self) -> None:
        for i, (http, audio) in enumerate(self.ports):
            env = dict(self.env)
            env.update(
                {
                    "DOZVON_HTTP_PORT": str(http),
                    "DOZVON_AUDIOSOCKET_PORT": str(audio),
                    "DOZVON_WORKER_ID": f"bench-w{i}",
                }
            )
            with open(self.workdir / f"robot-{i}.log", "wb") as out:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "robot", "run"],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as http:
            for proc, (port, _) in zip(self.procs, self.ports, strict=True):
                while True:
                    if proc.poll() is not None:
                        raise RuntimeError(f"robot worker exited with {proc.returncode}")
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                            if r.status == 200:
                                break
                    if time.monotonic() > deadline:
                        raise RuntimeError("robot worker did not start")
                    await asyncio.sleep(0.2)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def robot_env(
    opts: BenchOptions, redis_url: str, ami_port: int, crm_port: int, workdir: Path
) -> dict[str, str]:
    per_worker = -(-opts.concurrency * 3 // (2 * opts.workers)) + 5
    env = dict(os.environ)
    env.update(
        {
            "DOZVON_REDIS_URL": redis_url,
            "DOZVON_API_TOKEN": TOKEN,
            "DOZVON_AMI_PORT": str(ami_port),
            "DOZVON_AMI_SECRET": AMI_SECRET,
            "DOZVON_AUDIOSOCKET_HOST": "127.0.0.1",
            "DOZVON_DIAL_TEMPLATE": "Local/{digits}@dozvon-customer/n",
            "DOZVON_RING_TIMEOUT_S": "15",
            "DOZVON_LISTEN_TIMEOUT_S": "4",
            "DOZVON_WEBHOOK_URL": f"http://127.0.0.1:{crm_port}/crm",
            "DOZVON_WEBHOOK_SECRET": SECRET,
            "DOZVON_WEBHOOK_ALLOWED_HOSTS": f"127.0.0.1:{crm_port}",  # the loopback CRM
            "DOZVON_MAX_CONCURRENT_CALLS": str(per_worker),
            "DOZVON_ASR_PROCESSES": str(opts.asr_processes),
            "DOZVON_VAR_DIR": str(REPO_ROOT / "var" / "bench"),  # keeps the TTS cache warm
            "DOZVON_ASR_LANGUAGES": opts.language if opts.answer == "speech" else "auto",
            # One call per order, at any hour: the bench measures calls, not the call policy.
            "DOZVON_CALLING_HOURS": "00:00-24:00",
            "DOZVON_POLICY_JSON": '{"max_attempts": 1}',
        }
    )
    env.update(opts.extra_env)
    return env


class ClosedLoop:
    """Pushes orders keeping at most C unfinished; counts final results per order."""

    def __init__(
        self, orders: list[dict[str, Any]], concurrency: int, rate: float, ramp_s: float = 0.0
    ) -> None:
        self.orders = orders
        self.concurrency = concurrency
        self.window = asyncio.Semaphore(concurrency)
        self.rate = rate
        self.ramp_s = ramp_s
        self.finals: dict[str, int] = {}
        self.pushed: list[str] = []
        self.done = asyncio.Event()
        self.t0_wall = 0.0
        self.last_final = 0.0

    def on_final(self, order_id: str) -> None:
        first = order_id not in self.finals
        self.finals[order_id] = self.finals.get(order_id, 0) + 1
        if first:
            self.last_final = time.time()
            self.window.release()
            if len(self.finals) >= len(self.orders):
                self.done.set()

    async def push_all(self, apis: list[str]) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        self.t0_wall = time.time()
        start = time.monotonic()
        async with aiohttp.ClientSession(headers=headers) as http:
            for i, order in enumerate(self.orders):
                await self.window.acquire()
                # The first C orders are spread over the ramp, as orders arrive on a real day;
                # pushed at once, every call would speak and listen in step.
                due = i / self.rate
                if i < self.concurrency and self.ramp_s > 0:
                    due = max(due, i * self.ramp_s / self.concurrency)
                wait = start + due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                api = apis[i % len(apis)]
                async with http.post(f"{api}/api/v1/orders", json=order) as r:
                    if r.status not in (200, 201):
                        raise RuntimeError(f"intake refused: {r.status} {await r.text()}")
                self.pushed.append(order["order_id"])


async def run_bench(opts: BenchOptions) -> dict[str, Any]:
    from robot.adapters.redis_store import RedisOrderStore
    from robot.devtools.redis_server import RedisServer

    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="dozvon-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    stack = contextlib.AsyncExitStack()
    async with stack:
        shutil.rmtree(workdir / "redis", ignore_errors=True)  # never a previous run's orders
        redis: Any
        if opts.redis == "sentinel":
            from robot.devtools.redis_sentinel_set import SentinelSet

            redis = SentinelSet(workdir / "redis")
            redis.start()
            stack.callback(redis.close)
            redis_pids = [n.pid for n in redis.nodes if n.pid]  # master and replica
            redis_url = redis.url
        else:
            redis = RedisServer(workdir / "redis")
            redis.start()
            stack.callback(redis.close)
            redis_pids = [redis.pid] if redis.pid else []
            redis_url = redis.url
        loop_ = ClosedLoop(
            make_orders(opts, str(int(time.time()) % 100000)),
            opts.concurrency,
            opts.rate,
            opts.ramp_s,
        )
        crm = Crm(SECRET)
        crm_port = free_port()
        stack.push_async_callback((await _serve_crm(crm, loop_, crm_port)).cleanup)
        ami_port = free_port()
        sim = await _start_simulator(opts, ami_port, workdir, stack)
        workers = Workers(
            robot_env(opts, redis_url, ami_port, crm_port, workdir), opts.workers, workdir
        )
        stack.callback(workers.stop)
        workers.start()
        await workers.wait_ready()
        if sim.wait_connected is not None:
            await sim.wait_connected(opts.workers)
        if os.geteuid() == 0:
            # The simulated phone network must not be the bottleneck on a shared machine: it
            # gets CPU before the robot (which started at normal priority).
            with contextlib.suppress(OSError):
                os.nice(-5)
        robot = CpuMeter([p.pid for p in workers.procs])
        asterisk = CpuMeter([sim.asterisk_pid]) if sim.asterisk_pid else None
        redis_cpu = CpuMeter(redis_pids[:1]) if redis_pids else None  # the master
        replica_cpu = CpuMeter(redis_pids[1:]) if len(redis_pids) > 1 else None
        cpu0, ast0 = robot.sample(), asterisk.sample() if asterisk else 0.0
        redis0 = redis_cpu.sample() if redis_cpu else 0.0
        replica0 = replica_cpu.sample() if replica_cpu else 0.0
        commands0, kinds0 = await _redis_commands(redis_url)
        me0 = _self_cpu()
        timeline = Timeline()
        sampler = asyncio.create_task(_sample(robot, cpu0, loop_, timeline))
        apis = [f"http://127.0.0.1:{http}" for http, _ in workers.ports]
        pusher = asyncio.create_task(loop_.push_all(apis))
        try:
            async with asyncio.timeout(opts.timeout_s):
                await loop_.done.wait()
        except TimeoutError:
            log.warning("bench: timed out with %d of %d results", len(loop_.finals), opts.calls)
        finally:
            pusher.cancel()
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pusher
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        cpu = robot.sample() - cpu0
        ast_cpu = asterisk.sample() - ast0 if asterisk else None
        loadgen_cpu = _self_cpu() - me0
        redis_cpu_s = redis_cpu.sample() - redis0 if redis_cpu else None
        replica_cpu_s = replica_cpu.sample() - replica0 if replica_cpu else None
        commands, kinds = await _redis_commands(redis_url)
        commands -= commands0
        wall = max(1e-3, (loop_.last_final or time.time()) - loop_.t0_wall)
        store = RedisOrderStore.from_url(redis_url)
        try:
            records = {o: await store.get_order(o) for o in loop_.pushed}
        finally:
            await store.aclose()
        data = RunData(
            mode=opts.mode,
            answer=opts.answer,
            calls=opts.calls,
            concurrency=opts.concurrency,
            workers=opts.workers,
            asr_processes=opts.asr_processes,
            t0_wall=loop_.t0_wall,
            wall_s=wall,
            pushed=list(loop_.pushed),
            records=records,
            finals=dict(loop_.finals),
            originates=sim.originates(),
            reply_latency_s=sim.reply_latencies(),
            robot_cpu_s=cpu,
            robot_peak_rss_mb=robot.peak_rss_bytes / 2**20,
            loadgen_cpu_s=loadgen_cpu,
            asterisk_cpu_s=ast_cpu,
            robot_frame_gaps=sim.frame_gaps(),
            timeline=timeline,
        )
        report = build_report(data)
        report.update(sim.health())
        n = max(1, len(loop_.pushed))
        report["redis_commands_per_call"] = round(commands / n, 1)
        per_kind = {k: (v - kinds0.get(k, 0)) / n for k, v in kinds.items()}
        report["redis_commands_per_call_by_kind"] = {
            k: round(v, 2) for k, v in sorted(per_kind.items(), key=lambda kv: -kv[1]) if v > 0
        }
        report["redis_cpu_ms_per_call"] = (
            None if redis_cpu_s is None else round(redis_cpu_s * 1000 / n, 2)
        )
        report["redis"] = opts.redis
        if replica_cpu_s is not None:
            report["redis_replica_cpu_ms_per_call"] = round(replica_cpu_s * 1000 / n, 2)
        report["load_average_1m"] = round(os.getloadavg()[0], 2)
        if opts.plot is not None:
            plot(data, report, opts.plot)
            report["plot"] = str(opts.plot)
        report["logs"] = str(workdir)
        (workdir / "report.json").write_text(json.dumps(report, indent=2))
        return report


async def _redis_commands(url: str) -> tuple[int, dict[str, int]]:
    """Commands Redis processed so far: the total and the count per command (``INFO
    commandstats``). Redis 7 counts the commands a Lua script calls too, besides its EVALSHA:
    these are commands executed, not client round trips."""
    from robot.adapters.redis_connect import redis_client

    r = redis_client(url)
    try:
        total = int((await r.info("stats"))["total_commands_processed"])
        stats = await r.info("commandstats")
        kinds = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
        return total, kinds
    finally:
        await r.aclose()


def _self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _sample(meter: CpuMeter, cpu0: float, loop_: ClosedLoop, tl: Timeline) -> None:
    while True:
        await asyncio.sleep(SAMPLE_S)
        if loop_.t0_wall:
            cpu = await asyncio.to_thread(meter.sample) - cpu0
            tl.t.append(time.time() - loop_.t0_wall)  # both lists grow together
            tl.robot_cpu_s.append(cpu)


async def _serve_crm(crm: Crm, loop_: ClosedLoop, port: int) -> web.AppRunner:
    """The stand-in CRM: checks signatures, tells the closed loop about final results."""

    async def handle(request: web.Request) -> web.Response:
        resp = await crm.handle(request)
        if resp.status == 200 and crm.events and crm.events[-1].get("final"):
            loop_.on_final(crm.events[-1]["order_id"])
        return resp

    app = web.Application()
    app.router.add_post("/crm", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@dataclass
class _Simulator:
    originates: Any = lambda: None
    reply_latencies: Any = list
    frame_gaps: Any = lambda: None
    wait_connected: Any = None
    asterisk_pid: int | None = None
    health: Any = dict


async def _start_simulator(
    opts: BenchOptions, ami_port: int, workdir: Path, stack: contextlib.AsyncExitStack
) -> _Simulator:
    if opts.mode == "asterisk":
        from robot.devtools.asterisk.runtime import AsteriskRuntime

        base = Settings()
        ast = AsteriskRuntime(
            base.asterisk_root,
            ami_port,
            "dozvon",
            AMI_SECRET,
            "127.0.0.1",
            9,
            base.audio_dir,
            instance=f"bench-{os.getpid()}",
        )
        await asyncio.to_thread(ast.start)
        stack.callback(ast.remove_files)
        stack.callback(ast.stop)
        return _Simulator(asterisk_pid=ast.pid)
    from robot.devtools.bench.protocol import ProtocolSimulator

    sim = ProtocolSimulator(opts.answer, opts.language, ring_s=opts.ring_s)
    await sim.start(ami_port)
    stack.push_async_callback(sim.stop)
    return _Simulator(
        originates=lambda: dict(sim.fake.originates_by_order),
        reply_latencies=sim.reply_latencies,
        frame_gaps=lambda: sim.frame_gaps,
        wait_connected=sim.wait_connected,
        health=sim.health,
    )
