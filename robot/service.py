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
from robot.adapters.redis_store import RedisOrderStore, join_task
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
from robot.supervision import TaskBoard, run_with_restarts
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
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
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
        return cls(
            settings, store, pool.first.conn, media, dialer, tracker, recognizer,
            pool=pool, limits=limits, board=board, policy=policy, shops=shops,
            with_http=with_http,
        )  # fmt: skip

    def http_app(self) -> web.Application:
        return make_web_app(
            self.settings, self.store, speech_info(self.recognizer),
            policy=self.policy, tasks=self.task_board, shops=self.shops,
        )  # fmt: skip

    async def start(self) -> None:
        s = self.settings
        if self.recognizer is not None:
            # Load the model before the first call, not during it (about a second).
            await asyncio.to_thread(self.recognizer.preload)
        await self.media.start()
        if self.shops is not None:
            await self.shops.start()  # the API's shops and every shop's limits, before dialing
        if self.limits is not None:
            self.limits.start()
        if self.pool is not None:
            await self.pool.start()
        else:
            await self.ami.start()
        if self.with_http:
            self.runner = web.AppRunner(self.http_app(), **runner_options(s.web))
            await self.runner.setup()
            await web.TCPSite(self.runner, s.http_host, s.http_port).start()
            log.info("HTTP API on http://%s:%s", s.http_host, s.http_port)
        board = self.task_board
        self.consumer = IntakeStreamConsumer(
            self.store.redis, self.store, consumer=s.worker_id,
            default_region=s.policy.default_region,
            control=self.policy.control if self.policy else None,
            webhook_hosts=webhook_hosts(s.webhook), tasks=board,
        )  # fmt: skip
        self.deliverer = WebhookDeliverer(self.store, s.webhook, tasks=board, shops=self.shops)
        self.consumer.start()
        self.deliverer.start()
        # Results kept through a Redis outage before a restart: written before any dial and
        # before the lease reaper could requeue (and so re-dial) their orders.
        await self.dialer.restore_finishes()
        self.housekeeping = Housekeeping(self.store, self.dialer, lease_s=s.lease_s)
        self.housekeeping.start()
        add_retention_job(self.housekeeping.scheduler, s.dialer, s.files)
        if self.policy is not None:
            self.hangups = HangupListener(self.policy.control, self.dialer.hang_up_order)
            self.hangups.start()
            hangups = self.hangups
            board.watch("hangup-listener", lambda: hangups._task, hangups.start,
                        self.stopping.is_set)  # fmt: skip
        self.tasks.append(asyncio.create_task(
            run_with_restarts("dialer", self.dialer.run, board=board, stopping=self.stopping),
            name="dialer",
        ))  # fmt: skip

    async def stop(self, drain_s: float = 60.0) -> None:
        log.info(
            "stopping: no new calls; waiting up to %.0f s for %d live call(s)",
            drain_s,
            self.dialer.active,
        )
        await self.dialer.drain(drain_s)
        if self.consumer is not None:
            await self.consumer.stop()
        if self.deliverer is not None:
            await self.deliverer.stop()
        self.stopping.set()
        if self.housekeeping is not None:
            await self.housekeeping.stop()
        if self.hangups is not None:
            await self.hangups.stop()
        for t in self.tasks:
            # redis-py can swallow a cancel that lands mid-read; join_task bounds the wait.
            await join_task(t, grace_s=5.0)
        await self.task_board.close()
        if self.runner is not None:
            await self.runner.cleanup()
        await self.media.stop()
        if self.pool is not None:
            await self.pool.stop()
        else:
            await self.ami.stop()
        if self.limits is not None:
            await self.limits.stop()
        if self.shops is not None:
            await self.shops.stop()
        if self.board is not None:
            await self.board.stop()
        await self.store.aclose()
        close = getattr(self.dialer.journal, "close", None)
        if close is not None:
            close()

    async def run_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        await self.start()
        await self.stopping.wait()
        await self.stop()
