"""The ``robot`` command line. Each subcommand lives in ``robot.commands.<name>`` and exposes
``add_parser(subparsers)`` and ``run(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMANDS = (
    "run",  # the service: intake API, stream intake, dialer, media, webhooks
    "serve",  # the HTTP side alone: intake API, supervisor dashboard, /metrics
    "passwd",  # a supervisor password hash for DOZVON_SUPERVISORS
    "demo",  # end-to-end demo through real Asterisk
    "explain",  # the call policy's decision for one order (call now, wait, stop) and why
    "worker",  # a dialing worker: dialer, media, AMI, housekeeping; no HTTP
    "intent",  # text -> intent, one JSON line per input line
    "recognize",  # WAV files -> text and intent through the live recognizer
    "eval",  # a labeled set of WAVs (or texts) scored: accuracy, false yes, confusion
    "models",  # speech model resolution and download
    "asterisk",  # start/stop the chrooted Asterisk used by the demo and tests
    "bench",  # load test: orders through intake, answered by simulated customers
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robot", description="Dozvon order-confirmation robot")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"robot.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"robot.commands.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from robot.logsafe import install

    install(logging.DEBUG if args.verbose else logging.INFO)
    from robot.config import DefaultSecretError

    try:
        return int(args.func(args) or 0)
    except DefaultSecretError as e:  # a refusal at startup, not a crash: no traceback
        print(f"robot {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
