"""``robot worker``: a dialing worker without the HTTP API.

Claims due orders from Redis, places the calls (AMI), runs them (AudioSocket, recognizer),
reads the intake stream, delivers webhooks and does the housekeeping (lease reaping). Run as
many as you like against one Redis; give each its own AudioSocket port (and
DOZVON_AUDIOSOCKET_ADVERTISE when Asterisk reaches it at another address). SIGTERM stops new
dials and lets live calls finish.
"""

from __future__ import annotations

import argparse
import asyncio


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("worker", help="run a dialing worker (no HTTP API)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from robot.config import load_settings
    from robot.service import Service

    service = Service.build(load_settings(), with_http=False)
    asyncio.run(service.run_until_signalled())
    return 0
