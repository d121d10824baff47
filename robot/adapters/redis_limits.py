"""Limits that hold across every worker sharing one Redis: a cap on concurrent calls, a
calls-per-second token bucket, and per-trunk caps (a trunk is an Asterisk server or a named
trunk behind one), all checked and taken in one Lua script.

Key layout (prefix ``dozvon:``; one Redis node, the script builds keys from the prefix; the
names are listed in ``adapters/redis_keys``):

    limits:calls            ZSET  call id -> slot expiry (epoch s): every call in flight
    limits:calls:{trunk}    ZSET  the same, per trunk
    limits:bucket           HASH  tokens, ts: the global calls-per-second bucket
    limits:bucket:{trunk}   HASH  the same, per trunk (when the trunk has its own rate)
    limits:backoff:{trunk}  STRING the trunk's reduced calls per second after it refused calls
                                  for capacity (SIP 503/403, outcome trunk_limit); expires
                                  after ``backoff_hold_s``, and with it the reduction
    limits:shop:{shop}      ZSET  call id -> slot expiry: the shop's calls in flight
    limits:shop:{shop}:bucket HASH tokens, ts: the shop's calls-per-second bucket
    control                 HASH  run-time controls the dashboard writes (redis_control):
                                  paused ("1"), max_concurrent_calls (int >= 0),
                                  calls_per_second (float > 0); a missing field falls back to
                                  Settings (global_max_calls, calls_per_second).
    shop:{shop}:limits      HASH  a shop's own limits, written by adapters/shop_registry:
                                  paused ("1"/"0"), max_calls, cps; an absent field or hash:
                                  no limit for the shop.

This module is the one admission gate: pause, the concurrency caps and calls per second are
enforced here and nowhere else (the dialer only holds to its own capacity, the number of calls
its process runs), and every refusal says why (``ports.Refusal``). The installation's limits
are asked before an order is claimed (``acquire``); the claimed order's shop limits after it
(``acquire_shop``), so a paused or full shop holds back only its own orders.

A slot is held per call, not per worker: it carries an expiry that the holder's heartbeat
pushes forward, so the slots of a worker that died come back after ``slot_ttl_s``. The bucket
refills by elapsed time (``rate`` tokens a second up to ``burst``); a slot taken without a
call placed (nothing was due) is given back with its token.

Back-off: each refusal halves the trunk's rate (its own cps, else the global one, else
``backoff_start_cps``), down to ``backoff_min_cps``, and holds it for ``backoff_hold_s`` from the
last refusal; a trunk that stops refusing gets its configured rate back when the key expires.
While backed off the trunk's bucket has a burst of one.

Time: by default the script reads Redis's own clock (``TIME``), so workers on machines whose
clocks disagree still share one bucket; tests inject a clock instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from robot.adapters.redis_keys import PREFIX, RedisKeys
from robot.ports import Admitted, Refusal, Refused, Trunk

log = logging.getLogger(__name__)

UNLIMITED = -1
FULL_RETRY_S = 0.25  # how soon to ask again when every slot is taken (no cross-worker signal)
PAUSED_RETRY_S = 1.0
# A shop refusal puts the order back due this much later (other shops' orders go on); a paused
# shop's orders come round less often, so a big paused shop does not keep the workers busy.
SHOP_FULL_RETRY_S = 1.0
SHOP_PAUSED_RETRY_S = 5.0


# ARGV: prefix, call id, now ('' = Redis TIME), slot ttl s, cap (-1 none), cps (<=0 none),
# burst, trunk count, then per trunk: name, cap (-1 none), cps (<=0 none), burst.
# Returns {'ok', trunk} | {'paused'|'full'|'trunks_full'|'cps', wait ms}.
_LUA_ACQUIRE = """
local p, id = ARGV[1], ARGV[2]
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local ttl = tonumber(ARGV[4])
local ctl = p .. 'control'
local paused = redis.call('HGET', ctl, 'paused')
if paused == '1' or paused == 'true' or paused == 'yes' then return {'paused', 1000} end
local cap = tonumber(redis.call('HGET', ctl, 'max_concurrent_calls') or '') or tonumber(ARGV[5])
local cps = tonumber(redis.call('HGET', ctl, 'calls_per_second') or '') or tonumber(ARGV[6])
local burst = tonumber(ARGV[7])

local function tokens(bkey, rate, b)
  local h = redis.call('HMGET', bkey, 'tokens', 'ts')
  local tk, ts = tonumber(h[1]), tonumber(h[2])
  if not tk or not ts then return b end
  return math.min(b, tk + math.max(0, now - ts) * rate)
