"""What the routes share, kept on the application under typed keys: the order store and the
settings every route may use, and the dashboard's :class:`WebContext`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from robot.config import Settings
from robot.core.models import Order
from robot.core.records import OrderRecord

if TYPE_CHECKING:
    from robot.adapters.redis_control import RedisRunControl
    from robot.adapters.redis_live import LiveBoardReader
    from robot.adapters.redis_store import RedisOrderStore
    from robot.adapters.shop_registry import ShopRegistry
    from robot.web.auth import Accounts
    from robot.web.live import LiveHub
    from robot.web.queries import DashboardQueries
    from robot.web.sessions import SessionStore
    from robot.web.throttle import LoginThrottle


class IntakeStore(Protocol):
    async def add_order(self, order: Order, now: datetime) -> OrderRecord: ...

    async def get_order(self, order_id: str) -> OrderRecord | None: ...

    async def ping(self) -> bool: ...


STORE_KEY = web.AppKey[IntakeStore]("store")
SETTINGS_KEY = web.AppKey("settings", Settings)


@dataclass
class WebContext:
    settings: Settings
    store: RedisOrderStore
    accounts: Accounts
    sessions: SessionStore
    control: RedisRunControl
    board: LiveBoardReader
    queries: DashboardQueries
    hub: LiveHub
    # This process's own view of speech models, shown when no dialing worker reports one.
    process_info: dict[str, Any] = field(default_factory=dict)
    throttle: LoginThrottle | None = None  # sign-in backoff (robot.web.throttle)
    shops: ShopRegistry | None = None  # the shop registry: a shop's API token -> its shop


WEB_KEY = web.AppKey("dozvon.web", WebContext)
