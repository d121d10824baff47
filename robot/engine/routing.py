"""Call admission: may this worker place a call now, and through which Asterisk server?

The router asks the server pool which servers are up and the shared limits (Redis) for a slot:
the global concurrency cap and calls-per-second bucket hold across all workers, and the slot
goes to the server with the most free capacity. The dialer asks before it claims an order, so
an order is never held by a worker that cannot dial it; when nothing turns out to be due, the
slot goes back with its CPS token. Once an order is claimed, its shop's own limits are asked
(``admit_shop``); a refusal there holds back only that shop's orders.

The limits themselves (pause, caps, calls per second) are enforced only in the Redis scripts
of ``adapters/redis_limits``; the router adds the servers and logs each change of reason.
"""

from __future__ import annotations

import logging

from robot.ports import Admitted, CallLimits, Refusal, Refused, TrunkSource

log = logging.getLogger(__name__)

NO_SERVER_RETRY_S = 1.0


class CallRouter:
    """Implements ``ports.CallAdmission``."""

    def __init__(self, limits: CallLimits, trunks: TrunkSource) -> None:
        self.limits = limits
        self.trunks = trunks
        self._last_refusal: Refusal | None = None

    async def admit(self, call_id: str) -> Admitted | Refused:
        trunks = self.trunks.available()
        if not trunks:
            return self._refused(Refused(Refusal.NO_SERVER, NO_SERVER_RETRY_S))
        decision = await self.limits.acquire(call_id, trunks)
        if isinstance(decision, Refused):
            return self._refused(decision)
        self._last_refusal = None
        return decision

    async def admit_shop(self, call_id: str, shop_name: str) -> Refused | None:
        return await self.limits.acquire_shop(call_id, shop_name)

    async def release(self, call_id: str, *, placed: bool) -> None:
        await self.limits.release(call_id, placed=placed)

    async def back_off(self, server: str) -> None:
        await self.limits.back_off(server)

    def _refused(self, refusal: Refused) -> Refused:
        # One line per change of reason, not one per retry.
        if refusal.reason != self._last_refusal:
            log.info("no new calls for now: %s", refusal.reason.value)
            self._last_refusal = refusal.reason
        return refusal
