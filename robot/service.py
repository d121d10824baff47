"""Composition root: reads settings once, builds the adapters, hands them to the engine.

``robot run`` runs everything in one process: HTTP intake, the Redis stream consumer, the
dialer, the AudioSocket server, the AMI connection and the webhook deliverer. SIGTERM stops
new dials and lets live calls finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from robot.adapters.ami.connection import AmiConnection
from robot.adapters.ami.pool import AsteriskPool
from robot.adapters.audiosocket.server import AudioSocketServer, PeerPolicy
from robot.adapters.dnc_store import DncStore
from robot.adapters.finish_journal import FileFinishJournal
from robot.adapters.intake_stream import IntakeStreamConsumer
from robot.adapters.order_control import HangupListener, OrderControl
from robot.adapters.prompt_audio import PromptLibrary
from robot.adapters.purpose_book import PurposeBook
from robot.adapters.redis_control import RedisRunControl
from robot.adapters.redis_limits import LimitSettings, RedisCallLimits
from robot.adapters.redis_live import RedisCallBoard
from robot.adapters.redis_store import RedisOrderStore
from robot.adapters.shop_registry import ShopRegistry
from robot.adapters.webhook import PARK_PER_SLOT, WebhookDeliverer
from robot.config import (
    AmiSettings,
    AsrSettings,
    DialerSettings,
    FilesSettings,
    LimitsSettings,
    MediaSettings,
    Settings,
    refuse_default_secrets,
)
from robot.core.vad import EnergyVad
from robot.engine.call_features import CallFeatures
from robot.engine.calls import CallTracker
from robot.engine.control import DialerControl
from robot.engine.dialer import Dialer, DialerConfig, ShopCallSettings
from robot.engine.policy_gate import PolicyGate
from robot.engine.routing import CallRouter
from robot.engine.session import SessionTiming
from robot.housekeeping import Housekeeping
from robot.policy_settings import load_policy, webhook_hosts
from robot.ports import ShopLookup
from robot.supervision import Component, Loop, Part, Supervisor, TaskBoard
from robot.web.api.policy import PolicyServices
from robot.web.app import make_web_app, runner_options

if TYPE_CHECKING:  # imported where built: loading Vosk is slow
    from robot.adapters.asr_pool import ProcessPoolRecognizer
    from robot.adapters.vosk_asr import VoskRecognizer

log = logging.getLogger(__name__)


def speech_detector() -> Callable[[bytes], bool]:
    """Per-call VAD: a frame is speech when the smoothed decision and the frame agree, so the
    hangover does not delay the timestamp of the end of speech."""
    vad = EnergyVad()

    def detect(frame: bytes) -> bool:
        vad.is_speech(frame)
        return vad.speaking and vad.voiced

    return detect


def call_features(
    dialer: DialerSettings, files: FilesSettings, ami: AmiSettings, pool: AsteriskPool
) -> CallFeatures:
    """Recording and operator transfer, as configured (issue 4)."""
    from robot.adapters.ami.originator import AmiOriginator
    from robot.adapters.ami.transfer import OperatorTransfer

    def originator_for(name: str) -> AmiOriginator | None:
        server = pool.servers.get(name)
        return server.originator if server is not None else None

    transfer = OperatorTransfer(originator_for, ami.robot_context)
    return CallFeatures(
        recordings_dir=files.var_dir / "recordings" if dialer.record_calls else None,
        transfer=transfer.transfer if dialer.operator_target else None,
    )


def add_retention_job(scheduler: object, dialer: DialerSettings, files: FilesSettings) -> None:
    """Daily deletion of recordings older than ``recordings_retention_days``."""
    from datetime import UTC, datetime

    from robot.engine.recording import purge_recordings

    days = dialer.recordings_retention_days
    if scheduler is None or days <= 0:
        return
    root = files.var_dir / "recordings"

    async def purge() -> None:
        today = datetime.now(UTC).date()
        await asyncio.to_thread(purge_recordings, root, days, today)

    scheduler.add_job(  # type: ignore[attr-defined]
        purge, "interval", hours=6, id="recordings-retention", next_run_time=datetime.now(UTC)
    )


def build_recognizer(asr: AsrSettings) -> VoskRecognizer | ProcessPoolRecognizer | None:
    """The Vosk recognizer for the installed models, or None (keys only), said out loud."""
    from robot.adapters.vosk_asr import VoskRecognizer

    rec: VoskRecognizer | ProcessPoolRecognizer
    if asr.asr_processes > 0:
        from robot.adapters.asr_pool import ProcessPoolRecognizer

        rec = ProcessPoolRecognizer.from_settings(asr, processes=asr.asr_processes)
    else:
        rec = VoskRecognizer.from_settings(asr)
    if not rec.languages():
        log.warning(
            "no speech model installed: calls will understand key presses only "
            "(run 'robot models list')"
        )
        return None
    for info in rec.describe():
        log.info("speech model for %s: %s (%s)", info["language"], info["model"], info["source"])
    return rec


def speech_info(recognizer: Any) -> dict[str, Any]:
    """Which speech models this process uses, for the dashboard (worker heartbeats)."""
    describe = getattr(recognizer, "describe", None)
    speech = list(describe()) if describe is not None else []
    return {"speech": [{k: str(v) for k, v in m.items()} for m in speech]}


def audiosocket_peers(media: MediaSettings, ami: AmiSettings) -> PeerPolicy | None:
    """The addresses AudioSocket accepts connections from (see Settings.audiosocket_peers)."""
    spec = media.audiosocket_peers.strip()
    if spec.lower() == "any":
        return None
    if spec.lower() != "asterisk":
        return PeerPolicy(networks=spec.split(","))
    return PeerPolicy(hosts=[s.host for s in ami.asterisk_server_list()])


def advertised_audiosocket(media: MediaSettings, bound_port: int) -> str | None:
    """What Asterisk is told to connect to for this worker's calls (see Settings)."""
    if media.audiosocket_advertise == "auto":  # this host's address, e.g. in a container
        return f"{socket.gethostbyname(socket.gethostname())}:{bound_port}"
    if media.audiosocket_advertise:
        return media.audiosocket_advertise
    if media.audiosocket_host in ("", "0.0.0.0", "::"):
        return None
    return f"{media.audiosocket_host}:{bound_port}"


