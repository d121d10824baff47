"""Work for humans: the orders the robot could not settle, for a supervisor to take, note and
resolve, with who and when in the audit log.

Which orders (by their final status, and for ``exhausted`` the last call's outcome):

    callback      exhausted after "call me later": the customer was promised a call
    unclear       exhausted without a usable answer
    exhausted     exhausted otherwise (no answer, busy, failed ...)
    operator      asked for a human (and no operator line took the call, or it needs one)
    changed       wants another delivery day, time or address
    wrong_number  the person who answered is not the customer
    not_ordered   says they ordered nothing (a suspected fake)

The queue is read from the order store's status sets (``status:{status}``), so an order joins
it the moment it reaches one of these states, whoever put it there. What people did is kept
beside it (prefix ``dozvon:``)::

    followup:{id}         HASH  round (the order's reopen count it applies to), state
                                (open|taken|resolved), taken_by, taken_at, resolved_by,
                                resolved_at, resolution, notes
    followup:{id}:notes   LIST  JSON {at, by, text}, oldest first (capped at NOTES_KEEP)

A reopened order (robot.core.reopen) that ends in one of these states again is a new round:
open again, with its earlier notes still shown.

    GET  /dashboard/api/followups?state=active|open|taken|resolved|all&limit=
    GET  /dashboard/api/followups/{id}
    POST /dashboard/api/followups/{id}/take      {"force": true} takes it over from another
    POST /dashboard/api/followups/{id}/release
    POST /dashboard/api/followups/{id}/note      {"text"}
    POST /dashboard/api/followups/{id}/resolve   {"resolution", "note"?}
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from robot.adapters.redis_keys import PREFIX, RedisKeys
from robot.core.models import OrderStatus
from robot.core.phones import mask_phone
from robot.web.access import ACT, AUDIT, READ, Routes, principal_of
from robot.web.context import WEB_KEY
from robot.web.errors import json_error
from robot.web.routes import _json_body as json_body  # one JSON body reader for the web
from robot.web.routes import visible_order

STATUSES = (
    OrderStatus.EXHAUSTED,
    OrderStatus.OPERATOR,
    OrderStatus.CHANGED,
    OrderStatus.WRONG_NUMBER,
    OrderStatus.NOT_ORDERED,
)
RESOLUTIONS = ("done", "cancelled", "unreachable", "no_action")
PER_STATUS_CAP = 1_000
NOTE_MAX = 2_000
NOTES_KEEP = 200

# KEYS: followup hash. ARGV: user, now iso, round, force ("1"), action (take|resolve|release),
# resolution. Returns {"ok"|"taken"|"resolved"|"not_taken", who}.
_LUA_STEP = """
local h = KEYS[1]
local rnd = redis.call('HGET', h, 'round')
local st = redis.call('HGET', h, 'state')
if rnd ~= ARGV[3] then st = 'open' end
local holder = redis.call('HGET', h, 'taken_by')
if st == 'resolved' and ARGV[5] ~= 'take' then
  return {'resolved', redis.call('HGET', h, 'resolved_by') or ''}
end
if st == 'taken' and holder ~= ARGV[1] and ARGV[4] ~= '1' then return {'taken', holder} end
if ARGV[5] == 'release' then
  if st ~= 'taken' then return {'not_taken', ''} end
  redis.call('HSET', h, 'state', 'open', 'taken_by', '', 'taken_at', '')
  return {'ok', ARGV[1]}
end
if rnd ~= ARGV[3] then
  redis.call('HDEL', h, 'resolved_by', 'resolved_at', 'resolution', 'taken_by', 'taken_at')
end
if ARGV[5] == 'take' then
  if st == 'resolved' then redis.call('HDEL', h, 'resolved_by', 'resolved_at', 'resolution') end
  redis.call('HSET', h, 'round', ARGV[3], 'state', 'taken', 'taken_by', ARGV[1],
             'taken_at', ARGV[2])
  return {'ok', ARGV[1]}
end
if st ~= 'taken' then
  redis.call('HSET', h, 'taken_by', ARGV[1], 'taken_at', ARGV[2])
end
redis.call('HSET', h, 'round', ARGV[3], 'state', 'resolved', 'resolved_by', ARGV[1],
           'resolved_at', ARGV[2], 'resolution', ARGV[6])
