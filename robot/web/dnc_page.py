"""The do-not-call list as the dashboard's own page (``/dnc``) and its JSON.

    GET    /dashboard/api/dnc?q=&offset=0&limit=50   {"total", "offset", "limit", "items"}
    POST   /dashboard/api/dnc                        admin: {"phone", "reason"}
    DELETE /dashboard/api/dnc/{phone}                admin
    POST   /dashboard/api/dnc/import                 admin: CSV body ``phone[,reason]``
    GET    /dashboard/api/dnc/export.csv             phone, reason, added_at, source, by

Unlike the CRM's ``/api/v1/dnc``, these know the supervisor: entries record ``by`` (who), and
every change is audited as ``dnc_add`` / ``dnc_remove`` / ``dnc_import``. Viewers read the list
with phones masked and may search it by the digits they see; ``q`` matches the phone's digits
(any part), the reason or who listed it. The export re-imports as it is.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from robot.adapters.dnc_store import DncEntry, DncStore
from robot.core.json_doc import InvalidJson, loads
from robot.core.phones import PhoneError, mask_phone, normalize_phone
from robot.web.access import AUDIT, INSTALLATION, READ_ALL, Routes, principal_of
from robot.web.context import WEB_KEY
from robot.web.errors import invalid_field, json_error
from robot.web.orders_list import fold
from robot.web.reports import csv_line, csv_stream

MAX_LIMIT = 500
SEARCH_CHUNK = 1000
MAX_IMPORT_BYTES = 8 * 1024 * 1024
EXPORT_COLUMNS = ("phone", "reason", "added_at", "source", "by")


def _dnc(request: web.Request) -> DncStore:
    ctx = request.app[WEB_KEY]
    return DncStore(ctx.store.redis, prefix=ctx.store.prefix)


def _shown(entry: DncEntry, full: bool) -> dict[str, Any]:
    doc = entry.to_json()
    if not full:
        doc["phone"] = mask_phone(entry.phone)
    return doc


def _matches(entry: DncEntry, q: str, digits: str, full: bool) -> bool:
    phone = entry.phone if full else mask_phone(entry.phone)
    if digits and digits in "".join(ch for ch in phone if ch.isdigit()):
        return True
    return fold(q) in fold(f"{entry.reason} {entry.by} {entry.source}")


async def _search(
    dnc: DncStore, q: str, offset: int, limit: int, full: bool
) -> tuple[int, list[DncEntry]]:
    # A query of digits (and phone punctuation) looks in the numbers, anything else in the text.
    digits = "".join(ch for ch in q if ch.isdigit()) if re.fullmatch(r"[\d\s+()*-]+", q) else ""
    total, page, start = 0, [], 0
    while True:
        _, chunk = await dnc.entries(start, SEARCH_CHUNK)
        if not chunk:
            break
        start += len(chunk)
        for e in chunk:
            if _matches(e, q, digits, full):
                if offset <= total < offset + limit:
                    page.append(e)
                total += 1
        if len(chunk) < SEARCH_CHUNK:
            break
    return total, page


async def list_entries(request: web.Request) -> web.StreamResponse:
    full = principal_of(request).is_admin
    try:
        offset = max(0, int(request.query.get("offset", "0")))
        limit = max(1, min(MAX_LIMIT, int(request.query.get("limit", "50"))))
    except ValueError:
        raise invalid_field("offset", "offset and limit must be integers") from None
    q = request.query.get("q", "").strip()[:100]
    dnc = _dnc(request)
    if q:
        total, items = await _search(dnc, q, offset, limit, full)
    else:
        total, items = await dnc.entries(offset, limit)
    return web.json_response({"total": total, "offset": offset, "limit": limit,
                              "items": [_shown(e, full) for e in items]})  # fmt: skip


def _phone(request: web.Request, raw: str) -> str:
    try:
        return normalize_phone(raw, request.app[WEB_KEY].settings.default_region)
    except PhoneError as e:
        raise invalid_field("phone", str(e)) from None


async def add_entry(request: web.Request) -> web.StreamResponse:
    try:
        body = loads(await request.read() or b"{}")
    except InvalidJson as e:
        return json_error(400, "invalid_json", e.message, field=e.field)
    if not isinstance(body, dict):
        return json_error(400, "invalid_json", "body must be a JSON object")
    p = principal_of(request)
    request[AUDIT] = {"action": "dnc_add", "phone": mask_phone(str(body.get("phone", "")))}
    phone = _phone(request, str(body.get("phone", "")))
    reason = str(body.get("reason") or "")[:500]
    dnc = _dnc(request)
    added = await dnc.add(phone, datetime.now(UTC), source="dashboard", reason=reason, by=p.name)
    request[AUDIT] = {"action": "dnc_add", "phone": mask_phone(phone), "added": added,
                      **({"reason": reason} if reason else {})}  # fmt: skip
    entry = await dnc.get(phone)
    doc = {**(_shown(entry, True) if entry else {"phone": phone}), "added": added}
    return web.json_response(doc, status=201 if added else 200)


async def remove_entry(request: web.Request) -> web.StreamResponse:
    phone = _phone(request, request.match_info["phone"])
    request[AUDIT] = {"action": "dnc_remove", "phone": mask_phone(phone)}
    if not await _dnc(request).remove(phone):
        return json_error(404, "not_found", f"{phone} is not on the do-not-call list")
    return web.json_response({"phone": phone, "removed": True})


async def import_entries(request: web.Request) -> web.StreamResponse:
    request[AUDIT] = {"action": "dnc_import"}
    raw = await request.content.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        return json_error(413, "too_large", "the CSV is larger than 8 MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return json_error(400, "invalid_csv", "the CSV must be UTF-8")
    ctx = request.app[WEB_KEY]
    report = await _dnc(request).import_csv(
        text, datetime.now(UTC), default_region=ctx.settings.default_region, source="import",
        by=principal_of(request).name,
    )  # fmt: skip
    request[AUDIT] = {"action": "dnc_import", "added": report.added, "already": report.already,
                      "rejected": len(report.rejected)}  # fmt: skip
    return web.json_response(report.to_json())


async def export_entries(request: web.Request) -> web.StreamResponse:
    full = principal_of(request).is_admin
    dnc = _dnc(request)
    resp = await csv_stream(request, f"dnc-{datetime.now(UTC):%Y-%m-%d}.csv")
    await resp.write(csv_line(EXPORT_COLUMNS))
    start = 0
    while True:
        _, chunk = await dnc.entries(start, SEARCH_CHUNK)
        rows = [csv_line([e.phone if full else mask_phone(e.phone), e.reason,
                          e.added_at.isoformat(), e.source, e.by]) for e in chunk]  # fmt: skip
        await resp.write(b"".join(rows))
        start += len(chunk)
        if len(chunk) < SEARCH_CHUNK:
            break
    await resp.write_eof()
    return resp


def add_dnc_routes(app: web.Application) -> None:
    """The don't-call list covers every shop: an account limited to some does not reach it."""
    r = Routes(app)
    r.get("/dashboard/api/dnc", list_entries, READ_ALL)
    r.post("/dashboard/api/dnc", add_entry, INSTALLATION)
    r.get("/dashboard/api/dnc/export.csv", export_entries, READ_ALL)
    r.post("/dashboard/api/dnc/import", import_entries, INSTALLATION)
    r.delete("/dashboard/api/dnc/{phone}", remove_entry, INSTALLATION)
