"""Composition root: reads settings once, builds the adapters, hands them to the engine.

``robot run`` runs everything in one process: HTTP intake, the Redis stream consumer, the
dialer, the AudioSocket server, the AMI connection and the webhook deliverer. SIGTERM stops
new dials and lets live calls finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from robot.adapters.ami.connection import AmiConnection
from robot.adapters.ami.mapping import AmiOriginator
from robot.adapters.audiosocket.server import AudioSocketServer
from robot.adapters.http_api import SETTINGS_KEY, STORE_KEY, add_intake_routes, api_json_errors
from robot.adapters.intake_stream import IntakeStreamConsumer
from robot.adapters.prompt_audio import PromptLibrary
from robot.adapters.redis_store import RedisOrderStore, join_task
from robot.adapters.webhook import WebhookDeliverer
from robot.config import Settings
from robot.core.vad import EnergyVad
from robot.engine.calls import CallTracker
from robot.engine.dialer import Dialer, DialerConfig
from robot.engine.session import SessionTiming

log = logging.getLogger(__name__)

REAP_INTERVAL_S = 5.0


def speech_detector() -> Callable[[bytes], bool]:
    """Per-call VAD: a frame is speech when the smoothed decision and the frame agree, so the
    hangover does not delay the timestamp of the end of speech."""
    vad = EnergyVad()

    def detect(frame: bytes) -> bool:
        vad.is_speech(frame)
        return vad.speaking and vad.voiced

    return detect


def build_recognizer(settings: Settings):
    """The Vosk recognizer for the installed models, or None (keys only), said out loud."""
    from robot.adapters.vosk_asr import VoskRecognizer

    rec = VoskRecognizer.from_settings(settings)
    if not rec.languages():
        log.warning(
            "no speech model installed: calls will understand key presses only "
            "(run 'robot models list')"
        )
        return None
    for info in rec.describe():
        log.info("speech model for %s: %s (%s)", info["language"], info["model"], info["source"])
    return rec


@dataclass
class Service:
    settings: Settings
    store: RedisOrderStore
    ami: AmiConnection
    media: AudioSocketServer
    dialer: Dialer
    tracker: CallTracker
    recognizer: object | None
    runner: web.AppRunner | None = None
    consumer: IntakeStreamConsumer | None = None
    deliverer: WebhookDeliverer | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def build(cls, settings: Settings) -> Service:
        store = RedisOrderStore.from_url(settings.redis_url)
        tracker = CallTracker()
        ami = AmiConnection(
            settings.ami_host,
            settings.ami_port,
            settings.ami_user,
            settings.ami_secret,
            reconnect_max_s=settings.ami_reconnect_max_s,
        )
        originator = AmiOriginator(ami, tracker, context=settings.robot_context)
        recognizer = build_recognizer(settings)
        prompts = PromptLibrary(settings.audio_dir, settings.var_dir / "tts-cache")
        dialer = Dialer(
            store=store,
            originator=originator,
            tracker=tracker,
            prompts=prompts,
            recognizer=recognizer,
            is_speech_factory=speech_detector,
            config=DialerConfig(
                worker_id=settings.worker_id,
                dial_template=settings.dial_template,
                caller_id=settings.caller_id,
                ring_timeout_s=settings.ring_timeout_s,
                max_concurrent_calls=settings.max_concurrent_calls,
                lease_s=settings.lease_s,
                timing=SessionTiming(
                    listen_timeout_s=settings.listen_timeout_s, max_call_s=settings.max_call_s
                ),
            ),
        )
        media = AudioSocketServer(settings.audiosocket_host, settings.audiosocket_port, tracker)
        return cls(settings, store, ami, media, dialer, tracker, recognizer)

    def http_app(self) -> web.Application:
        app = web.Application(middlewares=[api_json_errors])
        app[STORE_KEY] = self.store
        app[SETTINGS_KEY] = self.settings
        add_intake_routes(app)
        return app

    async def start(self) -> None:
        s = self.settings
        if self.recognizer is not None:
            # Load the model before the first call, not during it (about a second).
            await asyncio.to_thread(self.recognizer.preload)
        await self.media.start()
        await self.ami.start()
        self.runner = web.AppRunner(self.http_app(), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, s.http_host, s.http_port).start()
        log.info("HTTP API on http://%s:%s", s.http_host, s.http_port)
        self.consumer = IntakeStreamConsumer(
            self.store.redis, self.store, consumer=s.worker_id, default_region=s.default_region
        )
        self.deliverer = WebhookDeliverer(self.store, s)
        self.consumer.start()
        self.deliverer.start()
        for name, coro in (
            ("dialer", self.dialer.run()),
            ("lease-reaper", self._reap_leases()),
        ):
            self.tasks.append(asyncio.create_task(coro, name=name))

    async def _reap_leases(self) -> None:
        from robot.engine.dialer import utcnow

        while not self.stopping.is_set():
            try:
                await self.store.reap_expired_leases(utcnow())  # logs each order it requeues
            except Exception as e:
                log.warning("lease reaping failed: %r", e)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), REAP_INTERVAL_S)

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
        for t in self.tasks:
            # redis-py can swallow a cancel that lands mid-read; join_task bounds the wait.
            await join_task(t, grace_s=5.0)
        if self.runner is not None:
            await self.runner.cleanup()
        await self.media.stop()
        await self.ami.stop()
        await self.store.aclose()

    async def run_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        await self.start()
        await self.stopping.wait()
        await self.stop()