return {'ok', ARGV[1]}
"""


def reason_of(status: str, last_outcome: str | None) -> str:
    if status == OrderStatus.EXHAUSTED.value:
        if last_outcome == "later":
            return "callback"
        if last_outcome == "unclear":
            return "unclear"
        return "exhausted"
    return status


class FollowUps:
    def __init__(self, redis: Any, prefix: str = PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix
        self.keys = RedisKeys(prefix)
        self._step = redis.register_script(_LUA_STEP)

    async def _order(self, oid: str) -> dict[str, Any] | None:
        h = await self.redis.hgetall(self.keys.order(oid))
        return h or None

    def _item(self, oid: str, o: dict[str, Any], f: dict[str, Any]) -> dict[str, Any]:
        order = json.loads(o.get("order") or "{}")
        rnd = str(int(o.get("reopened") or 0))
        state = f.get("state", "open") if f.get("round") == rnd else "open"
        current = f.get("round") == rnd
        return {
            "order_id": oid,
            "status": o.get("status"),
            "reason": reason_of(str(o.get("status")), o.get("last_outcome")),
            "last_outcome": o.get("last_outcome"),
            "since": o.get("updated_at"),
            "attempts": int(o.get("attempts") or 0),
            "phone": mask_phone(str(o.get("phone", ""))),
            "customer_name": order.get("customer_name"),
            "shop_name": order.get("shop_name"),
            "language": order.get("language"),
            "state": state,
            "taken_by": (f.get("taken_by") or None) if current else None,
            "taken_at": (f.get("taken_at") or None) if current else None,
            "resolved_by": (f.get("resolved_by") or None) if state == "resolved" else None,
            "resolved_at": (f.get("resolved_at") or None) if state == "resolved" else None,
            "resolution": (f.get("resolution") or None) if state == "resolved" else None,
            "notes": int(f.get("notes") or 0),
            "reopened": int(rnd),
        }

    async def list(
        self, state: str = "active", limit: int = 200, shops: frozenset[str] | None = None
    ) -> dict[str, Any]:
        """The follow-ups in ``state``, the longest waiting first; ``shops``: only theirs."""
        scored: dict[str, float] = {}
        for st in STATUSES:
            for oid, score in await self.redis.zrange(
                self.keys.status(st.value), 0, PER_STATUS_CAP - 1, withscores=True
            ):
                scored[str(oid)] = float(score)
        ids = sorted(scored, key=lambda i: scored[i])  # the longest waiting first
        items: list[dict[str, Any]] = []
        counts = {"open": 0, "taken": 0, "resolved": 0}
        if ids:
            async with self.redis.pipeline(transaction=False) as pipe:
                for oid in ids:
                    pipe.hgetall(self.keys.order(oid))
                    pipe.hgetall(self.keys.followup(oid))
                rows = await pipe.execute()
            for oid, o, f in zip(ids, rows[0::2], rows[1::2], strict=True):
                if not o:
                    continue
                item = self._item(oid, o, f)
                if shops is not None and item["shop_name"] not in shops:
                    continue
                counts[item["state"]] += 1
                wanted = (
                    state == "all"
                    or item["state"] == state
                    or (state == "active" and item["state"] != "resolved")
                )
                if wanted and len(items) < limit:
                    items.append(item)
        return {"followups": items, "counts": counts}

    async def get(self, oid: str) -> dict[str, Any] | None:
        o = await self._order(oid)
        if o is None:
            return None
        f = await self.redis.hgetall(self.keys.followup(oid))
        raw = await self.redis.lrange(self.keys.followup_notes(oid), 0, -1)
        notes = [json.loads(n) for n in raw]
        needed = o.get("status") in {s.value for s in STATUSES}
        return {**self._item(oid, o, f), "needed": needed, "notes_list": notes}

    async def step(
        self, oid: str, action: str, user: str, now: datetime, *, force: bool = False,
        resolution: str = "",
    ) -> tuple[str, str]:  # fmt: skip
        o = await self._order(oid)
        if o is None:
            raise KeyError(oid)
        if o.get("status") not in {s.value for s in STATUSES}:
            return "not_needed", str(o.get("status"))
        result, who = await self._step(
            keys=[self.keys.followup(oid)],
            args=[user, now.astimezone(UTC).isoformat(), str(int(o.get("reopened") or 0)),
                  "1" if force else "0", action, resolution],
        )  # fmt: skip
        return str(result), str(who or "")

    async def note(self, oid: str, user: str, text: str, now: datetime) -> dict[str, Any]:
        entry = {"at": now.astimezone(UTC).isoformat(), "by": user, "text": text}
        key = self.keys.followup_notes(oid)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(entry, ensure_ascii=False))
            pipe.ltrim(key, -NOTES_KEEP, -1)
            pipe.hincrby(self.keys.followup(oid), "notes", 1)
            await pipe.execute()
        return entry


FOLLOWUPS_KEY = web.AppKey("dozvon.followups", FollowUps)


def _followups(request: web.Request) -> FollowUps:
    return request.app[FOLLOWUPS_KEY]


async def list_followups(request: web.Request) -> web.StreamResponse:
    state = request.query.get("state", "active")
    if state not in ("active", "open", "taken", "resolved", "all"):
        return json_error(422, "invalid_field", f"unknown state: {state}", field="state")
    try:
        limit = max(1, min(1000, int(request.query.get("limit", "200"))))
    except ValueError:
        return json_error(422, "invalid_field", "limit must be a number", field="limit")
    shops = principal_of(request).shops
    return web.json_response(await _followups(request).list(state, limit, shops))


async def get_followup(request: web.Request) -> web.StreamResponse:
    oid = request.match_info["order_id"]
    await visible_order(request, oid)
    doc = await _followups(request).get(oid)
    if doc is None:
        return json_error(404, "not_found", f"no order '{oid}'")
    return web.json_response(doc)


async def _act(request: web.Request, action: str) -> web.StreamResponse:
    oid = request.match_info["order_id"]
    user = principal_of(request).name
    body = await json_body(request)
    request[AUDIT] = {"action": f"followup_{action}", "order_id": oid}
    await visible_order(request, oid)
    resolution = ""
    if action == "resolve":
        resolution = str(body.get("resolution", ""))
        request[AUDIT]["resolution"] = resolution
        if resolution not in RESOLUTIONS:
            return json_error(422, "invalid_field", f"unknown resolution: {resolution}",
                              field="resolution")  # fmt: skip
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or not 0 < len(note.strip()) <= NOTE_MAX):
        return json_error(422, "invalid_field", f"the note must have 1 to {NOTE_MAX} characters",
                      field="note")  # fmt: skip
    fu = _followups(request)
    now = datetime.now(UTC)
    try:
        result, who = await fu.step(oid, action, user, now, force=body.get("force") is True,
                                    resolution=resolution)  # fmt: skip
    except KeyError:
        return json_error(404, "not_found", f"no order '{oid}'")
    if result == "not_needed":
        return json_error(409, "not_needed", f"order {oid} needs no follow-up", order_status=who)
    if result == "taken":
        return json_error(409, "taken", f"order {oid} is being handled by {who}", taken_by=who)
    if result == "resolved" or result == "not_taken":
        return json_error(409, result, f"order {oid} needs no follow-up", by=who)
    if note:
        await fu.note(oid, user, note.strip(), now)
        request[AUDIT]["note"] = note.strip()[:200]
    request.app[WEB_KEY].hub.poke()
    return web.json_response(await fu.get(oid))


async def take(request: web.Request) -> web.StreamResponse:
    return await _act(request, "take")


async def release(request: web.Request) -> web.StreamResponse:
    return await _act(request, "release")


async def resolve(request: web.Request) -> web.StreamResponse:
    return await _act(request, "resolve")


async def add_note(request: web.Request) -> web.StreamResponse:
    oid = request.match_info["order_id"]
    body = await json_body(request)
    text = body.get("text")
    request[AUDIT] = {"action": "followup_note", "order_id": oid}
    if not isinstance(text, str) or not 0 < len(text.strip()) <= NOTE_MAX:
        return json_error(422, "invalid_field", f"the note must have 1 to {NOTE_MAX} characters",
                      field="text")  # fmt: skip
    fu = _followups(request)
    await visible_order(request, oid)
    if await fu.get(oid) is None:
        return json_error(404, "not_found", f"no order '{oid}'")
    entry = await fu.note(oid, principal_of(request).name, text.strip(), datetime.now(UTC))
    request[AUDIT]["note"] = entry["text"][:200]
    return web.json_response(await fu.get(oid))


def add_followup_routes(app: web.Application) -> None:
    ctx = app[WEB_KEY]
    app[FOLLOWUPS_KEY] = FollowUps(ctx.store.redis, ctx.store.prefix)
    r = Routes(app)
    r.get("/dashboard/api/followups", list_followups, READ)
    r.get("/dashboard/api/followups/{order_id}", get_followup, READ)
    r.post("/dashboard/api/followups/{order_id}/take", take, ACT)
    r.post("/dashboard/api/followups/{order_id}/release", release, ACT)
    r.post("/dashboard/api/followups/{order_id}/note", add_note, ACT)
    r.post("/dashboard/api/followups/{order_id}/resolve", resolve, ACT)