def media_address(settings: MediaSettings, server: AudioSocketServer) -> Callable[[], str | None]:
    """The dialer's view of where Asterisk reaches ``server``: asked at each call, known once
    the server listens (its port may be chosen then); resolved once per port."""
    known: dict[int, str | None] = {}

    def address() -> str | None:
        if server.port not in known:
            known[server.port] = advertised_audiosocket(settings, server.port)
        return known[server.port]

    return address


def limit_settings(limits: LimitsSettings) -> LimitSettings:
    """The admission gate's configuration, from its settings group."""
    return LimitSettings(
        max_calls=limits.global_max_calls,
        cps=limits.calls_per_second,
        burst=limits.cps_burst,
        slot_ttl_s=limits.call_slot_ttl_s,
        backoff_min_cps=limits.trunk_backoff_min_cps,
        backoff_hold_s=limits.trunk_backoff_hold_s,
    )


def dialer_config(
    dialer: DialerSettings,
    shops: Mapping[str, ShopCallSettings] | ShopLookup,
    purposes: PurposeBook | None = None,
) -> DialerConfig:
    """The dialer's configuration, from its settings group (and the shops' caller IDs, the
    registry in the service, read at each call)."""
    return DialerConfig(
        worker_id=dialer.worker_id,
        dial_template=dialer.dial_template,
        caller_id=dialer.caller_id,
        ring_timeout_s=dialer.ring_timeout_s,
        max_concurrent_calls=dialer.max_concurrent_calls,
        lease_s=dialer.lease_s,
        amd=dialer.amd,
        max_reprompts=dialer.max_reprompts,
        announce_recording=dialer.announce_recording,
        machine_message=dialer.machine_message,
        operator_target=dialer.operator_target,
        shops=shops,
        purposes=(purposes or PurposeBook()).for_order,
        timing=SessionTiming(
            listen_timeout_s=dialer.listen_timeout_s, max_call_s=dialer.max_call_s
        ),
    )


def asterisk_state(pool: AsteriskPool) -> dict[str, Any]:
    """Each Asterisk server's AMI connection, sent with every worker heartbeat (health)."""
    return {
        "asterisk": [{"name": a["name"], "ami": a["ami"], "up": a["up"]} for a in pool.describe()]
    }


class DialerRun:
    """The dialer as a component: its claim loop runs under the supervisor (restarted with
    backoff when it raises); stop first lets the live calls finish (up to ``drain_s``), then
    ends the loop."""

    name = "dialer"

    def __init__(self, dialer: Dialer, loop: Loop, drain_s: float = 60.0) -> None:
        self.dialer, self.loop, self.drain_s = dialer, loop, drain_s

    @property
    def stop_timeout_s(self) -> float:
        return self.drain_s + self.loop.stop_timeout_s + 5.0

    async def start(self) -> None:
        await self.loop.start()

    async def stop(self) -> None:
        log.info("stopping: no new calls; waiting up to %.0f s for %d live call(s)",
                 self.drain_s, self.dialer.active)  # fmt: skip
        await self.dialer.drain(self.drain_s)
        await self.loop.stop()


