"""The one place that turns ``DOZVON_REDIS_URL`` into a redis.asyncio client.

Two forms:

- ``redis://[[user]:password@]host[:port][/db]`` (and ``rediss://``, ``unix://``): one Redis,
  handed to redis-py's ``Redis.from_url`` unchanged.
- ``redis+sentinel://[[user]:password@]host1[:port],host2[:port],.../service[/db]``: a Redis
  Sentinel set. The hosts are the sentinels (port 26379 when left out), ``service`` is the name
  the sentinels monitor (``sentinel monitor <service> ...``), ``db`` the database (0). The user
  and password are the data nodes' (``requirepass`` / ACL); sentinels that need their own go
  as query parameters ``sentinel_username`` / ``sentinel_password``. Example:
  ``redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/dozvon/0``.

What redis-py's Sentinel support does for us, and what we rely on (redis-py 5-8):

- ``Sentinel.master_for`` returns a client on a ``SentinelConnectionPool``: every *new*
  connection first asks the sentinels for the current master (``SENTINEL MASTERS``, the first
  sentinel that answers and sees the master up). Connections to a dead master fail
  (ConnectionError), are dropped, and the next attempt, through the client's ``Retry``,
  connects to whatever the sentinels name by then. Until they have promoted a replica
  (``down-after-milliseconds`` plus the election) they still name the dead master, so a
  command keeps failing and retrying for that long; our ``Retry`` (exponential backoff,
  capped at 1 s, 10 tries: about 7 s) is sized to outlast a fast failover.
- But redis-py 8.1 reconnects a connection that *dropped* (its own retries inside one command,
  ``send_packed_command`` -> ``connect_check_health``) to the address it had, without asking
  the sentinels: a command in flight when the master died kept retrying the dead address
  until its retries ran out (measured: 5.9 s of errors though the failover took 2.3 s).
  ``FailoverConnection`` asks the sentinels before every socket connect, so each retry goes to
  the master named at that moment (measured: the first command after the promotion succeeds).
- A master demoted to replica while a connection to it stays open answers writes with
  ``-READONLY``; ``SentinelManagedConnection`` turns that into a ConnectionError and drops the
  connection, so it is retried on the new master like any other connection error. (Sentinel
  also ``CLIENT KILL``s normal and pub/sub clients of an instance it reconfigures.)
- Pub/sub and blocking reads (``XREADGROUP BLOCK``) hold one connection; when it dies they
  raise and the owner's loop (``redis_store._listen``, ``web.live``, ``order_control``,
  ``intake_stream``) subscribes or reads again through the pool, i.e. on the new master.
- ``WAIT`` must never be retried on another connection: it counts the replicas that have the
  writes *of the connection it runs on*. ``redis_replication`` uses a client made here with
  ``retries=0`` for that.

Every module that needs Redis gets its client from ``redis_client`` (the store builds one
and shares it with the live board, limits, control, sessions and the dashboard).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, unquote

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelManagedConnection
from redis.backoff import ExponentialWithJitterBackoff

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_DEFAULT_PORT = 26379
_PLAIN_SCHEMES = ("redis", "rediss", "unix")
_SENTINEL_QUERY = ("sentinel_username", "sentinel_password")
EXAMPLE = "redis+sentinel://[:password@]host1:26379,host2:26379,host3:26379/mymaster/0"
_HOST_PORT = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9_.-]+))(?::(?P<port>\d+))?$"
)

# Sentinel answers are small and local: a sentinel that does not answer in a second is skipped
# for the next one. Data connections get a timeout above the longest blocking read we issue
# (XREADGROUP BLOCK 1 s), so a master cut off by the network is noticed, not waited on.
SENTINEL_SOCKET_TIMEOUT_S = 1.0
DATA_SOCKET_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 2.0


class RedisUrlError(ValueError):
    """``DOZVON_REDIS_URL`` is not a form we understand; the message says what is wrong."""


@dataclass(frozen=True)
class SentinelTarget:
    """A parsed ``redis+sentinel://`` URL."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None

    def describe(self) -> str:
        """For logs: no passwords."""
        hosts = ",".join(f"{h}:{p}" for h, p in self.sentinels)
        return f"{SENTINEL_SCHEME}://{hosts}/{self.service}/{self.db}"


def _fail(url: str, why: str) -> RedisUrlError:
    shown = re.sub(r"//[^@/]*@", "//***@", url)  # never echo a password
    return RedisUrlError(f"DOZVON_REDIS_URL {shown!r}: {why} (Sentinel form: {EXAMPLE})")


