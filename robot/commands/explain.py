"""``robot explain --now <ISO> [--json]``: what the call policy would do with an order.

Reads one order on stdin, in the API's JSON format, with optional extras:

    "attempts":     [{"at": ISO, "outcome": "no_answer" | ... | null (lost)}, ...]
    "phone_on_dnc": true | false          (the phone is on the do-not-call list)
    "phone_calls":  [ISO, ...]            (calls to this phone for any order; default: attempts)
    "status":       "queued" | "cancelled" | ...   (the stored status, if any)

and prints ``{"action": "call"|"wait"|"stop", "at": ISO or null, "reason": text}`` with
``--json``, else one readable line. The policy comes from the settings (DOZVON_POLICY_FILE,
DOZVON_POLICY_JSON, DOZVON_CALLING_HOURS, DOZVON_SHOP_TIMEZONE). Times without a zone are UTC.
Exit status: 0 answered, 2 bad input.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from datetime import UTC, datetime
from typing import Any


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("explain", help="call now, wait or stop? the call policy for one order")
    p.add_argument("--now", help="the moment to decide at, ISO 8601 (default: the clock)")
    p.add_argument("--json", action="store_true", help="print the decision as JSON")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"robot explain: {message}", file=sys.stderr)
    return 2


def _when(text: str) -> datetime:
    t = datetime.fromisoformat(text.strip())
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def explain(doc: Any, now: datetime, settings: Any) -> dict[str, Any]:
    """The decision for one stdin document (raises ValueError on bad input)."""
    from robot.adapters.shop_registry import ShopRegistry
    from robot.core.models import OrderError, OrderStatus, parse_order
    from robot.core.policy import decide
    from robot.core.purposes import purpose_policy
    from robot.core.records import OrderRecord
    from robot.core.shops import shop_policy
    from robot.policy_settings import load_policy

    if not isinstance(doc, dict):
        raise ValueError("stdin must hold one JSON object (the order)")
    try:
        order = parse_order(doc, default_region=settings.default_region)
    except OrderError as e:
        raise ValueError(f"order field {e.field}: {e.message}") from None
    attempts = doc.get("attempts") or []
    if not isinstance(attempts, list) or not all(
        isinstance(a, dict) and "at" in a for a in attempts
    ):
        raise ValueError('"attempts" must be a list of {"at": ISO, "outcome": ...}')
    phone_calls = doc.get("phone_calls")
    subject: Any = order
    if doc.get("status"):
        subject = OrderRecord(
            order=order, status=OrderStatus(doc["status"]), attempts=len(attempts),
            created_at=now, updated_at=now,
        )  # fmt: skip
    decision = decide(
        subject,
        attempts,
        now,
        bool(doc.get("phone_on_dnc", False)),
        # the shop's hours (DOZVON_SHOPS, DOZVON_SHOPS_FILE), the purpose's rules: the dialer's
        purpose_policy(
            order,
            shop_policy(
                load_policy(settings), ShopRegistry.from_settings(settings).get(order.shop_name)
            ),
        ),
        phone_calls=[_when(c) for c in phone_calls] if phone_calls is not None else None,
    )
    return decision.to_json()


def run(args: argparse.Namespace) -> int:
    from robot.config import load_settings
    from robot.policy_settings import PolicyConfigError

    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(encoding="utf-8", errors="replace")
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(encoding="utf-8")
    try:
        now = _when(args.now) if args.now else datetime.now(UTC)
    except ValueError:
        return _fail(f"--now {args.now!r} is not an ISO 8601 time")
    try:
        doc = json.loads(sys.stdin.read())
    except ValueError as e:
        return _fail(f"stdin is not JSON: {e}")
    try:
        result = explain(doc, now, load_settings().policy)
    except PolicyConfigError as e:
        return _fail(str(e))
    except (ValueError, KeyError, TypeError) as e:
        return _fail(str(e))
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        at = f" [{result['at']}]" if result["action"] == "wait" and result["at"] else ""
        print(f"{result['action'].upper()}{at}: {result['reason']}")
    return 0