@dataclass
class Service:
    settings: Settings
    store: RedisOrderStore
    ami: AmiConnection
    media: AudioSocketServer
    dialer: Dialer
    tracker: CallTracker
    recognizer: VoskRecognizer | ProcessPoolRecognizer | None
    runner: web.AppRunner | None = None
    consumer: IntakeStreamConsumer | None = None
    deliverer: WebhookDeliverer | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    pool: AsteriskPool | None = None  # every Asterisk server; ``ami`` is the first one's AMI
    limits: RedisCallLimits | None = None
    board: RedisCallBoard | None = None  # live call state for the dashboard
    policy: PolicyServices | None = None  # call policy, do-not-call list, cancel/update
    housekeeping: Housekeeping | None = None
    hangups: HangupListener | None = None
    with_http: bool = True  # False: a dialing worker (robot worker), no HTTP API
    task_board: TaskBoard = field(default_factory=TaskBoard)  # /healthz, /metrics
    shops: ShopRegistry | None = None  # robot.adapters.shop_registry
    supervisor: Supervisor | None = None  # made by start(), from components()

    @classmethod
    def build(cls, settings: Settings, *, with_http: bool = True) -> Service:
        """Every component from its own settings group; ``with_http`` False: a dialing worker.
        Refuses the shipped placeholder secrets unless everything is on loopback."""
        refuse_default_secrets(settings, http=with_http)
        dialing, files, ami = settings.dialer, settings.files, settings.ami
        # A claimed delivery may wait for its CRM's slot before its own attempt (webhook.py).
        visibility = max(60.0, (PARK_PER_SLOT + 2) * settings.webhook.webhook_timeout_s)
        store = RedisOrderStore.from_settings(settings.redis, delivery_visibility_s=visibility)
        store.answered_reap_grace_s = dialing.answered_reap_grace_s
        board = RedisCallBoard(
            store.redis, worker_id=dialing.worker_id, timezone=settings.web.dashboard_timezone
        )
        tracker = CallTracker(events=board)
        # AMD results arrive as UserEvents: the "user" class must be in the AMI login.
        events = "call,system,user" if dialing.amd else "call,system"
        pool = AsteriskPool.from_settings(ami, tracker, events=events)
        limits = RedisCallLimits(store.redis, limit_settings(settings.limits))
        recognizer = build_recognizer(settings.asr)
        # A bad shops file stops the start.
        shops = ShopRegistry.from_settings(settings.tenants, store.redis)
        dnc, control = DncStore(store.redis), OrderControl(store, shops)
        policy = PolicyServices(dnc, control, load_policy(settings.policy))
        purposes = PurposeBook(shops)  # each shop's purposes and clips
        prompts = PromptLibrary(
            files.audio_dir, files.var_dir / "tts-cache",
            purposes=purposes.for_order, clips_dirs=purposes.clips_dir,
        )  # fmt: skip
        media_settings = settings.media
        media = AudioSocketServer(
            media_settings.audiosocket_host, media_settings.audiosocket_port, tracker,
            allowed_peers=audiosocket_peers(media_settings, ami),
        )  # fmt: skip
        dialer = Dialer(
            gate=PolicyGate(
                policy.config,
                dnc=dnc,
                phone_log=dnc,
                finalizer=control,
                reopens=control,
                shops=shops,
                purposes=purposes.for_order,
            ),
            store=store,
            originator=pool,
            admission=CallRouter(limits, pool),
            tracker=tracker,
            prompts=prompts,
            recognizer=recognizer,
            is_speech_factory=speech_detector,
            config=dialer_config(dialing, shops, purposes),
            control=DialerControl(
                RedisRunControl(
                    store.redis,
                    worker_info=speech_info(recognizer),
                    probe=lambda: asterisk_state(pool),
                )
            ),
            features=call_features(dialing, files, ami, pool),
            journal=FileFinishJournal(
                dialing.finish_journal_dir or files.var_dir / "journal", dialing.worker_id
            ),
            media_address=media_address(settings.media, media),
        )
        service = cls(
            settings, store, pool.first.conn, media, dialer, tracker, recognizer,
            pool=pool, limits=limits, board=board, policy=policy, shops=shops,
            with_http=with_http,
        )  # fmt: skip
        tasks = service.task_board
        service.consumer = IntakeStreamConsumer(
            store.redis, store, consumer=dialing.worker_id,
            default_region=settings.policy.default_region, control=control,
            webhook_hosts=webhook_hosts(settings.webhook), tasks=tasks,
        )  # fmt: skip
        service.deliverer = WebhookDeliverer(store, settings.webhook, tasks=tasks, shops=shops)
        service.housekeeping = Housekeeping(store, dialer, lease_s=dialing.lease_s)
        service.hangups = HangupListener(control, dialer.hang_up_order)
        return service

    def http_app(self) -> web.Application:
        return make_web_app(
            self.settings, self.store, speech_info(self.recognizer),
            policy=self.policy, tasks=self.task_board, shops=self.shops,
        )  # fmt: skip

    def components(self) -> list[Component]:
        """Everything this process runs, in start order. The supervisor stops them in
        reverse, so this list is also the shutdown order: no new dials and the live calls
        drained, then intake stopped, results flushed to the CRM, ..., Redis closed last
        (and after it the journal of results a Redis outage left behind)."""
        s, dialer, board = self.settings, self.dialer, self.task_board
        parts: list[Component] = [
            # Load the model before the first call, not during it (about a second).
            Part("recognizer", on_start=self._preload),
            Part("finish-journal", on_stop=getattr(dialer.journal, "close", None)),
            Part("redis-store", on_start=self.store.start, on_stop=self.store.aclose),
        ]
        if self.board is not None:
            parts.append(Part("live-board", self.board.start, self.board.stop))
        if self.shops is not None:  # the API's shops and every shop's limits, before dialing
            parts.append(Part("shop-registry", self.shops.start, self.shops.stop))
        if self.limits is not None:
            parts.append(Part("call-limits", self.limits.start, self.limits.stop))
        asterisk = self.pool or self.ami
        parts.append(Part("asterisk", asterisk.start, asterisk.stop))
        parts.append(Part("audiosocket", self.media.start, self.media.stop))
        if self.with_http:
            parts.append(Part("http", self._start_http, self._stop_http))
        parts.append(Part("task-board", on_stop=board.close))
        # Results kept through a Redis outage before a restart: written before any dial and
        # before the lease reaper could requeue (and so re-dial) their orders.
        parts.append(Part("finish-restore", on_start=dialer.restore_finishes))
        if self.hangups is not None:
            parts.append(Part("hangup-listener", self._start_hangups, self.hangups.stop))
        if self.housekeeping is not None:
            parts.append(Part("housekeeping", self._start_housekeeping, self.housekeeping.stop))
        if self.deliverer is not None:
            grace = s.webhook_timeout_s + 5  # its own bound, for the loop and for the sends
            parts.append(Part("webhook", self.deliverer.start, self.deliverer.stop,
                              stop_timeout_s=2 * grace + 5))  # fmt: skip
        if self.consumer is not None:
            parts.append(Part("intake-stream", self.consumer.start, self.consumer.stop,
                              stop_timeout_s=self.consumer.block_ms / 1000 + 10))  # fmt: skip
        loop = Loop("dialer", dialer.run, board=board, stopping=self.stopping)
        parts.append(DialerRun(dialer, loop))
        return parts

    async def _preload(self) -> None:
        if self.recognizer is not None:
            await asyncio.to_thread(self.recognizer.preload)

    async def _start_http(self) -> None:
        web_settings = self.settings.web
        self.runner = web.AppRunner(self.http_app(), **runner_options(web_settings))
        await self.runner.setup()
        host, port = web_settings.http_host, web_settings.http_port
        await web.TCPSite(self.runner, host, port).start()
        log.info("HTTP API on http://%s:%s", host, port)

    async def _stop_http(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def _start_hangups(self) -> None:
        hangups = self.hangups
        assert hangups is not None
        hangups.start()
        self.task_board.watch("hangup-listener", lambda: hangups._task, hangups.start,
                              self.stopping.is_set)  # fmt: skip

    def _start_housekeeping(self) -> None:
        assert self.housekeeping is not None
        self.housekeeping.start()
        add_retention_job(self.housekeeping.scheduler, self.settings.dialer, self.settings.files)

    async def start(self) -> None:
        self.supervisor = Supervisor(self.components())
        await self.supervisor.start()

    async def stop(self, drain_s: float = 60.0) -> None:
        """Stop what start started, in reverse; the live calls get ``drain_s`` to end."""
        if self.supervisor is None:
            return
        dialer = self.supervisor["dialer"]
        if isinstance(dialer, DialerRun):
            dialer.drain_s = drain_s
        await self.supervisor.stop()

    async def run_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        await self.start()
        await self.stopping.wait()
        await self.stop()
