"""What the dashboard's routes share, kept on the application under one typed key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from robot.adapters.redis_control import RedisRunControl
    from robot.adapters.redis_live import LiveBoardReader
    from robot.adapters.redis_store import RedisOrderStore
    from robot.config import Settings
    from robot.web.auth import Accounts
    from robot.web.live import LiveHub
    from robot.web.queries import DashboardQueries
    from robot.web.sessions import SessionStore
    from robot.web.throttle import LoginThrottle


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


WEB_KEY = web.AppKey("dozvon.web", WebContext)
