"""Every Redis key name Dozvon uses, in one place (arq keeps its prefixes in ``constants.py``).

A module that reads or writes Redis names its keys through :class:`RedisKeys`, never by
joining strings itself, so a key's layout is changed here or nowhere. Lua scripts that build
keys inside (they cannot be handed every key of a scan) use the same fragments, listed in
:data:`SCRIPT_FRAGMENTS`; ``tests/unit/test_redis_keys.py`` checks that every fragment the
scripts use is one of them. Add new keys here, with a line on what they hold and who writes.

All keys start with the prefix (``dozvon:`` by default; tests give each run its own).

Orders (``redis_store``, the only writer; ``core.lifecycle`` says which moves are legal):

    order:{id}          HASH   order (Order JSON), phone, status, attempts, due_at,
                               last_outcome, status_reason, created_at, updated_at, reopened
                               fields (core.reopen), the cycle fields (cycle, cycle_after,
                               cycle_cap, final_sent) and the status fields (purpose_status,
                               acting_status: core.lifecycle)
    calls:{id}          HASH   call_id -> CallAttempt JSON (the order's call history)
    orders              ZSET   every order id, score = created epoch (listing)
    status:{status}     ZSET   order ids by current status, score = updated epoch (counts)
    due                 ZSET   QUEUED order ids, score = due epoch seconds
    due:priority        ZSET   priority orders (score = first due epoch), claimed first
    lease               ZSET   in-flight order ids, score = lease expiry epoch seconds
    lease:owner         HASH   order id -> worker id holding the lease
    phone:{e164}        STRING order id with a call in flight to that phone (PX = lease)
    outbox:due          ZSET   delivery ids waiting for the CRM, score = next attempt epoch
    outbox:inflight     ZSET   delivery ids being delivered, score = visibility deadline
    outbox:item:{did}   HASH   event (ResultEvent JSON), order_id, attempt, last_error
    outbox:failed       ZSET   dead letters, score = failed epoch (webhook_outbox)
    wakeup              pub/sub "new work may be due"
    hangup              pub/sub ``{"order_id", "reason"}``: hang up that order's live call
    replication:fence   STRING written to wait for replicas (redis_replication)

Intake (``intake_stream``): ``intake`` (STREAM, group ``dozvon``), ``intake:rejected``.

Do-not-call and per-phone calls (``dnc_store``): ``dnc`` (ZSET phone -> listed epoch),
``dnc:meta`` (HASH phone -> JSON), ``phonecalls:{e164}`` (ZSET call id -> epoch).

Run control (``redis_control``): ``control`` (HASH), ``control:events`` (pub/sub),
``worker:{id}`` (STRING, TTL), ``workers`` (SET), ``audit`` (LIST, newest first).

Live board and statistics (``redis_live``): ``live:call:{id}`` (STRING JSON, TTL),
``live:calls`` (SET), ``live:events`` (pub/sub), ``stats:day:{date}`` (HASH),
``stats:total`` (HASH), ``stats:5m:{slice}`` (HASH).

Admission (``redis_limits``): ``limits:...`` (its script builds them from the prefix),
``limits:backoff:{trunk}``, ``limits:calls[:{trunk}]``, ``limits:shop:{name}`` (ZSET: the
shop's calls in flight) and ``limits:shop:{name}:bucket`` (HASH: its calls-per-second tokens);
per shop ``shop:{name}:limits`` (HASH paused, max_calls, cps: written by the shops registry,
read by the admission script).

Shops (``shop_registry``): ``shops`` (HASH name -> JSON saved by the API), ``shops:paused``
(HASH name -> "1"/"0"), ``shops:version`` (STRING, INCR per change), ``shops:events``
(pub/sub), ``shops:limited`` (SET of names whose limits hash was written).

Dashboard (``web``): ``web:secret``, ``web:session:{sid}`` (HASH, TTL),
``web:throttle:{kind}:{digest}``, ``web:throttled`` (ZSET), ``followup:{id}`` (HASH),
``followup:{id}:notes`` (LIST).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "dozvon:"

# Key fragments the Lua scripts join with the prefix themselves (``p .. 'order:' .. id``).
SCRIPT_FRAGMENTS = frozenset({
    "order:", "calls:", "status:", "due", "due:priority", "lease", "lease:owner", "phone:",
    "outbox:item:", "dnc", "limits:",
})  # fmt: skip


@dataclass(frozen=True)
class RedisKeys:
    """The key names under one prefix."""

    prefix: str = PREFIX

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # -- orders (redis_store) ---------------------------------------------------------------

    def order(self, order_id: str) -> str:
        return self._k("order", order_id)

    def calls(self, order_id: str) -> str:
        return self._k("calls", order_id)

    @property
    def orders(self) -> str:
        return self._k("orders")

    def status(self, status: str) -> str:
        return self._k("status", status)

    @property
    def due(self) -> str:
        return self._k("due")

    @property
    def due_priority(self) -> str:
        return self._k("due", "priority")

    @property
    def lease(self) -> str:
        return self._k("lease")

    @property
    def lease_owner(self) -> str:
        return self._k("lease", "owner")

    def phone(self, e164: str) -> str:
        return self._k("phone", e164)

    @property
    def outbox_due(self) -> str:
        return self._k("outbox", "due")

    @property
    def outbox_inflight(self) -> str:
        return self._k("outbox", "inflight")

    def outbox_item(self, delivery_id: str) -> str:
        return self._k("outbox", "item", delivery_id)

    @property
    def outbox_failed(self) -> str:
        return self._k("outbox", "failed")

    @property
    def wakeup(self) -> str:
        return self._k("wakeup")

    @property
    def hangup(self) -> str:
        return self._k("hangup")

    @property
    def replication_fence(self) -> str:
        return self._k("replication", "fence")

    # -- intake ------------------------------------------------------------------------------

    @property
    def intake(self) -> str:
        return self._k("intake")

    @property
    def intake_rejected(self) -> str:
        return self._k("intake", "rejected")

    # -- do-not-call list and per-phone call log (dnc_store) ---------------------------------

    @property
    def dnc(self) -> str:
        return self._k("dnc")

    @property
    def dnc_meta(self) -> str:
        return self._k("dnc", "meta")

    def phone_calls(self, e164: str) -> str:
        return self._k("phonecalls", e164)

    # -- run control (redis_control) ---------------------------------------------------------

    @property
    def control(self) -> str:
        return self._k("control")

    @property
    def control_events(self) -> str:
        return self._k("control", "events")

    def worker(self, worker_id: str) -> str:
        return self._k("worker", worker_id)

    @property
    def workers(self) -> str:
        return self._k("workers")

    @property
    def audit(self) -> str:
        return self._k("audit")

    # -- live board and statistics (redis_live) ----------------------------------------------

    def live_call(self, call_id: str) -> str:
        return self._k("live", "call", call_id)

    @property
    def live_calls(self) -> str:
        return self._k("live", "calls")

    @property
    def live_events(self) -> str:
        return self._k("live", "events")

    def stats_day(self, day: str) -> str:
        return self._k("stats", "day", day)

    def stats_day_by_shop(self, day: str) -> str:
        """A local day's ended calls per shop, hour and outcome ("{shop}\t{HH}\t{outcome}")."""
        return self._k("stats", "day", day, "by_shop")

    @property
    def stats_total(self) -> str:
        return self._k("stats", "total")

    @property
    def stats_by_shop(self) -> str:
        """Ended calls per shop, purpose and outcome (robot.core.analytics fields)."""
        return self._k("stats", "by_shop")

    def stats_slice(self, n: str) -> str:
        return self._k("stats", "5m", n)

    # -- admission (redis_limits; shops write shop_limits) -----------------------------------

    def limits_backoff(self, trunk: str) -> str:
        return self._k("limits", "backoff", trunk)

    def limits_calls(self, trunk: str = "") -> str:
        return self._k("limits", "calls", trunk) if trunk else self._k("limits", "calls")

    def limits_shop_calls(self, shop: str) -> str:
        return self._k("limits", "shop", shop)

    def shop_limits(self, shop: str) -> str:
        return self._k("shop", shop, "limits")

    # -- shops (shop_registry) ---------------------------------------------------------------

    @property
    def shops(self) -> str:
        return self._k("shops")

    @property
    def shops_paused(self) -> str:
        return self._k("shops", "paused")

    @property
    def shops_version(self) -> str:
        return self._k("shops", "version")

    @property
    def shops_channel(self) -> str:
        return self._k("shops", "events")

    @property
    def shops_limited(self) -> str:
        return self._k("shops", "limited")

    # -- dashboard (web) ---------------------------------------------------------------------

    @property
    def web_secret(self) -> str:
        return self._k("web", "secret")

    def web_session(self, sid: str) -> str:
        return self._k("web", "session", sid)

    def web_throttle(self, kind: str, digest: str) -> str:
        return self._k("web", "throttle", kind, digest)

    @property
    def web_throttled(self) -> str:
        return self._k("web", "throttled")

    def followup(self, order_id: str) -> str:
        return self._k("followup", order_id)

    def followup_notes(self, order_id: str) -> str:
        return self._k("followup", order_id, "notes")


# Module-level forms, for callers that hold a prefix rather than a RedisKeys.


def shop_limits(name: str, prefix: str = PREFIX) -> str:
    """The admission gate's per-shop hash: paused, max_calls, cps."""
    return RedisKeys(prefix).shop_limits(name)


def shops(prefix: str = PREFIX) -> str:
    return RedisKeys(prefix).shops


def shops_paused(prefix: str = PREFIX) -> str:
    return RedisKeys(prefix).shops_paused


def shops_version(prefix: str = PREFIX) -> str:
    return RedisKeys(prefix).shops_version


def shops_channel(prefix: str = PREFIX) -> str:
    return RedisKeys(prefix).shops_channel


def shops_limited(prefix: str = PREFIX) -> str:
    return RedisKeys(prefix).shops_limited
