"""``robot bench [--calls N] [--concurrency C] [--mode asterisk|protocol] [--json] [--plot F]``."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="load test: N orders answered at concurrency C")
    p.add_argument("--calls", type=int, default=50, help="orders to push (default 50)")
    p.add_argument("--concurrency", type=int, default=10, help="unfinished orders at a time")
    p.add_argument(
        "--mode",
        choices=("protocol", "asterisk"),
        default="protocol",
        help="protocol: fake AMI + AudioSocket customers; asterisk: the real chrooted Asterisk",
    )
    p.add_argument(
        "--answer",
        choices=("speech", "dtmf"),
        default="speech",
        help="customers say yes (needs the language's model) or press 1",
    )
    p.add_argument("--language", choices=("ko", "ru"), default="ko")
    p.add_argument("--workers", type=int, default=1, help="robot worker processes")
    p.add_argument(
        "--asr-processes",
        type=int,
        default=0,
        help="recognizer processes per worker (0: threads in the worker)",
    )
    p.add_argument("--rate", type=float, default=50.0, help="orders pushed per second at most")
    p.add_argument(
        "--ramp",
        type=float,
        default=30.0,
        help="spread the first C orders over this many seconds (default 30)",
    )
    p.add_argument(
        "--ring",
        type=float,
        default=2.0,
        help="protocol mode: mean ring time, seconds (uniform from 0 to twice it)",
    )
    p.add_argument(
        "--redis",
        choices=("single", "sentinel"),
        default="single",
        help="one Redis, or a Sentinel set (master, replica, 3 sentinels; WAIT on the replica)",
    )
    p.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for results")
    p.add_argument("--plot", type=Path, help="write a PNG of concurrency and latency over time")
    p.add_argument("--workdir", type=Path, help="where logs and report.json go (default: tmp)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from robot.devtools.bench.runner import BenchOptions, run_bench

    if args.calls < 1 or args.concurrency < 1 or args.workers < 1:
        raise SystemExit("--calls, --concurrency and --workers must be at least 1")
    opts = BenchOptions(
        calls=args.calls,
        concurrency=args.concurrency,
        mode=args.mode,
        answer=args.answer,
        language=args.language,
        workers=args.workers,
        asr_processes=args.asr_processes,
        rate=args.rate,
        ramp_s=args.ramp,
        ring_s=args.ring,
        redis=args.redis,
        timeout_s=args.timeout,
        plot=args.plot,
        workdir=args.workdir,
    )
    report = asyncio.run(run_bench(opts))
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for key, value in report.items():
            print(f"{key:>28}: {value}")
    ok = report["lost"] == 0 and report["doubled"] == 0 and report["not_final"] == 0
    return 0 if ok else 1