end

local gkey = p .. 'limits:calls'
redis.call('ZREMRANGEBYSCORE', gkey, '-inf', now)
if cap >= 0 and redis.call('ZCARD', gkey) >= cap then return {'full', 250} end
local gtk = nil
if cps > 0 then
  gtk = tokens(p .. 'limits:bucket', cps, burst)
  if gtk < 1 then return {'cps', math.ceil((1 - gtk) / cps * 1000)} end
end

local n = tonumber(ARGV[8])
local best, best_free, best_tk, cps_wait = nil, nil, nil, nil
for i = 0, n - 1 do
  local name = ARGV[9 + i * 4]
  local tcap, tcps, tburst = tonumber(ARGV[10 + i * 4]), tonumber(ARGV[11 + i * 4]),
    tonumber(ARGV[12 + i * 4])
  local tkey = gkey .. ':' .. name
  local backoff = tonumber(redis.call('GET', p .. 'limits:backoff:' .. name) or '')
  if backoff and (tcps <= 0 or backoff < tcps) then tcps, tburst = backoff, 1 end
  redis.call('ZREMRANGEBYSCORE', tkey, '-inf', now)
  local used = redis.call('ZCARD', tkey)
  local free = (tcap >= 0) and (tcap - used) or (1000000000 - used)
  if free > 0 then
    local tk = nil
    if tcps > 0 then tk = tokens(gkey .. ':bucket:' .. name, tcps, tburst) end
    if tk and tk < 1 then
      local w = math.ceil((1 - tk) / tcps * 1000)
      if not cps_wait or w < cps_wait then cps_wait = w end
    elseif not best_free or free > best_free then
      best, best_free, best_tk = i, free, tk
    end
  end
end
if n > 0 and not best then
  if cps_wait then return {'cps', cps_wait} end
  return {'trunks_full', 250}
end

local expiry = now + ttl
redis.call('ZADD', gkey, expiry, id)
if gtk then
  redis.call('HSET', p .. 'limits:bucket', 'tokens', gtk - 1, 'ts', now)
  redis.call('EXPIRE', p .. 'limits:bucket', 3600)
end
local trunk = ''
if best then
  trunk = ARGV[9 + best * 4]
  redis.call('ZADD', gkey .. ':' .. trunk, expiry, id)
  if best_tk then
    local bkey = gkey .. ':bucket:' .. trunk
    redis.call('HSET', bkey, 'tokens', best_tk - 1, 'ts', now)
    redis.call('EXPIRE', bkey, 3600)
  end
end
return {'ok', trunk}
"""

# ARGV: prefix, call id, now ('' = Redis TIME), slot ttl s, shop name, the shop's limits key,
# paused retry ms, full retry ms. Returns {'ok', ''} | {'shop_paused'|'shop_full'|'shop_cps',
# wait ms}. The shop's bucket has a burst of one second's worth (at least one call).
_LUA_ACQUIRE_SHOP = """
local p, id, shop = ARGV[1], ARGV[2], ARGV[5]
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local h = redis.call('HMGET', ARGV[6], 'paused', 'max_calls', 'cps')
if h[1] == '1' or h[1] == 'true' or h[1] == 'yes' then return {'shop_paused', ARGV[7]} end
local cap, cps = tonumber(h[2] or ''), tonumber(h[3] or '')
local zkey = p .. 'limits:shop:' .. shop
redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now)
if cap and redis.call('ZCARD', zkey) >= cap then return {'shop_full', ARGV[8]} end
local bkey = zkey .. ':bucket'
local tk = nil
if cps and cps > 0 then
  local b = math.max(1, math.floor(cps))
  local s = redis.call('HMGET', bkey, 'tokens', 'ts')
  local t0, ts = tonumber(s[1]), tonumber(s[2])
  tk = b
  if t0 and ts then tk = math.min(b, t0 + math.max(0, now - ts) * cps) end
  if tk < 1 then return {'shop_cps', math.ceil((1 - tk) / cps * 1000)} end
end
redis.call('ZADD', zkey, now + tonumber(ARGV[4]), id)
if tk then
  redis.call('HSET', bkey, 'tokens', tk - 1, 'ts', now)
  redis.call('EXPIRE', bkey, 3600)
