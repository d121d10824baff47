"""Reports over a date range and the CSV exports.

    GET /dashboard/api/reports?from=&to=&shop=&language=     the report (JSON, see below)
    GET /dashboard/api/export/orders.csv?from=&to=&<orders list filters>
    GET /dashboard/api/export/calls.csv?from=&to=&<orders list filters>
    GET /dashboard/api/export/audit.csv?from=&to=

What is counted: the **orders created** on the range's days (dashboard time zone), with every
call they got, whenever it was placed (a cohort: an order of the 30th called on the 1st counts
for the 30th). Funnel: orders -> called (at least one call placed) -> reached (a call a person
answered: an outcome in :data:`REACHED`) -> confirmed (status ``confirmed``). Rates are of
all orders, and confirmed of reached. Breakdowns: by the day the order was created, by the
local hour each call was placed, by shop, by language, and by attempt number (calls).
Per shop and purpose (``by_shop_purpose``, ``by_purpose``; robot.core.analytics): the calls of
those orders under the purpose each was placed with, reached, confirmed, informed and their
rates, by the local hour and by the day each call was placed. Talk
time: from answer to hang-up of every answered call. ``previous`` is the same report for
the period of the same length just before, and ``change`` the differences of the main figures.

The report reads the orders in the range at request time (``order_scan``: pipelined chunks),
which keeps the write path untouched; ``elapsed_ms`` in the answer says what it cost.

CSV: UTF-8 with a byte-order mark (spreadsheets then read Cyrillic right), one header row,
streamed chunk by chunk. Cells that a spreadsheet would run as a formula (starting with
``= + - @``, a tab or a carriage return) get a leading apostrophe. Viewers get masked phones.
"""

from __future__ import annotations

import csv
import io
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from robot.core.analytics import REACHED_VALUES, CallTally
from robot.core.phones import mask_phone
from robot.web.access import READ, Routes, principal_of
from robot.web.context import WEB_KEY
from robot.web.errors import json_error
from robot.web.order_scan import BadQuery, DayRange, StoredOrder, day_range, scan_orders
from robot.web.orders_list import OrderFilter, bad_query, parse_filter

