"""Principals, roles and the route table (robot.web.access), without a server."""

from __future__ import annotations

import pytest

from robot.adapters.redis_store import RedisOrderStore
from robot.config import Settings
from robot.web.access import (
    ACCESS_KEY,
    ACT,
    CRM,
    CRM_READ,
    INSTALLATION,
    METRICS,
    READ,
    READ_ALL,
    Principal,
    Role,
)
from robot.web.app import make_web_app

ADMIN = Principal(Role.ADMIN, "api")
SHOP_A = Principal(Role.SHOP, "shop:A", frozenset({"A"}))
VIEWER = Principal(Role.VIEWER, "boris", via="session")
LIMITED_ADMIN = Principal(Role.ADMIN, "anna", frozenset({"A", "B"}), via="session")
METRICS_TOKEN = Principal(Role.METRICS, "metrics")


def test_sees_only_its_shops():
    assert ADMIN.sees("A") and ADMIN.sees("anything") and ADMIN.all_shops
    assert SHOP_A.sees("A") and not SHOP_A.sees("B") and not SHOP_A.sees(None)
    assert LIMITED_ADMIN.sees("B") and not LIMITED_ADMIN.sees("C")


def test_visible_narrows_a_wanted_set_to_the_principals_shops():
    assert ADMIN.visible() is None and ADMIN.visible(["B"]) == {"B"}
    assert SHOP_A.visible() == {"A"} and SHOP_A.visible(["A", "B"]) == {"A"}
    assert SHOP_A.visible(["B"]) == frozenset()


@pytest.mark.parametrize(
    ("access", "allowed"),
    [
        (READ, {ADMIN, VIEWER, LIMITED_ADMIN}),
        (ACT, {ADMIN, LIMITED_ADMIN}),
        (INSTALLATION, {ADMIN}),
        (READ_ALL, {ADMIN, VIEWER}),
        (CRM, {ADMIN, SHOP_A, LIMITED_ADMIN}),
        (CRM_READ, {ADMIN, SHOP_A, LIMITED_ADMIN, VIEWER}),
        (METRICS, {ADMIN, VIEWER, METRICS_TOKEN}),
    ],
)
def test_roles_per_access(access, allowed):
    for p in (ADMIN, SHOP_A, VIEWER, LIMITED_ADMIN, METRICS_TOKEN):
        assert (access.refusal(p) is None) == (p in allowed), (access, p)


def test_a_refusal_names_what_is_missing():
    assert INSTALLATION.refusal(VIEWER) == "this needs the admin role"
    assert "every shop" in (INSTALLATION.refusal(LIMITED_ADMIN) or "")


def test_every_route_of_the_app_declares_its_access():
    store = RedisOrderStore.from_url("redis://127.0.0.1:1/0")  # never connected here
    app = make_web_app(Settings(api_token="t"), store)
    table = app[ACCESS_KEY]
    undeclared = [
        f"{r.method} {r.resource.canonical if r.resource else '?'}"
        for r in app.router.routes()
        if r not in table
    ]
    assert undeclared == []
    assert len(table) > 40
