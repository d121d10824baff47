"""Numbers, money, order numbers and dates as words (robot.core.numerals, numerals_ko)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from robot.core import numerals
from robot.core.numerals import (
    RU_WORDS,
    digit_groups,
    ru_amount,
    ru_amount_keys,
    ru_cardinal,
    ru_date,
    ru_order_number,
    ru_plural_form,
    split_amount,
)
from robot.core.numerals_ko import KO_WORDS, ko_amount, ko_cardinal, ko_date, ko_order_number

TODAY = date(2024, 11, 20)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "ноль"),
        (1, "один"),
        (2, "два"),
        (10, "десять"),
        (11, "одиннадцать"),
        (19, "девятнадцать"),
        (20, "двадцать"),
        (21, "двадцать один"),
        (40, "сорок"),
        (99, "девяносто девять"),
        (100, "сто"),
        (101, "сто один"),
        (215, "двести пятнадцать"),
        (999, "девятьсот девяносто девять"),
        (1000, "тысяча"),
        (1001, "тысяча один"),
        (2000, "две тысячи"),
        (2490, "две тысячи четыреста девяносто"),
        (5000, "пять тысяч"),
        (11000, "одиннадцать тысяч"),
        (21000, "двадцать одна тысяча"),
        (22000, "двадцать две тысячи"),
        (100000, "сто тысяч"),
        (1000000, "один миллион"),
        (2000000, "два миллиона"),
        (5100000, "пять миллионов сто тысяч"),
        (10**7, "десять миллионов"),
        (1_000_000_000, "один миллиард"),
        (3_000_001_000, "три миллиарда тысяча"),
    ],
)
def test_ru_cardinal(n: int, words: str) -> None:
    assert ru_cardinal(n) == words


def test_ru_cardinal_feminine() -> None:
    assert ru_cardinal(1, "f") == "одна"
    assert ru_cardinal(2, "f") == "две"
    assert ru_cardinal(22, "f") == "двадцать две"
    assert ru_cardinal(5, "f") == "пять"


def test_ru_cardinal_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        ru_cardinal(-1)
    with pytest.raises(ValueError):
        ru_cardinal(10**12)


@pytest.mark.parametrize(
    ("n", "form"),
    [(0, 5), (1, 1), (2, 2), (4, 2), (5, 5), (11, 5), (12, 5), (14, 5), (21, 1), (22, 2),
     (25, 5), (101, 1), (111, 5), (112, 5), (1000, 5), (1001, 1)],
)  # fmt: skip
def test_ru_plural_form(n: int, form: int) -> None:
    assert ru_plural_form(n) == form


@pytest.mark.parametrize(
    ("amount", "currency", "words"),
    [
        (1, "RUB", "один рубль"),
        (2, "RUB", "два рубля"),
        (5, "RUB", "пять рублей"),
        (11, "RUB", "одиннадцать рублей"),
        (21, "RUB", "двадцать один рубль"),
        (0, "RUB", "ноль рублей"),
        (1000, "RUB", "тысяча рублей"),
        (2490, "RUB", "две тысячи четыреста девяносто рублей"),
        (Decimal("2490.00"), "RUB", "две тысячи четыреста девяносто рублей"),
        (Decimal("99.50"), "RUB", "девяносто девять рублей пятьдесят копеек"),
        (Decimal("1.01"), "RUB", "один рубль одна копейка"),
        (Decimal("3.22"), "RUB", "три рубля двадцать две копейки"),
        (Decimal("0.99"), "RUB", "ноль рублей девяносто девять копеек"),
        (1, "USD", "один доллар"),
        (Decimal("12.50"), "USD", "двенадцать долларов пятьдесят центов"),
        (1, "EUR", "один евро"),
        (25, "EUR", "двадцать пять евро"),
        (Decimal("2.01"), "EUR", "два евро один цент"),
        (3, "KZT", "три тенге"),
        (Decimal("3.02"), "KZT", "три тенге два тиына"),
        (5, "GBP", "пять гэ бэ пэ"),
        (Decimal("5.5"), "GBP", "пять гэ бэ пэ пятьдесят"),
        ("7", "rub", "семь рублей"),
    ],
)
def test_ru_amount(amount: object, currency: str, words: str) -> None:
    assert ru_amount(amount, currency) == words  # type: ignore[arg-type]


def test_split_amount_rounds_half_up() -> None:
    assert split_amount(Decimal("1.005")) == (1, 1)
    assert split_amount(Decimal("10")) == (10, 0)
    with pytest.raises(ValueError):
        split_amount(Decimal("-1"))


@pytest.mark.parametrize(
    ("digits", "groups"),
    [
        ("7", ["7"]),
        ("12", ["12"]),
        ("123", ["123"]),
        ("1234", ["12", "34"]),
        ("12345", ["123", "45"]),
        ("123456", ["12", "34", "56"]),
        ("1234567", ["123", "45", "67"]),
    ],
)
def test_digit_groups(digits: str, groups: list[str]) -> None:
    assert digit_groups(digits) == groups


@pytest.mark.parametrize(
    ("order_id", "words"),
    [
        ("1234", "двенадцать тридцать четыре"),
        ("12345", "сто двадцать три сорок пять"),
        ("7", "семь"),
        ("100500", "десять ноль пять ноль ноль"),
        ("0012", "ноль ноль двенадцать"),
        ("12-34", "двенадцать тридцать четыре"),
        ("A7", "а семь"),
        ("AB-12", "а бэ один два"),
        ("ord_x9", "о эр дэ икс девять"),
    ],
)
def test_ru_order_number(order_id: str, words: str) -> None:
    assert ru_order_number(order_id) == words


@pytest.mark.parametrize(
    ("day", "words"),
    [
        (date(2024, 11, 20), "сегодня"),
        (date(2024, 11, 21), "завтра"),
        (date(2024, 11, 22), "послезавтра"),
        (date(2024, 11, 23), "двадцать третьего ноября"),
        (date(2024, 12, 1), "первого декабря"),
        (date(2024, 12, 11), "одиннадцатого декабря"),
        (date(2024, 12, 20), "двадцатого декабря"),
        (date(2024, 12, 30), "тридцатого декабря"),
        (date(2024, 12, 31), "тридцать первого декабря"),
        (date(2025, 3, 8), "восьмого марта"),
        (date(2024, 11, 19), "девятнадцатого ноября"),  # yesterday: no relative word
    ],
)
def test_ru_date(day: date, words: str) -> None:
    assert ru_date(day, TODAY) == words


def test_ru_keys_name_words() -> None:
    keys = ru_amount_keys(Decimal("2490"), "RUB")
    assert keys == ["num/2f", "thousand/2", "num/400", "num/90", "cur/rub/5"]
    assert all(k in RU_WORDS for k in keys)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "영"),
        (1, "일"),
        (10, "십"),
        (11, "십일"),
        (100, "백"),
        (1000, "천"),
        (1001, "천일"),
        (2490, "이천사백구십"),
        (10000, "만"),
        (12000, "만 이천"),
        (21000, "이만 천"),
        (345000, "삼십사만 오천"),
        (1_000_000, "백만"),
        (10**8, "일억"),
        (123_456_789, "일억 이천삼백사십오만 육천칠백팔십구"),
        (10**12, "일조"),
    ],
)
def test_ko_cardinal(n: int, words: str) -> None:
    assert ko_cardinal(n) == words


@pytest.mark.parametrize(
    ("amount", "currency", "words"),
    [
        (2490, "KRW", "이천사백구십 원"),
        (15000, "KRW", "만 오천 원"),
        (Decimal("12.50"), "USD", "십이 달러 오십 센트"),
        (3, "EUR", "삼 유로"),
        (100, "RUB", "백 루블"),
        (5, "GBP", "오 지 비 피"),
    ],
)
def test_ko_amount(amount: object, currency: str, words: str) -> None:
    assert ko_amount(amount, currency) == words  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("order_id", "words"),
    [("1234", "일이 삼사"), ("12345", "일이삼 사오"), ("1020", "일공 이공"), ("A7", "에이 칠")],
)
def test_ko_order_number(order_id: str, words: str) -> None:
    assert ko_order_number(order_id) == words


@pytest.mark.parametrize(
    ("day", "words"),
    [
        (date(2024, 11, 20), "오늘"),
        (date(2024, 11, 21), "내일"),
        (date(2024, 11, 22), "모레"),
        (date(2024, 11, 23), "십일월 이십삼일"),
        (date(2025, 6, 10), "유월 십일"),
        (date(2025, 10, 31), "시월 삼십일일"),
    ],
)
def test_ko_date(day: date, words: str) -> None:
    assert ko_date(day, TODAY) == words


def test_korean_reexported_from_numerals() -> None:
    assert numerals.ko_amount is ko_amount
    assert numerals.KO_WORDS is KO_WORDS
    with pytest.raises(AttributeError):
        _ = numerals.no_such_thing
