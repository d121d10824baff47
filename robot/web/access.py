"""Who is calling (:class:`Principal`) and what each route needs (:class:`Access`).

Every route is registered through :class:`Routes` with the access it needs; the one middleware
(``robot.web.security``) establishes the principal, refuses what the route does not allow and
puts the principal on the request (``principal_of(request)``). A route registered without an
access is refused to everyone, so a forgotten declaration fails closed.

Roles:

- ``admin``: the installation's API token, or a supervisor account with the admin role (it
  acts: retry, cancel, don't-call list, pause, limits);
- ``viewer``: a supervisor account that reads (phones masked) and changes nothing;
- ``shop``: a shop's own API token (``api_token`` in the shop registry): only that shop's
  orders. Creating another shop's order is 403 naming ``shop_name``; reading or changing one
  answers 404 as if it did not exist (see :meth:`Principal.sees`);
- ``metrics``: the metrics token, which opens ``/metrics`` and nothing else.

``Principal.shops`` is ``None`` for all shops, else the shop names the principal may see: a
shop token's own shop, or the ``shops`` listed for a supervisor account. Dashboard queries and
filters intersect with it; routes that act on the whole installation (pause, limits, the dead
letters, the don't-call list, the audit log, ``/metrics``) need ``shops is None``
(``Access.all_shops``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from robot.web.sessions import Session


class Role(str, Enum):
    """What a caller may do (see the module docstring)."""

    VIEWER = "viewer"  # a supervisor who reads: everything (phones masked), changes nothing
    ADMIN = "admin"  # the API token, or a supervisor who also acts
    SHOP = "shop"  # a shop's API token: its own orders only
    METRICS = "metrics"  # the metrics token: /metrics only


@dataclass(frozen=True)
class Principal:
    role: Role
    name: str
    shops: frozenset[str] | None = None  # None: every shop
    via: str = "token"  # "token" | "session"
    session: Session | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def all_shops(self) -> bool:
        return self.shops is None

    def sees(self, shop_name: str | None) -> bool:
        """May this caller see an order of ``shop_name``? (No: answer 404, as if absent.)"""
        return self.shops is None or (shop_name is not None and shop_name in self.shops)

    def visible(self, wanted: Iterable[str] | None = None) -> frozenset[str] | None:
        """The shops a query may cover: ``wanted`` (None: all) narrowed to :attr:`shops`."""
        if wanted is None:
            return self.shops
        chosen = frozenset(wanted)
        return chosen if self.shops is None else chosen & self.shops


PRINCIPAL = web.RequestKey("dozvon.principal", Principal)
# Handlers put {"action": ..., ...} here to describe what they did, for the audit log.
AUDIT = web.RequestKey("dozvon.audit", dict)


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


@dataclass(frozen=True)
class Access:
    """What a route needs: one of ``roles`` (None: open to anyone), and with ``all_shops``
    a principal not limited to some shops."""

    roles: frozenset[Role] | None
    all_shops: bool = False

    @property
    def public(self) -> bool:
        return self.roles is None

    def refusal(self, principal: Principal) -> str | None:
        """Why ``principal`` may not use the route, or None."""
        assert self.roles is not None
        if principal.role not in self.roles:
            return f"this needs the {' or '.join(sorted(r.value for r in self.roles))} role"
        if self.all_shops and not principal.all_shops:
            return "this acts on every shop; the account is limited to some"
        return None


def _roles(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


PUBLIC = Access(None)
READ = Access(_roles(Role.ADMIN, Role.VIEWER))  # the dashboard's reads
ACT = Access(_roles(Role.ADMIN))  # the dashboard's actions on orders
INSTALLATION = Access(_roles(Role.ADMIN), all_shops=True)  # the whole installation
READ_ALL = Access(_roles(Role.ADMIN, Role.VIEWER), all_shops=True)  # reads of every shop
CRM = Access(_roles(Role.ADMIN, Role.SHOP))  # the CRM API on orders (shop-scoped)
CRM_READ = Access(_roles(Role.ADMIN, Role.SHOP, Role.VIEWER))  # also viewers (no phones)
METRICS = Access(_roles(Role.ADMIN, Role.VIEWER, Role.METRICS), all_shops=True)  # every shop

ACCESS_KEY = web.AppKey("dozvon.access", dict)  # route -> Access


class Routes:
    """Registers one module's routes with the access each needs::

    r = Routes(app)
    r.get("/api/v1/orders/{order_id}", get_order, CRM)
    """

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.table: dict[Any, Access] = app.setdefault(ACCESS_KEY, {})

    def add(self, method: str, path: str, handler: Any, access: Access) -> None:
        resource = self.app.router.add_resource(path)
        methods = ("GET", "HEAD") if method == "GET" else (method,)
        for m in methods:
            self.table[resource.add_route(m, handler)] = access

    def get(self, path: str, handler: Any, access: Access) -> None:
        self.add("GET", path, handler, access)

    def post(self, path: str, handler: Any, access: Access) -> None:
        self.add("POST", path, handler, access)

    def put(self, path: str, handler: Any, access: Access) -> None:
        self.add("PUT", path, handler, access)

    def patch(self, path: str, handler: Any, access: Access) -> None:
        self.add("PATCH", path, handler, access)

    def delete(self, path: str, handler: Any, access: Access) -> None:
        self.add("DELETE", path, handler, access)

    def static(self, prefix: str, directory: Any) -> None:
        """Files anyone may fetch (the dashboard's scripts and styles)."""
        for route in self.app.router.add_static(prefix, directory):
            self.table[route] = PUBLIC


def access_of(request: web.Request) -> Access | None:
    """The access the matched route declared; None for no match (404/405) or no declaration."""
    route = request.match_info.route
    return request.app.get(ACCESS_KEY, {}).get(route)


def declared(request: web.Request) -> bool:
    return request.match_info.http_exception is None
