"""The orders list for daily work: filters, search and server-side paging.

    GET /dashboard/api/orders?q=&status=&outcome=&shop=&language=&attempts=&from=&to=
                             &offset=0&limit=50
        -> {"orders": [...], "total", "offset", "limit", "truncated"}

- ``q``: part of the order id, a phone (any format, or its last 4+ digits), part of the
  customer's name, or words the customer or the robot said (every word must occur in one
  call's transcript; case and ё/е do not matter).
- ``status``: the order's status; ``outcome``: its last call's outcome; ``shop``: part of the
  shop name; ``language``; ``attempts``: ``N``, ``N-M`` or ``N+``; ``from``/``to``: days the
  order was created, in the dashboard's time zone.
- ``total`` counts every match; rows come newest first, ``limit`` (at most 500) from
  ``offset``. Without ``from`` a search looks through the newest :data:`SCAN_CAP` orders and
  says ``truncated`` when there were more.

Phones are masked here (admins see them in full on the order's page).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from robot.adapters.redis_keys import RedisKeys
from robot.core.models import SUPPORTED_LANGUAGES, OrderStatus, Outcome
from robot.core.phones import PhoneError, mask_phone, normalize_phone
from robot.web.access import principal_of
from robot.web.context import WEB_KEY
from robot.web.errors import json_error
from robot.web.order_scan import BadQuery, StoredOrder, day_range, load_calls, scan_orders

SCAN_CAP = 50_000
MAX_LIMIT = 500


def fold(text: str) -> str:
    return text.casefold().replace("ё", "е")


@dataclass(frozen=True)
class OrderFilter:
    q: str = ""
    status: str | None = None
    outcome: str | None = None
    shop: str | None = None
    language: str | None = None
    attempts: tuple[int, int] | None = None
    phone: str | None = None  # q as a full phone number
    suffix: str | None = None  # q as the last digits of a phone
    allowed_shops: frozenset[str] | None = None  # the caller's shops (Principal.shops)

    @property
    def empty(self) -> bool:
        return not (self.q or self.status or self.outcome or self.shop or self.language
                    or self.attempts or self.allowed_shops is not None)  # fmt: skip

    def matches_fields(self, o: StoredOrder) -> bool:
        """Everything but the transcript part of ``q``."""
        if self.allowed_shops is not None and o.order.get("shop_name") not in self.allowed_shops:
            return False
        if self.status and o.status != self.status:
            return False
        if self.outcome and o.fields.get("last_outcome") != self.outcome:
            return False
        if self.shop and fold(self.shop) not in fold(str(o.order.get("shop_name", ""))):
            return False
        if self.language and o.order.get("language") != self.language:
            return False
        if self.attempts and not self.attempts[0] <= o.attempts <= self.attempts[1]:
            return False
        return True

    def matches_q_cheaply(self, o: StoredOrder) -> bool:
        if not self.q:
            return True
        q = fold(self.q)
        phone = o.fields.get("phone", "")
        return (
            q in fold(o.order_id)
            or (self.phone is not None and phone == self.phone)
            or (self.suffix is not None and phone.endswith(self.suffix))
            or q in fold(str(o.order.get("customer_name") or ""))
        )

    def matches_transcript(self, o: StoredOrder) -> bool:
        words = fold(self.q).split()
        if not words:
            return False
        for call in o.calls or []:
            said = fold(" ".join(call.get("transcript") or []))
            if all(w in said for w in words):
                return True
        return False


def _attempts(raw: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*(?:(-)\s*(\d+)?|(\+))?\s*", raw)
    if m is None:
        raise BadQuery("attempts", "attempts must be N, N-M or N+")
    lo = int(m.group(1))
    if m.group(4) or (m.group(2) and m.group(3) is None):
        return lo, 10**6
    return lo, int(m.group(3)) if m.group(3) else lo


def _choice(raw: str | None, name: str, allowed: list[str]) -> str | None:
    if not raw:
        return None
    if raw not in allowed:
        raise BadQuery(name, f"unknown {name}: {raw}")
    return raw


def parse_filter(
    query: Any, default_region: str, allowed_shops: frozenset[str] | None = None
) -> OrderFilter:
    q = str(query.get("q", "")).strip()[:200]
    phone = suffix = None
    if q:
        try:
            phone = normalize_phone(q, default_region)
        except PhoneError:
            pass
        digits = "".join(ch for ch in q if ch.isdigit())
        if len(digits) >= 4 and len(digits) == len(q.replace(" ", "")):
            suffix = digits
    return OrderFilter(
        q=q,
        status=_choice(query.get("status"), "status", [s.value for s in OrderStatus]),
        outcome=_choice(query.get("outcome"), "outcome", [o.value for o in Outcome]),
        shop=str(query.get("shop", "")).strip()[:200] or None,
        language=_choice(query.get("language"), "language", list(SUPPORTED_LANGUAGES)),
        attempts=_attempts(query["attempts"]) if query.get("attempts") else None,
        phone=phone,
        suffix=suffix,
        allowed_shops=allowed_shops,
    )


def order_row(o: StoredOrder) -> dict[str, Any]:
    f, d = o.fields, o.order
    return {
        "order_id": o.order_id,
        "status": o.status,
        "phone": mask_phone(f.get("phone", "")),
        "attempts": o.attempts,
        "last_outcome": f.get("last_outcome") or None,
        "status_reason": f.get("status_reason", ""),
        "due_at": f.get("due_at") or None,
        "created_at": f.get("created_at"),
        "updated_at": f.get("updated_at"),
        "shop_name": d.get("shop_name"),
        "amount": d.get("amount"),
        "currency": d.get("currency"),
        "language": d.get("language"),
        "customer_name": d.get("customer_name"),
    }


async def find_orders(
    redis: Any,
    prefix: str,
    flt: OrderFilter,
    *,
    start: datetime | None,
    end: datetime | None,
    offset: int,
    limit: int,
) -> dict[str, Any]:
    """One page of matching orders, newest first, and how many match in all."""
    if flt.empty and start is None and end is None:  # the plain list: no scan
        total = int(await redis.zcard(RedisKeys(prefix).orders))
        page: list[StoredOrder] = []
        async for chunk in scan_orders(redis, prefix, limit=offset + limit):
            page.extend(chunk)
        rows = [order_row(o) for o in page[offset : offset + limit]]
        return {"orders": rows, "total": total, "offset": offset, "limit": limit,
                "truncated": False}  # fmt: skip
    total, rows, seen = 0, [], 0
    truncated = False
    cap = None if start is not None else SCAN_CAP
    async for chunk in scan_orders(redis, prefix, start=start, end=end, limit=cap):
        seen += len(chunk)
        candidates = [o for o in chunk if flt.matches_fields(o)]
        need_calls = [o for o in candidates if not flt.matches_q_cheaply(o)]
        if flt.q and need_calls:
            await load_calls(redis, prefix, need_calls)
        for o in candidates:
            if flt.matches_q_cheaply(o) or flt.matches_transcript(o):
                if offset <= total < offset + limit:
                    rows.append(order_row(o))
                total += 1
    if cap is not None and seen >= cap:
        truncated = int(await redis.zcard(RedisKeys(prefix).orders)) > seen
    return {"orders": rows, "total": total, "offset": offset, "limit": limit,
            "truncated": truncated}  # fmt: skip


def _int(query: Any, name: str, default: int, lo: int, hi: int) -> int:
    try:
        return max(lo, min(hi, int(query.get(name, default))))
    except ValueError:
        raise BadQuery(name, f"{name} must be a number") from None


def bad_query(e: BadQuery) -> web.Response:
    return json_error(422, "invalid_field", e.message, field=e.field)


async def orders_handler(request: web.Request) -> web.StreamResponse:
    ctx = request.app[WEB_KEY]
    query = request.query
    try:
        flt = parse_filter(query, ctx.settings.default_region, principal_of(request).shops)
        offset = _int(query, "offset", 0, 0, 10**7)
        limit = _int(query, "limit", 50, 1, MAX_LIMIT)
        start = end = None
        if query.get("from") or query.get("to"):
            today = datetime.now(UTC).astimezone(ctx.queries.tz).date()
            days = day_range(query.get("from"), query.get("to"), ctx.queries.tz, today=today,
                             default_days=1)  # fmt: skip
            start, end = days.start, days.end
    except BadQuery as e:
        return bad_query(e)
    doc = await find_orders(ctx.store.redis, ctx.store.prefix, flt, start=start, end=end,
                            offset=offset, limit=limit)  # fmt: skip
    return web.json_response(doc)