end
return {'ok', ''}
"""

# ARGV: prefix, call id, trunk ('' none), refund ('1': no call was placed, give the tokens
# back), global burst, trunk burst, shop ('' none), the shop's limits key. Returns 1 if the
# slot was held.
_LUA_RELEASE = """
local p, id, trunk, shop = ARGV[1], ARGV[2], ARGV[3], ARGV[7]
local gkey = p .. 'limits:calls'
local held = redis.call('ZREM', gkey, id)
if trunk ~= '' then redis.call('ZREM', gkey .. ':' .. trunk, id) end
local shop_held = 0
if shop ~= '' then shop_held = redis.call('ZREM', p .. 'limits:shop:' .. shop, id) end
local function refund(bkey, b)
  local tk = tonumber(redis.call('HGET', bkey, 'tokens'))
  if tk then redis.call('HSET', bkey, 'tokens', math.min(b, tk + 1)) end
end
if ARGV[4] == '1' and held == 1 then
  refund(p .. 'limits:bucket', tonumber(ARGV[5]))
  if trunk ~= '' then refund(gkey .. ':bucket:' .. trunk, tonumber(ARGV[6])) end
end
if ARGV[4] == '1' and shop_held == 1 then
  local bkey = p .. 'limits:shop:' .. shop .. ':bucket'
  local cps = tonumber(redis.call('HGET', ARGV[8], 'cps') or '')
  refund(bkey, math.max(1, math.floor(cps or 1)))
end
return held
"""

# ARGV: prefix, expiry, then (call id, trunk, shop) triples. Re-adds slots that expired
# meanwhile: the calls are real, the count must say so.
_LUA_HEARTBEAT = """
local p, expiry = ARGV[1], ARGV[2]
local gkey = p .. 'limits:calls'
for i = 3, #ARGV, 3 do
  redis.call('ZADD', gkey, expiry, ARGV[i])
  if ARGV[i + 1] ~= '' then redis.call('ZADD', gkey .. ':' .. ARGV[i + 1], expiry, ARGV[i]) end
  local shop = ARGV[i + 2]
  if shop ~= '' then redis.call('ZADD', p .. 'limits:shop:' .. shop, expiry, ARGV[i]) end
