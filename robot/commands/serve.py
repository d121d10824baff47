"""``robot serve``: the HTTP side alone (intake API, dashboard, /metrics), no dialer.

Run it next to dialing workers (``robot run`` or ``robot worker``) that share its Redis: the
dashboard shows their live calls and steers them through Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from robot.config import Settings

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="serve the dashboard and the HTTP API only (no dialer)")
    p.add_argument("--host", help="listen address (default: DOZVON_HTTP_HOST)")
    p.add_argument("--port", type=int, help="listen port (default: DOZVON_HTTP_PORT)")
    p.set_defaults(func=run)


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    from aiohttp import web

    from robot.adapters.redis_store import RedisOrderStore
    from robot.config import refuse_default_secrets
    from robot.web.app import make_web_app, runner_options

    refuse_default_secrets(settings, dialing=False)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    store = RedisOrderStore.from_settings(settings.redis)
    # The app builds and runs its own shop registry (tokens, the API's shops) while it serves.
    runner = web.AppRunner(make_web_app(settings, store), **runner_options(settings.web))
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.http_host, settings.http_port).start()
        log.info("dashboard on http://%s:%s/", settings.http_host, settings.http_port)
        await stop.wait()
    finally:
        await runner.cleanup()
        await store.aclose()


def run(args: argparse.Namespace) -> int:
    from robot.config import load_settings

    overrides = {}
    if args.host:
        overrides["http_host"] = args.host
    if args.port:
        overrides["http_port"] = args.port
    asyncio.run(serve(load_settings(**overrides)))
    return 0