def parse_redis_url(url: str) -> SentinelTarget | None:
    """A ``SentinelTarget`` for the Sentinel form, None for a plain Redis URL; raises
    ``RedisUrlError`` for anything else. Pure: no I/O."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise _fail(url, "no scheme; expected redis://, rediss://, unix:// or redis+sentinel://")
    scheme = scheme.lower()
    if scheme in _PLAIN_SCHEMES:
        return None
    if scheme != SENTINEL_SCHEME:
        raise _fail(url, f"unknown scheme {scheme!r}")
    rest, _, query = rest.partition("?")
    rest = rest.split("#", 1)[0]
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if not at:
        userinfo, hosts = "", netloc
    username = password = None
    if userinfo:
        user, colon, pw = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(pw) if colon else None
        if not colon:  # "secret@host": a password alone, as redis:// URLs also allow
            username, password = None, unquote(user)
    sentinels = []
    for part in hosts.split(","):
        m = _HOST_PORT.match(part.strip())
        if not m:
            raise _fail(url, f"sentinel address {part!r} is not host[:port]")
        port = int(m["port"]) if m["port"] else SENTINEL_DEFAULT_PORT
        if not 0 < port < 65536:
            raise _fail(url, f"sentinel port {port} out of range")
        sentinels.append((m["v6"] or m["host"], port))
    segments = [s for s in path.split("/") if s] if path else []
    if not segments:
        raise _fail(url, "no service name: the path must be /<service>[/<db>]")
    if len(segments) > 2:
        raise _fail(url, "the path must be /<service>[/<db>]")
    service = unquote(segments[0])
    db = 0
    if len(segments) == 2:
        if not segments[1].isdigit():
            raise _fail(url, f"database {segments[1]!r} is not a number")
        db = int(segments[1])
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    unknown = sorted(set(params) - set(_SENTINEL_QUERY))
    if unknown:
        raise _fail(url, f"unknown query parameter(s) {', '.join(unknown)}; known: "
                    f"{', '.join(_SENTINEL_QUERY)}")  # fmt: skip
    return SentinelTarget(
        sentinels=tuple(sentinels),
        service=service,
        db=db,
        username=username,
        password=password,
        sentinel_username=params.get("sentinel_username") or None,
        sentinel_password=params.get("sentinel_password") or None,
    )


def is_sentinel_url(url: str) -> bool:
    return parse_redis_url(url) is not None


class FailoverConnection(SentinelManagedConnection):
    """Asks the sentinels for the master before every socket connect, reconnects included."""

    async def _connect(self) -> None:
        if self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super()._connect()


class SentinelRedis(Redis):
    """A master client that also closes the sentinel connections it was discovered through."""

    sentinel_manager: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        manager, self.sentinel_manager = self.sentinel_manager, None
        if manager is not None:
            await manager.aclose()


def default_retry(retries: int) -> Retry:
    """Backoff 50 ms doubling to 1 s: ``retries=10`` rides out about 7 s of outage."""
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=retries)


def redis_client(
    url: str, *, retries: int = 10, decode_responses: bool = True, **kwargs: Any
) -> Redis:
    """A client for ``url`` (either form); commands retry through ``retries`` connection
    errors (0: fail at once). ``kwargs`` go to the connections (e.g. ``socket_timeout``)."""
    target = parse_redis_url(url)
    options: dict[str, Any] = {
        "decode_responses": decode_responses,
        "health_check_interval": 15,
        "retry": default_retry(retries),
        **kwargs,
    }
    if target is None:
        return Redis.from_url(url, **options)
    options.setdefault("socket_timeout", DATA_SOCKET_TIMEOUT_S)
    options.setdefault("socket_connect_timeout", CONNECT_TIMEOUT_S)
    options.setdefault("socket_keepalive", True)
    sentinel_kwargs: dict[str, Any] = {
        "socket_timeout": SENTINEL_SOCKET_TIMEOUT_S,
        "socket_connect_timeout": SENTINEL_SOCKET_TIMEOUT_S,
    }
    if target.sentinel_password:
        sentinel_kwargs["password"] = target.sentinel_password
    if target.sentinel_username:
        sentinel_kwargs["username"] = target.sentinel_username
    manager = Sentinel(list(target.sentinels), sentinel_kwargs=sentinel_kwargs)
    client = manager.master_for(
        target.service,
        redis_class=SentinelRedis,
        connection_class=FailoverConnection,
        db=target.db,
        username=target.username,
        password=target.password,
        **options,
    )
    client.sentinel_manager = manager
    return cast(Redis, client)