end
return 1
"""


# ARGV: prefix, trunk, start cps, min cps, hold s. Returns the new rate (string).
_LUA_BACK_OFF = """
local key = ARGV[1] .. 'limits:backoff:' .. ARGV[2]
local current = tonumber(redis.call('GET', key) or '') or tonumber(ARGV[3])
local rate = math.max(tonumber(ARGV[4]), current / 2)
redis.call('SET', key, tostring(rate), 'PX', math.floor(tonumber(ARGV[5]) * 1000))
return tostring(rate)
"""


@dataclass(frozen=True)
class LimitSettings:
    max_calls: int | None = None  # concurrent calls across all workers; None: no cap
    cps: float = 0.0  # calls per second across all workers; 0: no limit
    burst: int = 1  # calls that may go out back to back after a quiet spell
    slot_ttl_s: float = 30.0  # a dead worker's slots come back after this
    backoff_start_cps: float = 2.0  # a refusing trunk without any cps limit starts from this
    backoff_min_cps: float = 0.1  # never slower than one call in ten seconds
    backoff_hold_s: float = 60.0  # the reduced rate holds this long after the last refusal


class RedisCallLimits:
    """Global, per-trunk and per-shop call admission. Implements ``ports.CallLimits``."""

    def __init__(
        self,
        redis: Redis,
        settings: LimitSettings | None = None,
        *,
        prefix: str = PREFIX,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``redis`` must be created with ``decode_responses=True``."""
        self.redis = redis
        self.settings = settings or LimitSettings()
        self.prefix = prefix
        self.keys = RedisKeys(prefix)
        self.clock = clock
        self._held: dict[str, Trunk | None] = {}
        self._shops: dict[str, str] = {}  # call id -> the shop whose slot it holds
        self._acquire = redis.register_script(_LUA_ACQUIRE)
        self._acquire_shop = redis.register_script(_LUA_ACQUIRE_SHOP)
        self._release = redis.register_script(_LUA_RELEASE)
        self._heartbeat = redis.register_script(_LUA_HEARTBEAT)
        self._back_off = redis.register_script(_LUA_BACK_OFF)
        self._trunks: dict[str, Trunk] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def held(self) -> int:
        """Slots this process holds."""
        return len(self._held)

    def _now(self) -> str:
        return "" if self.clock is None else repr(self.clock())

    async def acquire(self, call_id: str, trunks: Sequence[Trunk] = ()) -> Admitted | Refused:
        """Take a slot (global, and on the trunk with the most free capacity) and a CPS token
        for ``call_id``, or say why not and when to ask again."""
        s = self.settings
        args: list[str | int | float] = [
            self.prefix,
            call_id,
            self._now(),
            s.slot_ttl_s,
            UNLIMITED if s.max_calls is None else s.max_calls,
            s.cps,
            max(1, s.burst),
            len(trunks),
        ]
        for t in trunks:
            args += [
                t.name,
                UNLIMITED if t.capacity is None else t.capacity,
                t.cps,
                max(1, t.burst),
            ]
        status, value = await self._acquire(args=args)
        if status != "ok":
            return Refused(Refusal(status), int(value) / 1000)
        trunk = next((t for t in trunks if t.name == value), None)
        self._held[call_id] = trunk
        if trunk is None:
            return Admitted()
        self._trunks[trunk.name] = trunk
        return Admitted(
            server=trunk.name, dial_template=trunk.dial_template, caller_id=trunk.caller_id
        )

    async def acquire_shop(self, call_id: str, shop_name: str) -> Refused | None:
        """For a call holding a slot (``acquire``): take a slot and a CPS token of the order's
        shop, or say why not (``Refused``: the order should go back due after
        ``retry_after_s``; other shops' orders are not held back)."""
        if call_id not in self._held:
            raise KeyError(f"call {call_id} holds no slot: acquire it first")
        status, value = await self._acquire_shop(
            args=[
                self.prefix,
                call_id,
                self._now(),
                self.settings.slot_ttl_s,
                shop_name,
                self.keys.shop_limits(shop_name),
                int(SHOP_PAUSED_RETRY_S * 1000),
                int(SHOP_FULL_RETRY_S * 1000),
            ]
        )
        if status != "ok":
            return Refused(Refusal(status), int(value) / 1000)
        self._shops[call_id] = shop_name
        return None

    async def back_off(self, trunk: str) -> float:
        """The trunk refused a call for capacity: halve its calls per second for all workers
        (see the module docstring); returns the new rate."""
        s = self.settings
        known = self._trunks.get(trunk)
        start = (known.cps if known is not None and known.cps > 0 else 0.0) or s.cps
        start = start if start > 0 else s.backoff_start_cps
        rate = float(
            await self._back_off(
                args=[self.prefix, trunk, start, s.backoff_min_cps, s.backoff_hold_s]
            )
        )
        log.warning("trunk %s refused a call for capacity: %.2f calls/s for now", trunk, rate)
        return rate

    async def trunk_rate(self, trunk: str) -> float | None:
        """The trunk's reduced calls per second while it is backed off, else None."""
        value = await self.redis.get(self.keys.limits_backoff(trunk))
        return float(value) if value is not None else None

    async def release(self, call_id: str, *, placed: bool = True) -> None:
        """Give the slot back; ``placed=False`` also returns the CPS token (nothing dialed)."""
        if call_id not in self._held:
            return
        trunk = self._held.pop(call_id)
        shop = self._shops.pop(call_id, "")
        await self._release(
            args=[
                self.prefix,
                call_id,
                trunk.name if trunk else "",
                "0" if placed else "1",
                max(1, self.settings.burst),
                max(1, trunk.burst) if trunk else 1,
                shop,
                self.keys.shop_limits(shop) if shop else "",
            ],
        )

    async def heartbeat(self) -> None:
        """Push the expiry of every slot this process holds forward by ``slot_ttl_s``."""
        if not self._held:
            return
        now = self.clock() if self.clock is not None else (await self.redis.time())[0]
        args: list[str | int | float] = [self.prefix, float(now) + self.settings.slot_ttl_s]
        for call_id, trunk in list(self._held.items()):
            args += [call_id, trunk.name if trunk else "", self._shops.get(call_id, "")]
        await self._heartbeat(args=args)

    async def in_flight(self, trunk: str | None = None, *, shop: str | None = None) -> int:
        """Calls holding a slot now, on all workers (on one trunk, or of one shop, if given);
        expired slots of dead workers still count until the next acquire sweeps them."""
        if shop is not None:
            return int(await self.redis.zcard(self.keys.limits_shop_calls(shop)))
        return int(await self.redis.zcard(self.keys.limits_calls(trunk or "")))

    # -- the heartbeat task --------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._beat(), name="call-slot-heartbeat")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _beat(self) -> None:
        period = max(0.5, self.settings.slot_ttl_s / 3)
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), period)
            try:
                await self.heartbeat()
            except RedisError as e:
                log.warning("call slot heartbeat failed: %s", e)
