"""``robot intent --lang ru|ko [--today YYYY-MM-DD]``: text -> intent, one JSON line per line.

Reads lines of text on stdin (UTF-8), writes ``{"text": ..., "intent": ...}`` per line on
stdout, flushed at once so that the command can sit behind a pipe and answer line by line.
For ``change`` the line also carries ``"change": {"date": "YYYY-MM-DD" | null, "after":
"HH:MM" | null, "before": "HH:MM" | null, "address": true | false}``, days resolved against
``--today`` (default: today's date in the local time zone; the command reads the clock, the
understanding in ``robot.core`` never does).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from datetime import date
from typing import TYPE_CHECKING

from robot.core.models import SUPPORTED_LANGUAGES

if TYPE_CHECKING:
    from robot.core.langpack import Reply


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("intent", help="classify lines of text from stdin, one JSON line each")
    p.add_argument("--lang", choices=SUPPORTED_LANGUAGES, default="ru", help="language pack")
    p.add_argument(
        "--today", type=_day, help="the customer's date for 'завтра', weekdays (default: today)"
    )
    p.set_defaults(func=run)


def reply_json(text: str, reply: Reply) -> dict[str, object]:
    """One output line: text, intent and, for a change, what was asked for."""
    out: dict[str, object] = {"text": text, "intent": reply.intent.value}
    if reply.change is not None:
        change = reply.change.as_json()
        change.pop("text", None)
        out["change"] = change
    return out


def run(args: argparse.Namespace) -> int:
    from robot.core.languages import get_pack

    pack = get_pack(args.lang)
    today = args.today or date.today()
    stdin, out = sys.stdin, sys.stdout
    # UTF-8 whatever the locale says (a bare container has LANG=C).
    if isinstance(stdin, io.TextIOWrapper):
        stdin.reconfigure(encoding="utf-8", errors="replace")
    if isinstance(out, io.TextIOWrapper):
        out.reconfigure(encoding="utf-8")
    for line in iter(stdin.readline, ""):
        text = line.rstrip("\r\n")
        print(json.dumps(reply_json(text, pack.understand(text, today)), ensure_ascii=False))
        out.flush()
    return 0
