import pytest

from robot.core.models import OrderError, parse_order
from robot.core.phones import PhoneError, mask_phone, normalize_phone, phone_timezones


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+7 916 123-45-67", "+79161234567"),
        ("8 (916) 123 45 67", "+79161234567"),
        ("9161234567", "+79161234567"),
        ("0079161234567", "+79161234567"),
        ("+82 10-1234-5678", "+821012345678"),
    ],
)
def test_normalize(raw, e164):
    assert normalize_phone(raw, "RU") == e164


@pytest.mark.parametrize("raw", ["", "abc", "+7 916", "12345", "+999 1234567"])
def test_bad_numbers(raw):
    with pytest.raises(PhoneError):
        normalize_phone(raw)


def test_mask_and_timezone():
    assert mask_phone("+79161234567") == "+7916***4567"
    assert "Europe/Moscow" in phone_timezones("+74951234567")


BASE = {"order_id": "A-1", "phone": "+79161234567", "amount": "2490", "shop_name": "Ромашка"}


def test_parse_minimal_order_defaults():
    o = parse_order(dict(BASE))
    assert o.phone == "+79161234567" and o.currency == "RUB" and o.language == "ru"
    assert str(o.amount) == "2490"


def test_aliases_and_numeric_id():
    data = {k: v for k, v in BASE.items() if k != "order_id"}
    o = parse_order({**data, "id": 1234, "time_zone": "Asia/Seoul"})
    assert o.order_id == "1234" and o.timezone == "Asia/Seoul"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"phone": "not a phone"}, "phone"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"language": "xx"}, "language"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"currency": "rubles"}, "currency"),
        ({"callback_url": "ftp://x"}, "callback_url"),
        ({"delivery_date": "tomorrow"}, "delivery_date"),
        ({"order_id": "bad id with spaces"}, "order_id"),
        ({"shop_name": ""}, "shop_name"),
    ],
)
def test_bad_fields_are_named(patch, field):
    with pytest.raises(OrderError) as e:
        parse_order({**BASE, **patch})
    assert e.value.field == field


def test_missing_field_is_named():
    data = dict(BASE)
    del data["amount"]
    with pytest.raises(OrderError) as e:
        parse_order(data)
    assert e.value.field == "amount" and "required" in e.value.message


def test_not_an_object():
    with pytest.raises(OrderError) as e:
        parse_order([1, 2])
    assert e.value.field == "body"
