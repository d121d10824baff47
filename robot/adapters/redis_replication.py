"""Acknowledge only what a replica has: ``WAIT`` after the writes a failover must not lose.

Redis replicates asynchronously: a master answers OK before its replicas have the write, and a
master killed in that gap takes the write with it when Sentinel promotes a replica. Three
writes of ours are promises to someone else, so the store confirms them here before it makes
the promise: an order before HTTP 201 (or the stream entry's XACK), a claim before the call is
dialed (a claim lost in a failover would let another worker dial the same order and phone
while the first call runs), and a call's result before the dialer lets the order go.

Facts relied on (Redis >= 3.0):

- ``WAIT numreplicas timeout`` blocks until ``numreplicas`` replicas acknowledged every write
  *this connection* made so far, or the timeout; it returns how many did. So the write and the
  WAIT must share a connection, and a WAIT retried on a new connection (say, on the promoted
  master after a failover) would vouch for nothing. We therefore send a small write of our own
  (the fence key) and WAIT in one pipeline on a client with no retries: replication is in
  order, so a replica that has the fence has everything the master applied before it, on any
  connection. A connection error there is "not confirmed", never retried.
- Replicas answer the master's ``REPLCONF GETACK`` at once, so WAIT costs about one round trip
  to the replica (measured in docs/capacity.md), not the 1 s period of their routine ACKs.
- With fewer replicas connected than asked for (the replica is down, or it was just promoted
  and the set has none left until the old master rejoins) WAIT can only time out. We then
  acknowledge on the master alone (its AOF, ``appendfsync always``, is the durable copy, as
  without Sentinel) and say so once in the log, checking again every ``recheck_s``. Who would
  rather refuse writes in that state sets ``min-replicas-to-write`` on the master: Redis then
  answers NOREPLICAS and the HTTP intake answers 503 (docs/capacity.md, "Redis").
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class NotReplicated(RedisError):
    """A write reached the master but no replica confirmed it in time: not acknowledged."""


class ReplicaAck:
    """Confirms that the writes made so far reached ``replicas`` replicas."""

    def __init__(
        self,
        redis: Redis,
        fence_key: str,
        *,
        replicas: int = 1,
        timeout_ms: int = 500,
        recheck_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``redis``: a client that never retries (``redis_client(url, retries=0)``)."""
        self.redis = redis
        self.fence_key = fence_key
        self.replicas = replicas
        self.timeout_ms = timeout_ms
        self.recheck_s = recheck_s
        self.clock = clock
        self._token = uuid.uuid4().hex
        self._alone_until = 0.0  # monotonic: till then the master has too few replicas
        self.alone = False  # acknowledging on the master alone (for logs, health, tests)
        self.confirmed = 0
        self.unconfirmed = 0

    async def confirm(self, what: str) -> int:
        """Return the replicas that have everything written so far; raise ``NotReplicated``
        when replicas are connected but did not confirm within the timeout."""
        if self.replicas <= 0:
            return 0
        now = self.clock()
        if now < self._alone_until:
            return 0
        try:
            if self.alone and await self._connected() < self.replicas:
                self._alone_until = now + self.recheck_s
                return 0
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(self.fence_key, self._token, px=60_000)
                pipe.execute_command("WAIT", self.replicas, self.timeout_ms)
                _, acks = await pipe.execute()
            acks = int(acks)
            connected = self.replicas if acks >= self.replicas else await self._connected()
        except (RedisError, OSError) as e:
            self.unconfirmed += 1
            raise NotReplicated(f"{what}: replication not confirmed: {e!r}") from e
        if acks >= self.replicas:
            if self.alone:
                log.warning("Redis replication restored: acknowledging after %d replica(s) "
                            "again", self.replicas)  # fmt: skip
                self.alone = False
            self.confirmed += 1
            return acks
        if connected < self.replicas:
            if not self.alone:
                log.warning(
                    "Redis master has %d replica(s) connected, %d wanted: acknowledging on "
                    "the master alone until one is back (%s)", connected, self.replicas, what,
                )  # fmt: skip
            self.alone = True
            self._alone_until = self.clock() + self.recheck_s
            return acks
        self.unconfirmed += 1
        raise NotReplicated(
            f"{what}: {acks} of {self.replicas} replica(s) confirmed within {self.timeout_ms} ms"
        )

    async def _connected(self) -> int:
        """Replicas connected to the master now, in sync or still syncing. A replica in its
        first sync counts: it cannot confirm yet, and a master lost before that sync ends
        could be replaced by a replica without the data, so we refuse rather than go alone."""
        info = await self.redis.info("replication")
        return int(info.get("connected_slaves", 0))
