"""The shops of this installation: loaded, validated, looked up, and changed without a restart.

Three sources, later ones winning per shop name:

1. ``DOZVON_SHOPS`` (settings): the JSON object ``{name: {caller_id, announce_recording, ...}}``
   of earlier releases; every old document stays valid (its two fields are ShopConfig fields).
2. ``DOZVON_SHOPS_FILE``: a JSON or YAML file (``.yaml``/``.yml`` read by PyYAML, anything else
   as JSON), validated by :func:`robot.core.shops.parse_shops`. Its mtime is checked at most
   every ``file_check_s`` on lookups and by the background loop; a file that fails validation
   on reload is logged and the last good configuration stays. At start it is an error
   (:class:`ShopsConfigError`), so a typo never starts a robot with no shops.
3. The shops API (``PUT /api/v1/shops/{name}``): documents kept in Redis. Every write bumps a
   version counter and publishes on a channel; each worker's registry re-reads on the message
   and, in case one was missed (a reconnect), whenever the version it polls has moved.

Pause from the dashboard is an override of its own (``set_paused``), so pausing a shop defined
in the file does not turn its whole configuration into an API copy.

Redis keys (prefix ``dozvon:``; see :mod:`robot.adapters.redis_keys`):

    shops               HASH    name -> the shop's JSON document as saved by the API
    shops:paused        HASH    name -> "1"|"0": the dashboard's pause, over the document's
    shops:version       STRING  INCR on every API change
    shops:events        pub/sub the new version after every API change
    shop:{name}:limits  HASH    paused ("1"/"0"), max_calls, cps (a field absent: no shop
                                limit); written for every shop on load and on every change,
                                read by the admission gate (robot.adapters.redis_limits)
    shops:limited       SET     the names whose limits hash was written (removed shops' hashes
                                are deleted)

Every worker should see the same file: the limits hashes are written by each from what it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from robot.adapters import redis_keys
from robot.core.shops import ShopConfig, parse_shops
from robot.supervision import join_task

log = logging.getLogger(__name__)

READ_S = 0.5  # longest wait on the change channel between checks of the stop flag
START_WAIT_S = 3.0  # how long start waits for Redis before going on with env/file shops


SOURCES = ("env", "file", "api")


class ShopsConfigError(ValueError):
    """A shops document or file that is not valid; the message names the shop and field."""


def read_shops_file(path: Path) -> dict[str, ShopConfig]:
    """Parse and validate a shops file (JSON, or YAML by its suffix)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ShopsConfigError(f"shops file {path}: {e.strerror or e}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            doc = yaml.safe_load(text)
        else:
            doc = json.loads(text)
    except Exception as e:  # yaml.YAMLError, json.JSONDecodeError: both say where
        raise ShopsConfigError(
            f"shops file {path}: not valid {path.suffix or 'JSON'}: {e}"
        ) from None
    if doc is None:
        return {}
    try:
        return parse_shops(doc)
    except ValueError as e:
        raise ShopsConfigError(f"shops file {path}: {e}") from None


def shop_secrets(shop: ShopConfig) -> dict[str, str | None]:
    return {
        "api_token": shop.api_token.get_secret_value() if shop.api_token else None,
        "webhook_secret": shop.webhook_secret.get_secret_value() if shop.webhook_secret else None,
    }


def stored_document(shop: ShopConfig) -> dict[str, Any]:
    """The shop as kept in Redis: every field, secrets in clear (Redis is trusted storage)."""
    doc = shop.model_dump(mode="json", exclude_defaults=True)
    doc.update({k: v for k, v in shop_secrets(shop).items() if v is not None})
    doc["name"] = shop.name
    return doc


def mask_secret(value: str | None) -> str | None:
    """What the API shows of a token or secret: never the whole of it."""
    if not value:
        return None
    return "****" + (value[-4:] if len(value) >= 16 else "")


def public_document(shop: ShopConfig) -> dict[str, Any]:
    """The shop as the API returns it: secrets masked."""
    doc = shop.model_dump(mode="json")
    for key, value in shop_secrets(shop).items():
        doc[key] = mask_secret(value)
    return doc


class ShopRegistry:
    """Which shops exist and what each one's settings are, for every component of a process.

    Lookups are synchronous and cheap (an in-memory snapshot); the Redis side is refreshed by
    :meth:`refresh` (the background loop of :meth:`start`, or a direct call)."""

    def __init__(
        self,
        base: Mapping[str, ShopConfig] | None = None,
        *,
        file: Path | None = None,
        redis: Redis | None = None,
        prefix: str = redis_keys.PREFIX,
        file_check_s: float = 1.0,
        poll_s: float = 2.0,
        reserved_tokens: tuple[str, ...] = (),
    ) -> None:
        """``reserved_tokens``: tokens no shop may have (the installation's API token)."""
        self._env: dict[str, ShopConfig] = dict(base or {})
        self._file_path = file
        self._file: dict[str, ShopConfig] = {}
        self._file_mtime: float | None = None
        self._file_checked = 0.0
        self._api: dict[str, ShopConfig] = {}
        self._paused: dict[str, bool] = {}
        self._api_version: int | None = None
        self.redis = redis
        self.prefix = prefix
        self.file_check_s = file_check_s
        self.poll_s = poll_s
        self._shops: dict[str, ShopConfig] = {}
        self._source: dict[str, str] = {}
        self._limits_written: dict[str, dict[str, str]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._synced = asyncio.Event()  # the API's shops were read at least once since start
        self.changes = 0  # bumped on every change of the effective configuration
        self.reserved_tokens = tuple(reserved_tokens)
        if file is not None:
            self._load_file(strict=True)
        self._rebuild()
        clash = self.token_clash(self._shops)
        if clash:
            raise ShopsConfigError(clash)

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Any, redis: Redis | None = None, **kw: Any) -> ShopRegistry:
        """From ``settings.shops`` and ``settings.shops_file``; ShopsConfigError on a bad file."""
        kw.setdefault(
            "reserved_tokens", tuple(filter(None, [getattr(settings, "api_token", None)]))
        )
        return cls(
            getattr(settings, "shops", None) or {},
            file=getattr(settings, "shops_file", None),
            redis=redis,
            **kw,
        )

    # -- lookups -----------------------------------------------------------------------------

    def get(self, name: str | None) -> ShopConfig | None:
        self._maybe_reload_file()
        return self._shops.get(name) if name is not None else None

    def by_token(self, token: str | None) -> ShopConfig | None:
        """The shop whose API token this is; every token is compared in constant time."""
        self._maybe_reload_file()
        if not token:
            return None
        given = token.encode("utf-8")
        found: ShopConfig | None = None
        for shop in self._shops.values():
            if shop.api_token is None:
                continue
            mine = shop.api_token.get_secret_value().encode("utf-8")
            if hmac.compare_digest(given, mine) and found is None:
                found = shop
        return found

    def names(self) -> list[str]:
        self._maybe_reload_file()
        return sorted(self._shops)

    def all(self) -> list[ShopConfig]:
        self._maybe_reload_file()
        return [self._shops[n] for n in sorted(self._shops)]

    @property
    def api_version(self) -> int | None:
        """The version of the API's shops this registry has read (None: not yet)."""
        return self._api_version

    def source(self, name: str) -> str | None:
        """Where a shop's settings come from now: "env", "file" or "api"."""
        return self._source.get(name)

    def defined_in(self, name: str) -> list[str]:
        """Every source that defines the shop (an API copy may hide a file's)."""
        return [
            src
            for src, table in zip(SOURCES, (self._env, self._file, self._api), strict=True)
            if name in table
        ]

    # -- the file ----------------------------------------------------------------------------

    def _maybe_reload_file(self) -> None:
        if self._file_path is None:
            return
        now = time.monotonic()
        if now - self._file_checked < self.file_check_s:
            return
        self._file_checked = now
        self.reload_file()

    def reload_file(self) -> bool:
        """Re-read the file if its mtime moved; True when the configuration changed. A bad
        file is logged and the last good configuration stays."""
        if self._file_path is None:
            return False
        try:
            mtime = self._file_path.stat().st_mtime_ns
        except OSError as e:
            if self._file_mtime is not None:
                log.error("shops file %s: %s; keeping the last good one", self._file_path, e)
                self._file_mtime = None
            return False
        if mtime == self._file_mtime:
            return False
        before = dict(self._shops)
        self._load_file(strict=False, mtime=mtime)
        self._rebuild()
        return before != self._shops

    def _load_file(self, *, strict: bool, mtime: float | None = None) -> None:
        assert self._file_path is not None
        if mtime is None:
            with contextlib.suppress(OSError):
                mtime = self._file_path.stat().st_mtime_ns
        try:
            shops = read_shops_file(self._file_path)
        except ShopsConfigError as e:
            if strict:
                raise
            log.error("%s; keeping the last good configuration", e)
            self._file_mtime = mtime  # do not log it again until the file changes
            return
        clash = self.token_clash(self._merged(self._env, shops, self._api)[0])
        if clash and not strict:
            log.error("shops file %s: %s; keeping the last good configuration", self._file_path,
                      clash)  # fmt: skip
            self._file_mtime = mtime
            return
        self._file = shops
        self._file_mtime = mtime
        log.info("shops file %s: %d shop(s)", self._file_path, len(shops))

    # -- the effective configuration ---------------------------------------------------------

    @staticmethod
    def _merged(*tables: Mapping[str, ShopConfig]) -> tuple[dict[str, ShopConfig], dict[str, str]]:
        shops: dict[str, ShopConfig] = {}
        source: dict[str, str] = {}
        for src, table in zip(SOURCES, tables, strict=True):
            for name, shop in table.items():
                shops[name] = shop
                source[name] = src
        return shops, source

    def token_clash(self, shops: Mapping[str, ShopConfig], new: str | None = None) -> str | None:
        """Why these shops' tokens cannot be told apart (two shops with one token, or a shop
        with the installation's), naming the shop (``new`` rather than an older one) and
        field; None when they can."""
        seen: dict[str, str] = {}
        for name in sorted(shops, key=lambda n: (n == new, n)):
            token = shops[name].api_token
            if token is None:
                continue
            value = token.get_secret_value()
            given = value.encode("utf-8")  # compare_digest takes non-ASCII only as bytes
            if any(
                hmac.compare_digest(given, r.encode("utf-8")) for r in self.reserved_tokens if r
            ):
                return f"shops.{name}.api_token: the installation's API token; give it its own"
            if value in seen:
                return f"shops.{name}.api_token: the same token as shop {seen[value]!r}"
            seen[value] = name
        return None

    def _rebuild(self) -> None:
        shops, source = self._merged(self._env, self._file, self._api)
        for name, paused in self._paused.items():
            if name in shops and shops[name].paused != paused:
                shops[name] = shops[name].model_copy(update={"paused": paused})
        if shops != self._shops:
            self.changes += 1
        self._shops = shops
        self._source = source

    # -- Redis: API documents, versions, limits ----------------------------------------------

    def _need_redis(self) -> Redis:
        if self.redis is None:
            raise RuntimeError("the shops API needs Redis")
        return self.redis

    async def refresh(self, *, force: bool = False) -> bool:
        """Re-read the API's shops if their version moved (or ``force``), re-check the file,
        and write every shop's limits hash when anything changed. True when it changed."""
        before = dict(self._shops)
        self.reload_file()
        if self.redis is not None:
            r = self.redis
            version = int(await r.get(redis_keys.shops_version(self.prefix)) or 0)
            if force or version != self._api_version:
                raw = await r.hgetall(redis_keys.shops(self.prefix))
                paused = await r.hgetall(redis_keys.shops_paused(self.prefix))
                self._api = self._parse_api(raw)
                self._paused = {_s(k): _s(v) == "1" for k, v in paused.items()}
                self._api_version = version
                self._rebuild()
        changed = before != self._shops
        # also a change a lookup picked up from the file since the last write
        wanted = {name: limits_fields(shop) for name, shop in self._shops.items()}
        if self.redis is not None and wanted != self._limits_written:
            await self.write_limits()
        return changed

    @staticmethod
    def _parse_api(raw: Mapping[Any, Any]) -> dict[str, ShopConfig]:
        out: dict[str, ShopConfig] = {}
        for key, value in raw.items():
            name = _s(key)
            try:
                doc = json.loads(_s(value))
                out.update(parse_shops({"shops": [{**doc, "name": name}]}))
            except ValueError as e:  # a document from an older release, a hand edit
                log.error("shops API document %r is not valid, ignored: %s", name, e)
        return out

    async def write_limits(self) -> None:
        """Every shop's ``paused`` / ``max_calls`` / ``cps`` into its limits hash (absent
        fields: no shop limit), and the hashes of shops that are gone deleted."""
        r = self._need_redis()
        p = self.prefix
        wanted = {name: limits_fields(shop) for name, shop in self._shops.items()}
        old = {_s(n) for n in await r.smembers(redis_keys.shops_limited(p))}
        async with r.pipeline(transaction=True) as pipe:
            for name, fields in wanted.items():
                key = redis_keys.shop_limits(name, p)
                pipe.delete(key)
                pipe.hset(key, mapping=cast(Mapping[Any, Any], fields))
                pipe.sadd(redis_keys.shops_limited(p), name)
            for name in old - set(wanted):
                pipe.delete(redis_keys.shop_limits(name, p))
                pipe.srem(redis_keys.shops_limited(p), name)
            await pipe.execute()
        self._limits_written = wanted

    async def _bump(self, pipe: Any) -> None:
        pipe.incr(redis_keys.shops_version(self.prefix))

    async def _announce(self) -> None:
        r = self._need_redis()
        version = int(await r.get(redis_keys.shops_version(self.prefix)) or 0)
        await r.publish(redis_keys.shops_channel(self.prefix), str(version))
        await self.refresh(force=True)

    async def put(self, shop: ShopConfig) -> ShopConfig:
        """Save a shop through the API (replaces its whole document; clears a dashboard pause
        override so the document's ``paused`` holds). Every registry sees it at once."""
        r = self._need_redis()
        p = self.prefix
        clash = self.token_clash(
            self._merged(self._env, self._file, {**self._api, shop.name: shop})[0], shop.name
        )
        if clash:
            raise ValueError(clash)
        async with r.pipeline(transaction=True) as pipe:
            pipe.hset(redis_keys.shops(p), shop.name, json.dumps(stored_document(shop)))
            pipe.hdel(redis_keys.shops_paused(p), shop.name)
            await self._bump(pipe)
            await pipe.execute()
        await self._announce()
        return self._shops[shop.name]

    async def delete(self, name: str) -> bool:
        """Remove the API's document of a shop (a file or env definition then shows again);
        False when the API had none."""
        r = self._need_redis()
        p = self.prefix
        async with r.pipeline(transaction=True) as pipe:
            pipe.hdel(redis_keys.shops(p), name)
            pipe.hdel(redis_keys.shops_paused(p), name)
            await self._bump(pipe)
            removed, *_ = await pipe.execute()
        await self._announce()
        return bool(removed)

    async def set_paused(self, name: str, paused: bool) -> ShopConfig:
        """Pause or resume one shop's calls (the dashboard's control), whatever its source."""
        if name not in self._shops:
            raise KeyError(name)
        r = self._need_redis()
        async with r.pipeline(transaction=True) as pipe:
            pipe.hset(redis_keys.shops_paused(self.prefix), name, "1" if paused else "0")
            await self._bump(pipe)
            await pipe.execute()
        await self._announce()
        return self._shops[name]

    # -- the background loop -----------------------------------------------------------------

    async def run(self) -> None:
        """Refresh on every change message, and every ``poll_s`` in case one was missed.
        Redis may be down when this starts or go away later: the loop subscribes again and
        re-reads everything (``refresh(force=True)``) each time it gets Redis back. Reads
        are bounded (``READ_S``) and the stop flag is checked between them: redis-py can
        lose a cancel that lands mid-read (robot.supervision.join_task)."""
        r = self._need_redis()
        failing = False
        while not self._stopping.is_set():
            pubsub = r.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(redis_keys.shops_channel(self.prefix))
                await self.refresh(force=True)  # whatever changed while we were not listening
                self._synced.set()
                if failing:
                    log.info("shops: Redis is back; the API's shops and limits are read again")
                    failing = False
                next_poll = time.monotonic() + self.poll_s
                while not self._stopping.is_set():
                    msg = await pubsub.get_message(timeout=min(READ_S, self.poll_s))
                    if msg is not None or time.monotonic() >= next_poll:
                        next_poll = time.monotonic() + self.poll_s
                        await self.refresh()
            except (RedisError, OSError) as e:
                if not failing:
                    log.warning("shops: Redis unavailable (%s); the shops known so far hold", e)
                    failing = True
                await asyncio.sleep(min(READ_S, self.poll_s))
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def start(self, *, wait_s: float = START_WAIT_S) -> None:
        """Start the background sync with Redis; never needs Redis to succeed. Waits up to
        ``wait_s`` for the first read of the API's shops (and the limits written), so a
        worker whose Redis is up dials with them; with Redis down the env's and the file's
        shops hold and the loop catches up when Redis is back."""
        if self.redis is None or self._task is not None:
            return
        self._stopping.clear()
        self._synced.clear()
        self._task = asyncio.create_task(self.run(), name="shop-registry")
        synced = asyncio.create_task(self._synced.wait())
        await asyncio.wait(
            {synced, self._task}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED
        )
        synced.cancel()
        if not self._synced.is_set():
            log.warning("shops: no Redis after %.0f s; starting with the env's and file's"
                        " shops, the API's follow when Redis answers", wait_s)  # fmt: skip

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping.set()
            await join_task(self._task, grace_s=2 * READ_S)
            self._task = None


def limits_fields(shop: ShopConfig) -> dict[str, str]:
    fields = {"paused": "1" if shop.paused else "0"}
    if shop.max_calls is not None:
        fields["max_calls"] = str(shop.max_calls)
    if shop.cps is not None:
        fields["cps"] = repr(float(shop.cps))
    return fields


def _s(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)
