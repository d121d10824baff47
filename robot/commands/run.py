"""``robot run``: the whole service in one process."""

from __future__ import annotations

import argparse
import asyncio


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the robot: intake API, dialer, media, webhooks")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from robot.config import load_settings
    from robot.service import Service

    settings = load_settings()
    asyncio.run(Service.build(settings).run_until_signalled())
    return 0
