"""``robot demo --orders N [--json]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="end-to-end demo: real calls through Asterisk")
    p.add_argument("--orders", type=int, default=12, help="how many orders to push")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for results")
    p.add_argument(
        "--hold", action="store_true", help="keep the service (and its dashboard) up until Ctrl-C"
    )
    p.add_argument(
        "--sip",
        action="store_true",
        help="call over a SIP trunk to a second Asterisk playing the carrier",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from robot.devtools.demo import format_table, run_demo

    if args.orders < 1:
        raise SystemExit("--orders must be at least 1")

    def show(report: dict[str, Any]) -> None:  # as soon as the results are in, before --hold holds
        text = json.dumps(report, ensure_ascii=False) if args.json else format_table(report)
        print(text, flush=True)

    try:
        report = asyncio.run(
            run_demo(args.orders, timeout_s=args.timeout, hold=args.hold, sip=args.sip,
                     on_report=show)
        )  # fmt: skip
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("demo interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    return 0 if report["mismatches"] == 0 else 1
