"""``robot intent --lang ru|ko``: text -> intent, one JSON line per input line.

Reads lines of text on stdin (UTF-8), writes ``{"text": ..., "intent": ...}`` per line on
stdout, flushed at once so that the command can sit behind a pipe and answer line by line.
"""

from __future__ import annotations

import argparse
import io
import json
import sys

from robot.core.models import SUPPORTED_LANGUAGES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("intent", help="classify lines of text from stdin, one JSON line each")
    p.add_argument("--lang", choices=SUPPORTED_LANGUAGES, default="ru", help="language pack")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from robot.core.langpack import get_pack

    pack = get_pack(args.lang)
    stdin, out = sys.stdin, sys.stdout
    # UTF-8 whatever the locale says (a bare container has LANG=C).
    if isinstance(stdin, io.TextIOWrapper):
        stdin.reconfigure(encoding="utf-8", errors="replace")
    if isinstance(out, io.TextIOWrapper):
        out.reconfigure(encoding="utf-8")
    for line in iter(stdin.readline, ""):
        text = line.rstrip("\r\n")
        print(json.dumps({"text": text, "intent": pack.classify(text).value}, ensure_ascii=False))
        out.flush()
    return 0
