"""Call admission: may this worker place a call now, and through which Asterisk server?

The router asks the server pool which servers are up and the shared limits (Redis) for a slot:
the global concurrency cap and calls-per-second bucket hold across all workers, and the slot
goes to the server with the most free capacity. The dialer asks before it claims an order, so
an order is never held by a worker that cannot dial it; when nothing turns out to be due, the
slot goes back with its CPS token.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from robot.adapters.redis_limits import Trunk
from robot.ports import Admitted, Refused

log = logging.getLogger(__name__)

NO_SERVER_RETRY_S = 1.0


class CallLimits(Protocol):
    async def acquire(self, call_id: str, trunks: Sequence[Trunk] = ()) -> Admitted | Refused: ...

    async def release(self, call_id: str, *, placed: bool = True) -> None: ...

    async def back_off(self, trunk: str) -> float: ...


class TrunkSource(Protocol):
    def available(self) -> list[Trunk]:
        """Servers (trunks) that can take a call right now."""


class CallRouter:
    """Implements ``ports.CallAdmission``."""

    def __init__(self, limits: CallLimits, trunks: TrunkSource) -> None:
        self.limits = limits
        self.trunks = trunks
        self._last_refusal = ""

    async def admit(self, call_id: str) -> Admitted | Refused:
        trunks = self.trunks.available()
        if not trunks:
            return self._refused(Refused("no_server", NO_SERVER_RETRY_S))
        decision = await self.limits.acquire(call_id, trunks)
        if isinstance(decision, Refused):
            return self._refused(decision)
        self._last_refusal = ""
        return decision

    async def release(self, call_id: str, *, placed: bool) -> None:
        await self.limits.release(call_id, placed=placed)

    async def back_off(self, server: str) -> None:
        await self.limits.back_off(server)

    def _refused(self, refusal: Refused) -> Refused:
        # One line per change of reason, not one per retry.
        if refusal.reason != self._last_refusal:
            log.info("no new calls for now: %s", refusal.reason)
            self._last_refusal = refusal.reason
        return refusal