REACHED = REACHED_VALUES
DEFAULT_DAYS = 7
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text, never runs (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _parse_at(raw: str | None) -> datetime | None:
    if not raw:
        return None
    at = datetime.fromisoformat(raw)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _talk_s(call: dict[str, Any]) -> float | None:
    a, e = _parse_at(call.get("answered_at")), _parse_at(call.get("ended_at"))
    return (e - a).total_seconds() if a and e and e >= a else None


class _Tally:
    """Orders, reached and confirmed of one group."""

    __slots__ = ("called", "confirmed", "orders", "reached")

    def __init__(self) -> None:
        self.orders = self.called = self.reached = self.confirmed = 0

    def add(self, called: bool, reached: bool, confirmed: bool) -> None:
        self.orders += 1
        self.called += called
        self.reached += reached
        self.confirmed += confirmed

    def to_json(self) -> dict[str, Any]:
        return {"orders": self.orders, "called": self.called, "reached": self.reached,
                "confirmed": self.confirmed, **rates(self.orders, self.reached,
                                                     self.confirmed)}  # fmt: skip


def rates(orders: int, reached: int, confirmed: int) -> dict[str, float | None]:
    return {
        "reach_rate": reached / orders if orders else None,
        "confirm_rate": confirmed / orders if orders else None,
        "confirm_of_reached": confirmed / reached if reached else None,
    }


class ReportBuilder:
    """Adds up orders (with calls) created in ``days`` one at a time, so a report over many
    orders never holds them all (see the module docstring for what is counted)."""

    def __init__(self, days: DayRange) -> None:
        self.days = days
        self.total = _Tally()
        self.by_day: dict[str, _Tally] = defaultdict(_Tally)
        self.by_shop: dict[str, _Tally] = defaultdict(_Tally)
        self.by_lang: dict[str, _Tally] = defaultdict(_Tally)
        self.by_hour: dict[int, Counter[str]] = defaultdict(Counter)
        self.by_attempt: dict[int, Counter[str]] = defaultdict(Counter)
        self.statuses: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.talk: list[float] = []
        self.calls = 0
        self.by_purpose: dict[str, CallTally] = defaultdict(CallTally)
        self.by_shop_purpose: dict[tuple[str, str], _ShopPurpose] = {}

    def add(self, o: StoredOrder) -> None:
        reached = False
        order_calls = o.calls or []
        shop = str(o.order.get("shop_name", ""))
        for c in order_calls:
            self.calls += 1
            outcome = c.get("outcome") or "in_progress"
            self.outcomes[outcome] += 1
            hit = outcome in REACHED
            reached = reached or hit
            placed = _parse_at(c.get("originated_at") or c.get("created_at"))
            local = placed.astimezone(self.days.zone) if placed else None
            hour = self.by_hour[local.hour] if local else None
            purpose = str(c.get("purpose") or o.order.get("purpose") or "confirm")
            self.by_purpose[purpose].add(c.get("outcome"))
            group = self.by_shop_purpose.get((shop, purpose))
            if group is None:
                group = self.by_shop_purpose[(shop, purpose)] = _ShopPurpose()
            group.add(c.get("outcome"), local)
            att = self.by_attempt[int(c.get("attempt") or 1)]
            for bucket in (hour, att):
                if bucket is not None:
                    bucket["calls"] += 1
                    bucket["reached"] += hit
                    bucket["confirmed"] += outcome == "confirmed"
            seconds = _talk_s(c)
            if seconds is not None:
                self.talk.append(seconds)
        confirmed = o.status == "confirmed"
        called = bool(order_calls) or o.attempts > 0
        self.statuses[o.status] += 1
        day = o.created_at.astimezone(self.days.zone).date().isoformat()
        for tally in (self.total, self.by_day[day], self.by_shop[shop],
                      self.by_lang[str(o.order.get("language", ""))]):  # fmt: skip
            tally.add(called, reached, confirmed)

    def result(self) -> dict[str, Any]:
        def groups(d: dict[str, _Tally], name: str) -> list[dict[str, Any]]:
            rows = [{name: k, **v.to_json()} for k, v in d.items()]
            return sorted(rows, key=lambda r: (-r["orders"], r[name]))

        def calls_by(d: dict[int, Counter[str]], name: str) -> list[dict[str, Any]]:
            return [{name: k, "calls": v["calls"], "reached": v["reached"],
                     "confirmed": v["confirmed"]} for k, v in sorted(d.items())]  # fmt: skip

        first = self.days.first
        all_days = [first.fromordinal(first.toordinal() + i).isoformat()
                    for i in range(self.days.days)]  # fmt: skip
        talk = self.talk
        return {
            "range": self.days.to_json(),
            "funnel": self.total.to_json(),
            "calls": self.calls,
            "talk": {
                "calls": len(talk),
                "total_s": round(sum(talk), 1),
                "mean_s": round(statistics.fmean(talk), 1) if talk else None,
                "median_s": round(statistics.median(talk), 1) if talk else None,
            },
            "statuses": dict(self.statuses),
            "outcomes": dict(self.outcomes),
            "by_day": [{"day": d, **self.by_day[d].to_json()} for d in all_days],
            "by_hour": calls_by(self.by_hour, "hour"),
            "by_shop": groups(self.by_shop, "shop"),
            "by_language": groups(self.by_lang, "language"),
            "by_attempt": calls_by(self.by_attempt, "attempt"),
            "by_purpose": sorted(
                ({"purpose": k, **v.to_json()} for k, v in self.by_purpose.items()),
                key=lambda r: (-r["calls"], r["purpose"]),
            ),
            "by_shop_purpose": sorted(
                (
                    {"shop": s, "purpose": p, **g.to_json(all_days)}
                    for (s, p), g in self.by_shop_purpose.items()
                ),
                key=lambda r: (-r["calls"], r["shop"], r["purpose"]),
            ),
        }


class _ShopPurpose:
    """One shop's calls under one purpose: in all, by local hour and by local day placed."""

    __slots__ = ("by_day", "by_hour", "total")

    def __init__(self) -> None:
        self.total = CallTally()
        self.by_hour: dict[int, CallTally] = defaultdict(CallTally)
        self.by_day: dict[str, CallTally] = defaultdict(CallTally)

    def add(self, outcome: str | None, placed: datetime | None) -> None:
        self.total.add(outcome)
        if placed is not None:
            self.by_hour[placed.hour].add(outcome)
            self.by_day[placed.date().isoformat()].add(outcome)

    def to_json(self, days: list[str]) -> dict[str, Any]:
        # calls placed after the range (an order of its last day called the next) get their day
        shown = sorted({*days, *self.by_day})
        return {
            **self.total.to_json(),
            "by_hour": [{"hour": h, **t.to_json()} for h, t in sorted(self.by_hour.items())],
            "by_day": [{"day": d, **self.by_day[d].to_json()} if d in self.by_day
                       else {"day": d, **CallTally().to_json()} for d in shown],
        }  # fmt: skip


def compute(orders: Iterable[StoredOrder], days: DayRange) -> dict[str, Any]:
    """The report of ``orders`` created in ``days``."""
    builder = ReportBuilder(days)
    for o in orders:
        builder.add(o)
    return builder.result()


async def _report(request: web.Request, days: DayRange, flt: OrderFilter) -> dict[str, Any]:
    ctx = request.app[WEB_KEY]
    builder = ReportBuilder(days)
    async for chunk in scan_orders(ctx.store.redis, ctx.store.prefix, start=days.start,
                                   end=days.end, with_calls=True):  # fmt: skip
        for o in chunk:
            if flt.matches_fields(o) and _q_matches(flt, o):
                builder.add(o)
    return builder.result()


def _q_matches(flt: OrderFilter, o: StoredOrder) -> bool:
    return not flt.q or flt.matches_q_cheaply(o) or flt.matches_transcript(o)


def _days(request: web.Request) -> DayRange:
    ctx = request.app[WEB_KEY]
    today = datetime.now(UTC).astimezone(ctx.queries.tz).date()
    return day_range(request.query.get("from"), request.query.get("to"), ctx.queries.tz,
                     today=today, default_days=DEFAULT_DAYS)  # fmt: skip


def _change(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in ("orders", "called", "reached", "confirmed"):
        out[k] = now["funnel"][k] - before["funnel"][k]
    for k in ("reach_rate", "confirm_rate", "confirm_of_reached"):
        a, b = now["funnel"][k], before["funnel"][k]
        out[k] = None if a is None or b is None else a - b
    a, b = now["talk"]["mean_s"], before["talk"]["mean_s"]
    out["talk_mean_s"] = None if a is None or b is None else round(a - b, 1)
    return out


async def report_handler(request: web.Request) -> web.StreamResponse:
    started = time.perf_counter()
    try:
        days = _days(request)
        flt = parse_filter(request.query, request.app[WEB_KEY].settings.default_region,
                           principal_of(request).shops)  # fmt: skip
    except BadQuery as e:
        return bad_query(e)
    current = await _report(request, days, flt)
    before = await _report(request, days.previous(), flt)
    doc = {
        **current,
        "filters": {k: v for k, v in request.query.items() if k not in ("from", "to")},
        "previous": {k: before[k] for k in ("range", "funnel", "calls", "talk")},
        "change": _change(current, before),
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return web.json_response(doc)


# -- CSV ---------------------------------------------------------------------------------------

ORDER_COLUMNS = ("order_id", "created_at", "status", "status_reason", "last_outcome", "attempts",
                 "shop_name", "amount", "currency", "language", "customer_name", "phone",
                 "items_summary", "delivery_date", "updated_at")  # fmt: skip
CALL_COLUMNS = ("order_id", "call_id", "attempt", "created_at", "originated_at", "answered_at",
                "ended_at", "talk_s", "outcome", "reason", "language", "phone",
                "transcript")  # fmt: skip
AUDIT_COLUMNS = ("at", "user", "role", "action", "status", "order_id", "phone", "details")


def csv_line(cells: Iterable[Any]) -> bytes:
    """One CSV row (CRLF), every cell guarded by :func:`safe_cell`."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([safe_cell(c) for c in cells])
    return buf.getvalue().encode("utf-8")


async def csv_stream(request: web.Request, filename: str) -> web.StreamResponse:
    """A prepared CSV download: headers sent, the byte-order mark written."""
    resp = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })  # fmt: skip
    await resp.prepare(request)
    await resp.write("\ufeff".encode())
    return resp


async def _csv_response(request: web.Request, name: str, days: DayRange) -> web.StreamResponse:
    return await csv_stream(request, f"{name}-{days.first}_{days.last}.csv")


async def export_handler(request: web.Request) -> web.StreamResponse:
    kind = request.match_info["kind"]
    ctx = request.app[WEB_KEY]
    full = principal_of(request).is_admin
    try:
        days = _days(request)
        flt = parse_filter(request.query, ctx.settings.default_region, principal_of(request).shops)
    except BadQuery as e:
        return bad_query(e)
    if kind == "audit" and not principal_of(request).all_shops:
        return json_error(403, "forbidden", "the audit log covers every shop")
    if kind == "audit":
        return await _export_audit(request, days)
    if kind not in ("orders", "calls"):
        raise web.HTTPNotFound()
    resp = await _csv_response(request, kind, days)
    await resp.write(csv_line(ORDER_COLUMNS if kind == "orders" else CALL_COLUMNS))
    with_calls = kind == "calls" or bool(flt.q)
    async for chunk in scan_orders(ctx.store.redis, ctx.store.prefix, start=days.start,
                                   end=days.end, with_calls=with_calls):  # fmt: skip
        lines = []
        for o in chunk:
            if not (flt.matches_fields(o) and _q_matches(flt, o)):
                continue
            phone = o.fields.get("phone", "")
            phone = phone if full else mask_phone(phone)
            if kind == "orders":
                f, d = o.fields, o.order
                lines.append(csv_line([
                    o.order_id, f.get("created_at"), o.status, f.get("status_reason"),
                    f.get("last_outcome"), o.attempts, d.get("shop_name"), d.get("amount"),
                    d.get("currency"), d.get("language"), d.get("customer_name"), phone,
                    d.get("items_summary"), d.get("delivery_date"), f.get("updated_at"),
                ]))  # fmt: skip
                continue
            for c in o.sorted_calls():
                talk = _talk_s(c)
                lines.append(csv_line([
                    o.order_id, c.get("call_id"), c.get("attempt"), c.get("created_at"),
                    c.get("originated_at"), c.get("answered_at"), c.get("ended_at"),
                    "" if talk is None else round(talk, 1), c.get("outcome"), c.get("reason"),
                    c.get("language"), phone, " | ".join(c.get("transcript") or []),
                ]))  # fmt: skip
        if lines:
            await resp.write(b"".join(lines))
    await resp.write_eof()
    return resp


async def _export_audit(request: web.Request, days: DayRange) -> web.StreamResponse:
    """Audit entries of the range; their phones are masked when written (security)."""
    ctx = request.app[WEB_KEY]
    entries = await ctx.control.audit_log(ctx.control.audit_keep)
    resp = await _csv_response(request, "audit", days)
    await resp.write(csv_line(AUDIT_COLUMNS))
    lines = []
    for e in reversed(entries):  # oldest first, like the other exports' time order
        at = _parse_at(e.get("at"))
        if at is None or not days.contains(at):
            continue
        rest = {k: v for k, v in e.items() if k not in AUDIT_COLUMNS}
        details = " ".join(f"{k}={v}" for k, v in rest.items())
        lines.append(csv_line([e.get("at"), e.get("user"), e.get("role"), e.get("action"),
                                e.get("status"), e.get("order_id"), e.get("phone"),
                                details]))  # fmt: skip
    await resp.write(b"".join(lines))
    await resp.write_eof()
    return resp


def add_report_routes(app: web.Application) -> None:
    r = Routes(app)
    r.get("/dashboard/api/reports", report_handler, READ)
    r.get("/dashboard/api/export/{kind}.csv", export_handler, READ)
