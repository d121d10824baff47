"""Sign-in throttling: exponential backoff per name, per address and per (name, address), done
atomically in Redis, so nobody can lock an admin out and parallel guesses are not all tried.

Why this shape (a fixed lockout by name let anyone lock any account; a check followed by an
increment let 100 parallel wrong passwords all be evaluated):

- **Every attempt is counted before the password is checked.** One Lua script looks at every
  bucket the attempt belongs to; if any is in its backoff window the attempt is refused without
  touching the password (HTTP 429, ``Retry-After``), otherwise it counts as a failure in all of
  them *at once* and may set their next window. A right password then takes the count back.
  Refused attempts are not counted, so hammering does not lengthen the wait.
- **Backoff instead of a lockout**: after ``free`` failures a bucket waits ``base * 2**k``
  seconds (k = failures past ``free``) before the next try, up to ``cap``. Three buckets:
  ``pair`` (this name from this address: tight), ``addr`` (any name from this address: looser,
  offices share addresses) and ``name`` (this name from anywhere: catches guessing spread
  over many addresses).
- **The name bucket does not apply to a browser that signed in as that name before** (a
  signed "known device" cookie, as OWASP suggests): an attacker elsewhere slows down guesses
  at the admin's name, and the admin, in their own browser, still signs in.
- **An admin can unlock** a name or an address (``unlock``); :meth:`blocked` lists what waits.

Key layout (prefix ``dozvon:``)::

    web:throttle:{kind}:{id}   HASH  n (failures counted), until (epoch ms of the next allowed
                                     try, 0: none), last (epoch ms), name, addr; expires
                                     ``forget_s`` after the last failure
    web:throttled              ZSET  bucket keys in a backoff window, scored by ``until``
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from robot.adapters.redis_keys import PREFIX, RedisKeys

KNOWN_COOKIE = "dozvon_known"


@dataclass(frozen=True)
class Backoff:
    """Failures allowed in a row, then ``base * 2**k`` seconds between tries, at most ``cap``."""

    free: int
    base_s: float
    cap_s: float


BUCKETS: dict[str, Backoff] = {
    "pair": Backoff(free=5, base_s=2.0, cap_s=900.0),
    "addr": Backoff(free=20, base_s=2.0, cap_s=900.0),
    "name": Backoff(free=10, base_s=2.0, cap_s=300.0),
}
FORGET_S = 24 * 3600  # a bucket with no failure for a day starts over

# KEYS: bucket hashes, then the throttled zset. ARGV: now ms, forget s, then per bucket
# free, base ms, cap ms, name, addr (5 values each).
# Returns {1, 0, "", started} when the attempt may go ahead (counted; ``started`` lists buckets
# whose backoff window this attempt opened, "|"-separated), else {0, wait ms, bucket key, ""}.
_LUA_ATTEMPT = """
local now = tonumber(ARGV[1])
local forget = tonumber(ARGV[2])
local nb = #KEYS - 1
local zkey = KEYS[#KEYS]
for i = 1, nb do
  local untl = tonumber(redis.call('HGET', KEYS[i], 'until') or '0')
  if untl > now then return {0, untl - now, KEYS[i], ''} end
end
local started = {}
for i = 1, nb do
  local o = 2 + (i - 1) * 5
  local free, base, cap = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local n = redis.call('HINCRBY', KEYS[i], 'n', 1)
  redis.call('HSET', KEYS[i], 'last', now, 'name', ARGV[o + 4], 'addr', ARGV[o + 5])
  if n >= free then
    local wait = math.min(cap, base * (2 ^ (n - free)))
    redis.call('HSET', KEYS[i], 'until', now + wait)
    redis.call('ZADD', zkey, now + wait, KEYS[i])
    if n == free then table.insert(started, KEYS[i]) end
  end
  redis.call('EXPIRE', KEYS[i], forget)
end
return {1, 0, '', table.concat(started, '|')}
"""

# KEYS: the buckets a successful sign-in clears, then the zset, then the address bucket.
# Takes this attempt's count back from the address; forgets the name's and the pair's.
_LUA_SUCCEEDED = """
local nk = #KEYS - 2
for i = 1, nk do
  redis.call('DEL', KEYS[i])
  redis.call('ZREM', KEYS[nk + 1], KEYS[i])
end
local addr = KEYS[nk + 2]
if redis.call('EXISTS', addr) == 1 then
  local n = redis.call('HINCRBY', addr, 'n', -1)
  if n <= 0 then
    redis.call('DEL', addr)
    redis.call('ZREM', KEYS[nk + 1], addr)
  end
end
return 1
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: float = 0.0
    bucket: str = ""  # which kind refused: pair, addr or name
    started: tuple[str, ...] = ()  # kinds whose backoff window this attempt opened


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


class LoginThrottle:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = PREFIX,
        buckets: dict[str, Backoff] | None = None,
        forget_s: int = FORGET_S,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.keys = RedisKeys(prefix)
        self.buckets = buckets or BUCKETS
        self.forget_s = forget_s
        self._attempt = redis.register_script(_LUA_ATTEMPT)
        self._succeeded = redis.register_script(_LUA_SUCCEEDED)

    def _bucket_key(self, kind: str, name: str, addr: str) -> str:
        ident = {"pair": f"{name}\x00{addr}", "addr": addr, "name": name}[kind]
        digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
        return self.keys.web_throttle(kind, digest)

    def _kinds(self, known_device: bool) -> list[str]:
        return [k for k in ("pair", "addr", "name") if not (k == "name" and known_device)]

    async def attempt(self, name: str, addr: str, now_ms: int, *, known_device: bool) -> Verdict:
        """Count this attempt, or refuse it if a bucket is waiting. Atomic across processes."""
        kinds = self._kinds(known_device)
        keys = [self._bucket_key(k, name, addr) for k in kinds]
        args: list[Any] = [now_ms, self.forget_s]
        for k in kinds:
            b = self.buckets[k]
            args += [b.free, int(b.base_s * 1000), int(b.cap_s * 1000), name, addr]
        allowed, wait_ms, key, started = await self._attempt(
            keys=[*keys, self.keys.web_throttled], args=args
        )
        kind_of = dict(zip(keys, kinds, strict=True))
        if not int(allowed):
            return Verdict(False, int(wait_ms) / 1000, kind_of.get(str(key), ""))
        opened = tuple(kind_of[k] for k in str(started).split("|") if k in kind_of)
        return Verdict(True, started=opened)

    async def succeeded(self, name: str, addr: str) -> None:
        keys = [self._bucket_key("pair", name, addr), self._bucket_key("name", name, addr)]
        await self._succeeded(
            keys=[*keys, self.keys.web_throttled, self._bucket_key("addr", name, addr)]
        )

    async def blocked(self, now_ms: int) -> list[dict[str, Any]]:
        """Buckets in a backoff window now: kind, name, address, failures, seconds left."""
        zkey = self.keys.web_throttled
        await self.redis.zremrangebyscore(zkey, "-inf", now_ms)
        keys = cast("list[str]", await self.redis.zrange(zkey, 0, 199))
        out = []
        for key in keys:
            h = await self.redis.hgetall(key)
            if not h:
                await self.redis.zrem(zkey, key)
                continue
            kind = str(key).split(":")[-2]
            out.append(
                {
                    "kind": kind,
                    "name": h.get("name") if kind != "addr" else None,
                    "address": h.get("addr") if kind != "name" else None,
                    "failures": int(h.get("n", 0)),
                    "retry_after_s": max(0.0, (int(h.get("until", 0)) - now_ms) / 1000),
                }
            )
        return out

    async def unlock(self, *, name: str | None = None, address: str | None = None) -> int:
        """Forget the failures of a name (its name bucket and every pair with it) and/or an
        address (its address bucket and every pair from it). Returns buckets cleared."""
        zkey = self.keys.web_throttled
        cleared = 0
        targets: list[str] = []
        if name is not None:
            targets.append(self._bucket_key("name", name, ""))
        if address is not None:
            targets.append(self._bucket_key("addr", "", address))
        pattern = self.keys.web_throttle("pair", "*")
        async for key in self.redis.scan_iter(match=pattern, count=500):
            h = await self.redis.hmget(key, "name", "addr")
            if (name is not None and h[0] == name) or (address is not None and h[1] == address):
                targets.append(str(key))
        for key in targets:
            cleared += int(await self.redis.delete(key))
            await self.redis.zrem(zkey, key)
        return cleared


# -- the "known device" cookie -------------------------------------------------------------------


def known_device_value(key: bytes, name: str) -> str:
    """Cookie value saying "this browser signed in as ``name``": the name and its HMAC."""
    tag = hmac.new(key, b"known-device\x00" + name.encode(), hashlib.sha256).digest()
    return f"{_b64(name.encode())}.{_b64(tag)}"


def is_known_device(key: bytes, name: str, cookie: str | None) -> bool:
    if not cookie:
        return False
    return hmac.compare_digest(cookie.encode(), known_device_value(key, name).encode())
