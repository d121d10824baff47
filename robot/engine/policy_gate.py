"""The dialer's side of the call policy: gathers the facts :func:`robot.core.policy.decide`
needs (do-not-call list, calls to the phone) and carries out stop decisions.

Ports (``robot.ports``), implemented by ``robot.adapters.dnc_store.DncStore`` and
``robot.adapters.order_control.OrderControl``; without them (tests with fakes) the policy still
decides on the order and its own history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from robot.core.messages import Text
from robot.core.models import CallAttempt, Order, OrderStatus
from robot.core.phones import mask_phone
from robot.core.policy import Action, Decision, decide
from robot.core.policy_config import PolicyConfig
from robot.core.purposes import Purpose, UnknownPurpose, purpose_for
from robot.core.reopen import policy_view
from robot.core.shops import ShopConfig, shop_policy
from robot.ports import DoNotCallList, OrderFinalizer, PhoneCallLog, ReopenLog, ShopLookup

log = logging.getLogger(__name__)

PHONE_HISTORY = timedelta(days=2)  # enough for the daily cap in any zone and the minimum gap


def permissive_policy(max_attempts: int = 1) -> PolicyConfig:
    """Any hour, no gaps or caps: the dialer's behaviour when no policy is configured."""
    return PolicyConfig.model_validate(
        {"hours": "00:00-24:00", "max_attempts": max_attempts, "min_gap": 0,
         "max_calls_per_phone_per_day": 1_000_000}
    )  # fmt: skip


class PolicyGate:
    def __init__(
        self,
        config: PolicyConfig,
        *,
        dnc: DoNotCallList | None = None,
        phone_log: PhoneCallLog | None = None,
        finalizer: OrderFinalizer | None = None,
        reopens: ReopenLog | None = None,
        shops: ShopLookup | None = None,
        purposes: Callable[[Order], Purpose] = purpose_for,
    ) -> None:
        """``shops``: each order's shop's calling hours and time zone over ``config``;
        ``purposes``: the purpose of an order's call, whose own rules apply over both."""
        self.config = config
        self.shops = shops
        self._shop_configs: dict[tuple[int, str], tuple[ShopConfig, PolicyConfig]] = {}
        self.purposes = purposes  # a purpose's hours and retry rules apply to its calls
        self.dnc = dnc
        self.phone_log = phone_log
        self.finalizer = finalizer
        self.reopens = reopens

    async def decide(self, order: Order, history: Sequence[CallAttempt], now: datetime) -> Decision:
        on_dnc = await self.dnc.contains(order.phone) if self.dnc is not None else False
        phone_calls = None
        if self.phone_log is not None:
            phone_calls = await self.phone_log.phone_calls(order.phone, now - PHONE_HISTORY)
        elif self.reopens is not None:
            phone_calls = [c.originated_at or c.created_at for c in history]
        reopening = None
        if self.reopens is not None:
            reopening = await self.reopens.reopening(order.order_id)
        try:
            purpose = self.purposes(order)
        except UnknownPurpose:  # nothing to say: never dialed, the CRM learns why
            why = Text("policy.unknown_purpose", purpose=order.purpose)
            return Decision(Action.STOP, None, why, OrderStatus.EXHAUSTED)
        # The installation's policy, the shop's hours over it, the purpose's rules over both.
        config = purpose.policy(self.config_for(order))
        calls, config = policy_view(history, config, reopening)
        return decide(order, calls, now, on_dnc, config, phone_calls=phone_calls)

    def config_for(self, order: Order) -> PolicyConfig:
        """The policy this order's calls are decided by: the shop's hours over ``config``."""
        shop = self.shops.get(order.shop_name) if self.shops is not None else None
        if shop is None:
            return self.config
        key = (id(self.config), shop.name)
        cached = self._shop_configs.get(key)
        if cached is None or cached[0] is not shop:  # the shop changed (or the policy did)
            if len(self._shop_configs) > 4096:
                self._shop_configs.clear()
            cached = (shop, shop_policy(self.config, shop))
            self._shop_configs[key] = cached
        return cached[1]

    async def note_call(self, order: Order, call_id: str, now: datetime) -> None:
        if self.phone_log is not None:
            await self.phone_log.note_call(order.phone, call_id, now)

    async def forget_call(self, order: Order, call_id: str) -> None:
        if self.phone_log is not None:
            await self.phone_log.forget_call(order.phone, call_id)

    async def add_dnc(self, order: Order, now: datetime, *, call_id: str) -> None:
        """The customer asked not to be called again: list the phone (idempotent)."""
        if self.dnc is None:
            return
        reason = f"asked during call {call_id} (order {order.order_id})"
        await self.dnc.add(order.phone, now, source="call", reason=reason)
        log.info(
            "order %s call %s: %s put on the do-not-call list",
            order.order_id,
            call_id,
            mask_phone(order.phone),
        )

    async def finalize(
        self, order_id: str, worker_id: str, status: OrderStatus, now: datetime, reason: str
    ) -> bool:
        if self.finalizer is None:
            return False
        return await self.finalizer.finalize_claimed(order_id, worker_id, status, now, reason)
