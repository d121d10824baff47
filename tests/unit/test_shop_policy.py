"""Each shop's calling hours, weekdays, time zone and caller ID in the decisions about its
orders; another shop's settings never apply to it."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from robot.adapters.shop_registry import ShopRegistry
from robot.config import Settings
from robot.core.models import parse_order
from robot.core.policy import Action
from robot.core.policy_config import PolicyConfig
from robot.core.shops import ShopConfig, parse_shops, shop_policy
from robot.engine.policy_gate import PolicyGate
from robot.service import dialer_config

MOBILE = "+79161234567"  # phonenumbers knows many zones for it: the default zone decides
BASE = PolicyConfig.model_validate(
    {"default_timezone": "Europe/Moscow", "hours": "09:00-21:00", "weekdays": {"sun": None},
     "max_attempts": 3, "holidays": ["2030-01-01"]}
)  # fmt: skip


def order(shop: str, oid: str = "A-1"):
    return parse_order({"order_id": oid, "phone": MOBILE, "amount": "1", "shop_name": shop})


def registry() -> ShopRegistry:
    return ShopRegistry(
        parse_shops({
            "Ранняя": {"hours": "07:00-12:00", "caller_id": '"Ранняя" <+74950000001>'},
            "Восток": {"timezone": "Asia/Vladivostok", "announce_recording": True,
                       "caller_id": '"Восток" <+74232000002>'},
            "Выходные": {"weekdays": {"sun": "10:00-14:00"}},
        })
    )  # fmt: skip


async def test_each_shop_is_decided_by_its_own_hours_and_zone() -> None:
    gate = PolicyGate(BASE, shops=registry())
    # Tuesday 2030-01-15 05:30 UTC = 08:30 Moscow = 15:30 Vladivostok
    now = datetime(2030, 1, 15, 5, 30, tzinfo=UTC)
    early, east, plain = [await gate.decide(order(s), [], now) for s in ("Ранняя", "Восток", "Нет")]
    assert early.action is Action.CALL  # 07:00-12:00 Moscow
    assert plain.action is Action.WAIT  # the installation's 09:00-21:00 Moscow
    assert plain.at == datetime(2030, 1, 15, 6, 0, tzinfo=UTC)
    assert east.action is Action.CALL and "Asia/Vladivostok" in east.reason
    # 10:00 UTC = 13:00 Moscow: the early shop's window has closed, the others are open
    late = datetime(2030, 1, 15, 10, 0, tzinfo=UTC)
    early = await gate.decide(order("Ранняя"), [], late)
    assert early.action is Action.WAIT
    assert early.at == datetime(2030, 1, 16, 4, 0, tzinfo=UTC)  # 07:00 Moscow next day
    assert (await gate.decide(order("Нет"), [], late)).action is Action.CALL
    # 20:30 Moscow = 03:30 Vladivostok next day: the east shop waits for 09:00 its time
    evening = datetime(2030, 1, 15, 17, 30, tzinfo=UTC)
    east = await gate.decide(order("Восток"), [], evening)
    assert east.action is Action.WAIT and east.at == datetime(2030, 1, 15, 23, 0, tzinfo=UTC)
    assert (await gate.decide(order("Нет"), [], evening)).action is Action.CALL


async def test_a_shops_weekdays_replace_the_installations() -> None:
    gate = PolicyGate(BASE, shops=registry())
    sunday_noon = datetime(2030, 1, 20, 9, 0, tzinfo=UTC)  # 12:00 Moscow, a Sunday
    assert (await gate.decide(order("Выходные"), [], sunday_noon)).action is Action.CALL
    assert (await gate.decide(order("Нет"), [], sunday_noon)).action is Action.WAIT


def test_the_shop_policy_keeps_the_installations_other_rules() -> None:
    shop = ShopConfig(name="A", hours="10:00-18:00")
    p = shop_policy(BASE, shop)
    assert str(p.hours) == "10:00–18:00" and p.weekdays == {}  # its one window every day
    assert p.max_attempts == 3 and p.holidays == BASE.holidays and p.retry == BASE.retry
    assert shop_policy(BASE, ShopConfig(name="B")) is BASE
    assert shop_policy(BASE, None) is BASE


async def test_a_changed_shop_is_decided_by_its_new_hours(tmp_path: Path) -> None:
    f = tmp_path / "shops.json"
    f.write_text('{"A": {"hours": "07:00-08:00"}}')
    shops = ShopRegistry(file=f, file_check_s=0)
    gate = PolicyGate(BASE, shops=shops)
    now = datetime(2030, 1, 15, 4, 30, tzinfo=UTC)  # 07:30 Moscow
    assert (await gate.decide(order("A"), [], now)).action is Action.CALL
    f.write_text('{"A": {"hours": "12:00-13:00"}}')
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert (await gate.decide(order("A"), [], now)).action is Action.WAIT


@pytest.mark.parametrize(
    ("shop", "trunk", "caller_id", "announce"),
    [
        ("Ранняя", None, '"Ранняя" <+74950000001>', False),
        ("Восток", '"Trunk" <+70000000009>', '"Восток" <+74232000002>', True),
        ("Выходные", '"Trunk" <+70000000009>', '"Trunk" <+70000000009>', False),
        ("Нет", None, '"Dozvon" <+70000000000>', False),
    ],
)
def test_each_shop_calls_with_its_own_caller_id(
    shop: str, trunk: str | None, caller_id: str, announce: bool
) -> None:
    dialing = Settings(worker_id="w", caller_id='"Dozvon" <+70000000000>').dialer
    config = dialer_config(dialing, registry())
    assert config.caller_id_for(shop, trunk) == caller_id
    assert config.announce_recording_for(shop) is announce
