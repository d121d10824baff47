"""``robot asterisk start|config|cli``: the chrooted Asterisk used by the demo and tests."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from robot.devtools.asterisk.runtime import AsteriskRuntime

logger = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("asterisk", help="run the chrooted Asterisk (demo, tests, development)")
    p.add_argument(
        "action",
        choices=("start", "config", "cli"),
        help="start: run in the foreground until Ctrl-C/SIGTERM; "
        "config: render the configs and print their directory; "
        "cli: run one CLI command in a running instance",
    )
    p.add_argument("command", nargs="*", help="for cli: the command, e.g. core show channels")
    p.add_argument("--instance", default="default", help="instance name (default: default)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from robot.config import load_settings
    from robot.devtools.asterisk.runtime import AsteriskError, AsteriskRuntime

    runtime = AsteriskRuntime.from_settings(load_settings(), instance=args.instance)
    try:
        if args.action == "config":
            print(runtime.render_configs())
            return 0
        if args.action == "cli":
            if not args.command:
                raise SystemExit("robot asterisk cli: give a command, e.g. core show channels")
            print(runtime.cli(" ".join(args.command)), end="")
            return 0
        return _run_foreground(runtime)
    except AsteriskError as e:
        logger.error("%s", e)
        return 1


def _run_foreground(runtime: AsteriskRuntime) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("got %s, stopping asterisk", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        runtime.start()
        print(
            f"asterisk {runtime.instance} running: AMI 127.0.0.1:{runtime.ami_port}, "
            f"AudioSocket -> {runtime.audiosocket_host}:{runtime.audiosocket_port}, "
            f"logs {runtime.messages_log}. Ctrl-C stops it.",
            flush=True,
        )
        while not stop.wait(1.0):
            if not runtime.is_running():
                logger.error("asterisk exited on its own\n%s", runtime.log_tail())
                return 1
        return 0
    finally:
        runtime.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
